//! Wait estimates: exponentially weighted averages of recent waits and handle times.
//!
//! The estimate for a caller at position `p` (1-based) in a queue staffed by `s` working
//! agents (available, reserved, busy or in wrap-up) is `p × AHT / s`, where AHT is the
//! weighted average handle time (talk plus wrap-up). Without handle-time history, or with
//! nobody working, it falls back to the weighted average of recent waits; with no history
//! at all it is `None`.

use std::time::Duration;

/// Weight of the newest sample.
const ALPHA: f64 = 0.2;
/// Samples longer than this are clamped (a stuck call must not poison the average).
const MAX_SAMPLE: Duration = Duration::from_secs(4 * 3600);

/// An exponentially weighted moving average of durations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ewma {
    secs: Option<f64>,
}

impl Ewma {
    /// Adds one sample.
    pub fn record(&mut self, sample: Duration) {
        let x = sample.min(MAX_SAMPLE).as_secs_f64();
        self.secs = Some(match self.secs {
            None => x,
            Some(avg) => avg + ALPHA * (x - avg),
        });
    }

    /// The current average, `None` before the first sample.
    pub fn get(&self) -> Option<Duration> {
        self.secs.map(Duration::from_secs_f64)
    }
}

/// Recent history of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueStats {
    /// Time from enqueue to answer.
    pub wait: Ewma,
    /// Time from answer to the end of wrap-up.
    pub handle: Ewma,
}

impl QueueStats {
    /// Estimated wait for a caller at `position` with `staffed` agents working.
    pub fn estimate(&self, position: u32, staffed: u32) -> Option<Duration> {
        let raw = match (self.handle.secs, staffed) {
            (Some(aht), s) if s > 0 => aht * f64::from(position.max(1)) / f64::from(s),
            _ => self.wait.secs?,
        };
        // Whole seconds are what a caller is told; clamp to the sample bound.
        let secs = raw.round().clamp(0.0, MAX_SAMPLE.as_secs_f64());
        Some(Duration::from_secs_f64(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> Duration {
        Duration::from_secs(x)
    }

    #[test]
    fn ewma_starts_at_first_sample_and_moves_by_alpha() {
        let mut e = Ewma::default();
        assert_eq!(e.get(), None);
        e.record(s(100));
        assert_eq!(e.get(), Some(s(100)));
        e.record(s(200));
        assert_eq!(e.get(), Some(s(120)));
    }

    #[test]
    fn no_history_gives_none() {
        assert_eq!(QueueStats::default().estimate(3, 2), None);
    }

    #[test]
    fn handle_time_scales_with_position_and_agents() {
        let mut st = QueueStats::default();
        st.handle.record(s(300));
        assert_eq!(st.estimate(1, 1), Some(s(300)));
        assert_eq!(st.estimate(3, 2), Some(s(450)));
        assert_eq!(st.estimate(3, 3), Some(s(300)));
    }

    #[test]
    fn falls_back_to_wait_history_without_staff() {
        let mut st = QueueStats::default();
        st.wait.record(s(40));
        assert_eq!(st.estimate(2, 0), Some(s(40)));
        st.handle.record(s(60));
        assert_eq!(st.estimate(2, 0), Some(s(40)));
        assert_eq!(st.estimate(2, 1), Some(s(120)));
    }

    #[test]
    fn huge_samples_are_clamped() {
        let mut st = QueueStats::default();
        st.handle.record(Duration::from_secs(u64::MAX / 4));
        assert_eq!(st.estimate(u32::MAX, 1), Some(MAX_SAMPLE));
    }
}
