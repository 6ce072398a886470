//! The governor's thresholds: a high and a low mark per signal, the window that decides
//! when shedding starts and the hold that decides when it stops; their defaults and the
//! checks that keep them sensible.

use std::time::Duration;

/// Which measurement made the governor shed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    MediaLate,
    RuntimeLag,
}

impl Signal {
    /// The signal's name in settings and errors (`media_late`, `runtime_lag`).
    pub fn key(self) -> &'static str {
        match self {
            Signal::MediaLate => "media_late",
            Signal::RuntimeLag => "runtime_lag",
        }
    }
}

/// Largest accepted high mark: beyond it audio and signalling have long failed.
pub const MAX_MARK: Duration = Duration::from_secs(10);
/// Longest accepted `hold` and `window`.
pub const MAX_HOLD: Duration = Duration::from_secs(600);

/// A high and a low mark for one signal: above `high` counts towards shedding; shedding
/// ends once every signal has stayed at or below its `low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub high: Duration,
    pub low: Duration,
}

/// The governor's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GovernorConfig {
    /// Media threads' lateness: the worst delay, in a sample period, between a packet's
    /// due time and the moment its worker started sending it.
    pub media_late: Marks,
    /// The async runtime's scheduling lag: how late a periodic timer task runs (or, while
    /// it has not run, how overdue it is).
    pub runtime_lag: Marks,
    /// Shedding starts at a sample above a high mark once samples above a high mark (this
    /// one included, each standing for the time since the one before) cover at least
    /// half of the last `window`. Zero: at the first sample above.
    pub window: Duration,
    /// Every signal must stay at or below its low mark this long before new calls are
    /// admitted again (also the shortest time spent shedding).
    pub hold: Duration,
}

// Defaults from the call-rate benchmark on a 2-core machine (decision 0008): at 300
// calls/s, which it carries, samples above these marks are rare and brief; at 500 calls/s,
// which it does not, the runtime lag passes them for good about 15 s in and reaches
// seconds soon after. The marks sit where calls would already suffer (media 100 ms late is
// an audible gap; a runtime 400 ms behind nears SIP's T1 of 500 ms, after which callers
// retransmit and add load), so a merely busy host never sheds.
impl Default for GovernorConfig {
    fn default() -> Self {
        GovernorConfig {
            media_late: Marks {
                high: Duration::from_millis(100),
                low: Duration::from_millis(20),
            },
            runtime_lag: Marks {
                high: Duration::from_millis(400),
                low: Duration::from_millis(50),
            },
            window: Duration::from_secs(1),
            hold: Duration::from_secs(2),
        }
    }
}

/// Why a [`GovernorConfig`] is refused. Messages name the setting as
/// `<signal>_high`/`<signal>_low`, `window` or `hold`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A high mark is zero or above [`MAX_MARK`].
    #[error("{}_high = {}: expected more than 0 and at most {}", signal.key(), show(*high), show(MAX_MARK))]
    HighMark { signal: Signal, high: Duration },
    /// A low mark is not below its high mark.
    #[error(
        "{key}_low = {} must be below {key}_high = {} (the gap keeps shedding from flapping)",
        show(*low),
        show(*high),
        key = signal.key()
    )]
    LowNotBelowHigh {
        signal: Signal,
        low: Duration,
        high: Duration,
    },
    /// The window is above [`MAX_HOLD`].
    #[error("window = {}: expected at most {}", show(*window), show(MAX_HOLD))]
    Window { window: Duration },
    /// The hold is zero or above [`MAX_HOLD`].
    #[error("hold = {}: expected more than 0 and at most {}", show(*hold), show(MAX_HOLD))]
    Hold { hold: Duration },
}

fn show(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

impl GovernorConfig {
    /// Checks every threshold; the first problem found is the error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (signal, marks) in [
            (Signal::MediaLate, self.media_late),
            (Signal::RuntimeLag, self.runtime_lag),
        ] {
            if marks.high.is_zero() || marks.high > MAX_MARK {
                return Err(ConfigError::HighMark {
                    signal,
                    high: marks.high,
                });
            }
            if marks.low >= marks.high {
                return Err(ConfigError::LowNotBelowHigh {
                    signal,
                    low: marks.low,
                    high: marks.high,
                });
            }
        }
        if self.window > MAX_HOLD {
            return Err(ConfigError::Window {
                window: self.window,
            });
        }
        if self.hold.is_zero() || self.hold > MAX_HOLD {
            return Err(ConfigError::Hold { hold: self.hold });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_defaults_are_valid_with_low_marks_below_high() {
        let d = GovernorConfig::default();
        assert_eq!(d.validate(), Ok(()));
        assert!(d.media_late.low < d.media_late.high);
        assert!(d.runtime_lag.low < d.runtime_lag.high);
    }

    #[test]
    fn each_bad_threshold_is_named_in_its_error() {
        let d = GovernorConfig::default();
        let err = |c: GovernorConfig| c.validate().unwrap_err().to_string();
        let e = err(GovernorConfig {
            media_late: Marks {
                high: 10 * MS,
                low: 10 * MS,
            },
            ..d
        });
        assert_eq!(
            e,
            "media_late_low = 10ms must be below media_late_high = 10ms (the gap keeps \
             shedding from flapping)"
        );
        let e = err(GovernorConfig {
            runtime_lag: Marks {
                high: 400 * MS,
                low: Duration::from_secs(1),
            },
            ..d
        });
        assert!(e.starts_with("runtime_lag_low = 1s must be below"), "{e}");
        let e = err(GovernorConfig {
            media_late: Marks {
                high: Duration::ZERO,
                low: Duration::ZERO,
            },
            ..d
        });
        assert_eq!(
            e,
            "media_late_high = 0s: expected more than 0 and at most 10s"
        );
        let e = err(GovernorConfig {
            runtime_lag: Marks {
                high: Duration::from_secs(3600),
                low: 50 * MS,
            },
            ..d
        });
        assert!(e.starts_with("runtime_lag_high = 1h:"), "{e}");
        let hold = |h: Duration| err(GovernorConfig { hold: h, ..d });
        assert_eq!(
            hold(Duration::ZERO),
            "hold = 0s: expected more than 0 and at most 10m"
        );
        assert!(hold(Duration::from_secs(7200)).starts_with("hold = 2h:"));
        let e = err(GovernorConfig {
            window: Duration::from_secs(7200),
            ..d
        });
        assert_eq!(e, "window = 2h: expected at most 10m");
        // The limits themselves are accepted; a zero window is (the first sample sheds).
        let edge = GovernorConfig {
            media_late: Marks {
                high: MAX_MARK,
                low: Duration::ZERO,
            },
            window: Duration::ZERO,
            hold: MAX_HOLD,
            ..d
        };
        assert_eq!(edge.validate(), Ok(()));
    }
}
