//! Outbox domain types: a durable HTTP request, its stored state, and backlog counts.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

/// A durable HTTP request to deliver after the call, in order per [`OutboxItem::ordering_key`].
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct OutboxItem {
    /// Items with the same key are delivered strictly in the order recorded (e.g. `ticket:123`).
    pub ordering_key: String,
    /// Connector name (base URL and credentials come from configuration).
    pub connector: String,
    /// HTTP method.
    pub method: String,
    /// Path below the connector's base URL.
    pub path: String,
    /// Query parameters, not URL-encoded.
    pub query: Vec<(String, String)>,
    /// Extra headers (values may be sensitive: never shown by `Debug` nor serialized).
    #[serde(serialize_with = "redact_header_values")]
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<String>,
    /// A short unique token the body contains, so "already delivered?" can be checked after an
    /// uncertain outcome. Also deduplicates: recording the same marker twice is a no-op.
    pub marker: Option<String>,
    /// When the item was created.
    pub created_at: Timestamp,
    /// The rest of a flow run to resume after this request (a `call_ended` handler declared
    /// `durable` that met an outage), as text the deliverer reads; `None` for a plain
    /// request. When set, the item's request is the one that found the service down, and
    /// delivering it means resuming the run: the requests it records become new items.
    pub resume: Option<String>,
}

impl fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("OutboxItem")
            .field("ordering_key", &self.ordering_key)
            .field("connector", &self.connector)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query_params", &self.query.len())
            .field("header_names", &header_names)
            .field("body_len", &self.body.as_ref().map(String::len))
            .field("marker", &self.marker)
            .field("created_at", &self.created_at)
            .field("resume_len", &self.resume.as_ref().map(String::len))
            .finish()
    }
}

/// Serializes headers as `[name, "<redacted>"]` pairs (JSON output for the CLI and admin API).
fn redact_header_values<S: serde::Serializer>(
    headers: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(headers.len()))?;
    for (name, _) in headers {
        seq.serialize_element(&(name, "<redacted>"))?;
    }
    seq.end()
}

/// Where an outbox item is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its turn or its next attempt.
    Pending,
    /// Claimed by the worker; an attempt is under way (marked before sending).
    InFlight,
    /// An attempt may or may not have reached the server (timeout after sending, crash while
    /// in flight): the worker checks `already_delivered` before sending again.
    Uncertain,
    /// Done.
    Delivered,
    /// Permanently failed (e.g. 401, 404); the response is kept. `retry` revives it.
    Dead,
    /// Removed by an operator; never delivered. `retry` revives it.
    Dropped,
}

impl OutboxState {
    /// Every state, in display order.
    pub const ALL: [OutboxState; 6] = [
        OutboxState::Pending,
        OutboxState::InFlight,
        OutboxState::Uncertain,
        OutboxState::Delivered,
        OutboxState::Dead,
        OutboxState::Dropped,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::InFlight => "in_flight",
            OutboxState::Uncertain => "uncertain",
            OutboxState::Delivered => "delivered",
            OutboxState::Dead => "dead",
            OutboxState::Dropped => "dropped",
        }
    }

    /// Parses [`OutboxState::as_str`] output.
    pub fn parse(s: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// States that hold back later items with the same ordering key.
    pub fn blocks_key(self) -> bool {
        matches!(
            self,
            OutboxState::Pending | OutboxState::InFlight | OutboxState::Uncertain
        )
    }
}

/// An outbox item as stored, with its delivery state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    /// Store-assigned id; increases in recording order.
    pub id: i64,
    /// The call that recorded it, if any.
    pub call_id: Option<String>,
    /// The request.
    pub item: OutboxItem,
    pub state: OutboxState,
    /// Attempts started so far (incremented when marked in flight).
    pub attempts: u32,
    /// Not attempted before this time.
    pub next_attempt_at: Timestamp,
    pub updated_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// HTTP status of the last response, if any.
    pub last_status: Option<u16>,
    /// Last failure, human-readable (never contains secrets).
    pub last_error: Option<String>,
    /// Body of the last failed response (kept for dead items), truncated.
    pub last_response: Option<String>,
}

/// Backlog counts per state, for metrics and the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub in_flight: u64,
    pub uncertain: u64,
    pub delivered: u64,
    pub dead: u64,
    pub dropped: u64,
    /// Creation time of the oldest item not yet delivered, dead or dropped.
    pub oldest_undelivered: Option<Timestamp>,
}

impl OutboxCounts {
    /// Items still to deliver (pending + in flight + uncertain).
    pub fn backlog(&self) -> u64 {
        self.pending + self.in_flight + self.uncertain
    }

    pub(crate) fn add(&mut self, state: OutboxState, n: u64) {
        match state {
            OutboxState::Pending => self.pending += n,
            OutboxState::InFlight => self.in_flight += n,
            OutboxState::Uncertain => self.uncertain += n,
            OutboxState::Delivered => self.delivered += n,
            OutboxState::Dead => self.dead += n,
            OutboxState::Dropped => self.dropped += n,
        }
    }
}

/// Which outbox items to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxFilter {
    /// Only these states (empty = all).
    pub states: Vec<OutboxState>,
    /// Only this ordering key.
    pub ordering_key: Option<String>,
    /// At most this many rows (default 100, capped at 1000), oldest first.
    pub limit: Option<u32>,
}

impl OutboxFilter {
    /// The page size actually used.
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
}
