//! The delivery policy, as a pure function: given an attempt's outcome, decide the item's
//! next state and when to try again (exponential backoff with jitter and a cap, Retry-After).
//!
//! No clock, no randomness inside: `now` and the jitter fraction are passed in.

use std::time::Duration;

use jiff::Timestamp;

/// What one delivery attempt produced, as reported by a [`crate::Deliverer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// A response arrived (any status). `body` is kept (truncated) when the item goes dead.
    Response {
        status: u16,
        /// Parsed `Retry-After` header, if present.
        retry_after: Option<Duration>,
        body: String,
    },
    /// Could not connect: nothing was sent. Safe to retry.
    ConnectFailed { message: String },
    /// Timed out or the connection broke after the request may have been sent.
    Timeout { message: String },
    /// The request cannot be made at all (unknown connector, invalid URL): permanent.
    Invalid { message: String },
    /// The item resumed a flow run ([`crate::OutboxItem::resume`]) and the run finished:
    /// delivered. The requests the run recorded become new items, written in the same
    /// transaction as the item's result (a marker already stored is not added again, so a
    /// run repeated after a crash adds nothing twice).
    Resumed { items: Vec<crate::OutboxItem> },
}

/// What to do with the item after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It arrived.
    Delivered,
    /// Try again at `at`. When `uncertain`, the request may have been applied: check with
    /// `already_delivered` before sending again.
    Retry { at: Timestamp, uncertain: bool },
    /// Permanent failure: dead-letter it (response kept).
    Dead,
}

/// Retry timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay scale of the first retry.
    pub base: Duration,
    /// Largest backoff delay.
    pub cap: Duration,
    /// Largest Retry-After honoured (a hostile or broken server cannot park items for days).
    pub max_retry_after: Duration,
    /// Give up (dead) after this many attempts; `None` retries forever.
    pub max_attempts: Option<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(3600),
            max_attempts: None,
        }
    }
}

/// How a response status is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx.
    Success,
    /// Not applied, try again (408, 425, 429, 503 and other 5xx).
    Retry,
    /// May have been applied (500, 502, 504): check before sending again.
    RetryUncertain,
    /// Permanent (other 4xx, 3xx, 1xx, 501, 505, nonsense codes).
    Permanent,
}

/// Classifies an HTTP status.
pub fn classify_status(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        408 | 425 | 429 => StatusClass::Retry,
        500 | 502 | 504 => StatusClass::RetryUncertain,
        501 | 505 => StatusClass::Permanent,
        503..=599 => StatusClass::Retry,
        _ => StatusClass::Permanent,
    }
}

impl RetryPolicy {
    /// Backoff before attempt `attempt + 1`, after `attempt` (1-based) failed attempts:
    /// `d = min(cap, base * 2^(attempt-1))`, then "equal jitter": `d/2 + jitter * d/2`.
    /// `jitter` is a fraction in `[0, 1]` (clamped; NaN counts as 0.5).
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(63);
        let factor = 1u64.checked_shl(exp).unwrap_or(u64::MAX);
        let base_ms = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let cap_ms = u64::try_from(self.cap.as_millis()).unwrap_or(u64::MAX);
        let d = base_ms.saturating_mul(factor).min(cap_ms);
        let j = clamp_jitter(jitter);
        let half = d / 2;
        let extra = ((d - half) as f64 * j) as u64;
        Duration::from_millis(half.saturating_add(extra).min(d))
    }

    /// The delay honouring a Retry-After: at least `retry_after` (capped at
    /// `max_retry_after`), plus up to one `base` of jitter so a 429 storm does not come back
    /// all at the same instant.
    pub fn after_retry_after(&self, retry_after: Duration, jitter: f64) -> Duration {
        let ra = retry_after.min(self.max_retry_after);
        ra.saturating_add(self.base.mul_f64(clamp_jitter(jitter)))
    }

    /// Decides what follows attempt number `attempt` (1-based, this one included).
    pub fn decide(
        &self,
        attempt: u32,
        outcome: &DeliveryOutcome,
        now: Timestamp,
        jitter: f64,
    ) -> Decision {
        let (retry_after, uncertain) = match outcome {
            DeliveryOutcome::Response {
                status,
                retry_after,
                ..
            } => match classify_status(*status) {
                StatusClass::Success => return Decision::Delivered,
                StatusClass::Permanent => return Decision::Dead,
                StatusClass::Retry => (*retry_after, false),
                StatusClass::RetryUncertain => (*retry_after, true),
            },
            DeliveryOutcome::ConnectFailed { .. } => (None, false),
            DeliveryOutcome::Timeout { .. } => (None, true),
            DeliveryOutcome::Invalid { .. } => return Decision::Dead,
            DeliveryOutcome::Resumed { .. } => return Decision::Delivered,
        };
        if self.max_attempts.is_some_and(|max| attempt >= max) {
            return Decision::Dead;
        }
        let delay = match retry_after {
            Some(ra) => self.after_retry_after(ra, jitter),
            None => self.backoff(attempt, jitter),
        };
        Decision::Retry {
            at: add(now, delay),
            uncertain,
        }
    }
}

fn clamp_jitter(j: f64) -> f64 {
    if j.is_nan() {
        0.5
    } else {
        j.clamp(0.0, 1.0)
    }
}

/// `now + d`, saturating at the largest representable time.
pub(crate) fn add(now: Timestamp, d: Duration) -> Timestamp {
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let target = now.as_millisecond().saturating_add(ms);
    Timestamp::from_millisecond(target).unwrap_or(Timestamp::MAX)
}
