//! Zendesk as ringdesk's runtime sees it around the flow (the [`Helpdesk`] seam): where
//! an agent opens a ticket, how a post-call note is marked so that it can be found again,
//! which requests go to one ticket (delivered in order), and how to check that a note
//! already arrived after an uncertain outcome (list the ticket's comments, newest first,
//! and look for the marker), and the `Idempotency-Key` that makes creating a ticket or a
//! user safe to retry.

use ringdesk_session::{CheckRequest, Helpdesk, NoteRequest, TicketSummary};
use serde_json::Value as Json;

/// The line appended to a comment so that a later "already delivered?" check finds it.
pub const MARKER_PREFIX: &str = "ringdesk-ref:";

/// Zendesk's header for idempotent creation (keys are kept for 2 hours).
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Longest `Idempotency-Key` Zendesk takes.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The start variable holding the agent-facing base URL (flows build links with it).
pub const URL_VARIABLE: &str = "zendesk_url";

/// A Zendesk account, by the base URL its agents open tickets at.
#[derive(Debug, Clone)]
pub struct Zendesk {
    agent_url: String,
}

impl Zendesk {
    /// `agent_url`: e.g. `https://acme.zendesk.com` (empty: no screen-pop link).
    pub fn new(agent_url: impl Into<String>) -> Zendesk {
        Zendesk {
            agent_url: agent_url.into(),
        }
    }

    /// The agent-facing base URL.
    pub fn agent_url(&self) -> &str {
        &self.agent_url
    }
}

impl Helpdesk for Zendesk {
    fn name(&self) -> &str {
        "zendesk"
    }

    fn start_variables(&self) -> Vec<(String, Json)> {
        vec![(URL_VARIABLE.to_string(), self.agent_url.clone().into())]
    }

    fn ticket_url(&self, ticket_id: &str) -> Option<String> {
        let ok = !ticket_id.is_empty() && ticket_id.bytes().all(|b| b.is_ascii_digit());
        (ok && !self.agent_url.is_empty()).then(|| {
            format!(
                "{}/agent/tickets/{ticket_id}",
                self.agent_url.trim_end_matches('/')
            )
        })
    }

    /// `/api/v2/tickets/123.json` → `123`.
    fn ticket_of_path<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix("/api/v2/tickets/")?;
        let id = rest.strip_suffix(".json").unwrap_or(rest);
        (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
    }

    /// Appends `ringdesk-ref: <marker>` to `ticket.comment.body` of a JSON body; other
    /// bodies are returned unchanged (the marker is then only a deduplication key).
    fn mark_body(&self, body: &str, marker: &str) -> String {
        let Ok(mut v) = serde_json::from_str::<Json>(body) else {
            return body.to_string();
        };
        let Some(text) = v
            .get_mut("ticket")
            .and_then(|t| t.get_mut("comment"))
            .and_then(|c| c.get_mut("body"))
        else {
            return body.to_string();
        };
        let Some(s) = text.as_str() else {
            return body.to_string();
        };
        *text = Json::String(format!("{s}\n\n{MARKER_PREFIX} {marker}"));
        v.to_string()
    }

    fn delivered_check(&self, path: &str) -> Option<CheckRequest> {
        let ticket = self.ticket_of_path(path)?;
        Some(CheckRequest {
            method: "GET".into(),
            path: format!("/api/v2/tickets/{ticket}/comments.json"),
            query: vec![("sort_order".into(), "desc".into())],
        })
    }

    /// `Idempotency-Key: ringdesk-<seed>` on `POST /api/v2/tickets` and `/api/v2/users`
    /// (the creations a retry could duplicate). The seed is reduced to letters, digits,
    /// `-`, `_` and `.`, and the key bounded to Zendesk's 255 characters.
    fn idempotency_header(&self, method: &str, path: &str, seed: &str) -> Option<(String, String)> {
        let path = path.split('?').next().unwrap_or(path);
        let creates = matches!(
            path,
            "/api/v2/tickets.json" | "/api/v2/tickets" | "/api/v2/users.json" | "/api/v2/users"
        );
        if !method.eq_ignore_ascii_case("POST") || !creates || seed.is_empty() {
            return None;
        }
        let mut key = String::from("ringdesk-");
        key.extend(
            seed.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .take(MAX_IDEMPOTENCY_KEY - key.len()),
        );
        Some((IDEMPOTENCY_HEADER.to_owned(), key))
    }

    fn ticket_read(&self, ticket_id: &str) -> Option<CheckRequest> {
        crate::desk::ticket_read(ticket_id)
    }

    fn read_ticket(&self, body: &str) -> Result<TicketSummary, String> {
        crate::desk::read_ticket(body)
    }

    fn comments_read(&self, ticket_id: &str) -> Option<CheckRequest> {
        crate::desk::comments_read(ticket_id)
    }

    fn last_public_comment(&self, body: &str) -> Result<Option<String>, String> {
        crate::desk::last_public_comment(body)
    }

    fn search_url(&self, ani: &str) -> Option<String> {
        crate::desk::search_url(&self.agent_url, ani)
    }

    fn new_ticket_url(&self) -> Option<String> {
        crate::desk::new_ticket_url(&self.agent_url)
    }

    fn agent_note(&self, ticket_id: &str, author: &str, text: &str) -> Option<NoteRequest> {
        crate::desk::agent_note(ticket_id, author, text)
    }

    fn found(&self, body: &str, marker: &str) -> Result<bool, String> {
        let needle = format!("{MARKER_PREFIX} {marker}");
        let v: Json = serde_json::from_str(body)
            .map_err(|e| format!("comments response is not JSON: {e}"))?;
        Ok(v.get("comments")
            .and_then(|c| c.as_array())
            .is_some_and(|list| {
                list.iter().any(|c| {
                    c.get("body")
                        .and_then(|b| b.as_str())
                        .is_some_and(|b| has_marker(b, &needle))
                })
            }))
    }
}

/// `body` holds `needle` as a whole marker: `c1-1` is not found in a body marked
/// `c1-10`, nor in one marked `c1-1-1` (a resumed handler's note).
fn has_marker(body: &str, needle: &str) -> bool {
    body.match_indices(needle).any(|(at, _)| {
        !body[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_found_whole_and_never_as_the_start_of_a_longer_one() {
        let z = Zendesk::new("");
        let list = |body: &str| serde_json::json!({"comments": [{"body": body}]}).to_string();
        let marked = z.mark_body(r#"{"ticket":{"comment":{"body":"note"}}}"#, "c1-1");
        let body: Json = serde_json::from_str(&marked).unwrap();
        let text = body["ticket"]["comment"]["body"].as_str().unwrap();
        assert_eq!(z.found(&list(text), "c1-1"), Ok(true));
        assert_eq!(
            z.found(&list("note\n\nringdesk-ref: c1-10"), "c1-1"),
            Ok(false)
        );
        assert_eq!(
            z.found(&list("note\n\nringdesk-ref: c1-1-1"), "c1-1"),
            Ok(false)
        );
        assert_eq!(
            z.found(&list("note\n\nringdesk-ref: c1-1-1"), "c1-1-1"),
            Ok(true)
        );
        assert_eq!(z.found(&list("ringdesk-ref: c1-1\nmore"), "c1-1"), Ok(true));
    }

    #[test]
    fn creations_get_a_stable_bounded_idempotency_key_and_nothing_else_does() {
        let z = Zendesk::new("");
        let h = z.idempotency_header("POST", "/api/v2/tickets.json", "c1-1");
        assert_eq!(h, Some(("Idempotency-Key".into(), "ringdesk-c1-1".into())));
        assert_eq!(
            h,
            z.idempotency_header("post", "/api/v2/tickets.json", "c1-1")
        );
        assert!(z
            .idempotency_header("POST", "/api/v2/users.json", "u")
            .is_some());
        assert!(z
            .idempotency_header("PUT", "/api/v2/tickets/1.json", "c1-1")
            .is_none());
        assert!(z
            .idempotency_header("POST", "/api/v2/search.json", "c1-1")
            .is_none());
        let (_, long) = z
            .idempotency_header("POST", "/api/v2/tickets", &"a\r\n b".repeat(200))
            .unwrap();
        assert_eq!(long.len(), 255);
        assert!(long.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }

    #[test]
    fn marker_goes_inside_the_comment_body() {
        let z = Zendesk::new("");
        let b = z.mark_body(
            r#"{"ticket":{"comment":{"body":"Called.","public":false}}}"#,
            "c1-1",
        );
        let v: Json = serde_json::from_str(&b).unwrap();
        assert_eq!(
            v["ticket"]["comment"]["body"],
            "Called.\n\nringdesk-ref: c1-1"
        );
        assert_eq!(v["ticket"]["comment"]["public"], false);
        assert_eq!(z.mark_body("not json", "m"), "not json");
    }

    #[test]
    fn ticket_paths() {
        let z = Zendesk::new("");
        assert_eq!(z.ticket_of_path("/api/v2/tickets/42.json"), Some("42"));
        assert_eq!(z.ticket_of_path("/api/v2/tickets/4x.json"), None);
        assert_eq!(z.ticket_of_path("/api/v2/users/1.json"), None);
    }

    #[test]
    fn screen_pop_url_only_for_a_numeric_ticket_and_a_known_account() {
        let z = Zendesk::new("https://acme.zendesk.com/");
        assert_eq!(
            z.ticket_url("7").as_deref(),
            Some("https://acme.zendesk.com/agent/tickets/7")
        );
        assert_eq!(z.ticket_url("7/../../x"), None);
        assert_eq!(Zendesk::new("").ticket_url("7"), None);
    }

    #[test]
    fn the_check_lists_the_tickets_comments_and_finds_the_marker() {
        let z = Zendesk::new("");
        let c = z.delivered_check("/api/v2/tickets/9.json").unwrap();
        assert_eq!(c.path, "/api/v2/tickets/9/comments.json");
        assert!(z.delivered_check("/api/v2/users/9.json").is_none());
        let body = r#"{"comments":[{"body":"x\n\nringdesk-ref: c-1"}]}"#;
        assert_eq!(z.found(body, "c-1"), Ok(true));
        assert_eq!(z.found(body, "c-2"), Ok(false));
        assert!(z.found("<html>", "c-1").is_err());
    }
}
