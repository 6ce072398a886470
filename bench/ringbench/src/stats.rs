//! Per-stream RTP timing at the receiver and the summary the benchmark reports.
//!
//! Each packet's ideal arrival is on its stream's 20 ms grid: the RTP timestamp says
//! which slot it belongs to (ringdesk's pacer lets timestamps follow wall time, even
//! across skipped slots), and the grid is anchored at the stream's earliest packet
//! relative to its slot. Lateness = arrival - ideal, so it is never negative.

use std::collections::HashMap;
use std::net::SocketAddrV4;

/// Nanoseconds per RTP timestamp unit at 8 kHz.
const NS_PER_TS: i64 = 125_000;

/// Most packets kept per stream inside the measurement window (10 minutes at 50/s).
pub const MAX_WINDOW_PACKETS: usize = 30_000;

/// What one receiver saw of one ringdesk stream (keyed by ringdesk's source address).
#[derive(Debug, Clone, Default)]
pub struct StreamRec {
    /// Kernel arrival time of the first packet (ns, CLOCK_REALTIME).
    pub first_arrival_ns: Option<i64>,
    pub packets_total: u64,
    /// In the window: arrival minus the RTP-time offset from the stream's first packet.
    offsets: Vec<i64>,
    /// In the window: kernel arrival times (same order as `offsets`).
    arrivals: Vec<i64>,
    first_ts: Option<u32>,
    last_ts: u32,
    ext_ts: i64,
    seq_min: Option<i64>,
    seq_max: i64,
    last_seq: u16,
    ext_seq: i64,
}

impl StreamRec {
    /// Records one packet; `in_window` says whether it counts for timing.
    pub fn on_packet(&mut self, arrival_ns: i64, seq: u16, ts: u32, in_window: bool) {
        self.packets_total += 1;
        if self.first_arrival_ns.is_none() {
            self.first_arrival_ns = Some(arrival_ns);
        }
        if !in_window {
            return;
        }
        match self.first_ts {
            None => {
                self.first_ts = Some(ts);
                self.ext_ts = 0;
                self.ext_seq = i64::from(seq);
                self.seq_min = Some(self.ext_seq);
                self.seq_max = self.ext_seq;
            }
            Some(_) => {
                // Wrapping differences: signed, so reordering is tolerated.
                self.ext_ts += i64::from(ts.wrapping_sub(self.last_ts) as i32);
                self.ext_seq += i64::from(seq.wrapping_sub(self.last_seq) as i16);
                self.seq_min = self.seq_min.map(|m| m.min(self.ext_seq));
                self.seq_max = self.seq_max.max(self.ext_seq);
            }
        }
        self.last_ts = ts;
        self.last_seq = seq;
        if self.offsets.len() < MAX_WINDOW_PACKETS {
            self.offsets.push(arrival_ns - self.ext_ts * NS_PER_TS);
            self.arrivals.push(arrival_ns);
        }
    }

    /// Packets the sequence numbers say were sent in the window.
    pub fn expected(&self) -> u64 {
        match self.seq_min {
            Some(min) => u64::try_from(self.seq_max - min + 1).unwrap_or(0),
            None => 0,
        }
    }

    /// Lateness of every windowed packet against the stream's grid, in ns.
    pub fn lateness(&self) -> impl Iterator<Item = i64> + '_ {
        let anchor = self.offsets.iter().copied().min().unwrap_or(0);
        self.offsets.iter().map(move |o| o - anchor)
    }

    /// (arrival, lateness) of every windowed packet.
    pub fn late_at(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.arrivals.iter().copied().zip(self.lateness())
    }

    /// (RTP timestamp, arrival) of every windowed packet.
    pub fn timestamps(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        let first = self.first_ts.unwrap_or(0);
        self.arrivals
            .iter()
            .zip(&self.offsets)
            .map(move |(&at, &off)| (first.wrapping_add(((at - off) / NS_PER_TS) as u32), at))
    }

    pub fn window_packets(&self) -> usize {
        self.offsets.len()
    }
}

/// Delay through the relay of every windowed packet of the caller's own talk stream
/// (timestamp = grid slot x 160, `sent_ns[slot]` = when that slot was sent), minus the
/// stream's smallest delay: the relay's added variation, free of the sender's jitter.
/// Packets whose timestamp is not a talk slot are skipped.
pub fn relay_variation<'a>(
    streams: impl Iterator<Item = &'a StreamRec>,
    sent_ns: &[i64],
) -> Vec<i64> {
    let mut all = Vec::new();
    for s in streams {
        let delays: Vec<i64> = s
            .timestamps()
            .filter(|(ts, _)| ts % 160 == 0)
            .filter_map(|(ts, at)| sent_ns.get((ts / 160) as usize).map(|sent| at - sent))
            .collect();
        let min = delays.iter().copied().min().unwrap_or(0);
        all.extend(delays.into_iter().map(|d| d - min));
    }
    all.sort_unstable();
    all
}

/// Every stream a receiver thread saw.
pub type Streams = HashMap<SocketAddrV4, StreamRec>;

/// Timing summary over all streams.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timing {
    pub streams: usize,
    pub packets: u64,
    pub expected: u64,
    pub late: u64,
    pub late_ratio: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Late packets per second of the window (from its start), at most 3600 seconds.
    pub late_by_second: Vec<u64>,
}

/// Summarizes streams with at least `min_packets` in the window; late means more than
/// `late_ns` behind the grid.
pub fn summarize<'a>(
    streams: impl Iterator<Item = &'a StreamRec>,
    min_packets: usize,
    late_ns: i64,
    window_start_ns: i64,
) -> Timing {
    let mut all: Vec<i64> = Vec::new();
    let mut t = Timing::default();
    for s in streams.filter(|s| s.window_packets() >= min_packets) {
        t.streams += 1;
        t.expected += s.expected();
        all.extend(s.lateness());
        for (at, late) in s.late_at() {
            if late > late_ns {
                let sec = usize::try_from((at - window_start_ns) / 1_000_000_000).unwrap_or(0);
                if sec < 3600 {
                    if t.late_by_second.len() <= sec {
                        t.late_by_second.resize(sec + 1, 0);
                    }
                    if let Some(c) = t.late_by_second.get_mut(sec) {
                        *c += 1;
                    }
                }
            }
        }
    }
    all.sort_unstable();
    t.packets = all.len() as u64;
    t.late = all.iter().filter(|&&l| l > late_ns).count() as u64;
    if t.packets > 0 {
        t.late_ratio = t.late as f64 / t.packets as f64;
    }
    t.p50_ms = ms(percentile(&all, 0.50));
    t.p99_ms = ms(percentile(&all, 0.99));
    t.p999_ms = ms(percentile(&all, 0.999));
    t.max_ms = ms(all.last().copied().unwrap_or(0));
    t
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    sorted.get(idx).copied().unwrap_or(0)
}

/// Nanoseconds as milliseconds.
pub fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_variation_removes_the_senders_jitter() {
        // Slots 10..20 sent with jitter (0 or 7 ms late); each arrives 3 ms after it was
        // sent, except slot 15 which the relay held 9 ms.
        let sent: Vec<i64> = (0..30)
            .map(|n| n * 20_000_000 + if n % 2 == 0 { 7_000_000 } else { 0 })
            .collect();
        let mut r = StreamRec::default();
        for slot in 10..20u32 {
            let extra = if slot == 15 { 9_000_000 } else { 0 };
            let at = sent[slot as usize] + 3_000_000 + extra;
            r.on_packet(at, slot as u16, slot * 160, true);
        }
        let v = relay_variation([&r].into_iter(), &sent);
        assert_eq!(v.len(), 10);
        assert_eq!(v[..9], [0; 9]);
        assert_eq!(v[9], 9_000_000, "only the relay's own 9 ms extra shows");
        // The grid view sees the sender's 7 ms jitter too.
        assert!(r.lateness().any(|l| l >= 7_000_000));
    }

    const MS: i64 = 1_000_000;

    /// A stream on a perfect grid, then one packet `extra` late.
    fn stream(n: u16, late_index: Option<(u16, i64)>) -> StreamRec {
        let mut s = StreamRec::default();
        let t0 = 1_000 * MS;
        for i in 0..n {
            let mut at = t0 + i64::from(i) * 20 * MS;
            if let Some((k, extra)) = late_index {
                if k == i {
                    at += extra;
                }
            }
            let ts = 4_294_967_000u32.wrapping_add(u32::from(i) * 160);
            s.on_packet(at, 65_530u16.wrapping_add(i), ts, true);
        }
        s
    }

    #[test]
    fn perfect_grid_has_no_lateness_across_wraps() {
        let s = stream(100, None);
        assert!(s.lateness().all(|l| l == 0));
        assert_eq!(s.expected(), 100);
    }

    #[test]
    fn one_late_packet_is_counted() {
        let s = stream(1000, Some((500, 7 * MS)));
        let t = summarize([&s].into_iter(), 2, 5 * MS, 0);
        assert_eq!(t.packets, 1000);
        // Packet 500 arrives 10 s + 7 ms after t0 = 1 s: second 11 of the window.
        assert_eq!(t.late_by_second.len(), 12);
        assert_eq!(t.late_by_second[11], 1);
        assert_eq!(t.late_by_second.iter().sum::<u64>(), 1);
        assert_eq!(t.late, 1);
        assert!((t.late_ratio - 0.001).abs() < 1e-12);
        assert_eq!(t.max_ms, 7.0);
        assert_eq!(t.p99_ms, 0.0);
    }

    #[test]
    fn early_outlier_moves_the_anchor() {
        // Everything else then looks 3 ms late: lateness is against the best slot.
        let s = stream(10, Some((3, -3 * MS)));
        let l: Vec<i64> = s.lateness().collect();
        assert_eq!(l.iter().filter(|&&x| x == 3 * MS).count(), 9);
        assert_eq!(l[3], 0);
    }

    #[test]
    fn skipped_slots_follow_the_timestamps_and_losses_show() {
        let mut s = StreamRec::default();
        // Slot 2 skipped by the sender (timestamp jumps, sequence continuous).
        s.on_packet(0, 10, 0, true);
        s.on_packet(20 * MS, 11, 160, true);
        s.on_packet(60 * MS, 12, 480, true);
        // Sequence 13 lost.
        s.on_packet(80 * MS, 14, 640, true);
        assert!(s.lateness().all(|l| l == 0));
        assert_eq!(s.expected(), 5);
        assert_eq!(s.window_packets(), 4);
    }

    #[test]
    fn outside_window_only_counts() {
        let mut s = StreamRec::default();
        s.on_packet(5, 1, 0, false);
        s.on_packet(6, 2, 160, false);
        assert_eq!(s.first_arrival_ns, Some(5));
        assert_eq!(s.packets_total, 2);
        assert_eq!(s.window_packets(), 0);
        let t = summarize([&s].into_iter(), 1, 5 * MS, 0);
        assert_eq!(t.streams, 0);
    }

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
