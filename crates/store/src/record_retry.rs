//! Writing a call record when the disk says no: failed record writes are counted, retried
//! with bounded exponential backoff, and a record given up on is counted and logged with
//! its call id, never dropped silently.
//!
//! A full disk or an I/O error is usually fixed within minutes (logs rotated, a volume
//! grown); the call's task keeps its record in memory until then. Errors that a retry
//! cannot fix (a record over a size bound, an invalid value) are not retried.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::{Recorded, StoreError};

/// How long a record write keeps trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRetry {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// Pause after the first failure; doubled after each further one.
    pub first_backoff: Duration,
    /// Longest pause between two attempts.
    pub max_backoff: Duration,
}

impl Default for RecordRetry {
    /// 16 attempts, 200 ms doubling to 60 s: about nine minutes before a record is given up.
    fn default() -> Self {
        RecordRetry {
            attempts: 16,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl RecordRetry {
    /// The pause after failed attempt number `failed` (1-based).
    pub fn backoff(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1));
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Counters of record writes, for metrics (monotonic since the store was opened).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Record writes that failed (each failed attempt counts).
    pub failures: u64,
    /// Attempts made again after a failure.
    pub retries: u64,
    /// Records given up on (retries exhausted, or an error no retry can fix).
    pub lost: u64,
}

/// The live counters behind [`WriteStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    failures: AtomicU64,
    retries: AtomicU64,
    lost: AtomicU64,
}

impl Counters {
    pub(crate) fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn lost(&self) {
        self.lost.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn snapshot(&self) -> WriteStats {
        WriteStats {
            failures: self.failures.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }
}

/// True for failures a later attempt may not meet (disk full, I/O, locks, a lost task).
pub(crate) fn transient(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Sqlite { .. }
            | StoreError::Busy { .. }
            | StoreError::Task(_)
            | StoreError::Postgres { .. }
    )
}

/// Runs `attempt` until it succeeds, fails for good, or `retry` is used up (see
/// [`crate::Store::record_call_retrying`]).
pub(crate) async fn write<F, Fut>(
    counters: &Counters,
    call_id: &str,
    retry: RecordRetry,
    mut attempt: F,
) -> Result<Recorded, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Recorded, StoreError>>,
{
    let attempts = retry.attempts.max(1);
    let mut failed = 0u32;
    let mut abandoned = Abandoned {
        counters,
        call_id,
        armed: false,
    };
    loop {
        let e = match attempt().await {
            Ok(recorded) => {
                abandoned.armed = false;
                if failed > 0 {
                    tracing::info!(
                        call_id,
                        failed,
                        "store: the call's record was written after failed attempts"
                    );
                }
                return Ok(recorded);
            }
            Err(e) => e,
        };
        failed += 1;
        if !transient(&e) || failed >= attempts {
            abandoned.armed = false;
            counters.lost();
            tracing::error!(
                call_id,
                attempts = failed,
                "store: the call's record could not be written and is given up: {e}"
            );
            return Err(e);
        }
        abandoned.armed = true;
        let pause = retry.backoff(failed);
        tracing::warn!(call_id, attempt = failed, retry_in = ?pause, "store: writing the call's record failed; retrying: {e}");
        tokio::time::sleep(pause).await;
        counters.retried();
    }
}

/// A record dropped between retries (the process is stopping) is counted and logged as
/// lost, not dropped silently.
struct Abandoned<'a> {
    counters: &'a Counters,
    call_id: &'a str,
    armed: bool,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.counters.lost();
            tracing::error!(
                call_id = self.call_id,
                "store: the call's record was still being retried when the write was abandoned (shutdown); it is lost"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = RecordRetry::default();
        assert_eq!(r.backoff(1), Duration::from_millis(200));
        assert_eq!(r.backoff(2), Duration::from_millis(400));
        assert_eq!(r.backoff(9), Duration::from_millis(51_200));
        assert_eq!(r.backoff(10), Duration::from_secs(60));
        assert_eq!(r.backoff(u32::MAX), Duration::from_secs(60));
    }
}

/// A full disk, simulated: SQLite answers SQLITE_FULL once the file may not grow.
#[cfg(test)]
mod disk_full {
    use super::*;
    use crate::{Interaction, OutboxItem, Store};
    use jiff::Timestamp;

    fn set_max_pages(store: &Store, pages: Option<i64>) {
        store.with_writer(|c| {
            let n = match pages {
                Some(n) => n,
                None => c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap(),
            };
            c.pragma_update(None, "max_page_count", n).unwrap();
        });
    }

    /// A record that needs new pages (its body is larger than any free space).
    fn big_call(id: &str) -> (Interaction, Vec<OutboxItem>) {
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        let item = OutboxItem {
            ordering_key: format!("call:{id}"),
            connector: "zendesk".into(),
            method: "POST".into(),
            path: "/api/v2/tickets.json".into(),
            query: vec![],
            headers: vec![],
            body: Some("x".repeat(64 * 1024)),
            marker: Some(format!("{id}-1")),
            created_at: now,
            resume: None,
        };
        (
            Interaction::new(id, "+5511987650101", "+15550100", now),
            vec![item],
        )
    }

    #[tokio::test]
    async fn a_record_that_meets_a_full_disk_is_written_once_space_returns_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("r.sqlite")).unwrap();
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        set_max_pages(&store, None);
        let (call, items) = big_call("c1");
        // One attempt: the disk is full, the failure is counted.
        let e = store
            .record_call(call.clone(), items.clone(), now)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("full"), "{e}");
        assert_eq!(store.write_stats().failures, 1);
        // Retrying: fails while the disk is full, succeeds once space returns.
        let retry = RecordRetry {
            attempts: 50,
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        };
        let writer = {
            let store = store.clone();
            tokio::spawn(async move { store.record_call_retrying(call, items, now, retry).await })
        };
        for _ in 0..1000 {
            if store.write_stats().failures >= 4 || writer.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!writer.is_finished(), "the write is still being retried");
        assert!(store.get_interaction("c1").await.unwrap().is_none());
        set_max_pages(&store, Some(1_000_000));
        writer.await.unwrap().unwrap();
        let stats = store.write_stats();
        assert!(stats.failures >= 4 && stats.retries >= 3, "{stats:?}");
        assert_eq!(stats.lost, 0);
        assert!(store.get_interaction("c1").await.unwrap().is_some());
        assert_eq!(store.outbox_counts().await.unwrap().pending, 1);
    }

    #[tokio::test]
    async fn a_record_abandoned_while_retrying_is_counted_as_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("r.sqlite")).unwrap();
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        set_max_pages(&store, None);
        let (call, items) = big_call("c3");
        let retry = RecordRetry {
            attempts: 100,
            first_backoff: Duration::from_secs(60),
            max_backoff: Duration::from_secs(60),
        };
        let r = tokio::time::timeout(
            Duration::from_millis(300),
            store.record_call_retrying(call, items, now, retry),
        )
        .await;
        assert!(r.is_err(), "still retrying when dropped");
        assert_eq!(
            store.write_stats(),
            WriteStats {
                failures: 1,
                retries: 0,
                lost: 1
            }
        );
    }

    #[tokio::test]
    async fn a_record_given_up_on_is_counted_as_lost_and_the_error_returned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("r.sqlite")).unwrap();
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        set_max_pages(&store, None);
        let (call, items) = big_call("c2");
        let retry = RecordRetry {
            attempts: 3,
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        };
        assert!(store
            .record_call_retrying(call, items, now, retry)
            .await
            .is_err());
        assert_eq!(
            store.write_stats(),
            WriteStats {
                failures: 3,
                retries: 2,
                lost: 1
            }
        );
    }
}
