//! The post-call notes as they ended up on the sandbox's tickets: comments carrying a
//! `ringdesk-ref: <call id>-<n>` marker line, in the order the ticket holds them.

use ringdesk_zendesk::sandbox::SandboxState;

/// The marker line prefix ringdesk appends to a note's body.
pub const MARKER_PREFIX: &str = "ringdesk-ref: ";

/// One comment written by ringdesk.
#[derive(Debug, Clone)]
pub struct Note {
    pub body: String,
    pub public: bool,
    pub author_id: u64,
    pub marker: String,
}

/// The marker of a comment body, if it carries one.
pub fn marker_in(body: &str) -> Option<String> {
    let start = body.rfind(MARKER_PREFIX)? + MARKER_PREFIX.len();
    let marker: String = body
        .get(start..)?
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    (!marker.is_empty()).then_some(marker)
}

/// The notes on `ticket`, oldest first (comments without a marker are left out).
pub fn notes_on(sandbox: &SandboxState, ticket: u64) -> Vec<Note> {
    sandbox
        .comments(ticket)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            Some(Note {
                marker: marker_in(&c.body)?,
                body: c.body,
                public: c.public,
                author_id: c.author_id,
            })
        })
        .collect()
}

/// How many comments on `ticket` carry exactly `marker`.
pub fn count_marker(sandbox: &SandboxState, ticket: u64, marker: &str) -> usize {
    notes_on(sandbox, ticket)
        .iter()
        .filter(|n| n.marker == marker)
        .count()
}

/// `ticket:12` or `/api/v2/tickets/12.json` → 12.
pub fn ticket_number(s: &str) -> Option<u64> {
    let digits: String = s
        .trim_start_matches("ticket:")
        .trim_start_matches("/api/v2/tickets/")
        .trim_end_matches(".json")
        .to_string();
    digits.parse().ok()
}
