//! The outbox worker: delivers recorded requests in order per ordering key, with bounded
//! concurrency, the retry policy, Retry-After, and the already-delivered check after an
//! uncertain outcome.
//!
//! All scheduling state lives in the database (states, due times), so the worker survives
//! restarts and sees operator actions from other processes (picked up within `idle_poll`).
//! Per-key order comes from the due query: an item is started only when no earlier item of
//! its key is pending, in flight or uncertain.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::attempt::{Attempt, Running};
use crate::db_outbox::{Finish, Outcome};
use crate::{
    Clock, Decision, Deliverer, DeliveryOutcome, OutboxEntry, OutboxState, RetryPolicy, Store,
    StoreError, SystemClock,
};

/// Shortest sleep when a pass started nothing.
const MIN_IDLE_WAIT: Duration = Duration::from_millis(10);

/// Worker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// Backoff, caps and attempt budget.
    pub policy: RetryPolicy,
    /// Most attempts running at once (across keys; one per key at most).
    pub max_concurrency: usize,
    /// Longest sleep without looking at the database (catches changes by other processes).
    pub idle_poll: Duration,
    /// An attempt (or check) taking longer counts as a timeout (uncertain outcome).
    pub attempt_timeout: Duration,
    /// On shutdown, how long running attempts may finish before they are abandoned (an
    /// abandoned attempt stays in flight and is checked at the next start).
    pub shutdown_grace: Duration,
    /// Pause after a database error before trying again.
    pub error_pause: Duration,
    /// Seed for the jitter generator (`None`: from entropy).
    pub jitter_seed: Option<u64>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            policy: RetryPolicy::default(),
            max_concurrency: 8,
            idle_poll: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
            error_pause: Duration::from_secs(1),
            jitter_seed: None,
        }
    }
}

/// Delivers the outbox. Build with [`OutboxWorker::new`], then [`OutboxWorker::run`].
pub struct OutboxWorker<D, C = SystemClock> {
    store: Store,
    deliverer: Arc<D>,
    clock: Arc<C>,
    config: WorkerConfig,
}

impl<D: Deliverer> OutboxWorker<D, SystemClock> {
    /// A worker with default settings and the system clock.
    pub fn new(store: Store, deliverer: Arc<D>) -> Self {
        OutboxWorker {
            store,
            deliverer,
            clock: Arc::new(SystemClock),
            config: WorkerConfig::default(),
        }
    }
}

impl<D: Deliverer, C: Clock> OutboxWorker<D, C> {
    /// Replaces the settings.
    pub fn with_config(mut self, config: WorkerConfig) -> Self {
        self.config = config;
        self
    }

    /// Replaces the clock (tests use [`crate::TokioClock`] on paused time).
    pub fn with_clock<C2: Clock>(self, clock: C2) -> OutboxWorker<D, C2> {
        OutboxWorker {
            store: self.store,
            deliverer: self.deliverer,
            clock: Arc::new(clock),
            config: self.config,
        }
    }

    /// Runs until `shutdown` resolves. First turns items left in flight by a crash into
    /// uncertain ones (checked before sending again). Returns an error only if that first
    /// step fails; later database errors are logged and retried after `error_pause`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        tokio::pin!(shutdown);
        // SQLite: one worker per database; wait while another process (or worker) delivers
        // it: recovering its in-flight items as "uncertain" would race its deliveries.
        // PostgreSQL: workers on every node share the database; each takes its node's
        // lease and recovers only what its own previous run left in flight.
        let _lock = match self.store.path() {
            Some(path) => loop {
                match crate::worker_lock::try_lock(path) {
                    Ok(Some(lock)) => break Some(lock),
                    Ok(None) => {
                        tracing::info!(
                            path = %path.display(),
                            "outbox: another worker delivers this database; waiting for it to stop"
                        );
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "outbox: cannot take the worker lock");
                    }
                }
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = tokio::time::sleep(self.config.idle_poll) => {}
                }
            },
            None => None,
        };
        let recovered = if self.store.is_shared() {
            loop {
                match self.store.node_join(self.clock.now()).await? {
                    Some(recovered) => break recovered,
                    None => tracing::error!(
                        node = self.store.node().unwrap_or_default(),
                        "outbox: a running node already uses this node name; waiting for \
                         its lease to end (give every node its own [store] node)"
                    ),
                }
                let pause = self
                    .store
                    .node_renew_every()
                    .unwrap_or(self.config.idle_poll);
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        } else {
            self.store
                .outbox_recover_in_flight(self.clock.now())
                .await?
        };
        let mut lease = crate::lease::LeaseKeeper::new(&self.store);
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "outbox: items interrupted in flight are now uncertain"
            );
        }
        let mut rng = match self.config.jitter_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let max = self.config.max_concurrency.max(1);
        let mut tasks = Running::default();
        // Attempts finished since the last pass (written back by the next one).
        let mut done: Vec<(OutboxEntry, Attempt)> = Vec::new();
        loop {
            let free = max.saturating_sub(tasks.len());
            let wait = if free > 0 || !done.is_empty() {
                self.pass(&mut done, free, &mut tasks, &mut rng).await
            } else {
                None
            };
            tokio::select! {
                _ = &mut shutdown => break,
                Some(first) = tasks.next(), if !tasks.is_empty() => {
                    done.push(first);
                    // Others finished meanwhile go into the same pass.
                    while let Some(more) = tasks.try_next() {
                        done.push(more);
                    }
                }
                _ = self.store.outbox_changed(), if wait.is_some() => {}
                _ = sleep_opt(wait) => {}
                _ = lease.due() => lease.renew(&self.store, self.clock.now()).await,
            }
        }
        self.drain(tasks, &mut rng).await;
        lease.leave(&self.store).await;
        Ok(())
    }

    /// One round with the database (one write, one commit): writes back the finished
    /// attempts, claims up to `free` due items and starts an attempt for each. Returns how
    /// long to sleep before looking again: until the next due item, at most `idle_poll`;
    /// `None` when no slot is free (only a finishing attempt can make progress).
    async fn pass(
        &self,
        done: &mut Vec<(OutboxEntry, Attempt)>,
        free: usize,
        tasks: &mut Running,
        rng: &mut StdRng,
    ) -> Option<Duration> {
        let now = self.clock.now();
        let outcomes: Vec<Outcome> = done
            .drain(..)
            .map(|(entry, attempt)| self.outcome(&entry, attempt, now, rng))
            .collect();
        let ids: Vec<i64> = outcomes.iter().map(|o| o.id).collect();
        let limit = u32::try_from(free).unwrap_or(u32::MAX);
        let pass = match self.store.worker_pass(outcomes, limit, now).await {
            Ok(pass) => pass,
            Err(e) => {
                if !ids.is_empty() {
                    tracing::error!(error = %e, items = ids.len(), "outbox: storing attempt results failed");
                }
                tracing::error!(error = %e, "outbox: dispatch failed");
                return Some(self.config.error_pause);
            }
        };
        for (id, stored) in ids.iter().zip(&pass.finished) {
            if !stored {
                tracing::warn!(
                    id,
                    "outbox: item changed while in flight; result not stored"
                );
            }
        }
        let started = pass.claimed.len();
        for (claimed, was_uncertain) in pass.claimed {
            tasks.spawn(
                Arc::clone(&self.deliverer),
                claimed,
                was_uncertain,
                self.config.attempt_timeout,
            );
        }
        let max = self.config.max_concurrency.max(1);
        if free == 0 || tasks.len() >= max {
            return None;
        }
        let wait = self.until(pass.next_due);
        // Nothing startable although something looks due (an operator changed it
        // meanwhile): do not spin.
        if started == 0 {
            Some(wait.max(MIN_IDLE_WAIT))
        } else {
            Some(wait)
        }
    }

    /// Sleep until `next` (a due time), at most `idle_poll`.
    fn until(&self, next: Option<Timestamp>) -> Duration {
        let idle = self.config.idle_poll;
        let Some(at) = next else { return idle };
        let gap_ms = at
            .as_millisecond()
            .saturating_sub(self.clock.now().as_millisecond())
            .max(0);
        // +1 ms: stored times are whole milliseconds, the clock is finer.
        let gap = Duration::from_millis(u64::try_from(gap_ms).unwrap_or(u64::MAX))
            .saturating_add(Duration::from_millis(1));
        gap.min(idle)
    }

    /// What to write back for a finished attempt (the retry policy decides).
    fn outcome(
        &self,
        entry: &OutboxEntry,
        attempt: Attempt,
        now: Timestamp,
        rng: &mut StdRng,
    ) -> Outcome {
        let policy = &self.config.policy;
        let jitter: f64 = rng.gen();
        let mut defer_until = None;
        let mut spawn = Vec::new();
        let finish = match attempt {
            Attempt::FoundDelivered => Finish {
                state: OutboxState::Delivered,
                next_attempt_at: None,
                status: None,
                error: Some("found already delivered; not sent again".to_owned()),
                response: None,
            },
            Attempt::CheckFailed(message) | Attempt::Panicked(message) => Finish {
                state: OutboxState::Uncertain,
                next_attempt_at: Some(crate::policy::add(
                    now,
                    policy.backoff(entry.attempts, jitter),
                )),
                status: None,
                error: Some(message),
                response: None,
            },
            Attempt::Sent(mut outcome) => {
                if let DeliveryOutcome::Resumed { items } = &outcome {
                    // The run's items meet the bounds of a call's: else a dead letter.
                    if let Err(e) = crate::limits::check_items(items) {
                        outcome = DeliveryOutcome::Invalid {
                            message: format!("the resumed run recorded an invalid item: {e}"),
                        };
                    }
                }
                let decision = policy.decide(entry.attempts, &outcome, now, jitter);
                if let DeliveryOutcome::Resumed { items } = &mut outcome {
                    spawn = std::mem::take(items);
                }
                let (status, error, response, retry_after) = describe(outcome);
                match decision {
                    Decision::Delivered => Finish {
                        state: OutboxState::Delivered,
                        next_attempt_at: None,
                        status,
                        error: None,
                        response: None,
                    },
                    Decision::Retry { at, uncertain } => {
                        if retry_after {
                            defer_until = Some(at);
                        }
                        Finish {
                            state: if uncertain {
                                OutboxState::Uncertain
                            } else {
                                OutboxState::Pending
                            },
                            next_attempt_at: Some(at),
                            status,
                            error,
                            response,
                        }
                    }
                    Decision::Dead => Finish {
                        state: OutboxState::Dead,
                        next_attempt_at: None,
                        status,
                        error,
                        response,
                    },
                }
            }
        };
        let state = finish.state;
        tracing::debug!(id = entry.id, key = %entry.item.ordering_key, attempts = entry.attempts, state = state.as_str(), "outbox: attempt finished");
        if state == OutboxState::Dead {
            tracing::warn!(id = entry.id, status = ?finish.status, "outbox: item dead-lettered");
        }
        Outcome {
            id: entry.id,
            finish,
            defer: defer_until.map(|until| (entry.item.connector.clone(), until)),
            spawn,
            call_id: entry.call_id.clone(),
        }
    }

    /// On shutdown: lets running attempts finish within the grace period (their results
    /// are written back; nothing new is claimed).
    async fn drain(&self, mut tasks: Running, rng: &mut StdRng) {
        let grace = tokio::time::sleep(self.config.shutdown_grace);
        tokio::pin!(grace);
        while !tasks.is_empty() {
            tokio::select! {
                _ = &mut grace => break,
                Some(first) = tasks.next() => {
                    let mut done = vec![first];
                    while let Some(more) = tasks.try_next() {
                        done.push(more);
                    }
                    self.pass(&mut done, 0, &mut tasks, rng).await;
                }
            }
        }
        if !tasks.is_empty() {
            tracing::warn!(
                abandoned = tasks.len(),
                "outbox: attempts abandoned at shutdown; checked at next start"
            );
        }
        tasks.abort_all();
    }
}

/// Splits an outcome into (status, error text, kept response body, had Retry-After).
fn describe(outcome: DeliveryOutcome) -> (Option<u16>, Option<String>, Option<String>, bool) {
    match outcome {
        DeliveryOutcome::Response {
            status,
            retry_after,
            body,
        } => (
            Some(status),
            Some(format!("HTTP {status}")),
            Some(body),
            retry_after.is_some(),
        ),
        DeliveryOutcome::ConnectFailed { message } => {
            (None, Some(format!("connect: {message}")), None, false)
        }
        DeliveryOutcome::Timeout { message } => {
            (None, Some(format!("timeout: {message}")), None, false)
        }
        DeliveryOutcome::Invalid { message } => {
            (None, Some(format!("invalid: {message}")), None, false)
        }
        DeliveryOutcome::Resumed { .. } => (None, None, None, false),
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
