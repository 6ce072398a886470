//! Group commit: the writes of concurrent callers (calls ending at the same time, the outbox
//! worker) share one transaction and one fsync, each inside its own savepoint.
//!
//! A write is queued; one blocking task at a time (the "flusher") takes everything queued,
//! runs it as `BEGIN IMMEDIATE`, `SAVEPOINT`/`RELEASE` per write (`ROLLBACK TO` when that
//! write fails, so it leaves no trace, as its own transaction would), `COMMIT`, and only then
//! answers each caller. With `synchronous=FULL` the commit returns after the WAL is synced,
//! so nothing is acknowledged before it is on disk; a failed commit fails every write in it.
//! Under light load a batch holds one write, exactly as before.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::StoreError;

/// Most writes committed together (bounds how long one transaction holds the lock).
pub(crate) const MAX_BATCH: usize = 256;

/// Tells a caller how its write ended, once the batch is committed (`None`) or not.
pub(crate) type Answer = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// One queued write: runs inside the batch's transaction (or is told it could not run);
/// returns its answer and whether it failed (then its savepoint is rolled back).
pub(crate) type Job = Box<dyn FnOnce(Result<&Connection, StoreError>) -> (Answer, bool) + Send>;

/// The queue of writes waiting for the next commit.
#[derive(Default)]
pub(crate) struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    /// A flusher is scheduled or running.
    flushing: AtomicBool,
}

impl Queue {
    fn jobs(&self) -> MutexGuard<'_, VecDeque<Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a write; true when the caller must start a flusher (none is running).
    pub(crate) fn push(&self, job: Job) -> bool {
        self.jobs().push_back(job);
        !self.flushing.swap(true, Ordering::AcqRel)
    }

    /// A flusher that will never run (its runtime shut down first): the writes queued are
    /// answered with an error (their answers are dropped) and the next write starts anew.
    pub(crate) fn abandon(&self) {
        let jobs: Vec<Job> = self.jobs().drain(..).collect();
        self.flushing.store(false, Ordering::Release);
        drop(jobs);
    }

    /// The flusher: commits batches until the queue is empty. Blocking.
    pub(crate) fn flush(&self, writer: &Mutex<Connection>) {
        // Writes that could not be answered because this thread unwinds still get an answer
        // (their senders are dropped), and the next write starts a new flusher.
        struct Reset<'a>(&'a AtomicBool);
        impl Drop for Reset<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let reset = Reset(&self.flushing);
        loop {
            let batch: Vec<Job> = {
                let mut jobs = self.jobs();
                let n = jobs.len().min(MAX_BATCH);
                jobs.drain(..n).collect()
            };
            if batch.is_empty() {
                self.flushing.store(false, Ordering::Release);
                // A write queued after the take above but before the flag was cleared saw a
                // flusher running: take it over unless another flusher has started since.
                if self.jobs().is_empty() || self.flushing.swap(true, Ordering::AcqRel) {
                    std::mem::forget(reset);
                    return;
                }
                continue;
            }
            let mut conn = writer.lock().unwrap_or_else(|p| p.into_inner());
            commit_batch(&mut conn, batch);
        }
    }
}

/// Runs one batch in one transaction and answers every write in it.
fn commit_batch(conn: &mut Connection, batch: Vec<Job>) {
    // A flusher that unwound mid-batch may have left its transaction open.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = conn
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(StoreError::sql("begin"))
    {
        for job in batch {
            job(Err(copy(&e))).0(None);
        }
        return;
    }
    let mut answers = Vec::with_capacity(batch.len());
    let mut broken = None;
    for job in batch {
        if let Some(e) = &broken {
            answers.push(job(Err(copy(e))).0);
            continue;
        }
        if let Err(e) = conn
            .execute_batch("SAVEPOINT w")
            .map_err(StoreError::sql("savepoint"))
        {
            answers.push(job(Err(copy(&e))).0);
            broken = Some(e);
            continue;
        }
        let (answer, failed) = job(Ok(conn));
        answers.push(answer);
        let end = if failed {
            "ROLLBACK TO w; RELEASE w"
        } else {
            "RELEASE w"
        };
        if let Err(e) = conn
            .execute_batch(end)
            .map_err(StoreError::sql("savepoint"))
        {
            broken = Some(e);
        }
    }
    let outcome = match broken {
        Some(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Some(e)
        }
        None => match conn
            .execute_batch("COMMIT")
            .map_err(StoreError::sql("commit"))
        {
            Ok(()) => None,
            Err(e) => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                Some(e)
            }
        },
    };
    for answer in answers {
        answer(outcome.as_ref().map(copy));
    }
}

/// The same error for another write of the batch (errors are not `Clone`).
pub(crate) fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Busy { op } => StoreError::Busy { op },
        StoreError::Sqlite {
            op,
            source: rusqlite::Error::SqliteFailure(code, message),
        } => StoreError::Sqlite {
            op,
            source: rusqlite::Error::SqliteFailure(*code, message.clone()),
        },
        _ => StoreError::Task("the batch this write was in could not be committed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Answer seen by a write: its result, and the rows another connection saw at that moment.
    type Seen = Arc<Mutex<Vec<(i64, Result<(), String>, Vec<i64>)>>>;

    fn open(path: &std::path::Path) -> Connection {
        crate::open::open_connection(path, &crate::StoreOptions::default(), false).unwrap()
    }

    fn rows(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// A write inserting `x` (and failing afterwards when `fail`); its answer records what a
    /// reader sees when the caller is told.
    fn insert(
        x: i64,
        fail: bool,
        sql: &'static str,
        reader: Arc<Mutex<Connection>>,
        seen: Seen,
    ) -> Job {
        Box::new(move |conn| {
            let result = conn.and_then(|c| {
                c.execute(sql, [x]).map_err(StoreError::sql("insert"))?;
                // Earlier writes of the batch are not visible outside yet: one transaction.
                assert!(rows(&reader.lock().unwrap()).is_empty() || x == 100);
                if fail {
                    return Err(StoreError::Invalid {
                        what: "x",
                        reason: "test failure",
                    });
                }
                Ok(())
            });
            let failed = result.is_err();
            let answer: Answer = Box::new(move |commit| {
                let result = match commit {
                    Some(e) => Err(e.to_string()),
                    None => result.map_err(|e| e.to_string()),
                };
                let visible = rows(&reader.lock().unwrap());
                seen.lock().unwrap().push((x, result, visible));
            });
            (answer, failed)
        })
    }

    #[test]
    fn one_commit_for_the_batch_answers_after_it_and_a_failing_write_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Mutex::new(open(&path));
        writer
            .lock()
            .unwrap()
            .execute_batch("CREATE TABLE t (x INTEGER NOT NULL)")
            .unwrap();
        let reader = Arc::new(Mutex::new(open(&path)));
        let seen: Seen = Arc::default();
        let queue = Queue::default();
        let sql = "INSERT INTO t (x) VALUES (?1)";
        assert!(queue.push(insert(1, false, sql, reader.clone(), seen.clone())));
        assert!(!queue.push(insert(2, true, sql, reader.clone(), seen.clone())));
        assert!(!queue.push(insert(3, false, sql, reader.clone(), seen.clone())));
        queue.flush(&writer);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        for (x, result, visible) in &seen {
            assert_eq!(result.is_ok(), *x != 2, "write {x}: {result:?}");
            // Told only once the commit is done: every kept row is already visible.
            assert_eq!(visible, &[1, 3], "write {x}");
        }
        assert_eq!(rows(&reader.lock().unwrap()), [1, 3]);
        // The flusher is free again: the next write starts a new one.
        let more: Seen = Arc::default();
        assert!(queue.push(insert(100, false, sql, reader.clone(), more.clone())));
        queue.flush(&writer);
        assert_eq!(more.lock().unwrap()[0].1, Ok(()));
    }

    #[test]
    fn a_failed_commit_fails_every_write_of_the_batch_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Mutex::new(open(&path));
        // A deferred foreign key: the violation surfaces at COMMIT.
        writer
            .lock()
            .unwrap()
            .execute_batch(
                "CREATE TABLE t (x INTEGER NOT NULL);
                 CREATE TABLE p (id INTEGER PRIMARY KEY);
                 CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
        let reader = Arc::new(Mutex::new(open(&path)));
        let seen: Seen = Arc::default();
        let queue = Queue::default();
        queue.push(insert(
            1,
            false,
            "INSERT INTO t (x) VALUES (?1)",
            reader.clone(),
            seen.clone(),
        ));
        queue.push(insert(
            7,
            false,
            "INSERT INTO c (p) VALUES (?1)",
            reader.clone(),
            seen.clone(),
        ));
        queue.flush(&writer);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        assert!(seen
            .iter()
            .all(|(_, result, visible)| result.is_err() && visible.is_empty()));
        assert!(rows(&reader.lock().unwrap()).is_empty());
        // The connection is usable again (no transaction left open).
        let after: Seen = Arc::default();
        queue.push(insert(
            100,
            false,
            "INSERT INTO t (x) VALUES (?1)",
            reader.clone(),
            after.clone(),
        ));
        queue.flush(&writer);
        assert_eq!(after.lock().unwrap()[0].1, Ok(()));
        assert_eq!(rows(&reader.lock().unwrap()), [100]);
    }

    #[test]
    fn an_abandoned_flusher_fails_its_writes_and_the_next_write_starts_a_new_one() {
        let queue = Queue::default();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let job: Job = Box::new(move |_| {
            let answer: Answer = Box::new(move |_| {
                let _ = tx.send(());
            });
            (answer, false)
        });
        assert!(queue.push(job));
        queue.abandon();
        // Never run, never answered: the caller sees its answer channel closed.
        assert!(rx.recv().is_err());
        let (tx, _rx) = std::sync::mpsc::channel::<()>();
        let job: Job = Box::new(move |_| {
            let answer: Answer = Box::new(move |_| drop(tx));
            (answer, false)
        });
        assert!(queue.push(job), "a new flusher is needed");
    }
}
