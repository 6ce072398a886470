//! Shared test helpers: temp stores, sample records, and a fake in-process server that
//! implements `Deliverer` with scriptable behaviour.
#![allow(dead_code)]

pub mod pg;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use ringdesk_store::{
    CheckError, Deliverer, DeliveryOutcome, Interaction, OutboxEntry, OutboxItem, Store,
    StoreError, WorkerConfig,
};
use tokio::sync::Notify;

/// A fixed wall-clock start for tests.
pub fn t0() -> Timestamp {
    Timestamp::from_second(1_790_000_000).unwrap()
}

pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + secs).unwrap()
}

pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("ringdesk.db")).unwrap();
    (dir, store)
}

pub fn call(id: &str, ani: &str, arrived: Timestamp) -> Interaction {
    Interaction::new(id, ani, "+15550000", arrived)
}

/// A note for `ticket` whose body carries `marker`.
pub fn note(ticket: u32, marker: &str) -> OutboxItem {
    OutboxItem {
        ordering_key: format!("ticket:{ticket}"),
        connector: "zendesk".into(),
        method: "PUT".into(),
        path: format!("/api/v2/tickets/{ticket}.json"),
        query: vec![],
        headers: vec![("X-Secret".into(), "s3cr3t-value".into())],
        body: Some(format!(
            "{{\"ticket\":{{\"comment\":{{\"body\":\"call ended [{marker}]\"}}}}}}"
        )),
        marker: Some(marker.into()),
        created_at: t0(),
        resume: None,
    }
}

/// Fast settings for virtual-time tests.
pub fn fast_config() -> WorkerConfig {
    WorkerConfig {
        policy: ringdesk_store::RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
            max_attempts: None,
        },
        max_concurrency: 4,
        idle_poll: Duration::from_millis(500),
        attempt_timeout: Duration::from_secs(10),
        shutdown_grace: Duration::from_secs(1),
        error_pause: Duration::from_millis(100),
        jitter_seed: Some(7),
    }
}

/// What the fake server does with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Apply it and answer with this status.
    Apply(u16),
    /// Do not apply; answer with this outcome.
    Reject(DeliveryOutcome),
    /// Apply it, then report a timeout (uncertain outcome).
    ApplyThenTimeout,
    /// Apply it, then never answer (the worker is killed meanwhile).
    ApplyThenHang,
    /// The deliverer panics (a bug in it) without applying.
    Panic,
    /// A resumed flow run finished and recorded these items (nothing applied).
    Resumed(Vec<OutboxItem>),
}

type Script = Box<dyn FnMut(&OutboxEntry, tokio::time::Instant) -> Step + Send>;

/// A fake helpdesk: records every attempt and every applied marker.
pub struct FakeServer {
    pub state: Mutex<FakeState>,
    script: Mutex<Script>,
    /// Signalled whenever something is applied.
    pub applied_signal: Notify,
}

#[derive(Default)]
pub struct FakeState {
    /// (ordering key, outbox id, time) of every `deliver` call.
    pub attempts: Vec<(String, i64, tokio::time::Instant)>,
    /// Markers applied, in order, with their key.
    pub applied: Vec<(String, String)>,
    /// Number of `already_delivered` calls.
    pub checks: usize,
    pub applied_count: HashMap<String, usize>,
}

impl FakeServer {
    pub fn new(
        script: impl FnMut(&OutboxEntry, tokio::time::Instant) -> Step + Send + 'static,
    ) -> Arc<Self> {
        Arc::new(FakeServer {
            state: Mutex::new(FakeState::default()),
            script: Mutex::new(Box::new(script)),
            applied_signal: Notify::new(),
        })
    }

    /// Always answers 201.
    pub fn ok() -> Arc<Self> {
        FakeServer::new(|_, _| Step::Apply(201))
    }

    /// Replaces the behaviour.
    pub fn set_script(
        &self,
        script: impl FnMut(&OutboxEntry, tokio::time::Instant) -> Step + Send + 'static,
    ) {
        *self.script.lock().unwrap() = Box::new(script);
    }

    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    fn apply(&self, entry: &OutboxEntry) {
        let marker = entry.item.marker.clone().unwrap_or_default();
        let mut st = self.state();
        st.applied
            .push((entry.item.ordering_key.clone(), marker.clone()));
        *st.applied_count.entry(marker).or_default() += 1;
        drop(st);
        self.applied_signal.notify_one();
    }
}

impl Deliverer for FakeServer {
    async fn deliver(&self, entry: &OutboxEntry) -> DeliveryOutcome {
        let now = tokio::time::Instant::now();
        self.state()
            .attempts
            .push((entry.item.ordering_key.clone(), entry.id, now));
        let step = (self.script.lock().unwrap())(entry, now);
        match step {
            Step::Apply(status) => {
                self.apply(entry);
                DeliveryOutcome::Response {
                    status,
                    retry_after: None,
                    body: "{}".into(),
                }
            }
            Step::Reject(outcome) => outcome,
            Step::ApplyThenTimeout => {
                self.apply(entry);
                DeliveryOutcome::Timeout {
                    message: "read timed out".into(),
                }
            }
            Step::ApplyThenHang => {
                self.apply(entry);
                std::future::pending().await
            }
            Step::Panic => panic!("deliverer bug"),
            Step::Resumed(items) => DeliveryOutcome::Resumed { items },
        }
    }

    async fn already_delivered(&self, entry: &OutboxEntry) -> Result<bool, CheckError> {
        let mut st = self.state();
        st.checks += 1;
        Ok(match &entry.item.marker {
            Some(m) => st.applied_count.get(m).copied().unwrap_or(0) > 0,
            None => false,
        })
    }
}

/// Polls `cond` against the store until it holds (panics after a generous deadline).
pub async fn wait_for<F>(store: &Store, what: &str, mut cond: F)
where
    F: FnMut(&ringdesk_store::OutboxCounts) -> bool,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let counts = store.outbox_counts().await.unwrap();
        if cond(&counts) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn is_busy(e: &StoreError) -> bool {
    e.is_busy()
}
