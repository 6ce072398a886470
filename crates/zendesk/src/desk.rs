//! What the agent desktop reads from and writes to Zendesk: a ticket's summary
//! (`GET /api/v2/tickets/{id}.json`), its last public comment (`GET
//! .../comments.json`, newest first), the agent's search and new-ticket pages, and the
//! wrap-up note (`PUT /api/v2/tickets/{id}.json` with a private comment). Pure functions
//! over bodies and ids; the runtime sends the requests through the `zendesk` connector.

use ringdesk_session::{CheckRequest, NoteRequest, TicketSummary, MAX_SUMMARY_CHARS};
use serde_json::Value as Json;

/// Longest ticket id taken (Zendesk ids are 64-bit integers).
const MAX_ID_DIGITS: usize = 20;

/// `id` is a ticket id: digits only, bounded.
pub(crate) fn is_ticket_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_DIGITS && id.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn ticket_read(id: &str) -> Option<CheckRequest> {
    is_ticket_id(id).then(|| CheckRequest {
        method: "GET".into(),
        path: format!("/api/v2/tickets/{id}.json"),
        query: Vec::new(),
    })
}

pub(crate) fn comments_read(id: &str) -> Option<CheckRequest> {
    is_ticket_id(id).then(|| CheckRequest {
        method: "GET".into(),
        path: format!("/api/v2/tickets/{id}/comments.json"),
        query: vec![("sort_order".into(), "desc".into())],
    })
}

/// Text of a JSON string field, without control characters but line breaks, bounded.
fn text(v: &Json, key: &str) -> Option<String> {
    let s = v.get(key)?.as_str()?;
    let clean: String = s
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(MAX_SUMMARY_CHARS)
        .collect();
    let clean = clean.trim().to_string();
    (!clean.is_empty()).then_some(clean)
}

/// Zendesk's status word for a person.
pub fn status_words(status: &str) -> Option<&'static str> {
    Some(match status {
        "new" => "New",
        "open" => "Open",
        "pending" => "Pending: waiting for the customer",
        "hold" => "On hold: waiting for a third party",
        "solved" => "Solved",
        "closed" => "Closed",
        _ => return None,
    })
}

pub(crate) fn read_ticket(body: &str) -> Result<TicketSummary, String> {
    let v: Json =
        serde_json::from_str(body).map_err(|e| format!("ticket response is not JSON: {e}"))?;
    let t = v
        .get("ticket")
        .filter(|t| t.is_object())
        .ok_or("ticket response has no ticket")?;
    let status = text(t, "status").filter(|s| status_words(s).is_some());
    Ok(TicketSummary {
        subject: text(t, "subject"),
        status_words: status.as_deref().and_then(status_words).map(str::to_string),
        status,
        priority: text(t, "priority")
            .filter(|p| matches!(p.as_str(), "low" | "normal" | "high" | "urgent")),
        requester_id: t
            .get("requester_id")
            .and_then(Json::as_u64)
            .map(|n| n.to_string()),
    })
}

pub(crate) fn last_public_comment(body: &str) -> Result<Option<String>, String> {
    let v: Json =
        serde_json::from_str(body).map_err(|e| format!("comments response is not JSON: {e}"))?;
    let list = v
        .get("comments")
        .and_then(Json::as_array)
        .ok_or("comments response has no comments")?;
    // Asked newest first; a server that ignores the order is read by creation time.
    let newest = list
        .iter()
        .filter(|c| c.get("public").and_then(Json::as_bool) == Some(true))
        .max_by(|a, b| {
            let at = |c: &Json| {
                c.get("created_at")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            };
            at(a).cmp(&at(b))
        });
    Ok(newest.and_then(|c| text(c, "body")))
}

/// The agent's search page for a caller's number (digits only, so nothing else is
/// searched).
pub(crate) fn search_url(agent_url: &str, ani: &str) -> Option<String> {
    let digits: String = ani
        .chars()
        .filter(char::is_ascii_digit)
        .take(MAX_ID_DIGITS)
        .collect();
    (!agent_url.is_empty() && !digits.is_empty()).then(|| {
        format!(
            "{}/agent/search/1?q={digits}",
            agent_url.trim_end_matches('/')
        )
    })
}

pub(crate) fn new_ticket_url(agent_url: &str) -> Option<String> {
    (!agent_url.is_empty())
        .then(|| format!("{}/agent/tickets/new/1", agent_url.trim_end_matches('/')))
}

/// A private comment `Wrap-up by <author>:` followed by the text.
pub(crate) fn agent_note(id: &str, author: &str, text: &str) -> Option<NoteRequest> {
    if !is_ticket_id(id) {
        return None;
    }
    let body = serde_json::json!({
        "ticket": {
            "comment": {
                "body": format!("Wrap-up by {author}:\n{text}"),
                "public": false
            }
        }
    });
    Some(NoteRequest {
        method: "PUT".into(),
        path: format!("/api/v2/tickets/{id}.json"),
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_summary_is_read_and_hostile_fields_are_tamed() {
        let body = r#"{"ticket":{"id":7,"subject":"Printer\u0007 on fire","status":"pending",
            "priority":"high","requester_id":42}}"#;
        let t = read_ticket(body).unwrap();
        assert_eq!(t.subject.as_deref(), Some("Printer on fire"));
        assert_eq!(t.status.as_deref(), Some("pending"));
        assert_eq!(
            t.status_words.as_deref(),
            Some("Pending: waiting for the customer")
        );
        assert_eq!(t.priority.as_deref(), Some("high"));
        assert_eq!(t.requester_id.as_deref(), Some("42"));
        let odd = read_ticket(r#"{"ticket":{"status":"<b>x</b>","priority":"max","subject":7}}"#)
            .unwrap();
        assert_eq!(odd, TicketSummary::default());
        let long = format!(r#"{{"ticket":{{"subject":"{}"}}}}"#, "x".repeat(10_000));
        assert_eq!(
            read_ticket(&long).unwrap().subject.unwrap().len(),
            MAX_SUMMARY_CHARS
        );
        assert!(read_ticket("{}").is_err());
        assert!(read_ticket("<html>").is_err());
    }

    #[test]
    fn the_last_public_comment_is_the_newest_public_one() {
        let body = r#"{"comments":[
            {"body":"first","public":true,"created_at":"2026-01-01T00:00:00Z"},
            {"body":"internal","public":false,"created_at":"2026-01-03T00:00:00Z"},
            {"body":"latest","public":true,"created_at":"2026-01-02T00:00:00Z"}]}"#;
        assert_eq!(
            last_public_comment(body).unwrap().as_deref(),
            Some("latest")
        );
        assert_eq!(last_public_comment(r#"{"comments":[]}"#).unwrap(), None);
        assert!(last_public_comment("[]").is_err());
    }

    #[test]
    fn reads_and_links_take_digits_only() {
        assert_eq!(ticket_read("12").unwrap().path, "/api/v2/tickets/12.json");
        assert!(ticket_read("12/../users").is_none());
        assert!(ticket_read("").is_none());
        assert!(comments_read(&"9".repeat(21)).is_none());
        assert_eq!(
            search_url("https://x.zendesk.com/", "+1 (555) 0100&q=*").as_deref(),
            Some("https://x.zendesk.com/agent/search/1?q=15550100")
        );
        assert_eq!(search_url("", "+15550100"), None);
        assert_eq!(search_url("https://x", "anonymous"), None);
        assert_eq!(
            new_ticket_url("https://x").as_deref(),
            Some("https://x/agent/tickets/new/1")
        );
    }

    #[test]
    fn the_note_is_private_and_names_its_author() {
        let n = agent_note("5", "Ana Agent", "Replaced the \"toner\".").unwrap();
        assert_eq!(
            (n.method.as_str(), n.path.as_str()),
            ("PUT", "/api/v2/tickets/5.json")
        );
        let v: Json = serde_json::from_str(&n.body).unwrap();
        assert_eq!(v["ticket"]["comment"]["public"], false);
        assert_eq!(
            v["ticket"]["comment"]["body"],
            "Wrap-up by Ana Agent:\nReplaced the \"toner\"."
        );
        assert!(agent_note("x", "a", "b").is_none());
    }
}
