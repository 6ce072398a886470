//! The registrar's clock: one task that wakes at the registrar's next deadline (or when a
//! REGISTER changed something), lets lapsed contacts expire, and forwards the registrar's
//! events to the runtime in order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::event::SipEvent;
use crate::registrar::RegistrarEvent;
use crate::shared::Shared;

/// Longest sleep between checks (a safety net; deadlines normally wake the task).
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// Run until the server is cancelled.
pub(crate) async fn run(shared: Arc<Shared>, cancel: CancellationToken) {
    loop {
        let (deadline, events) = {
            let mut registrar = shared.registrar();
            registrar.handle_timeout(Instant::now());
            let events: Vec<RegistrarEvent> =
                std::iter::from_fn(|| registrar.poll_event()).collect();
            (registrar.poll_timeout(), events)
        };
        for event in events {
            let event = match event {
                RegistrarEvent::Registered { agent, contact } => {
                    SipEvent::AgentRegistered { agent, contact }
                }
                RegistrarEvent::Unregistered { agent } => SipEvent::AgentUnregistered { agent },
            };
            if shared.events.send(event).await.is_err() {
                tracing::debug!("runtime closed the SIP event channel");
            }
        }
        let now = Instant::now();
        let wake = deadline.unwrap_or(now + MAX_SLEEP).min(now + MAX_SLEEP);
        tokio::select! {
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            _ = shared.registrar_changed.notified() => {}
            _ = cancel.cancelled() => break,
        }
    }
}
