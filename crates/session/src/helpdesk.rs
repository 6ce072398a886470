//! The helpdesk seam: what ringdesk knows about a helpdesk beyond the flow file (the
//! agent's screen-pop URL, the outbox ordering key, the marker that makes a post-call
//! note findable, and how to check whether a note already arrived).
//!
//! A flow talks to a helpdesk through HTTP activities and a named connector; this trait
//! is for what the runtime does around the flow. Implementations are sans-IO: the check
//! is returned as a request for the runtime to send, and its answer is read here.

use serde_json::Value as Json;

/// A read the runtime makes to learn whether an outbox item was already delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequest {
    /// `GET`.
    pub method: String,
    /// Below the connector's base URL.
    pub path: String,
    /// Query parameters, not yet encoded.
    pub query: Vec<(String, String)>,
}

/// One helpdesk's conventions. `ringdesk_zendesk::helpdesk::Zendesk` is the one shipped.
pub trait Helpdesk: Send + Sync + std::fmt::Debug {
    /// Short name for logs (`zendesk`).
    fn name(&self) -> &str;

    /// Variables every call starts with (e.g. the helpdesk's agent-facing base URL).
    fn start_variables(&self) -> Vec<(String, Json)>;

    /// Where an agent opens `ticket_id` (the screen pop), when it is known.
    fn ticket_url(&self, ticket_id: &str) -> Option<String>;

    /// Items to the same ticket are delivered in order: the ticket of a request path.
    /// `None` orders the item with its call only.
    fn ticket_of_path<'a>(&self, path: &'a str) -> Option<&'a str>;

    /// Puts `marker` into a request body (a note's text) so that [`Helpdesk::found`] can
    /// recognise it later; bodies it cannot mark are returned unchanged.
    fn mark_body(&self, body: &str, marker: &str) -> String;

    /// The read that tells whether the item to `path` carrying `marker` already arrived
    /// (after an uncertain outcome); `None` when there is no way to know.
    fn delivered_check(&self, path: &str) -> Option<CheckRequest>;

    /// Reads the answer to [`Helpdesk::delivered_check`]: was `marker` found?
    fn found(&self, body: &str, marker: &str) -> Result<bool, String>;

    /// The header (name, value) that makes a `method` request to `path` idempotent on
    /// the helpdesk, keyed by `seed` (stable across every retry of one logical request:
    /// an outbox item's marker), for requests that create records; `None` otherwise.
    fn idempotency_header(&self, method: &str, path: &str, seed: &str) -> Option<(String, String)> {
        let _ = (method, path, seed);
        None
    }
}

/// A helpdesk ringdesk knows nothing about: no screen-pop URL, no ticket ordering, no
/// delivery check (at-least-once).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHelpdesk;

impl Helpdesk for NoHelpdesk {
    fn name(&self) -> &str {
        "none"
    }
    fn start_variables(&self) -> Vec<(String, Json)> {
        Vec::new()
    }
    fn ticket_url(&self, _: &str) -> Option<String> {
        None
    }
    fn ticket_of_path<'a>(&self, _: &'a str) -> Option<&'a str> {
        None
    }
    fn mark_body(&self, body: &str, _: &str) -> String {
        body.to_string()
    }
    fn delivered_check(&self, _: &str) -> Option<CheckRequest> {
        None
    }
    fn found(&self, _: &str, _: &str) -> Result<bool, String> {
        Ok(false)
    }
}
