//! End-to-end: callers without a ticket, with `[calls] no_ticket`: by default nothing is
//! written; with `create_ticket` a known caller gets a new ticket holding the private
//! note, an unknown caller first gets a new end-user named after the number, and shared
//! numbers or lookups that fail never create anyone (once Zendesk answers again, the
//! caller is looked up again first: `records_notes.rs`).

mod common;

use common::{call, Sandbox};
use ringdesk_zendesk::sandbox::ErrorFault;
use ringdesk_zendesk::sandbox::Faults;
use ringdesk_zendesk::types::Ticket;
use std::path::PathBuf;

const EDUARDO: &str = "+5531987650105"; // 105, pt-BR, no ticket
const UNKNOWN: &str = "+12125550199";
const SHARED: &str = "+5511987650120"; // two users share it

fn config(dir: &tempfile::TempDir, no_ticket: &str) -> PathBuf {
    let path = dir.path().join("ringdesk.toml");
    std::fs::write(&path, format!("[calls]\nno_ticket = \"{no_ticket}\"\n")).unwrap();
    path
}

/// Tickets whose requester is `user`, created by the call.
fn tickets_of(sb: &Sandbox, user: u64) -> Vec<Ticket> {
    (1..2000)
        .filter_map(|id| sb.state().ticket(id))
        .filter(|t| t.requester_id == user)
        .collect()
}

fn posts(sb: &Sandbox) -> Vec<String> {
    sb.api_requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_no_ticket_means_no_write() {
    let sb = Sandbox::start().await;
    call(EDUARDO).press("2").run(&sb).await.assert_completed();
    call(UNKNOWN).press("2").run(&sb).await.assert_completed();
    assert!(posts(&sb).is_empty(), "{:?}", posts(&sb));
    assert!(sb.api_requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_caller_without_a_ticket_gets_one_with_the_private_note() {
    let sb = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let before = tickets_of(&sb, 105).len();
    call(EDUARDO)
        .press("2")
        .config(&config(&dir, "create_ticket"))
        .run(&sb)
        .await
        .assert_completed();
    assert_eq!(posts(&sb), vec!["/api/v2/tickets.json".to_string()]);
    let mine = tickets_of(&sb, 105);
    assert_eq!(mine.len(), before + 1);
    let t = mine.last().unwrap();
    assert!(
        t.subject
            .as_deref()
            .is_some_and(|s| s.starts_with("Chamada telefônica de +5531987650105")),
        "{t:?}"
    );
    let comments = sb.state().comments(t.id).unwrap_or_default();
    assert_eq!(comments.len(), 1);
    assert!(!comments[0].public, "the note is private");
    assert!(
        comments[0].body.contains("Ligação de 5531987650105"),
        "{}",
        comments[0].body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_caller_becomes_an_end_user_named_after_the_number() {
    let sb = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    call(UNKNOWN)
        .press("2")
        .config(&config(&dir, "create_ticket"))
        .run(&sb)
        .await
        .assert_completed();
    assert_eq!(
        posts(&sb),
        vec![
            "/api/v2/users.json".to_string(),
            "/api/v2/tickets.json".to_string()
        ]
    );
    let user = (1000..1100)
        .filter_map(|id| sb.state().user(id))
        .find(|u| u.phone.as_deref() == Some("+12125550199"))
        .expect("a new end-user with the caller's number");
    assert_eq!(user.name, "Caller +12125550199");
    let tickets = tickets_of(&sb, user.id);
    assert_eq!(tickets.len(), 1);
    let comments = sb.state().comments(tickets[0].id).unwrap_or_default();
    assert_eq!(comments.len(), 1);
    assert!(!comments[0].public);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_numbers_and_failed_lookups_never_create_anyone() {
    let sb = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, "create_ticket");
    call(SHARED)
        .press("2")
        .config(&cfg)
        .run(&sb)
        .await
        .assert_completed();
    assert!(posts(&sb).is_empty(), "ambiguous caller: {:?}", posts(&sb));
    sb.state()
        .set_faults(Faults {
            error: Some(ErrorFault {
                status: 503,
                count: Some(100),
                fraction: None,
            }),
            path_prefix: Some("/api/v2/search".into()),
            ..Faults::default()
        })
        .expect("valid faults");
    call(UNKNOWN)
        .press("2")
        .config(&cfg)
        .run(&sb)
        .await
        .assert_completed();
    assert!(posts(&sb).is_empty(), "lookup failed: {:?}", posts(&sb));
}
