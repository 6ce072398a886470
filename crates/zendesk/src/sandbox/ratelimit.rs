//! A count-based, fixed-window rate limiter (requests per minute), sans-IO: the caller
//! passes `now`. Deterministic: the first request opens a 60 s window; within it the
//! first `limit` requests pass and the rest are refused with the seconds left.

use std::time::{Duration, Instant};

/// The window length.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; `remaining` more requests fit in this window.
    Allow {
        /// The limit.
        limit: u32,
        /// Requests left in the window.
        remaining: u32,
    },
    /// Refused: answer 429 with `Retry-After: retry_after_secs`.
    Limit {
        /// The limit.
        limit: u32,
        /// Whole seconds until the window ends (at least 1).
        retry_after_secs: u64,
    },
}

/// The limiter state.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: Option<u32>,
    window_start: Option<Instant>,
    used: u32,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests a minute (`None`: unlimited).
    pub fn new(limit: Option<u32>) -> Self {
        Self {
            limit,
            window_start: None,
            used: 0,
        }
    }

    /// Forget the current window.
    pub fn reset(&mut self) {
        self.window_start = None;
        self.used = 0;
    }

    /// Count one request at `now`. `None` when unlimited.
    pub fn check(&mut self, now: Instant) -> Option<Verdict> {
        let limit = self.limit?;
        let start = match self.window_start {
            Some(s) if now.saturating_duration_since(s) < WINDOW => s,
            _ => {
                self.window_start = Some(now);
                self.used = 0;
                now
            }
        };
        if self.used < limit {
            self.used += 1;
            return Some(Verdict::Allow {
                limit,
                remaining: limit - self.used,
            });
        }
        let left = WINDOW.saturating_sub(now.saturating_duration_since(start));
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(Verdict::Limit {
            limit,
            retry_after_secs: secs.max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_then_opens_a_new_one() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Some(2));
        assert_eq!(
            rl.check(t0),
            Some(Verdict::Allow {
                limit: 2,
                remaining: 1
            })
        );
        assert_eq!(
            rl.check(t0 + Duration::from_secs(1)),
            Some(Verdict::Allow {
                limit: 2,
                remaining: 0
            })
        );
        assert_eq!(
            rl.check(t0 + Duration::from_millis(20_500)),
            Some(Verdict::Limit {
                limit: 2,
                retry_after_secs: 40
            })
        );
        assert_eq!(
            rl.check(t0 + Duration::from_millis(59_999)),
            Some(Verdict::Limit {
                limit: 2,
                retry_after_secs: 1
            })
        );
        assert_eq!(
            rl.check(t0 + WINDOW),
            Some(Verdict::Allow {
                limit: 2,
                remaining: 1
            })
        );
        rl.reset();
        assert!(matches!(
            rl.check(t0 + WINDOW),
            Some(Verdict::Allow { remaining: 1, .. })
        ));
        assert_eq!(RateLimiter::new(None).check(t0), None);
    }

    #[test]
    fn zero_limit_refuses_everything() {
        let mut rl = RateLimiter::new(Some(0));
        assert!(matches!(
            rl.check(Instant::now()),
            Some(Verdict::Limit { .. })
        ));
    }
}
