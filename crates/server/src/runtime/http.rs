//! Performs a flow's HTTP request through the configured connectors: maps the flow's
//! request and outcome types to the connector crate's and back.

use ringdesk_connector as conn;
use ringdesk_flow as flow;
use ringdesk_session::Helpdesk;
use std::time::Duration;

/// Turns a flow request into a connector request (`Err` when the method is unsupported).
pub fn to_connector(req: &flow::HttpRequest) -> Result<conn::HttpRequest, conn::UnknownMethod> {
    Ok(conn::HttpRequest {
        connector: req.connector.clone(),
        method: req.method.parse()?,
        path: req.path.clone(),
        query: req.query.clone(),
        headers: req.headers.clone(),
        body: req.body.clone(),
        timeout: Some(req.timeout),
        retries: req.retries,
    })
}

/// Turns a connector outcome into the flow's.
pub fn to_flow(outcome: conn::HttpOutcome) -> flow::HttpOutcome {
    match outcome {
        conn::HttpOutcome::Response(r) => flow::HttpOutcome::Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
            attempts: r.attempts,
            elapsed: r.elapsed,
        },
        conn::HttpOutcome::Failure(f) => flow::HttpOutcome::Failed {
            kind: match f.kind {
                conn::FailureKind::Connect => flow::HttpFailureKind::Connect,
                conn::FailureKind::Timeout => flow::HttpFailureKind::Timeout,
                conn::FailureKind::UnknownConnector => flow::HttpFailureKind::UnknownConnector,
                conn::FailureKind::Other => flow::HttpFailureKind::Other,
            },
            message: f.message,
            attempts: f.attempts,
            elapsed: f.elapsed,
        },
    }
}

/// Adds `header` unless a header of that name is already there (a flow's own wins).
pub fn add_header_once(headers: &mut Vec<(String, String)>, header: (String, String)) {
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(&header.0))
    {
        headers.push(header);
    }
}

/// Executes a flow request right away (no outbox). A creation gets the helpdesk's
/// idempotency header with a fresh key, the same for every retry the connector makes.
pub async fn execute_now(
    connectors: &conn::Connectors,
    helpdesk: &dyn Helpdesk,
    req: &flow::HttpRequest,
) -> flow::HttpOutcome {
    let seed = uuid::Uuid::new_v4().to_string();
    execute_keyed(connectors, helpdesk, req, &seed).await
}

/// Executes a flow request right away; a creation's idempotency key is derived from
/// `seed` (a resumed handler passes the same seed each time the same run is repeated).
pub async fn execute_keyed(
    connectors: &conn::Connectors,
    helpdesk: &dyn Helpdesk,
    req: &flow::HttpRequest,
    seed: &str,
) -> flow::HttpOutcome {
    match to_connector(req) {
        Ok(mut r) => {
            if let Some(header) = helpdesk.idempotency_header(&req.method, &req.path, seed) {
                add_header_once(&mut r.headers, header);
            }
            to_flow(connectors.execute(r).await)
        }
        Err(e) => flow::HttpOutcome::Failed {
            kind: flow::HttpFailureKind::Other,
            message: format!("{e}: {:?}", req.method.chars().take(16).collect::<String>()),
            attempts: 0,
            elapsed: Duration::ZERO,
        },
    }
}
