//! The shared queue's IO (decision 0019): a node's appender, which writes the routing
//! core's inputs to the log in PostgreSQL in the order they were made (retrying through an
//! outage: an input is never dropped; the first once this process holds its node's
//! lease), and its follower, which reads every node's rows in
//! the log's order and hands them to the queue task, woken by `NOTIFY` and by a periodic
//! look. The queue task applies them to its copy of the core (`acd.rs`).

use super::acd_input::{Input, LogClock};
use ringdesk_store::{AcdLogRow, Store, StoreError, ACD_LOG_MAX_BODY, ACD_LOG_MAX_READ};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// Most inputs one append writes.
const MAX_BATCH: usize = 256;
/// The follower's look when no `NOTIFY` came (a lost notification connection).
const IDLE_LOOK: Duration = Duration::from_secs(1);
/// Retry pauses of a failed read or append.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// What the follower hands the queue task.
#[derive(Debug)]
pub enum Batch {
    /// Rows in the log's order, each after the last one handed.
    Rows(Vec<AcdLogRow>),
    /// The rows written before this node started have all been handed.
    CaughtUp,
}

/// A node's link to the shared queue's log.
pub struct SharedLog {
    /// This node's name (the rows it appends carry it).
    pub node: String,
    /// Maps the rows' times to `Instant`s.
    pub clock: LogClock,
    /// The shared store (records of calls lost with a node are written there).
    pub store: Store,
    appender: mpsc::UnboundedSender<String>,
}

impl SharedLog {
    /// Starts the appender and the follower on `store` (PostgreSQL), reading the log from
    /// its start; the follower's batches come on the receiver. The appender first waits
    /// until this process holds its node's lease, then says this node's previous run is
    /// gone, then writes this run's inputs.
    pub async fn open(store: &Store) -> Result<(SharedLog, mpsc::Receiver<Batch>), StoreError> {
        let node = store
            .node()
            .ok_or_else(|| {
                StoreError::Settings("the shared queue needs a PostgreSQL store".into())
            })?
            .to_string();
        let db_now = store.db_now_ms().await?.unwrap_or_default();
        let clock = LogClock::new(Instant::now(), db_now);
        let wake = Arc::new(Notify::new());
        store.acd_follow(Arc::clone(&wake));
        let (appender, to_append) = mpsc::unbounded_channel();
        let (rows_tx, rows) = mpsc::channel(64);
        tokio::spawn(append(
            store.clone(),
            node.clone(),
            to_append,
            Arc::clone(&wake),
        ));
        tokio::spawn(follow(store.clone(), wake, rows_tx));
        let log = SharedLog {
            node,
            clock,
            store: store.clone(),
            appender,
        };
        Ok((log, rows))
    }

    /// Queues `input` for the log (in the order of calls). An input over the log's bound
    /// (none of ringdesk's are: ids, names and contacts are bounded on entry) is refused
    /// here, alone, rather than fail the batch it would join.
    pub fn append(&self, input: &Input) {
        match serde_json::to_string(input) {
            Ok(body) if body.len() <= ACD_LOG_MAX_BODY => {
                let _ = self.appender.send(body);
            }
            Ok(body) => tracing::error!(
                bytes = body.len(),
                "queue input over the log's bound, not written"
            ),
            Err(e) => tracing::error!("queue input not written: {e}"),
        }
    }
}

async fn append(
    store: Store,
    node: String,
    mut rx: mpsc::UnboundedReceiver<String>,
    wake: Arc<Notify>,
) {
    // Not before this process holds its node's lease (its outbox worker joins): another
    // live process under this name (two nodes given one name, or this node's previous run
    // still within its lease) keeps its calls, and no other node will say this node is
    // gone after this run's first input.
    let mut said = false;
    loop {
        match store.node_holds_lease().await {
            Ok(true) => break,
            Ok(false) if !said => {
                tracing::info!(
                    node,
                    "shared queue: waiting for this node's lease (another live process may run under its name) before queueing calls"
                );
                said = true;
            }
            Ok(false) => {}
            Err(e) if !said => {
                tracing::warn!("shared queue: cannot check the node's lease ({e}); retrying");
                said = true;
            }
            Err(_) => {}
        }
        tokio::time::sleep(FIRST_PAUSE).await;
    }
    let gone = serde_json::to_string(&Input::NodeGone { node }).unwrap_or_default();
    let mut pending = Some(gone);
    while let Some(first) = match pending.take() {
        Some(body) => Some(body),
        None => rx.recv().await,
    } {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(body) => batch.push(body),
                Err(_) => break,
            }
        }
        let mut pause = FIRST_PAUSE;
        let mut failing = false;
        loop {
            match store.acd_append(&batch).await {
                Ok(_) => {
                    if failing {
                        tracing::info!("shared queue: inputs written again");
                    }
                    // This node's follower reads its own rows as soon as they commit.
                    wake.notify_one();
                    break;
                }
                Err(StoreError::Settings(e)) => {
                    tracing::error!("shared queue: inputs refused, not written: {e}");
                    break;
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(
                            inputs = batch.len(),
                            "shared queue: cannot write inputs ({e}); retrying, in order"
                        );
                    }
                    failing = true;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
    }
}

async fn follow(store: Store, wake: Arc<Notify>, tx: mpsc::Sender<Batch>) {
    let mut after = 0i64;
    let mut caught_up = false;
    let mut pause = FIRST_PAUSE;
    let mut failing = false;
    loop {
        match store.acd_read(after).await {
            Ok(rows) => {
                if failing {
                    tracing::info!("shared queue: reading the log again");
                    failing = false;
                }
                pause = FIRST_PAUSE;
                let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= ACD_LOG_MAX_READ;
                if let Some(last) = rows.last() {
                    after = last.seq;
                    if tx.send(Batch::Rows(rows)).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                if !caught_up {
                    caught_up = true;
                    if tx.send(Batch::CaughtUp).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!("shared queue: cannot read the log ({e}); retrying");
                }
                failing = true;
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
                continue;
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(IDLE_LOOK) => {}
        }
    }
}
