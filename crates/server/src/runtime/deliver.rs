//! Delivers outbox items through the configured connectors, and answers "is this note
//! already there?" after an uncertain outcome with the helpdesk's own check (for Zendesk:
//! read the ticket's comments and look for the item's reference marker). Creations carry
//! the helpdesk's idempotency header, keyed by the item's marker.

use ringdesk_connector::{self as conn, Connectors};
use ringdesk_flow::Flow;
use ringdesk_session::Helpdesk;
use ringdesk_store::{CheckError, Deliverer, DeliveryOutcome, OutboxEntry};
use std::sync::Arc;
use std::time::Duration;

/// Time budget of one delivery attempt (the outbox worker retries, not the connector).
const ATTEMPT_BUDGET: Duration = Duration::from_secs(15);

/// The binary's [`Deliverer`].
pub struct ConnectorDeliverer {
    pub connectors: Connectors,
    pub helpdesk: Arc<dyn Helpdesk>,
    /// The flows a deferred handler may be resumed in (by name).
    pub flows: Vec<Arc<Flow>>,
}

impl Deliverer for ConnectorDeliverer {
    async fn deliver(&self, entry: &OutboxEntry) -> DeliveryOutcome {
        let item = &entry.item;
        if let Some(text) = &item.resume {
            return super::resume::run(&self.flows, &self.connectors, &self.helpdesk, entry, text)
                .await;
        }
        let method = match item.method.parse::<conn::Method>() {
            Ok(m) => m,
            Err(e) => {
                return DeliveryOutcome::Invalid {
                    message: e.to_string(),
                }
            }
        };
        let mut headers = item.headers.clone();
        // The key comes from the item's marker (or id), stored with it: every attempt,
        // before or after a restart, sends the same key, so a creation whose answer was
        // lost is not made twice.
        let seed = item
            .marker
            .clone()
            .unwrap_or_else(|| format!("outbox-{}", entry.id));
        if let Some(header) = self
            .helpdesk
            .idempotency_header(&item.method, &item.path, &seed)
        {
            crate::runtime::http::add_header_once(&mut headers, header);
        }
        let req = conn::HttpRequest {
            connector: item.connector.clone(),
            method,
            path: item.path.clone(),
            query: item.query.clone(),
            headers,
            body: item.body.clone(),
            timeout: Some(ATTEMPT_BUDGET),
            retries: 0,
        };
        match self.connectors.execute(req).await {
            conn::HttpOutcome::Response(r) => DeliveryOutcome::Response {
                status: r.status,
                retry_after: super::resume::retry_after(&r.headers),
                body: r.body,
            },
            conn::HttpOutcome::Failure(f) => match f.kind {
                conn::FailureKind::Connect => DeliveryOutcome::ConnectFailed { message: f.message },
                conn::FailureKind::Timeout => DeliveryOutcome::Timeout { message: f.message },
                conn::FailureKind::UnknownConnector | conn::FailureKind::Other => {
                    DeliveryOutcome::Invalid { message: f.message }
                }
            },
        }
    }

    async fn already_delivered(&self, entry: &OutboxEntry) -> Result<bool, CheckError> {
        let item = &entry.item;
        if item.resume.is_some() {
            // A resumed run changes nothing by itself (reads, and items it records under
            // markers of its own): running it again is safe.
            return Ok(false);
        }
        let (Some(marker), Some(check)) = (&item.marker, self.helpdesk.delivered_check(&item.path))
        else {
            // Nothing to look for: at-least-once.
            return Ok(false);
        };
        let method = check
            .method
            .parse::<conn::Method>()
            .map_err(|e| CheckError {
                message: e.to_string(),
            })?;
        let req = conn::HttpRequest {
            connector: item.connector.clone(),
            method,
            path: check.path,
            query: check.query,
            headers: vec![],
            body: None,
            timeout: Some(ATTEMPT_BUDGET),
            retries: 1,
        };
        match self.connectors.execute(req).await {
            conn::HttpOutcome::Response(r) if r.status == 200 => self
                .helpdesk
                .found(&r.body, marker)
                .map_err(|message| CheckError { message }),
            conn::HttpOutcome::Response(r) => Err(CheckError {
                message: format!("the delivery check answered {}", r.status),
            }),
            conn::HttpOutcome::Failure(f) => Err(CheckError { message: f.message }),
        }
    }
}
