//! Resumes the rest of a durable `call_ended` handler kept in the outbox (an item whose
//! `resume` is set): the flow's own nodes run again in a call [`Session`] with no caller
//! (the same lookups and rules as during the call), its plain requests go out now, and
//! the requests it records (the note, a new ticket) become new outbox items, written
//! with the item's result. A run that meets the outage again leaves the item to be
//! retried later, with the failure that stopped it (backoff, Retry-After).
//!
//! A run may be repeated (a crash before its result is stored, an uncertain attempt):
//! its reads are harmless, the items it records carry markers derived from the item's
//! own (a marker already stored is not added twice), and a creation it makes right away
//! sends the helpdesk's idempotency key derived from the same marker.

use super::http;
use ringdesk_connector::{self as conn, Connectors};
use ringdesk_flow::{Flow, HttpFailureKind, HttpOutcome, LogEntry, Resume};
use ringdesk_session::{Helpdesk, Input, Output, Session};
use ringdesk_store::{DeliveryOutcome, OutboxEntry};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Most requests one resumed run may make (the handler's lookups and a creation or two).
const MAX_REQUESTS: u32 = 32;

/// Runs the rest kept in `entry` (`text` is its `resume`) with the flows the server runs.
pub async fn run(
    flows: &[Arc<Flow>],
    connectors: &Connectors,
    helpdesk: &Arc<dyn Helpdesk>,
    entry: &OutboxEntry,
    text: &str,
) -> DeliveryOutcome {
    let invalid = |message: String| DeliveryOutcome::Invalid { message };
    let resume = match Resume::from_text(text) {
        Ok(r) => r,
        Err(e) => return invalid(e.to_string()),
    };
    let Some(flow) = flows.iter().find(|f| f.name() == resume.flow) else {
        return invalid(format!(
            "no flow named {:?} is loaded to resume",
            resume.flow.chars().take(64).collect::<String>()
        ));
    };
    let marker = entry
        .item
        .marker
        .clone()
        .unwrap_or_else(|| format!("outbox-{}", entry.id));
    let call_id = entry.call_id.clone().unwrap_or_else(|| marker.clone());
    let mut session = match Session::resume(
        Arc::clone(flow),
        &resume,
        &call_id,
        &marker,
        Arc::clone(helpdesk),
        Instant::now(),
        jiff::Timestamp::now(),
    ) {
        Ok(s) => s,
        Err(e) => return invalid(e.to_string()),
    };
    let mut last: Option<HttpOutcome> = None;
    let mut error: Option<String> = None;
    let mut sent = 0u32;
    while let Some(out) = session.poll_output() {
        match out {
            Output::Http { id, node, request } => {
                if sent == MAX_REQUESTS {
                    return invalid(format!(
                        "the resumed handler made more than {MAX_REQUESTS} requests"
                    ));
                }
                sent += 1;
                // The same key each time this run is repeated.
                let seed = format!("{marker}.{node}");
                let outcome = http::execute_keyed(connectors, &**helpdesk, &request, &seed).await;
                last = Some(outcome.clone());
                session.handle_input(Instant::now(), Input::HttpDone { id, outcome });
            }
            Output::Log(LogEntry::Error { node, message }) => {
                error = Some(format!("{node}: {message}"));
            }
            // No caller: prompts fail at once in the session; nothing else applies.
            _ => {}
        }
    }
    if !session.is_finished() {
        return invalid("the resumed handler waits for something only a call can give".into());
    }
    let (_, items) = session.finish(Instant::now());
    if items.iter().any(|i| i.resume.is_some()) {
        return still_unavailable(last);
    }
    if let (true, Some(error)) = (items.is_empty(), error) {
        // Refused for good (401, 422, ...) with nothing recorded: a dead letter an
        // operator sees and can retry, not a note silently gone.
        return invalid(format!("the resumed handler recorded nothing: {error}"));
    }
    tracing::info!(
        id = entry.id,
        items = items.len(),
        "outbox: deferred handler resumed and finished"
    );
    DeliveryOutcome::Resumed { items }
}

/// The service is still unavailable: the failure that stopped the run, for the retry
/// policy (a 429's or 503's Retry-After is honoured).
fn still_unavailable(last: Option<HttpOutcome>) -> DeliveryOutcome {
    match last {
        Some(HttpOutcome::Response {
            status,
            headers,
            body,
            ..
        }) => DeliveryOutcome::Response {
            status,
            retry_after: retry_after(&headers),
            body,
        },
        Some(HttpOutcome::Failed {
            kind: HttpFailureKind::Timeout,
            message,
            ..
        }) => DeliveryOutcome::Timeout { message },
        Some(HttpOutcome::Failed { message, .. }) => DeliveryOutcome::ConnectFailed { message },
        Some(HttpOutcome::Deferred) | None => DeliveryOutcome::ConnectFailed {
            message: "the service is still unavailable".into(),
        },
    }
}

/// A response's Retry-After, parsed by the one parser.
pub fn retry_after(headers: &[(String, String)]) -> Option<std::time::Duration> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| conn::parse_retry_after(v, SystemTime::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_stopped_again_reports_the_failure_that_stopped_it() {
        let busy = still_unavailable(Some(HttpOutcome::Response {
            status: 429,
            headers: vec![("Retry-After".into(), "7".into())],
            body: "{}".into(),
            attempts: 1,
            elapsed: std::time::Duration::ZERO,
        }));
        assert_eq!(
            busy,
            DeliveryOutcome::Response {
                status: 429,
                retry_after: Some(std::time::Duration::from_secs(7)),
                body: "{}".into()
            }
        );
        let down = still_unavailable(Some(HttpOutcome::Failed {
            kind: HttpFailureKind::Connect,
            message: "refused".into(),
            attempts: 3,
            elapsed: std::time::Duration::ZERO,
        }));
        assert!(matches!(down, DeliveryOutcome::ConnectFailed { .. }));
        let slow = still_unavailable(Some(HttpOutcome::Failed {
            kind: HttpFailureKind::Timeout,
            message: "slow".into(),
            attempts: 3,
            elapsed: std::time::Duration::ZERO,
        }));
        assert!(matches!(slow, DeliveryOutcome::Timeout { .. }));
    }
}
