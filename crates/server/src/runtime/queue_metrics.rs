//! The queue's routing delay for `/metrics`: on the node holding a call, the time from
//! the call asking for the queue to its first offer being rung (on one node, one pass of
//! the routing core; with a shared queue, also the log's round trip through PostgreSQL).
//! It includes any wait for a free agent, so with agents free it is the routing latency.
//! A Prometheus histogram of fixed buckets in process-wide atomics.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds (then +Inf).
const BOUNDS: [f64; 22] = [
    0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03,
    0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

static BUCKETS: [AtomicU64; 23] = [const { AtomicU64::new(0) }; 23];
static SUM_MICROS: AtomicU64 = AtomicU64::new(0);

/// Counts one call's delay from asking for the queue to its first offer.
pub fn offered_after(delay: Duration) {
    let secs = delay.as_secs_f64();
    let i = BOUNDS
        .iter()
        .position(|b| secs <= *b)
        .unwrap_or(BOUNDS.len());
    BUCKETS[i].fetch_add(1, Ordering::Relaxed);
    let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
    SUM_MICROS.fetch_add(micros, Ordering::Relaxed);
}

/// Appends the histogram in Prometheus' text format.
pub fn render(out: &mut String) {
    out.push_str(
        "# HELP ringdesk_queue_offer_delay_seconds From a call asking for the queue to its first offer being rung, on the node holding the call (includes any wait for a free agent).\n# TYPE ringdesk_queue_offer_delay_seconds histogram\n",
    );
    let mut cumulative = 0u64;
    for (i, count) in BUCKETS.iter().enumerate() {
        cumulative += count.load(Ordering::Relaxed);
        let le = BOUNDS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
        let _ = writeln!(
            out,
            "ringdesk_queue_offer_delay_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let sum = SUM_MICROS.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "ringdesk_queue_offer_delay_seconds_sum {sum}");
    let _ = writeln!(out, "ringdesk_queue_offer_delay_seconds_count {cumulative}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(out: &str, le: &str) -> u64 {
        let key = format!("ringdesk_queue_offer_delay_seconds_bucket{{le=\"{le}\"}} ");
        out.lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    #[test]
    fn delays_land_in_cumulative_buckets() {
        let mut before = String::new();
        render(&mut before);
        offered_after(Duration::from_micros(1_500));
        offered_after(Duration::from_secs(60));
        let mut out = String::new();
        render(&mut out);
        // Other tests of this process may count too: compare differences, at least ours.
        assert!(bucket(&out, "0.002") > bucket(&before, "0.002"));
        assert_eq!(bucket(&out, "0.001") - bucket(&before, "0.001"), 0);
        assert!(bucket(&out, "+Inf") >= bucket(&before, "+Inf") + 2);
        assert!(bucket(&out, "10") < bucket(&out, "+Inf"));
        assert!(out.contains("# TYPE ringdesk_queue_offer_delay_seconds histogram"));
    }
}
