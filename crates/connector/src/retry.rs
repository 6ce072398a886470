//! The retry decision as a pure function: given how an attempt ended, how many were made,
//! the time used and the budget, say "retry after X" or "stop". The async client follows it.

use std::time::Duration;

/// How one attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// A response with this status arrived.
    Status(u16),
    /// The connection could not be made.
    Connect,
    /// The attempt timed out.
    Timeout,
    /// Anything else (invalid request, oversized body, ...): never retried.
    Fatal,
}

/// Everything the decision depends on besides the result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttemptState {
    /// Attempts made so far, the one just ended included (1 after the first).
    pub attempts: u32,
    /// Retries allowed after the first attempt.
    pub max_retries: u32,
    /// Time used since the request started.
    pub elapsed: Duration,
    /// Time budget for all attempts together.
    pub budget: Duration,
    /// `Retry-After` of the response, already parsed (honoured on 429 only).
    pub retry_after: Option<Duration>,
    /// Random value in `[0, 1]` spreading the backoff; out-of-range values are clamped.
    pub jitter: f64,
}

/// Why no further attempt is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Success, or a failure that retrying cannot fix (2xx, 3xx, 4xx but 429, fatal).
    NotRetryable,
    /// All allowed retries are used.
    RetriesExhausted,
    /// The wait plus a minimal attempt would not fit in what is left of the budget.
    BudgetExhausted,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    Stop(StopReason),
}

/// Backoff parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Backoff before the first retry (before jitter); doubles each retry.
    pub base_backoff: Duration,
    /// Upper bound of the backoff (before jitter).
    pub max_backoff: Duration,
    /// A retry is only worth it if at least this much budget is left after the wait.
    pub min_attempt_time: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            min_attempt_time: Duration::from_millis(50),
        }
    }
}

/// True for results worth retrying: connect errors, timeouts, 5xx and 429.
pub fn is_retryable(result: AttemptResult) -> bool {
    match result {
        AttemptResult::Status(s) => s == 429 || (500..=599).contains(&s),
        AttemptResult::Connect | AttemptResult::Timeout => true,
        AttemptResult::Fatal => false,
    }
}

impl RetryPolicy {
    /// Decide what follows an attempt that ended with `result`.
    pub fn decide(&self, result: AttemptResult, state: AttemptState) -> Decision {
        if !is_retryable(result) {
            return Decision::Stop(StopReason::NotRetryable);
        }
        if state.attempts > state.max_retries {
            return Decision::Stop(StopReason::RetriesExhausted);
        }
        let wait = match (result, state.retry_after) {
            (AttemptResult::Status(429), Some(after)) => after,
            _ => self.backoff(state.attempts, state.jitter),
        };
        let remaining = state.budget.saturating_sub(state.elapsed);
        match wait.checked_add(self.min_attempt_time) {
            Some(needed) if needed <= remaining => Decision::RetryAfter(wait),
            _ => Decision::Stop(StopReason::BudgetExhausted),
        }
    }

    /// Exponential backoff after `attempts` attempts with "equal jitter": half fixed,
    /// half scaled by `jitter`.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff);
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let half = exp / 2;
        half + half.mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn state(attempts: u32, max_retries: u32, elapsed: u64, budget: u64) -> AttemptState {
        AttemptState {
            attempts,
            max_retries,
            elapsed: MS(elapsed),
            budget: MS(budget),
            retry_after: None,
            jitter: 0.0,
        }
    }

    #[test]
    fn retryable_classification_covers_every_status() {
        for s in 100u16..=999 {
            let want = s == 429 || (500..=599).contains(&s);
            assert_eq!(is_retryable(AttemptResult::Status(s)), want, "status {s}");
        }
        assert!(is_retryable(AttemptResult::Connect));
        assert!(is_retryable(AttemptResult::Timeout));
        assert!(!is_retryable(AttemptResult::Fatal));
    }

    #[test]
    fn decision_table() {
        let p = RetryPolicy::default();
        use AttemptResult::*;
        use Decision::*;
        use StopReason::*;
        let with_after = |mut s: AttemptState, after: u64| {
            s.retry_after = Some(MS(after));
            s
        };
        let with_jitter = |mut s: AttemptState, j: f64| {
            s.jitter = j;
            s
        };
        let cases: Vec<(AttemptResult, AttemptState, Decision)> = vec![
            // success and non-retryable client errors stop at once
            (Status(200), state(1, 3, 0, 5000), Stop(NotRetryable)),
            (Status(204), state(1, 3, 0, 5000), Stop(NotRetryable)),
            (Status(302), state(1, 3, 0, 5000), Stop(NotRetryable)),
            (Status(400), state(1, 3, 0, 5000), Stop(NotRetryable)),
            (Status(401), state(1, 3, 0, 5000), Stop(NotRetryable)),
            (Status(404), state(1, 3, 0, 5000), Stop(NotRetryable)),
            (Status(422), state(1, 3, 0, 5000), Stop(NotRetryable)),
            (Fatal, state(1, 3, 0, 5000), Stop(NotRetryable)),
            // retryable, backoff doubles: 100, 200, 400 ms (jitter 0 -> half of it)
            (Status(500), state(1, 3, 0, 5000), RetryAfter(MS(50))),
            (Status(503), state(2, 3, 0, 5000), RetryAfter(MS(100))),
            (Connect, state(3, 3, 0, 5000), RetryAfter(MS(200))),
            (Timeout, state(1, 3, 0, 5000), RetryAfter(MS(50))),
            (Status(429), state(1, 3, 0, 5000), RetryAfter(MS(50))),
            // jitter 1 -> the full exponential value
            (
                Status(502),
                with_jitter(state(2, 3, 0, 5000), 1.0),
                RetryAfter(MS(200)),
            ),
            (
                Status(502),
                with_jitter(state(2, 3, 0, 5000), 0.5),
                RetryAfter(MS(150)),
            ),
            // retries exhausted
            (Status(500), state(4, 3, 0, 5000), Stop(RetriesExhausted)),
            (Connect, state(1, 0, 0, 5000), Stop(RetriesExhausted)),
            (
                Status(429),
                with_after(state(2, 1, 0, 5000), 1),
                Stop(RetriesExhausted),
            ),
            // budget: wait + min attempt time must fit in what is left
            (Status(500), state(1, 3, 4901, 5000), Stop(BudgetExhausted)),
            (Status(500), state(1, 3, 4900, 5000), RetryAfter(MS(50))),
            (Status(500), state(1, 3, 6000, 5000), Stop(BudgetExhausted)),
            // 429 with Retry-After: honoured when it fits, else give up
            (
                Status(429),
                with_after(state(1, 3, 0, 5000), 1000),
                RetryAfter(MS(1000)),
            ),
            (
                Status(429),
                with_after(state(1, 3, 0, 5000), 0),
                RetryAfter(MS(0)),
            ),
            (
                Status(429),
                with_after(state(1, 3, 0, 1049), 1000),
                Stop(BudgetExhausted),
            ),
            (
                Status(429),
                with_after(state(1, 3, 0, 1050), 1000),
                RetryAfter(MS(1000)),
            ),
            (
                Status(429),
                with_after(state(1, 3, 3000, 5000), 3000),
                Stop(BudgetExhausted),
            ),
            // Retry-After is ignored on other statuses (backoff applies)
            (
                Status(503),
                with_after(state(1, 3, 0, 5000), 3000),
                RetryAfter(MS(50)),
            ),
            // 401 is never retried by the policy (the OAuth refresh is separate)
            (
                Status(401),
                with_after(state(1, 3, 0, 5000), 0),
                Stop(NotRetryable),
            ),
        ];
        for (i, (result, st, want)) in cases.into_iter().enumerate() {
            assert_eq!(p.decide(result, st), want, "case {i}: {result:?} {st:?}");
        }
    }

    #[test]
    fn backoff_is_bounded_and_monotone_without_jitter() {
        let p = RetryPolicy::default();
        let mut last = Duration::ZERO;
        for attempts in 0..=100 {
            let b = p.backoff(attempts, 1.0);
            assert!(b <= p.max_backoff, "attempts {attempts}: {b:?}");
            assert!(b >= last, "attempts {attempts}");
            last = b;
        }
        assert_eq!(p.backoff(u32::MAX, 1.0), p.max_backoff);
        assert_eq!(p.backoff(1, f64::NAN), MS(50));
        assert_eq!(p.backoff(1, -3.0), MS(50));
        assert_eq!(p.backoff(1, 7.0), MS(100));
    }

    #[test]
    fn jitter_stays_within_half_and_full() {
        let p = RetryPolicy::default();
        for attempts in 1..8 {
            let lo = p.backoff(attempts, 0.0);
            let hi = p.backoff(attempts, 1.0);
            assert_eq!(hi, lo * 2, "attempts {attempts}");
            for j in [0.1, 0.25, 0.9] {
                let b = p.backoff(attempts, j);
                assert!(b >= lo && b <= hi);
            }
        }
    }

    #[test]
    fn huge_retry_after_does_not_overflow() {
        let p = RetryPolicy::default();
        let mut s = state(1, 3, 0, 5000);
        s.retry_after = Some(Duration::MAX);
        assert_eq!(
            p.decide(AttemptResult::Status(429), s),
            Decision::Stop(StopReason::BudgetExhausted)
        );
    }
}
