//! Delivers outbox items through the configured connectors, and answers "is this note
//! already on the ticket?" after an uncertain outcome by reading the ticket's comments
//! and looking for the item's reference marker.

use super::record::{ticket_of_path, MARKER_PREFIX};
use ringdesk_connector::{self as conn, Connectors};
use ringdesk_store::{CheckError, Deliverer, DeliveryOutcome, OutboxEntry};
use std::time::{Duration, SystemTime};

/// Time budget of one delivery attempt (the outbox worker retries, not the connector).
const ATTEMPT_BUDGET: Duration = Duration::from_secs(15);

/// The binary's [`Deliverer`].
pub struct ConnectorDeliverer {
    pub connectors: Connectors,
}

impl Deliverer for ConnectorDeliverer {
    async fn deliver(&self, entry: &OutboxEntry) -> DeliveryOutcome {
        let item = &entry.item;
        let method = match item.method.parse::<conn::Method>() {
            Ok(m) => m,
            Err(e) => {
                return DeliveryOutcome::Invalid {
                    message: e.to_string(),
                }
            }
        };
        let req = conn::HttpRequest {
            connector: item.connector.clone(),
            method,
            path: item.path.clone(),
            query: item.query.clone(),
            headers: item.headers.clone(),
            body: item.body.clone(),
            timeout: Some(ATTEMPT_BUDGET),
            retries: 0,
        };
        match self.connectors.execute(req).await {
            conn::HttpOutcome::Response(r) => {
                let retry_after = r
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
                    .and_then(|(_, v)| conn::parse_retry_after(v, SystemTime::now()));
                DeliveryOutcome::Response {
                    status: r.status,
                    retry_after,
                    body: r.body,
                }
            }
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
        let (Some(marker), Some(ticket)) = (&item.marker, ticket_of_path(&item.path)) else {
            // Nothing to look for: at-least-once.
            return Ok(false);
        };
        let req = conn::HttpRequest {
            connector: item.connector.clone(),
            method: conn::Method::Get,
            path: format!("/api/v2/tickets/{ticket}/comments.json"),
            query: vec![("sort_order".into(), "desc".into())],
            headers: vec![],
            body: None,
            timeout: Some(ATTEMPT_BUDGET),
            retries: 1,
        };
        let needle = format!("{MARKER_PREFIX} {marker}");
        match self.connectors.execute(req).await {
            conn::HttpOutcome::Response(r) if r.status == 200 => {
                let v: serde_json::Value =
                    serde_json::from_str(&r.body).map_err(|e| CheckError {
                        message: format!("comments response is not JSON: {e}"),
                    })?;
                let found = v
                    .get("comments")
                    .and_then(|c| c.as_array())
                    .is_some_and(|list| {
                        list.iter().any(|c| {
                            c.get("body")
                                .and_then(|b| b.as_str())
                                .is_some_and(|b| b.contains(&needle))
                        })
                    });
                Ok(found)
            }
            conn::HttpOutcome::Response(r) => Err(CheckError {
                message: format!("listing comments answered {}", r.status),
            }),
            conn::HttpOutcome::Failure(f) => Err(CheckError { message: f.message }),
        }
    }
}
