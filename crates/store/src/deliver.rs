//! What the outbox worker needs from the outside: a [`Deliverer`] that performs requests and
//! checks for earlier deliveries, and a [`Clock`] for wall time.

use std::future::Future;

use jiff::Timestamp;

use crate::{DeliveryOutcome, OutboxEntry};

/// Why an "already delivered?" check could not answer (the item stays uncertain and the
/// check is retried later). The message must not contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delivery check failed: {message}")]
pub struct CheckError {
    pub message: String,
}

/// Performs outbox requests. The binary implements it with the HTTP connector and, for
/// Zendesk notes, "list the ticket's comments and look for the marker".
pub trait Deliverer: Send + Sync + 'static {
    /// Sends the request once (no retries: the worker's policy decides those) and reports
    /// what happened. Should bound its own time; the worker also applies an attempt timeout.
    fn deliver(&self, entry: &OutboxEntry) -> impl Future<Output = DeliveryOutcome> + Send;

    /// After an uncertain outcome: is the request already applied (e.g. is a comment with
    /// `entry.item.marker` on the ticket)? Answer `Ok(false)` when it cannot be known
    /// (no marker): the item is then sent again (at-least-once).
    fn already_delivered(
        &self,
        entry: &OutboxEntry,
    ) -> impl Future<Output = Result<bool, CheckError>> + Send;
}

/// Wall-clock time for the worker (stored due times are wall-clock milliseconds).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Wall time that advances with tokio's clock: `base` plus the tokio time elapsed since
/// creation. Under `tokio::time::pause` (tests) it moves only with virtual time, so the
/// worker's sleeps and its stored due times agree.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base: Timestamp,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// Starts at `base` now.
    pub fn new(base: Timestamp) -> Self {
        TokioClock {
            base,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        crate::policy::add(self.base, self.start.elapsed())
    }
}
