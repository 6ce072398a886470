//! Runs the store's outbox worker with the connector deliverer: for the server's lifetime,
//! or (for `ringdesk call --store`) until the backlog is empty or a deadline passes.

use super::deliver::ConnectorDeliverer;
use anyhow::Result;
use ringdesk_connector::Connectors;
use ringdesk_flow::Flow;
use ringdesk_session::Helpdesk;
use ringdesk_store::{OutboxWorker, Store};
use std::sync::Arc;
use std::time::Duration;

/// Starts the worker as a task; it stops when `shutdown` resolves. `flows` are those a
/// deferred `call_ended` handler may be resumed in.
pub fn spawn(
    store: &Store,
    connectors: &Connectors,
    helpdesk: Arc<dyn Helpdesk>,
    flows: Vec<Arc<Flow>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let worker = OutboxWorker::new(
        store.clone(),
        Arc::new(ConnectorDeliverer {
            connectors: connectors.clone(),
            helpdesk,
            flows,
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = worker.run(shutdown).await {
            tracing::error!("outbox worker stopped: {e}");
        }
    })
}

/// Delivers until nothing is pending or in flight, or `limit` passes. Returns true when
/// items are left.
pub async fn drain(
    store: &Store,
    connectors: &Connectors,
    helpdesk: Arc<dyn Helpdesk>,
    flows: Vec<Arc<Flow>>,
    limit: Duration,
) -> Result<bool> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = spawn(store, connectors, helpdesk, flows, async move {
        let _ = stop_rx.await;
    });
    let deadline = tokio::time::Instant::now() + limit;
    let left = loop {
        let c = store.outbox_counts().await?;
        if c.backlog() == 0 {
            break false;
        }
        if tokio::time::Instant::now() >= deadline {
            break true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = stop_tx.send(());
    let _ = task.await;
    Ok(left)
}
