//! Injectable faults: added latency, an error status for the next N requests or a
//! fraction of them, hanging requests, lost responses (the request is applied, then an
//! error status answers it, as from a gateway that timed out); optionally restricted to a
//! path prefix or a method.
//! The decision logic is pure and deterministic (a fraction is spread evenly, not random).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest latency that can be injected.
pub const MAX_LATENCY_MS: u64 = 600_000;

/// Answer matching requests with an error status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFault {
    /// The status (400-599), e.g. 500 or 503.
    pub status: u16,
    /// Only the next `count` matching requests (default: all).
    #[serde(default)]
    pub count: Option<u32>,
    /// Only this fraction (0.0-1.0) of matching requests, spread evenly (default: all).
    #[serde(default)]
    pub fraction: Option<f64>,
}

/// Accept matching requests and never answer, until the fault is cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HangFault {
    /// Only the next `count` matching requests (default: all, until cleared).
    #[serde(default)]
    pub count: Option<u32>,
}

/// Apply matching requests, then answer them with an error status instead of their
/// response: the client cannot tell whether the request took effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LostResponse {
    /// The status answered instead (400-599), e.g. 504.
    pub status: u16,
    /// Only the next `count` matching requests (default: all).
    #[serde(default)]
    pub count: Option<u32>,
}

/// The fault configuration (`[sandbox.faults]` in TOML, `POST /__sandbox/faults` JSON).
/// The default injects nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Latency added before answering matching requests.
    #[serde(default)]
    pub latency_ms: u64,
    /// Error responses.
    #[serde(default)]
    pub error: Option<ErrorFault>,
    /// Hanging requests (take precedence over `lost_response` and `error`).
    #[serde(default)]
    pub hang: Option<HangFault>,
    /// Lost responses (take precedence over `error`).
    #[serde(default)]
    pub lost_response: Option<LostResponse>,
    /// Only requests whose path starts with this.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Only requests with this method (case-insensitive).
    #[serde(default)]
    pub method: Option<String>,
}

/// A fault configuration that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultsError {
    /// Status outside 400-599.
    #[error("error.status must be 400-599")]
    Status,
    /// Fraction outside 0-1.
    #[error("error.fraction must be between 0 and 1")]
    Fraction,
    /// Latency too large.
    #[error("latency_ms must be at most {MAX_LATENCY_MS}")]
    Latency,
    /// Filter too long.
    #[error("path_prefix and method must be at most 256 characters")]
    Filter,
}

impl Faults {
    /// Check the values.
    pub fn validate(&self) -> Result<(), FaultsError> {
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(FaultsError::Latency);
        }
        if let Some(e) = &self.error {
            if !(400..=599).contains(&e.status) {
                return Err(FaultsError::Status);
            }
            if e.fraction.is_some_and(|f| !(0.0..=1.0).contains(&f)) {
                return Err(FaultsError::Fraction);
            }
        }
        if self
            .lost_response
            .as_ref()
            .is_some_and(|l| !(400..=599).contains(&l.status))
        {
            return Err(FaultsError::Status);
        }
        let long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.len() > 256);
        if long(&self.path_prefix) || long(&self.method) {
            return Err(FaultsError::Filter);
        }
        Ok(())
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Serve it normally.
    Serve,
    /// Answer with this status.
    Error(u16),
    /// Never answer (until released).
    Hang,
    /// Serve it, then answer this status instead of its response.
    ServeThenError(u16),
}

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Delay before acting.
    pub latency: Duration,
    /// The action.
    pub action: Action,
}

/// Faults plus their counters.
#[derive(Debug, Clone, Default)]
pub struct FaultState {
    faults: Faults,
    error_left: Option<u32>,
    hang_left: Option<u32>,
    lost_left: Option<u32>,
    matched: u64,
}

impl FaultState {
    /// Start from a (validated) configuration.
    pub fn new(faults: Faults) -> Self {
        Self {
            error_left: faults.error.as_ref().and_then(|e| e.count),
            hang_left: faults.hang.as_ref().and_then(|h| h.count),
            lost_left: faults.lost_response.as_ref().and_then(|l| l.count),
            faults,
            matched: 0,
        }
    }

    /// The configuration.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    fn applies(&self, method: &str, path: &str) -> bool {
        self.faults
            .path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
            && self
                .faults
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }

    /// Decide for a request, updating counters.
    pub fn decide(&mut self, method: &str, path: &str) -> Decision {
        if !self.applies(method, path) {
            return Decision {
                latency: Duration::ZERO,
                action: Action::Serve,
            };
        }
        let latency = Duration::from_millis(self.faults.latency_ms);
        let k = self.matched;
        self.matched = self.matched.saturating_add(1);
        if self.faults.hang.is_some() && self.hang_left != Some(0) {
            if let Some(n) = &mut self.hang_left {
                *n -= 1;
            }
            return Decision {
                latency,
                action: Action::Hang,
            };
        }
        if let Some(l) = &self.faults.lost_response {
            if self.lost_left != Some(0) {
                if let Some(n) = &mut self.lost_left {
                    *n -= 1;
                }
                return Decision {
                    latency,
                    action: Action::ServeThenError(l.status),
                };
            }
        }
        let mut action = Action::Serve;
        if let Some(e) = &self.faults.error {
            let selected = match e.fraction {
                // Request k fails when the running total floor(k * f) steps up.
                Some(f) => ((k + 1) as f64 * f).floor() > (k as f64 * f).floor(),
                None => true,
            };
            if selected && self.error_left != Some(0) {
                if let Some(n) = &mut self.error_left {
                    *n -= 1;
                }
                action = Action::Error(e.status);
            }
        }
        Decision { latency, action }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(st: &mut FaultState, n: usize, method: &str, path: &str) -> Vec<Action> {
        (0..n).map(|_| st.decide(method, path).action).collect()
    }

    #[test]
    fn counted_error_then_normal() {
        let mut st = FaultState::new(Faults {
            error: Some(ErrorFault {
                status: 503,
                count: Some(2),
                fraction: None,
            }),
            ..Faults::default()
        });
        assert_eq!(
            actions(&mut st, 3, "GET", "/api/v2/search.json"),
            vec![Action::Error(503), Action::Error(503), Action::Serve]
        );
    }

    #[test]
    fn fraction_is_spread_evenly() {
        let mut st = FaultState::new(Faults {
            error: Some(ErrorFault {
                status: 500,
                count: None,
                fraction: Some(0.25),
            }),
            ..Faults::default()
        });
        let a = actions(&mut st, 8, "GET", "/x");
        assert_eq!(a.iter().filter(|a| **a == Action::Error(500)).count(), 2);
        assert_eq!(a[3], Action::Error(500));
        assert_eq!(a[7], Action::Error(500));
    }

    #[test]
    fn filters_and_hang_precedence() {
        let mut st = FaultState::new(Faults {
            latency_ms: 5,
            hang: Some(HangFault { count: Some(1) }),
            error: Some(ErrorFault {
                status: 500,
                count: None,
                fraction: None,
            }),
            path_prefix: Some("/api/v2/tickets".into()),
            method: Some("put".into()),
            lost_response: None,
        });
        let other = st.decide("GET", "/api/v2/tickets/1.json");
        assert_eq!(other.action, Action::Serve);
        assert_eq!(other.latency, Duration::ZERO);
        let d = st.decide("PUT", "/api/v2/tickets/1.json");
        assert_eq!(d.action, Action::Hang);
        assert_eq!(d.latency, Duration::from_millis(5));
        assert_eq!(
            st.decide("PUT", "/api/v2/tickets/1.json").action,
            Action::Error(500)
        );
        assert_eq!(st.decide("PUT", "/api/v2/users.json").action, Action::Serve);
    }

    #[test]
    fn lost_responses_are_served_then_answered_with_the_status() {
        let mut st = FaultState::new(Faults {
            lost_response: Some(LostResponse {
                status: 504,
                count: Some(1),
            }),
            method: Some("POST".into()),
            ..Faults::default()
        });
        assert_eq!(
            actions(&mut st, 2, "POST", "/api/v2/tickets.json"),
            vec![Action::ServeThenError(504), Action::Serve]
        );
        let bad = Faults {
            lost_response: Some(LostResponse {
                status: 200,
                count: None,
            }),
            ..Faults::default()
        };
        assert_eq!(bad.validate(), Err(FaultsError::Status));
    }

    #[test]
    fn validation() {
        let bad = Faults {
            error: Some(ErrorFault {
                status: 200,
                count: None,
                fraction: None,
            }),
            ..Faults::default()
        };
        assert_eq!(bad.validate(), Err(FaultsError::Status));
        let bad = Faults {
            error: Some(ErrorFault {
                status: 500,
                count: None,
                fraction: Some(1.5),
            }),
            ..Faults::default()
        };
        assert_eq!(bad.validate(), Err(FaultsError::Fraction));
        assert!(Faults::default().validate().is_ok());
    }
}
