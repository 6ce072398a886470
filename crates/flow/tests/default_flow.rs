//! The default flow (flows/zendesk-ticket-status.yaml) on virtual time with scripted Zendesk answers.

mod common;

use std::time::Duration;

use common::*;
use ringdesk_flow::*;
use serde_json::json;

fn user_body(users: serde_json::Value) -> String {
    json!({ "results": users, "count": users.as_array().map(|a| a.len()).unwrap_or(0), "next_page": null }).to_string()
}

fn ticket_body(id: u64, status: &str, priority: Option<&str>) -> String {
    json!({ "results": [{ "id": id, "status": status, "priority": priority, "result_type": "ticket" }], "count": 1 }).to_string()
}

/// Plays the greeting, answers the user lookup; returns the sim.
fn known_caller(locale: &str) -> Sim {
    let mut s = Sim::new(default_flow(), start("+5511987654321"));
    let greeting = s.play_through();
    assert!(greeting.contains("Welcome"), "{greeting}");
    let (id, req) = s.expect_http();
    assert_eq!(req.connector, "zendesk");
    assert_eq!(req.path, "/api/v2/search.json");
    assert_eq!(
        req.query,
        vec![(
            "query".to_string(),
            "role:end-user phone:5511987654321".to_string()
        )]
    );
    s.respond(
        id,
        200,
        &user_body(
            json!([{ "id": 42, "name": "Ana", "locale": locale, "phone": "+5511987654321" }]),
        ),
    );
    s
}

#[test]
fn known_caller_hears_status_and_queues_by_priority() {
    let mut s = known_caller("en-US");
    let (id, req) = s.expect_http();
    assert_eq!(
        req.query,
        vec![
            (
                "query".to_string(),
                "type:ticket status<solved requester:42".to_string()
            ),
            ("sort_by".to_string(), "updated_at".to_string()),
            ("sort_order".to_string(), "desc".to_string()),
        ]
    );
    s.respond(id, 200, &ticket_body(1001, "hold", Some("urgent")));
    let status = s.play_through();
    assert_eq!(
        status,
        "Hello Ana. Your ticket number 1001 is open / in progress."
    );
    let menu = s.play_through();
    assert!(menu.contains("Press 1"), "{menu}");
    s.digit('1');
    match s.next() {
        Action::Enqueue {
            queue,
            priority,
            availability,
            ..
        } => {
            assert_eq!(queue, "support");
            assert_eq!(priority, 1);
            assert_eq!(availability, AvailabilityCheck::LoggedIn);
        }
        other => panic!("expected Enqueue, got {other:?}"),
    }
}
