//! The admit/shed decision: samples of measured load and `now` in, a [`Change`] out when
//! the decision flips. Shedding starts at a sample above a high mark once samples above a
//! high mark cover at least half of a short `window` (one late timer is a hiccup, not
//! overload), and stops once every signal has stayed at or below its low mark for `hold`
//! (so it does not flap).

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::config::{GovernorConfig, Signal};

/// How often the load is sampled.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// Most samples kept for the window (more than it can hold at [`SAMPLE_PERIOD`] unless
/// the window is minutes long; older ones are dropped first).
const MAX_WINDOW_SAMPLES: usize = 1024;

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::MediaLate => "media threads' lateness",
            Signal::RuntimeLag => "async runtime's scheduling lag",
        })
    }
}

/// One measurement of the load. `None`: not measured this time (it neither triggers
/// shedding nor counts as calm).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    pub media_late: Option<Duration>,
    pub runtime_lag: Option<Duration>,
}

/// What a sample changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Shedding starts: `signal` measured `value`, above its high mark `high`.
    Shed {
        signal: Signal,
        value: Duration,
        high: Duration,
    },
    /// Admitting again after shedding for `shed_for`.
    Admit { shed_for: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Admitting,
    Shedding {
        since: Instant,
        /// The last sample with a signal above its low mark (the calm period starts after).
        last_busy: Instant,
    },
}

/// The admit/shed decision with hysteresis. Sans-IO: time comes in with each sample.
#[derive(Debug, Clone)]
pub struct Governor {
    config: GovernorConfig,
    state: State,
    /// While admitting: the samples of the last `window`: when each was taken, whether
    /// it was above a high mark, and the time it stands for (since the sample before).
    recent: VecDeque<Taken>,
    /// When the last sample was taken (the next one stands for the time since).
    last: Option<Instant>,
}

/// One sample in the window.
#[derive(Debug, Clone, Copy)]
struct Taken {
    at: Instant,
    over: bool,
    covers: Duration,
}

impl Governor {
    pub fn new(config: GovernorConfig) -> Governor {
        Governor {
            config,
            state: State::Admitting,
            recent: VecDeque::new(),
            last: None,
        }
    }

    /// True while new calls are to be refused.
    pub fn is_shedding(&self) -> bool {
        matches!(self.state, State::Shedding { .. })
    }

    /// Takes one sample measured at `now`; says when the decision changes.
    pub fn on_sample(&mut self, now: Instant, sample: Sample) -> Option<Change> {
        let signals = [
            (Signal::MediaLate, sample.media_late, self.config.media_late),
            (
                Signal::RuntimeLag,
                sample.runtime_lag,
                self.config.runtime_lag,
            ),
        ];
        if signals.iter().all(|(_, value, _)| value.is_none()) {
            // Not measured: the next sample stands only for the time after this one.
            self.last = Some(now);
            return None;
        }
        // Not calm: a signal measured above its low mark.
        let busy = signals
            .iter()
            .any(|(_, value, marks)| value.is_some_and(|v| v > marks.low));
        // Above a high mark: the signal furthest above its mark names the cause.
        let over = signals
            .iter()
            .filter_map(|&(signal, value, marks)| Some((signal, value?, marks)))
            .filter(|(_, value, marks)| *value > marks.high)
            .max_by(|a, b| ratio(a.1, a.2.high).total_cmp(&ratio(b.1, b.2.high)));
        match self.state {
            State::Admitting => {
                self.remember(now, over.is_some());
                let (signal, value, marks) = over?;
                // Overloaded for at least half of the last window (a sample stands for the
                // time since the one before, so a host too stalled to sample often still
                // counts in full, and one late sample after start-up does not).
                if self.over_in_window(now) * 2 < self.config.window {
                    return None;
                }
                self.recent.clear();
                self.state = State::Shedding {
                    since: now,
                    last_busy: now,
                };
                Some(Change::Shed {
                    signal,
                    value,
                    high: marks.high,
                })
            }
            State::Shedding { since, last_busy } => {
                self.last = Some(now);
                if busy {
                    self.state = State::Shedding {
                        since,
                        last_busy: now.max(last_busy),
                    };
                    return None;
                }
                if now.saturating_duration_since(last_busy) < self.config.hold {
                    return None;
                }
                self.state = State::Admitting;
                Some(Change::Admit {
                    shed_for: now.saturating_duration_since(since),
                })
            }
        }
    }

    /// Adds a sample to the window and drops those older than it (the newest stays).
    fn remember(&mut self, now: Instant, over: bool) {
        // The first sample stands for one period.
        let covers = self
            .last
            .map_or(SAMPLE_PERIOD, |last| now.saturating_duration_since(last));
        self.last = Some(now);
        self.recent.push_back(Taken {
            at: now,
            over,
            covers,
        });
        while self.recent.len() > MAX_WINDOW_SAMPLES
            || (self.recent.len() > 1
                && self
                    .recent
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(t.at) >= self.config.window))
        {
            self.recent.pop_front();
        }
    }

    /// How much of the last `window` (up to `now`) the samples above a mark stand for.
    fn over_in_window(&self, now: Instant) -> Duration {
        let start = now.checked_sub(self.config.window);
        self.recent
            .iter()
            .filter(|t| t.over)
            .map(|t| {
                let from = t.at.checked_sub(t.covers);
                let from = match (from, start) {
                    (Some(f), Some(s)) => f.max(s),
                    (None, Some(s)) => s,
                    (f, None) => f.unwrap_or(t.at),
                };
                t.at.saturating_duration_since(from)
            })
            .sum()
    }
}

/// How far `value` is above `mark`, as a factor (for naming the main cause).
fn ratio(value: Duration, mark: Duration) -> f64 {
    value.as_secs_f64() / mark.as_secs_f64().max(1e-6)
}

#[cfg(test)]
mod tests;
