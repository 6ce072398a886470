//! Following a `NOTIFY` channel on a connection of its own: every node's outbox worker
//! wakes when any node records a request, retries one or produces one (`ringdesk_outbox`);
//! every node's queue follows the shared queue's log (`ringdesk_acd`). A lost connection
//! is reconnected with a pause; the follower's periodic look at the database covers the
//! gap, and each reconnection wakes it once (something may have been missed).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Pause before reconnecting after a failure.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Runs until aborted.
pub(crate) async fn run(
    channel: &'static str,
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
                match client.batch_execute(&format!("LISTEN {channel}")).await {
                    Ok(()) => {
                        if failed_before {
                            tracing::info!(%target, channel, "listening for other nodes' work again");
                        }
                        changed.notify_one();
                        let why = messages.await.ok().flatten();
                        tracing::warn!(
                            %target,
                            channel,
                            reason = why.as_deref().unwrap_or("the connection ended"),
                            "lost the PostgreSQL notification connection; reconnecting"
                        );
                    }
                    Err(e) => {
                        messages.abort();
                        tracing::warn!(%target, channel, reason = %crate::error::pg_reason(&e), "LISTEN failed");
                    }
                }
                drop(client);
            }
            Err(e) => {
                if !failed_before {
                    tracing::warn!(
                        %target,
                        channel,
                        reason = %crate::error::pg_reason(&e),
                        "cannot connect to follow other nodes' work; retrying"
                    );
                }
            }
        }
        failed_before = true;
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}
