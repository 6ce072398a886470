//! The async store handle: interactions and the outbox over SQLite or PostgreSQL (`pg/`),
//! safe to clone and share. Every method is one operation on either backend.
//!
//! SQLite:
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
use crate::pg::{self, AcdLogRow, NodeRenewal, Pg, PostgresOptions};
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
    backend: Backend,
    /// Signalled when outbox items become deliverable (recorded, retried; with
    /// PostgreSQL, by any node).
    outbox_changed: Arc<Notify>,
    /// Failed, retried and lost record writes.
    writes: Counters,
}

enum Backend {
    Sqlite(Sqlite),
    Postgres(Pg),
}

struct Sqlite {
    writer: Mutex<Connection>,
    /// Writes waiting for the next group commit.
    queue: Queue,
    reader: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner.backend {
            Backend::Sqlite(db) => f.debug_struct("Store").field("path", &db.path).finish(),
            Backend::Postgres(pg) => f.debug_struct("Store").field("postgres", pg).finish(),
        }
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
        Ok(Store::with(Backend::Sqlite(Sqlite {
            writer: Mutex::new(writer),
            queue: Queue::default(),
            reader: Mutex::new(reader),
            path: path.to_path_buf(),
        })))
    }

    /// Connects to a PostgreSQL store (creating its tables, or migrating them, first).
    /// Several processes, on several machines, may share one: see [`crate::pg`].
    pub async fn connect_postgres(opts: PostgresOptions) -> Result<Store, StoreError> {
        Ok(Store::with(Backend::Postgres(Pg::connect(opts).await?)))
    }

    fn with(backend: Backend) -> Store {
        Store {
            inner: Arc::new(Inner {
                backend,
                outbox_changed: Arc::new(Notify::new()),
                writes: Counters::default(),
            }),
        }
    }

    /// The SQLite database file (`None` for PostgreSQL).
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.backend {
            Backend::Sqlite(db) => Some(&db.path),
            Backend::Postgres(_) => None,
        }
    }

    /// Where the store is, for messages: the file, or PostgreSQL's `host:port/db`.
    pub fn describe(&self) -> String {
        match &self.inner.backend {
            Backend::Sqlite(db) => db.path.display().to_string(),
            Backend::Postgres(pg) => format!("PostgreSQL {}", pg.target()),
        }
    }

    /// True when several nodes may share this store (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.inner.backend, Backend::Postgres(_))
    }

    /// This node's name in a shared store.
    pub fn node(&self) -> Option<&str> {
        match &self.inner.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(pg) => Some(pg.node()),
        }
    }

    #[cfg(test)]
    fn sqlite(&self) -> Option<&Sqlite> {
        match &self.inner.backend {
            Backend::Sqlite(db) => Some(db),
            Backend::Postgres(_) => None,
        }
    }

    fn pg(&self) -> Option<&Pg> {
        match &self.inner.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(pg) => Some(pg),
        }
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
        let Backend::Sqlite(db) = &self.inner.backend else {
            return Err(StoreError::Task("SQLite write on a PostgreSQL store"));
        };
        if db.queue.push(job) {
            // Dropped without running when the runtime shuts down first.
            struct Flusher(Option<Arc<Inner>>);
            impl Drop for Flusher {
                fn drop(&mut self) {
                    if let Some(inner) = self.0.take() {
                        if let Backend::Sqlite(db) = &inner.backend {
                            db.queue.abandon();
                        }
                    }
                }
            }
            let mut flusher = Flusher(Some(Arc::clone(&self.inner)));
            // Not awaited: this write's answer comes through `rx`, whoever commits it.
            drop(tokio::task::spawn_blocking(move || {
                if let Some(inner) = flusher.0.take() {
                    if let Backend::Sqlite(db) = &inner.backend {
                        db.queue.flush(&db.writer);
                    }
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
        tokio::task::spawn_blocking(move || match &inner.backend {
            Backend::Sqlite(db) => f(&lock(&db.reader)),
            Backend::Postgres(_) => Err(StoreError::Task("SQLite read on a PostgreSQL store")),
        })
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
        let recorded = match self.pg() {
            Some(pg) => pg::record_call(pg, interaction, &items, now, false).await,
            None => {
                self.write(move |c| db_interactions::record_call(c, interaction, &items, now))
                    .await
            }
        }
        .inspect_err(|_| self.inner.writes.failed())?;
        if has_items {
            self.inner.outbox_changed.notify_one();
        }
        Ok(recorded)
    }

    /// Records a call no node recorded: a call lost with the node that held it (shared
    /// store only). A record already there, written by that node before it stopped or
    /// by the node itself after all, is kept as it is.
    pub async fn record_lost_call(
        &self,
        interaction: Interaction,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        match self.pg() {
            Some(pg) => pg::record_call(pg, interaction, &[], now, true)
                .await
                .map(|_| ()),
            None => Err(StoreError::Settings(
                "lost calls are recorded in a shared store only".into(),
            )),
        }
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
        let added = match self.pg() {
            Some(pg) => pg::outbox_add(pg, call_id, &item, now).await?,
            None => {
                let call_id = call_id.to_owned();
                self.write(move |c| crate::db_outbox::insert(c, Some(&call_id), &item, now))
                    .await?
            }
        };
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
        match self.pg() {
            Some(pg) => pg::get_interaction(pg, &call_id).await,
            None => self.read(move |c| db_interactions::get(c, &call_id)).await,
        }
    }

    /// Interactions matching `filter`, newest first.
    pub async fn list_interactions(
        &self,
        filter: InteractionFilter,
    ) -> Result<Vec<Interaction>, StoreError> {
        match self.pg() {
            Some(pg) => pg::list_interactions(pg, &filter).await,
            None => self.read(move |c| db_interactions::list(c, &filter)).await,
        }
    }

    /// Deletes interactions that arrived before `before` (retention). Returns how many.
    pub async fn purge_interactions(&self, before: Timestamp) -> Result<usize, StoreError> {
        match self.pg() {
            Some(pg) => pg::purge_interactions(pg, before).await,
            None => self.write(move |c| db_interactions::purge(c, before)).await,
        }
    }

    /// Retention: removes call records that arrived before `before`, with their delivered
    /// and dropped outbox items, and delivered or dropped items last changed before it. A
    /// call with an item still to deliver (or dead, awaiting an operator) is kept whole.
    pub async fn purge_older_than(&self, before: Timestamp) -> Result<Purged, StoreError> {
        match self.pg() {
            Some(pg) => pg::purge_older_than(pg, before).await,
            None => self.write(move |c| db_retention::purge(c, before)).await,
        }
    }

    /// What [`Store::purge_older_than`] would remove now (a dry run; nothing changes).
    pub async fn purge_preview(&self, before: Timestamp) -> Result<Purged, StoreError> {
        match self.pg() {
            Some(pg) => pg::purge_preview(pg, before).await,
            None => self.read(move |c| db_retention::preview(c, before)).await,
        }
    }

    /// One outbox item by id.
    pub async fn outbox_get(&self, id: i64) -> Result<Option<OutboxEntry>, StoreError> {
        match self.pg() {
            Some(pg) => pg::outbox_get(pg, id).await,
            None => self.read(move |c| db_outbox::get(c, id)).await,
        }
    }

    /// Outbox items matching `filter`, oldest first.
    pub async fn outbox_list(&self, filter: OutboxFilter) -> Result<Vec<OutboxEntry>, StoreError> {
        match self.pg() {
            Some(pg) => pg::outbox_list(pg, &filter).await,
            None => self.read(move |c| db_outbox::list(c, &filter)).await,
        }
    }

    /// Counts per state (for metrics and `ringdesk outbox list`).
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        match self.pg() {
            Some(pg) => pg::outbox_counts(pg).await,
            None => self.read(db_outbox_admin::counts).await,
        }
    }

    /// Makes a dead, dropped, pending or uncertain item due now with a fresh attempt budget.
    /// Fails with [`StoreError::WrongState`] for in-flight or delivered items.
    pub async fn outbox_retry(&self, id: i64, now: Timestamp) -> Result<OutboxEntry, StoreError> {
        let entry = match self.pg() {
            Some(pg) => pg::outbox_retry(pg, id, now).await?,
            None => {
                self.write(move |c| db_outbox_admin::retry(c, id, now))
                    .await?
            }
        };
        self.inner.outbox_changed.notify_one();
        Ok(entry)
    }

    /// Drops a pending, uncertain or dead item: it will not be delivered (unless retried).
    /// Fails with [`StoreError::WrongState`] for in-flight or delivered items.
    pub async fn outbox_drop(&self, id: i64, now: Timestamp) -> Result<OutboxEntry, StoreError> {
        match self.pg() {
            Some(pg) => pg::outbox_drop(pg, id, now).await,
            None => {
                self.write(move |c| db_outbox_admin::drop_item(c, id, now))
                    .await
            }
        }
    }

    /// Deletes delivered and dropped items last changed before `before`. Returns how many.
    pub async fn outbox_purge(&self, before: Timestamp) -> Result<usize, StoreError> {
        match self.pg() {
            Some(pg) => pg::outbox_purge(pg, before).await,
            None => self.write(move |c| db_outbox_admin::purge(c, before)).await,
        }
    }

    /// Turns every in-flight item into uncertain (they were interrupted by a crash).
    /// [`crate::OutboxWorker::run`] calls this when it starts; only the process that runs the
    /// worker may call it (a CLI opening the same file must not). Returns how many.
    pub async fn outbox_recover_in_flight(&self, now: Timestamp) -> Result<usize, StoreError> {
        match self.pg() {
            Some(pg) => pg::recover_own(pg, now).await,
            None => {
                self.write(move |c| db_outbox::recover_in_flight(c, now))
                    .await
            }
        }
    }

    /// Resolves when outbox items may have become deliverable (at most one stored wake-up).
    pub async fn outbox_changed(&self) {
        self.inner.outbox_changed.notified().await
    }

    /// Takes this node's lease in a shared store and starts hearing other nodes' outbox
    /// work; items this node's previous run left in flight become uncertain. Returns how
    /// many, or `None` while a live process holds a lease under this node's name. The
    /// outbox worker calls it as it starts (PostgreSQL only).
    pub async fn node_join(&self, now: Timestamp) -> Result<Option<usize>, StoreError> {
        let Some(pg) = self.pg() else {
            return Ok(Some(0));
        };
        pg.listen(pg::OUTBOX_CHANNEL, Arc::clone(&self.inner.outbox_changed));
        pg::join(pg, now).await
    }

    /// Renews this node's lease and releases nodes whose lease ran out (PostgreSQL only).
    pub async fn node_renew(&self, now: Timestamp) -> Result<NodeRenewal, StoreError> {
        match self.pg() {
            Some(pg) => pg::renew(pg, now).await,
            None => Ok(NodeRenewal {
                was_alive: true,
                released: Vec::new(),
            }),
        }
    }

    /// Whether this process holds its node's lease (joined by its outbox worker, not run
    /// out; always for SQLite).
    pub async fn node_holds_lease(&self) -> Result<bool, StoreError> {
        match self.pg() {
            Some(pg) => pg::holds_lease(pg).await,
            None => Ok(true),
        }
    }

    /// Gives this node's lease up (a clean stop).
    pub async fn node_leave(&self) -> Result<(), StoreError> {
        match self.pg() {
            Some(pg) => pg::leave(pg).await,
            None => Ok(()),
        }
    }

    /// Appends inputs of the shared queue, in order, as this node (PostgreSQL only: an
    /// SQLite store has no shared queue).
    pub async fn acd_append(&self, bodies: &[String]) -> Result<Vec<AcdLogRow>, StoreError> {
        match self.pg() {
            Some(pg) => pg::acd_append(pg, bodies).await,
            None => Err(StoreError::Settings(
                "the shared queue needs a PostgreSQL store".into(),
            )),
        }
    }

    /// The shared queue's inputs after `seq`, in order (a bounded batch; empty for SQLite).
    pub async fn acd_read(&self, after: i64) -> Result<Vec<AcdLogRow>, StoreError> {
        match self.pg() {
            Some(pg) => pg::acd_read(pg, after).await,
            None => Ok(Vec::new()),
        }
    }

    /// Wakes `changed` whenever any node appends to the shared queue's log (PostgreSQL only).
    pub fn acd_follow(&self, changed: Arc<Notify>) {
        if let Some(pg) = self.pg() {
            pg.listen(pg::ACD_CHANNEL, changed);
        }
    }

    /// Shares the screen pop of `call` (the server's JSON) with the other nodes' agent
    /// desktops (PostgreSQL; nothing to do for SQLite, whose one node has them all).
    pub async fn desk_call_put(&self, call: &str, body: &str) -> Result<(), StoreError> {
        match self.pg() {
            Some(pg) => pg::desk_call_put(pg, call, body).await,
            None => Ok(()),
        }
    }

    /// The screen pop another node shared for `call` (`None` when none, and for SQLite).
    pub async fn desk_call_get(&self, call: &str) -> Result<Option<String>, StoreError> {
        match self.pg() {
            Some(pg) => pg::desk_call_get(pg, call).await,
            None => Ok(None),
        }
    }

    /// The shared database's clock in Unix milliseconds (`None` for SQLite).
    pub async fn db_now_ms(&self) -> Result<Option<i64>, StoreError> {
        match self.pg() {
            Some(pg) => pg::db_now_ms(pg).await.map(Some),
            None => Ok(None),
        }
    }

    /// How often a node renews its lease (a third of it); `None` for SQLite.
    pub fn node_renew_every(&self) -> Option<std::time::Duration> {
        self.pg().map(|pg| pg.lease() / 3)
    }

    /// Runs `f` on the write connection (tests set pragmas on it, e.g. to fill the disk).
    #[cfg(test)]
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let db = self.sqlite().expect("an SQLite store");
        f(&lock(&db.writer))
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
        match self.pg() {
            Some(pg) => pg::pass(pg, outcomes, free, now).await,
            None => {
                self.write(move |c| db_outbox::pass(c, outcomes, free, now))
                    .await
            }
        }
    }
}
