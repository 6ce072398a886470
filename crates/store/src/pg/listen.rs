//! Following `NOTIFY ringdesk_outbox` on a connection of its own: every node's worker wakes
//! when any node records a request, retries one or produces one. A lost connection is
//! reconnected with a pause; the worker's periodic look at the database covers the gap,
//! and each reconnection wakes it once (something may have been missed).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::outbox::CHANNEL;

/// Pause before reconnecting after a failure.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Runs until aborted.
pub(crate) async fn run(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    target: String,
    changed: Arc<Notify>,
) {
    let mut failed_before = false;
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let wake = Arc::clone(&changed);
                let messages = tokio::spawn(async move {
                    let mut stream =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = stream.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(_)) => wake.notify_one(),
                            Ok(_) => {}
                            Err(e) => return Some(crate::error::pg_reason(&e)),
                        }
                    }
                    None
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        if failed_before {
                            tracing::info!(%target, "outbox: listening for other nodes' work again");
                        }
                        changed.notify_one();
                        let why = messages.await.ok().flatten();
                        tracing::warn!(
                            %target,
                            reason = why.as_deref().unwrap_or("the connection ended"),
                            "outbox: lost the PostgreSQL notification connection; reconnecting"
                        );
                    }
                    Err(e) => {
                        messages.abort();
                        tracing::warn!(%target, reason = %crate::error::pg_reason(&e), "outbox: LISTEN failed");
                    }
                }
                drop(client);
            }
            Err(e) => {
                if !failed_before {
                    tracing::warn!(
                        %target,
                        reason = %crate::error::pg_reason(&e),
                        "outbox: cannot connect to follow other nodes' work; retrying"
                    );
                }
            }
        }
        failed_before = true;
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}
