//! Size bounds on everything the store accepts, and their enforcement.
//!
//! Interaction text is truncated (a long SIP header must not lose the call's record);
//! outbox requests are rejected when too large (a truncated note must never be sent).

use crate::codec::{bound, truncate};
use crate::{Interaction, OutboxItem, StoreError};

/// Longest call id, ordering key or marker.
pub const MAX_ID_LEN: usize = 256;
/// Longest short text field of an interaction (ANI, queue, agent name...), truncated beyond.
pub const MAX_FIELD_LEN: usize = 1024;
/// Most menu steps kept per call.
pub const MAX_MENU_STEPS: usize = 256;
/// Most flow errors kept per call.
pub const MAX_FLOW_ERRORS: usize = 64;
/// Most outbox items per recorded call.
pub const MAX_ITEMS_PER_CALL: usize = 32;
/// Longest request path.
pub const MAX_PATH_LEN: usize = 4096;
/// Most query parameters or headers per request.
pub const MAX_PAIRS: usize = 64;
/// Largest total size of query parameters or headers per request.
pub const MAX_PAIRS_BYTES: usize = 16 * 1024;
/// Largest request body (and largest kept rest of a flow handler, `resume`).
pub const MAX_BODY_LEN: usize = 1024 * 1024;
/// Largest response body kept for a dead item.
pub const MAX_KEPT_RESPONSE: usize = 8 * 1024;
/// Longest kept error message.
pub const MAX_ERROR_LEN: usize = 1024;

/// Validates the key and truncates every other field of an interaction to its bound.
pub(crate) fn bound_interaction(mut i: Interaction) -> Result<Interaction, StoreError> {
    if i.call_id.is_empty() {
        return Err(StoreError::Invalid {
            what: "call_id",
            reason: "empty",
        });
    }
    bound("call_id", &i.call_id, MAX_ID_LEN)?;
    let cut = |s: String| truncate(s, MAX_FIELD_LEN);
    let cut_opt = |s: Option<String>| s.map(|s| truncate(s, MAX_FIELD_LEN));
    i.ani = cut(i.ani);
    i.dnis = cut(i.dnis);
    i.user_id = cut_opt(i.user_id);
    i.ticket_id = cut_opt(i.ticket_id);
    i.language = cut_opt(i.language);
    i.queue = cut_opt(i.queue);
    i.agent_id = cut_opt(i.agent_id);
    i.agent_name = cut_opt(i.agent_name);
    i.end_detail = cut_opt(i.end_detail);
    i.menu_path.truncate(MAX_MENU_STEPS);
    for step in &mut i.menu_path {
        step.key = truncate(std::mem::take(&mut step.key), MAX_FIELD_LEN);
        step.node = truncate(std::mem::take(&mut step.node), MAX_FIELD_LEN);
    }
    i.flow_errors.truncate(MAX_FLOW_ERRORS);
    for e in &mut i.flow_errors {
        e.node = truncate(std::mem::take(&mut e.node), MAX_FIELD_LEN);
        e.message = truncate(std::mem::take(&mut e.message), MAX_FIELD_LEN);
    }
    Ok(i)
}

/// Rejects a call's outbox items: too many, or one of them invalid ([`check_item`]).
pub(crate) fn check_items(items: &[OutboxItem]) -> Result<(), StoreError> {
    if items.len() > MAX_ITEMS_PER_CALL {
        return Err(StoreError::TooLarge {
            what: "outbox items per call",
            size: items.len(),
            max: MAX_ITEMS_PER_CALL,
        });
    }
    items.iter().try_for_each(check_item)
}

/// Rejects an outbox item that is empty where it must not be, or too large.
pub(crate) fn check_item(item: &OutboxItem) -> Result<(), StoreError> {
    for (what, value) in [
        ("ordering_key", &item.ordering_key),
        ("connector", &item.connector),
        ("method", &item.method),
    ] {
        if value.is_empty() {
            return Err(StoreError::Invalid {
                what,
                reason: "empty",
            });
        }
    }
    bound("ordering_key", &item.ordering_key, MAX_ID_LEN)?;
    bound("connector", &item.connector, MAX_ID_LEN)?;
    bound("method", &item.method, 16)?;
    bound("path", &item.path, MAX_PATH_LEN)?;
    check_pairs("query", &item.query)?;
    check_pairs("headers", &item.headers)?;
    if let Some(body) = &item.body {
        bound("body", body, MAX_BODY_LEN)?;
    }
    if let Some(resume) = &item.resume {
        bound("resume", resume, MAX_BODY_LEN)?;
    }
    if let Some(marker) = &item.marker {
        if marker.is_empty() {
            return Err(StoreError::Invalid {
                what: "marker",
                reason: "empty",
            });
        }
        bound("marker", marker, MAX_ID_LEN)?;
    }
    Ok(())
}

fn check_pairs(what: &'static str, pairs: &[(String, String)]) -> Result<(), StoreError> {
    if pairs.len() > MAX_PAIRS {
        return Err(StoreError::TooLarge {
            what,
            size: pairs.len(),
            max: MAX_PAIRS,
        });
    }
    let bytes: usize = pairs.iter().map(|(n, v)| n.len() + v.len()).sum();
    if bytes > MAX_PAIRS_BYTES {
        return Err(StoreError::TooLarge {
            what,
            size: bytes,
            max: MAX_PAIRS_BYTES,
        });
    }
    Ok(())
}
