//! One delivery attempt as a task (check first when uncertain, then send, each under a time
//! limit), and the set of running attempts, which turns a panicking deliverer into an
//! uncertain outcome instead of losing track of the item.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::{Id, JoinSet};

use crate::{Deliverer, DeliveryOutcome, OutboxEntry};

/// What one attempt produced.
pub(crate) enum Attempt {
    /// The check found it already applied; nothing was sent.
    FoundDelivered,
    /// The check could not answer.
    CheckFailed(String),
    /// A request was made (or timed out).
    Sent(DeliveryOutcome),
    /// The deliverer panicked: whether anything was sent is unknown.
    Panicked(String),
}

/// The attempts under way, with the entry each one is about.
#[derive(Default)]
pub(crate) struct Running {
    set: JoinSet<(OutboxEntry, Attempt)>,
    entries: HashMap<Id, OutboxEntry>,
}

impl Running {
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Starts an attempt for a claimed (in-flight) entry.
    pub(crate) fn spawn<D: Deliverer>(
        &mut self,
        deliverer: Arc<D>,
        entry: OutboxEntry,
        was_uncertain: bool,
        limit: Duration,
    ) {
        let for_task = entry.clone();
        let handle = self.set.spawn(async move {
            let result = attempt(&*deliverer, &for_task, was_uncertain, limit).await;
            (for_task, result)
        });
        self.entries.insert(handle.id(), entry);
    }

    /// The next finished attempt; `None` when none is running.
    pub(crate) async fn next(&mut self) -> Option<(OutboxEntry, Attempt)> {
        loop {
            let joined = self.set.join_next_with_id().await?;
            if let Some(done) = self.settle(joined) {
                return Some(done);
            }
        }
    }

    /// A finished attempt if one is ready now (never waits).
    pub(crate) fn try_next(&mut self) -> Option<(OutboxEntry, Attempt)> {
        loop {
            let joined = self.set.try_join_next_with_id()?;
            if let Some(done) = self.settle(joined) {
                return Some(done);
            }
        }
    }

    /// What a joined task means: its result, a panic as an uncertain attempt, or nothing
    /// (cancelled, or not ours).
    fn settle(
        &mut self,
        joined: Result<(Id, (OutboxEntry, Attempt)), tokio::task::JoinError>,
    ) -> Option<(OutboxEntry, Attempt)> {
        match joined {
            Ok((id, done)) => {
                self.entries.remove(&id);
                Some(done)
            }
            Err(e) => {
                let entry = self.entries.remove(&e.id())?;
                if e.is_cancelled() {
                    return None;
                }
                tracing::error!(id = entry.id, "outbox: deliverer panicked");
                Some((entry, Attempt::Panicked("deliverer panicked".to_owned())))
            }
        }
    }

    /// Abandons every running attempt (their items stay in flight until the next start).
    pub(crate) fn abort_all(&mut self) {
        self.set.abort_all();
        self.entries.clear();
    }
}

/// One attempt: the already-delivered check first when the item is uncertain, then the send.
async fn attempt<D: Deliverer>(
    d: &D,
    entry: &OutboxEntry,
    was_uncertain: bool,
    limit: Duration,
) -> Attempt {
    if was_uncertain {
        match tokio::time::timeout(limit, d.already_delivered(entry)).await {
            Ok(Ok(true)) => return Attempt::FoundDelivered,
            Ok(Ok(false)) => {}
            Ok(Err(e)) => return Attempt::CheckFailed(e.to_string()),
            Err(_) => return Attempt::CheckFailed("delivery check timed out".to_owned()),
        }
    }
    match tokio::time::timeout(limit, d.deliver(entry)).await {
        Ok(outcome) => Attempt::Sent(outcome),
        Err(_) => Attempt::Sent(DeliveryOutcome::Timeout {
            message: format!("attempt exceeded {limit:?}"),
        }),
    }
}
