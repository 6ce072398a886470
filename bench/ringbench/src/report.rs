//! Turns a hold run's observations into the JSON object `bench/run` reads: call
//! outcomes, RTP timing in the window, first-packet delays, CPU and memory per call.

use crate::args::Plan;
use crate::call::{Call, End};
use crate::media::Received;
use crate::stats::{self, Streams};
use crate::uac::Outcome;

/// Delays from 200 OK to the first RTP packet, in ns, for calls whose stream was seen.
pub fn first_packet_delays(calls: &[Call], streams: &Streams) -> Vec<i64> {
    let mut v: Vec<i64> = calls
        .iter()
        .filter_map(|c| {
            let ok = c.ok_at_ns?;
            let rm = c.remote_media?;
            let first = streams.get(&rm.addr)?.first_arrival_ns?;
            Some(first - ok)
        })
        .collect();
    v.sort_unstable();
    v
}

fn count(calls: &[Call], f: impl Fn(&End) -> bool) -> usize {
    calls
        .iter()
        .filter(|c| c.end.as_ref().is_some_and(&f))
        .count()
}

fn num(f: f64) -> String {
    if f.is_finite() {
        format!("{f:.4}")
    } else {
        "null".into()
    }
}

/// The JSON object (hand-written: no serializer needed for flat numbers).
pub fn json(plan: &Plan, o: &Outcome, received: &[Received]) -> String {
    let mut streams = Streams::new();
    let mut strays = 0;
    for r in received {
        strays += r.strays;
        streams.extend(r.streams.iter().map(|(k, v)| (*k, v.clone())));
    }
    let min_packets = 10;
    let t = stats::summarize(
        streams.values(),
        min_packets,
        plan.late.as_nanos() as i64,
        o.window_start_ns,
    );
    let by_second: Vec<String> = t.late_by_second.iter().map(u64::to_string).collect();
    let fp = first_packet_delays(&o.calls, &streams);
    let calls = &o.calls;
    let answered = calls.iter().filter(|c| c.ok_at_ns.is_some()).count();
    let rejected = count(calls, |e| matches!(e, End::Rejected(_)));
    let rejected_503 = count(calls, |e| matches!(e, End::Rejected(503)));
    let no_answer = count(calls, |e| matches!(e, End::NoAnswer));
    let remote_bye = count(calls, |e| matches!(e, End::RemoteBye));
    let bye_ok = count(calls, |e| matches!(e, End::ByeOk));
    let bye_timeout = count(calls, |e| matches!(e, End::ByeTimeout));
    let keys = calls.iter().map(|c| u64::from(c.keys_sent)).sum::<u64>();
    let talk = calls.iter().map(|c| c.talk_sent).sum::<u64>();
    let window_s = o.window.as_secs_f64();
    let (cpu_s, rss_delta, pss_delta) = match (o.before, o.at_start, o.at_end) {
        (Some(b), Some(s), Some(e)) => (
            e.cpu_s - s.cpu_s,
            e.rss_kib as f64 - b.rss_kib as f64,
            e.pss_kib as f64 - b.pss_kib as f64,
        ),
        _ => (f64::NAN, f64::NAN, f64::NAN),
    };
    let held = o.up_at_end.max(1) as f64;
    let mut ticks = o.talk_tick_late_us.clone();
    ticks.sort_unstable();
    let late_ns = plan.late.as_nanos() as i64;
    let rv = stats::relay_variation(
        streams
            .values()
            .filter(|s| s.window_packets() >= min_packets),
        &o.talk_sent_ns,
    );
    let rv_over = rv.iter().filter(|&&d| d > late_ns).count();
    let rv_us: Vec<u64> = rv
        .iter()
        .map(|&d| u64::try_from(d / 1000).unwrap_or(0))
        .collect();
    let sample = |s: Option<crate::procfs::Sample>| match s {
        Some(s) => format!(
            "{{\"cpu_s\":{},\"rss_kib\":{},\"pss_kib\":{}}}",
            num(s.cpu_s),
            s.rss_kib,
            s.pss_kib
        ),
        None => "null".into(),
    };
    format!(
        concat!(
            "{{\"calls\":{},\"srtp\":{},\"rate\":{},\"answered\":{},\"rejected\":{},\"rejected_503\":{},",
            "\"no_answer\":{},\"remote_bye\":{},\"bye_ok\":{},\"bye_timeout\":{},\"keys_sent\":{},\"talk_sent\":{},",
            "\"up_at_window_start\":{},\"up_at_window_end\":{},\"window_s\":{},",
            "\"rtp\":{{\"streams\":{},\"packets\":{},\"expected\":{},\"late\":{},\"late_ratio\":{},",
            "\"p50_ms\":{},\"p99_ms\":{},\"p999_ms\":{},\"max_ms\":{},\"strays\":{},\"late_by_second\":[{}]}},",
            "\"first_packet\":{{\"n\":{},\"p50_ms\":{},\"p99_ms\":{},\"max_ms\":{},\"min_ms\":{}}},",
            "\"proc\":{{\"before\":{},\"window_start\":{},\"window_end\":{},",
            "\"cpu_per_held_call_ms_per_s\":{},\"rss_kib_per_call\":{},\"pss_kib_per_call\":{},",
            "\"cpu_cores_busy\":{}}},\"sip_strays\":{},",
            "\"talk_ticks\":{{\"n\":{},\"late_p50_ms\":{},\"late_p99_ms\":{},\"late_max_ms\":{}}},",
            "\"relay_variation\":{{\"packets\":{},\"over_late\":{},\"over_late_ratio\":{},\"p50_ms\":{},\"p99_ms\":{},\"max_ms\":{}}}}}"
        ),
        calls.len(),
        plan.srtp,
        num(plan.rate),
        answered,
        rejected,
        rejected_503,
        no_answer,
        remote_bye,
        bye_ok,
        bye_timeout,
        keys,
        talk,
        o.up_at_start,
        o.up_at_end,
        num(window_s),
        t.streams,
        t.packets,
        t.expected,
        t.late,
        num(t.late_ratio),
        num(t.p50_ms),
        num(t.p99_ms),
        num(t.p999_ms),
        num(t.max_ms),
        strays,
        by_second.join(","),
        fp.len(),
        num(stats::ms(stats::percentile(&fp, 0.5))),
        num(stats::ms(stats::percentile(&fp, 0.99))),
        num(stats::ms(fp.last().copied().unwrap_or(0))),
        num(stats::ms(fp.first().copied().unwrap_or(0))),
        sample(o.before),
        sample(o.at_start),
        sample(o.at_end),
        num(cpu_s * 1000.0 / held / window_s.max(1e-9)),
        num(rss_delta / held),
        num(pss_delta / held),
        num(cpu_s / window_s.max(1e-9)),
        o.sip_strays,
        ticks.len(),
        num(pct_ms(&ticks, 0.5)),
        num(pct_ms(&ticks, 0.99)),
        num(ticks.last().map_or(f64::NAN, |&v| v as f64 / 1000.0)),
        rv_us.len(),
        rv_over,
        num(rv_over as f64 / rv_us.len().max(1) as f64),
        num(pct_ms(&rv_us, 0.5)),
        num(pct_ms(&rv_us, 0.99)),
        num(rv_us.last().map_or(f64::NAN, |&v| v as f64 / 1000.0)),
    )
}

/// Percentile `q` of sorted µs values, in ms (NaN when empty).
fn pct_ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).map_or(f64::NAN, |&v| v as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(pct_ms(&v, 0.5), 51.0);
        assert_eq!(pct_ms(&v, 0.99), 99.0);
        assert!(pct_ms(&[], 0.5).is_nan());
    }
    use crate::sip_msg::{Dialog, SdpMedia};

    #[test]
    fn first_packet_delay_pairs_call_and_stream_by_ringdesk_address() {
        let d = Dialog {
            call_id: "rb0-1@ringbench".into(),
            from_tag: "t".into(),
            ani: "+1".into(),
            service: "s".into(),
            remote: "127.0.0.1:5060".parse().unwrap(),
            local: "127.0.0.1:4000".parse().unwrap(),
            to_tag: None,
            contact: None,
        };
        let mut c = Call::new(d, "b".into(), 0, 0);
        c.ok_at_ns = Some(1_000_000);
        c.remote_media = Some(SdpMedia {
            addr: "127.0.0.1:30000".parse().unwrap(),
            telephone_event: Some(101),
        });
        let mut streams = Streams::new();
        streams
            .entry("127.0.0.1:30000".parse().unwrap())
            .or_default()
            .on_packet(4_500_000, 1, 0, false);
        streams
            .entry("127.0.0.1:30002".parse().unwrap())
            .or_default()
            .on_packet(2_000_000, 1, 0, false);
        assert_eq!(first_packet_delays(&[c], &streams), vec![3_500_000]);
    }
}
