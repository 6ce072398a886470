//! The outbox worker's node lease in a shared (PostgreSQL) store: renewed every third of
//! the lease, releasing stopped nodes as it goes (`pg/nodes.rs`), given up at a clean stop.
//! With SQLite there is no lease and [`LeaseKeeper::due`] never resolves.

use std::time::Duration;

use jiff::Timestamp;

use crate::Store;

/// Renewal timing for one worker.
pub(crate) struct LeaseKeeper {
    every: Option<Duration>,
    next: tokio::time::Instant,
}

impl LeaseKeeper {
    pub(crate) fn new(store: &Store) -> Self {
        let every = store.node_renew_every();
        LeaseKeeper {
            every,
            next: tokio::time::Instant::now() + every.unwrap_or_default(),
        }
    }

    /// Resolves when the lease is due for renewal (never without a lease).
    pub(crate) async fn due(&self) {
        match self.every {
            Some(_) => tokio::time::sleep_until(self.next).await,
            None => std::future::pending().await,
        }
    }

    /// Renews; logs what it released and a lease found lost. A failure is logged and
    /// tried again at the next renewal.
    pub(crate) async fn renew(&mut self, store: &Store, now: Timestamp) {
        self.next = tokio::time::Instant::now() + self.every.unwrap_or_default();
        match store.node_renew(now).await {
            Ok(renewal) => {
                if !renewal.was_alive {
                    tracing::warn!(
                        node = store.node().unwrap_or_default(),
                        "outbox: this node's lease had run out and another node released its \
                         in-flight items; they are checked before being sent again"
                    );
                }
                for (node, items) in renewal.released {
                    tracing::warn!(
                        stopped = %node,
                        in_flight_now_uncertain = items,
                        "outbox: a node stopped renewing its lease; released what it held"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "outbox: cannot renew the node lease"),
        }
    }

    /// Gives the lease up at a clean stop.
    pub(crate) async fn leave(&self, store: &Store) {
        if self.every.is_some() {
            if let Err(e) = store.node_leave().await {
                tracing::warn!(error = %e, "outbox: cannot give the node lease up");
            }
        }
    }
}
