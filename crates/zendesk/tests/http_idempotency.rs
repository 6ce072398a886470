//! The sandbox honours `Idempotency-Key` on ticket and user creation as Zendesk does: the
//! same key with the same request answers the first response again and creates nothing;
//! with a different request it is refused (400 IdempotentRequestError); a creation whose
//! response was lost (applied, then answered 504) and is retried with its key leaves one
//! ticket.

mod common;

use common::*;
use ringdesk_zendesk::sandbox::{Faults, LostResponse, SandboxConfig};
use serde_json::{json, Value};

const TICKET: &str = r#"{"ticket": {"subject": "Phone call", "comment": {"body": "note", "public": false}, "requester_id": 105}}"#;

async fn post(
    sb: &ringdesk_zendesk::sandbox::SandboxHandle,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, Option<String>, Value) {
    let mut req = http()
        .post(format!("{}{path}", sb.base_url()))
        .header("authorization", token_auth().expose())
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let lookup = r
        .headers()
        .get("x-idempotency-lookup")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, lookup, r.json().await.unwrap_or(Value::Null))
}

fn tickets_of(sb: &ringdesk_zendesk::sandbox::SandboxHandle, user: u64) -> usize {
    (1..2000)
        .filter_map(|id| sb.ticket(id))
        .filter(|t| t.requester_id == user)
        .count()
}

#[tokio::test]
async fn the_same_key_and_request_creates_one_ticket_and_answers_the_same() {
    let sb = start(SandboxConfig::default()).await;
    let before = tickets_of(&sb, 105);
    let (s1, l1, b1) = post(&sb, "/api/v2/tickets.json", Some("k-1"), TICKET).await;
    let (s2, l2, b2) = post(&sb, "/api/v2/tickets.json", Some("k-1"), TICKET).await;
    assert_eq!((s1, l1.as_deref()), (201, Some("miss")));
    assert_eq!((s2, l2.as_deref()), (201, Some("hit")));
    assert_eq!(b1, b2);
    assert_eq!(tickets_of(&sb, 105), before + 1);
    assert_eq!(sb.stats().idempotent_replays, 1);
    // Another key is another ticket; no key behaves as before (no header).
    let (s3, l3, b3) = post(&sb, "/api/v2/tickets.json", Some("k-2"), TICKET).await;
    assert_eq!((s3, l3.as_deref()), (201, Some("miss")));
    assert_ne!(b3["ticket"]["id"], b1["ticket"]["id"]);
    let (s4, l4, _) = post(&sb, "/api/v2/tickets.json", None, TICKET).await;
    assert_eq!((s4, l4), (201, None));
    assert_eq!(tickets_of(&sb, 105), before + 3);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused_and_bad_keys_too() {
    let sb = start(SandboxConfig::default()).await;
    let user =
        r#"{"user": {"name": "Caller +12125550199", "phone": "+12125550199", "role": "end-user"}}"#;
    let (s1, _, b1) = post(&sb, "/api/v2/users.json", Some("u-1"), user).await;
    assert_eq!(s1, 201, "{b1}");
    let (s2, l2, b2) = post(&sb, "/api/v2/users.json", Some("u-1"), user).await;
    assert_eq!((s2, l2.as_deref()), (201, Some("hit")));
    assert_eq!(b1["user"]["id"], b2["user"]["id"]);
    let other = user.replace("0199", "0198");
    let (s3, _, b3) = post(&sb, "/api/v2/users.json", Some("u-1"), &other).await;
    assert_eq!(s3, 400);
    assert_eq!(b3["error"], "IdempotentRequestError");
    // The ticket endpoint with a user's key: a different request.
    let (s4, _, b4) = post(&sb, "/api/v2/tickets.json", Some("u-1"), TICKET).await;
    assert_eq!(
        (s4, b4["error"].clone()),
        (400, json!("IdempotentRequestError"))
    );
    let long = "k".repeat(256);
    let (s5, _, _) = post(&sb, "/api/v2/tickets.json", Some(&long), TICKET).await;
    assert_eq!(s5, 400);
}

#[tokio::test]
async fn a_lost_response_retried_with_its_key_leaves_one_ticket() {
    let sb = start(SandboxConfig::default()).await;
    let before = tickets_of(&sb, 105);
    sb.set_faults(Faults {
        lost_response: Some(LostResponse {
            status: 504,
            count: Some(1),
        }),
        method: Some("POST".into()),
        ..Faults::default()
    })
    .unwrap();
    let (s1, _, _) = post(&sb, "/api/v2/tickets.json", Some("k-lost"), TICKET).await;
    assert_eq!(s1, 504, "the answer is lost");
    assert_eq!(tickets_of(&sb, 105), before + 1, "but the ticket was made");
    let (s2, l2, b2) = post(&sb, "/api/v2/tickets.json", Some("k-lost"), TICKET).await;
    assert_eq!((s2, l2.as_deref()), (201, Some("hit")));
    assert!(b2["ticket"]["id"].as_u64().is_some());
    assert_eq!(tickets_of(&sb, 105), before + 1);
    // Without a key the same retry makes a second ticket: what the key prevents.
    sb.set_faults(Faults {
        lost_response: Some(LostResponse {
            status: 504,
            count: Some(1),
        }),
        ..Faults::default()
    })
    .unwrap();
    assert_eq!(post(&sb, "/api/v2/tickets.json", None, TICKET).await.0, 504);
    assert_eq!(post(&sb, "/api/v2/tickets.json", None, TICKET).await.0, 201);
    assert_eq!(tickets_of(&sb, 105), before + 3);
}
