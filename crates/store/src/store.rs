//! The async store handle: interactions and the outbox over SQLite, safe to clone and share.
//!
//! Concurrency: one write connection behind a `Mutex`, and one read connection likewise, used
//! from `tokio::task::spawn_blocking`. Serializing all writes in the process means writers never
//! meet SQLITE_BUSY from each other; readers see committed data without blocking the writer
//! (WAL). Another process (the CLI) is covered by the busy timeout. Writes waiting at the same
//! time are committed together ([`crate::commit`]): one transaction and one fsync for all of
//! them, each answered only after that commit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use rusqlite::Connection;
use tokio::sync::Notify;

use crate::commit::{Answer, Queue};
use crate::db_outbox::{Outcome, Pass};
use crate::db_retention::Purged;
use crate::open::open_connection;
use crate::record_retry::{Counters, RecordRetry, WriteStats};
use crate::{
    db_interactions, db_outbox, db_outbox_admin, db_retention, migrations, perms, Interaction,
    InteractionFilter, OutboxCounts, OutboxEntry, OutboxFilter, OutboxItem, Recorded, StoreError,
    StoreOptions,
};

/// Handle to the store. Cheap to clone; all clones share the connections.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    /// Writes waiting for the next group commit.
    queue: Queue,
    reader: Mutex<Connection>,
    /// Signalled when outbox items become deliverable (recorded, retried).
    outbox_changed: Notify,
    path: PathBuf,
    /// Failed, retried and lost record writes.
    writes: Counters,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic inside a closure rolled back its transaction (Transaction's Drop); the
    // connection itself is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store {
    /// Opens (creating if needed) the store at `path` with default options and applies
    /// pending migrations. Blocking: call it at startup or from `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, StoreOptions::default())
    }

    /// Like [`Store::open`], with explicit options.
    ///
    /// A new database file is created readable by its owner only (0600; SQLite gives its
    /// `-wal` and `-shm` files the same mode); an existing file, or companion, that others
    /// may read is warned about (`perms.rs`).
    pub fn open_with(path: impl AsRef<Path>, opts: StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref();
        perms::create_private(path).map_err(|source| StoreError::Create {
            path: path.display().to_string(),
            source,
        })?;
        perms::warn_if_open(path);
        let mut writer = open_connection(path, &opts, false)?;
        migrations::migrate(&mut writer)?;
        let reader = open_connection(path, &opts, true)?;
        Ok(Store {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                queue: Queue::default(),
                reader: Mutex::new(reader),
                outbox_changed: Notify::new(),
                path: path.to_path_buf(),
                writes: Counters::default(),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in the next group commit (inside its own savepoint: a failing `f` leaves no
    /// trace) and returns its result once that commit is durable.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, StoreError>>();
        let job: crate::commit::Job = Box::new(move |conn| {
            let result = conn.and_then(f);
            let failed = result.is_err();
            let answer: Answer = Box::new(move |commit_error| {
                let _ = tx.send(match commit_error {
                    Some(e) if result.is_ok() => Err(e),
                    _ => result,
                });
            });
            (answer, failed)
        });
        if self.inner.queue.push(job) {
            // Dropped without running when the runtime shuts down first.
            struct Flusher(Option<Arc<Inner>>);
            impl Drop for Flusher {
                fn drop(&mut self) {
                    if let Some(inner) = self.0.take() {
                        inner.queue.abandon();
                    }
                }
            }
            let mut flusher = Flusher(Some(Arc::clone(&self.inner)));
            // Not awaited: this write's answer comes through `rx`, whoever commits it.
            drop(tokio::task::spawn_blocking(move || {
                if let Some(inner) = flusher.0.take() {
                    inner.queue.flush(&inner.writer);
                }
            }));
        }
        rx.await
            .map_err(|_| StoreError::Task("blocking write task failed"))?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&lock(&inner.reader)))
            .await
            .map_err(|_| StoreError::Task("blocking read task failed"))?
    }

    /// Records a call and its durable requests in ONE transaction: both or neither.
    /// Recording the same call id again replaces the interaction; items whose marker is
    /// already stored are not added twice. Wakes the outbox worker.
    pub async fn record_call(
        &self,
        interaction: Interaction,
        items: Vec<OutboxItem>,
        now: Timestamp,
    ) -> Result<Recorded, StoreError> {
        let has_items = !items.is_empty();
        let recorded = self
            .write(move |c| db_interactions::record_call(c, interaction, &items, now))
            .await
            .inspect_err(|_| self.inner.writes.failed())?;
        if has_items {
            self.inner.outbox_changed.notify_one();
        }
        Ok(recorded)
    }

    /// [`Store::record_call`], tried again after a failure a retry may fix (disk full,
    /// I/O error, lock timeout) as `retry` allows. Every failed attempt and every retry is
    /// counted ([`Store::write_stats`]); a record given up on is counted as lost and
    /// logged with its call id, and the last error is returned. Dropped while retrying
    /// (the process stops), it is counted and logged as lost too.
    pub async fn record_call_retrying(
        &self,
        interaction: Interaction,
        items: Vec<OutboxItem>,
        now: Timestamp,
        retry: RecordRetry,
    ) -> Result<Recorded, StoreError> {
        crate::record_retry::write(&self.inner.writes, &interaction.call_id, retry, || {
            self.record_call(interaction.clone(), items.clone(), now)
        })
        .await
    }

    /// Adds one durable request for `call_id`, which may still be in progress (the agent
    /// desktop's wrap-up note). An item whose marker is already stored is not added
    /// again. Wakes the outbox worker. Returns the item's id and whether it is new.
    pub async fn outbox_add(
        &self,
        call_id: &str,
        item: OutboxItem,
        now: Timestamp,
    ) -> Result<(i64, bool), StoreError> {
        let call_id = call_id.to_owned();
        let added = self
            .write(move |c| crate::db_outbox::insert(c, Some(&call_id), &item, now))
            .await?;
        self.inner.outbox_changed.notify_one();
        Ok(added)
    }

    /// Record-write counters since the store was opened (for metrics).
    pub fn write_stats(&self) -> WriteStats {
        self.inner.writes.snapshot()
    }

    /// One interaction by call id.
    pub async fn get_interaction(&self, call_id: &str) -> Result<Option<Interaction>, StoreError> {
        let call_id = call_id.to_owned();
        self.read(move |c| db_interactions::get(c, &call_id)).await
    }

    /// Interactions matching `filter`, newest first.
    pub async fn list_interactions(
        &self,
        filter: InteractionFilter,
    ) -> Result<Vec<Interaction>, StoreError> {
        self.read(move |c| db_interactions::list(c, &filter)).await
    }

    /// Deletes interactions that arrived before `before` (retention). Returns how many.
    pub async fn purge_interactions(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.write(move |c| db_interactions::purge(c, before)).await
    }

    /// Retention: removes call records that arrived before `before`, with their delivered
    /// and dropped outbox items, and delivered or dropped items last changed before it. A
    /// call with an item still to deliver (or dead, awaiting an operator) is kept whole.
    pub async fn purge_older_than(&self, before: Timestamp) -> Result<Purged, StoreError> {
        self.write(move |c| db_retention::purge(c, before)).await
    }

    /// What [`Store::purge_older_than`] would remove now (a dry run; nothing changes).
    pub async fn purge_preview(&self, before: Timestamp) -> Result<Purged, StoreError> {
        self.read(move |c| db_retention::preview(c, before)).await
    }

    /// One outbox item by id.
    pub async fn outbox_get(&self, id: i64) -> Result<Option<OutboxEntry>, StoreError> {
        self.read(move |c| db_outbox::get(c, id)).await
    }

    /// Outbox items matching `filter`, oldest first.
    pub async fn outbox_list(&self, filter: OutboxFilter) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(move |c| db_outbox::list(c, &filter)).await
    }

    /// Counts per state (for metrics and `ringdesk outbox list`).
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        self.read(db_outbox_admin::counts).await
    }

    /// Makes a dead, dropped, pending or uncertain item due now with a fresh attempt budget.
    /// Fails with [`StoreError::WrongState`] for in-flight or delivered items.
    pub async fn outbox_retry(&self, id: i64, now: Timestamp) -> Result<OutboxEntry, StoreError> {
        let entry = self
            .write(move |c| db_outbox_admin::retry(c, id, now))
            .await?;
        self.inner.outbox_changed.notify_one();
        Ok(entry)
    }

    /// Drops a pending, uncertain or dead item: it will not be delivered (unless retried).
    /// Fails with [`StoreError::WrongState`] for in-flight or delivered items.
    pub async fn outbox_drop(&self, id: i64, now: Timestamp) -> Result<OutboxEntry, StoreError> {
        self.write(move |c| db_outbox_admin::drop_item(c, id, now))
            .await
    }

    /// Deletes delivered and dropped items last changed before `before`. Returns how many.
    pub async fn outbox_purge(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.write(move |c| db_outbox_admin::purge(c, before)).await
    }

    /// Turns every in-flight item into uncertain (they were interrupted by a crash).
    /// [`crate::OutboxWorker::run`] calls this when it starts; only the process that runs the
    /// worker may call it (a CLI opening the same file must not). Returns how many.
    pub async fn outbox_recover_in_flight(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.write(move |c| db_outbox::recover_in_flight(c, now))
            .await
    }

    /// Resolves when outbox items may have become deliverable (at most one stored wake-up).
    pub async fn outbox_changed(&self) {
        self.inner.outbox_changed.notified().await
    }

    /// Runs `f` on the write connection (tests set pragmas on it, e.g. to fill the disk).
    #[cfg(test)]
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(&lock(&self.inner.writer))
    }

    // ---- worker-facing operations ----

    /// One worker round: results written back, due items claimed, next due time (see
    /// [`db_outbox::pass`]), in one write.
    pub(crate) async fn worker_pass(
        &self,
        outcomes: Vec<Outcome>,
        free: u32,
        now: Timestamp,
    ) -> Result<Pass, StoreError> {
        self.write(move |c| db_outbox::pass(c, outcomes, free, now))
            .await
    }
}
