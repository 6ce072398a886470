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

/// What the agent desktop shows of a ticket (read by [`Helpdesk::read_ticket`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketSummary {
    pub subject: Option<String>,
    /// The helpdesk's status word (`open`, `pending`, ...).
    pub status: Option<String>,
    /// The status for a person (`Open`, `Pending: waiting for the customer`).
    pub status_words: Option<String>,
    pub priority: Option<String>,
    /// The requester's helpdesk id (its name comes from the call: the caller).
    pub requester_id: Option<String>,
}

/// A request that writes an agent's note on a ticket (through the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRequest {
    pub method: String,
    /// Below the connector's base URL.
    pub path: String,
    pub body: String,
}

/// Longest text kept of a ticket field for the agent desktop (subject, comment).
pub const MAX_SUMMARY_CHARS: usize = 2_000;

/// One helpdesk's conventions. `ringdesk_zendesk::helpdesk::Zendesk` is the one shipped.
pub trait Helpdesk: Send + Sync + std::fmt::Debug {
    /// Short name for logs (`zendesk`).
    fn name(&self) -> &str;

    /// The connector that reaches it (the flows' connector of the same name).
    fn connector(&self) -> &str {
        self.name()
    }

    /// The read of a ticket's summary for the agent desktop; `None` when unsupported or
    /// `ticket_id` is not a ticket id.
    fn ticket_read(&self, ticket_id: &str) -> Option<CheckRequest> {
        let _ = ticket_id;
        None
    }

    /// Reads the answer to [`Helpdesk::ticket_read`] (texts bounded by
    /// [`MAX_SUMMARY_CHARS`]).
    fn read_ticket(&self, body: &str) -> Result<TicketSummary, String> {
        let _ = body;
        Err("not supported".into())
    }

    /// The read of a ticket's comments, for the last public one.
    fn comments_read(&self, ticket_id: &str) -> Option<CheckRequest> {
        let _ = ticket_id;
        None
    }

    /// The last public comment in the answer to [`Helpdesk::comments_read`].
    fn last_public_comment(&self, body: &str) -> Result<Option<String>, String> {
        let _ = body;
        Ok(None)
    }

    /// Where an agent searches the helpdesk for `ani` (an unknown caller).
    fn search_url(&self, ani: &str) -> Option<String> {
        let _ = ani;
        None
    }

    /// Where an agent creates a ticket.
    fn new_ticket_url(&self) -> Option<String> {
        None
    }

    /// The request that adds `text` by `author` as a private note on `ticket_id` (the
    /// desktop's wrap-up note); `None` when unsupported.
    fn agent_note(&self, ticket_id: &str, author: &str, text: &str) -> Option<NoteRequest> {
        let _ = (ticket_id, author, text);
        None
    }

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
