//! End-to-end: `kill -9` while a post-call note is in flight. The killed process leaves
//! the note in flight in the SQLite file; the next process on the same file (`ringdesk
//! serve` or another `ringdesk call --store`) treats it as uncertain, asks Zendesk whether
//! the note is already on the ticket (by its marker), and sends it only if not: nothing
//! lost, nothing doubled, whether Zendesk had applied the killed request or not.

mod records;

use records::notes::count_marker;
use records::{call, outbox, Gate, PutRule, Serve};
use std::path::Path;
use std::time::Duration;

const ANA: &str = "+5511987650101";
const JOHN: &str = "+12125550107";
/// Safety net for a state to be reached (not a timing assertion).
const LIMIT: Duration = Duration::from_secs(60);

/// Polls `outbox list` until every entry is delivered (bounded).
async fn until_all_delivered(db: &Path) -> Vec<records::bin::Entry> {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let entries = outbox(db, None).await;
        if !entries.is_empty() && entries.iter().all(|e| e.state == "delivered") {
            return entries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not delivered: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn comment_checks(gate: &Gate, ticket: u64) -> usize {
    let path = format!("/api/v2/tickets/{ticket}/comments.json");
    gate.hits()
        .iter()
        .filter(|h| h.method == "GET" && h.path == path)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_killed_after_zendesk_applied_the_note_serve_finds_it_and_does_not_resend() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");
    // Zendesk applies the note but its answer never comes back.
    gate.set_rule(PutRule::HangAfterApply { left: 1 });
    let mut child = call(ANA)
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .deliver_for("60s")
        .spawn();
    gate.wait_for("the note applied and unanswered", LIMIT, |hits| {
        hits.iter()
            .any(|h| h.is_note() && h.held && h.status == Some(200))
    })
    .await;
    child.kill().await.expect("SIGKILL the call");

    let left = outbox(&db, None).await;
    assert_eq!(left.len(), 1, "the note was recorded before it was sent");
    assert_eq!(left[0].state, "in_flight", "{left:#?}");
    let marker = left[0].item.marker.clone().expect("marker");
    assert_eq!(count_marker(gate.state(), 2, &marker), 1);

    let serve = Serve::start(dir.path(), &db, gate.url()).await;
    let entries = until_all_delivered(&db).await;
    let log = serve.kill().await;
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert!(
        e.last_error
            .as_deref()
            .is_some_and(|m| m.contains("already delivered")),
        "{e:#?}"
    );
    assert_eq!(count_marker(gate.state(), 2, &marker), 1, "not doubled");
    assert_eq!(gate.note_hits().len(), 1, "not sent again");
    assert!(comment_checks(&gate, 2) >= 1, "the ticket was checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_before_zendesk_applied_the_note_the_next_call_sends_it_once() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");
    // Recorded while Zendesk refuses updates: the note waits in the file.
    gate.set_rule(PutRule::TooMany {
        left: 1,
        retry_after_secs: 1,
    });
    let ana = call(ANA)
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .deliver_for("0s")
        .ok()
        .await;
    assert_eq!(outbox(&db, None).await[0].state, "pending");

    // The server picks it up; Zendesk swallows the request without applying it.
    gate.set_rule(PutRule::HangUnapplied { left: 1 });
    let serve = Serve::start(dir.path(), &db, gate.url()).await;
    gate.wait_for("the note held by Zendesk", LIMIT, |hits| {
        hits.iter().any(|h| h.is_note() && h.held)
    })
    .await;
    let log = serve.kill().await;
    assert!(!log.contains("panicked"), "{log}");
    let left = outbox(&db, None).await;
    assert_eq!(left[0].state, "in_flight", "{left:#?}");
    let marker = left[0].item.marker.clone().expect("marker");
    assert_eq!(count_marker(gate.state(), 2, &marker), 0);

    // The next process on the file delivers it, once, and its own note.
    let john = call(JOHN)
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .deliver_for("60s")
        .ok()
        .await;
    let entries = until_all_delivered(&db).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].call_id.as_deref(), Some(ana.call_id.as_str()));
    assert_eq!(entries[1].call_id.as_deref(), Some(john.call_id.as_str()));
    assert_eq!(count_marker(gate.state(), 2, &marker), 1, "sent once");
    let john_marker = entries[1].item.marker.clone().expect("marker");
    assert_eq!(count_marker(gate.state(), 10, &john_marker), 1);
    assert!(
        comment_checks(&gate, 2) >= 1,
        "checked before sending again"
    );
    let delivered_puts = gate
        .note_hits()
        .iter()
        .filter(|h| h.path == "/api/v2/tickets/2.json" && h.status == Some(200))
        .count();
    assert_eq!(delivered_puts, 1);
}
