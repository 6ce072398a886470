//! End-to-end: the durable post-call note through a Zendesk that fails. Notes recorded
//! while ticket updates fail (503, then 504) all arrive exactly once and in order per
//! ticket once Zendesk is back; a 429 storm is waited out as Retry-After says; 401 and
//! 404 dead-letter the note with the response kept, and `outbox retry` revives it.
//! All through the `ringdesk` binary on one SQLite file, the sandbox over HTTP.

mod records;

use records::bin::Entry;
use records::notes::{count_marker, notes_on, ticket_number};
use records::{call, outbox, outbox_retry, Gate, PutRule, Serve};
use ringdesk_zendesk::sandbox::{ErrorFault, Faults, SandboxConfig};
use std::collections::BTreeMap;
use std::path::Path;

/// Callers with a ticket and the ticket their note goes to.
const ANA: (&str, u64) = ("+5511987650101", 2);
const BRUNO: (&str, u64) = ("+5521987650102", 5);
const JOHN: (&str, u64) = ("+12125550107", 10);
const ROBERT: (&str, u64) = ("+13125550109", 13);
const PATRICIA: (&str, u64) = ("+15125550112", 17);

fn put_fault(status: u16) -> Faults {
    Faults {
        error: Some(ErrorFault {
            status,
            count: None,
            fraction: None,
        }),
        method: Some("PUT".into()),
        ..Faults::default()
    }
}

/// Records one call that presses 2 (a note for its ticket), delivering for `deliver_for`.
async fn press_2(gate: &Gate, db: &Path, caller: (&str, u64), deliver_for: &str) -> String {
    call(caller.0)
        .press("2")
        .zendesk(gate.url())
        .store(db)
        .deliver_for(deliver_for)
        .ok()
        .await
        .call_id
}

/// Every outbox entry delivered, its note on its ticket exactly once, and each ticket's
/// notes in recording (outbox id) order.
fn assert_exactly_once_in_order(gate: &Gate, entries: &[Entry]) {
    let mut per_ticket: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for e in entries {
        assert_eq!(e.state, "delivered", "{e:#?}");
        let ticket = ticket_number(&e.item.path).expect("a ticket path");
        let marker = e.item.marker.clone().expect("a marker");
        assert_eq!(
            count_marker(gate.state(), ticket, &marker),
            1,
            "note {marker} on ticket {ticket}"
        );
        per_ticket.entry(ticket).or_default().push(marker);
    }
    for (ticket, recorded) in per_ticket {
        let on_ticket: Vec<String> = notes_on(gate.state(), ticket)
            .into_iter()
            .map(|n| n.marker)
            .collect();
        assert_eq!(on_ticket, recorded, "order of the notes on ticket {ticket}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_recorded_while_zendesk_is_down_arrive_exactly_once_in_order() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");

    // Ticket updates answer 503 (not applied), then 504 (maybe applied: checked before
    // sending again). Lookups work, so every call knows its ticket.
    gate.state().set_faults(put_fault(503)).unwrap();
    let mut calls = vec![];
    for caller in [ANA, JOHN, ANA] {
        calls.push(press_2(&gate, &db, caller, "0s").await);
    }
    gate.state().set_faults(put_fault(504)).unwrap();
    for caller in [BRUNO, ANA, JOHN] {
        calls.push(press_2(&gate, &db, caller, "0s").await);
    }
    let waiting = outbox(&db, None).await;
    assert_eq!(waiting.len(), 6);
    for e in &waiting {
        assert!(
            matches!(e.state.as_str(), "pending" | "uncertain"),
            "{e:#?}"
        );
    }
    for (_, t) in [ANA, BRUNO, JOHN] {
        assert!(notes_on(gate.state(), t).is_empty(), "no note got through");
    }
    let failed = gate.note_hits();
    assert!(
        !failed.is_empty(),
        "the notes were tried while Zendesk was down"
    );
    assert!(failed.iter().all(|h| matches!(h.status, Some(503 | 504))));
    // Each run tries the notes that are due when it starts: at least these.
    let tried = |path: &str, status: u16| {
        failed
            .iter()
            .any(|h| h.path == path && h.status == Some(status))
    };
    assert!(tried("/api/v2/tickets/2.json", 503), "{failed:#?}");
    assert!(tried("/api/v2/tickets/10.json", 503), "{failed:#?}");
    assert!(tried("/api/v2/tickets/5.json", 504), "{failed:#?}");

    // Zendesk is back: the next run delivers the backlog and its own note.
    gate.state().clear_faults();
    let last = press_2(&gate, &db, ANA, "90s").await;
    calls.push(last);
    let entries = outbox(&db, None).await;
    assert_eq!(entries.len(), 7);
    let recorded_calls: Vec<String> = entries.iter().filter_map(|e| e.call_id.clone()).collect();
    assert_eq!(
        recorded_calls, calls,
        "one note per call, in recording order"
    );
    assert_exactly_once_in_order(&gate, &entries);
    // No note was applied twice by Zendesk either: exactly one successful update each.
    let applied = gate
        .note_hits()
        .iter()
        .filter(|h| h.status == Some(200))
        .count();
    assert_eq!(applied, 7);
    // After the 504 (maybe applied), ticket 5's comments were read before sending again.
    let hits = gate.hits();
    let first_ok = hits
        .iter()
        .position(|h| h.path == "/api/v2/tickets/5.json" && h.status == Some(200))
        .expect("ticket 5's note delivered");
    assert!(
        hits[..first_ok]
            .iter()
            .any(|h| h.method == "GET" && h.path == "/api/v2/tickets/5/comments.json"),
        "no already-delivered check after the 504"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_waited_out_as_retry_after_says() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");
    const STORM: u32 = 6;
    const RETRY_AFTER: u64 = 2;
    gate.set_rule(PutRule::TooMany {
        left: STORM,
        retry_after_secs: RETRY_AFTER,
    });
    for caller in [ANA, JOHN, BRUNO, ROBERT] {
        press_2(&gate, &db, caller, "0s").await;
    }
    press_2(&gate, &db, PATRICIA, "90s").await;

    let entries = outbox(&db, None).await;
    assert_eq!(entries.len(), 5);
    assert_exactly_once_in_order(&gate, &entries);

    let puts = gate.note_hits();
    let limited: Vec<_> = puts.iter().filter(|h| h.status == Some(429)).collect();
    assert_eq!(limited.len(), STORM as usize, "{puts:#?}");
    // Each 429 cost exactly one more request, no more: 5 notes + 6 refusals.
    assert_eq!(puts.len(), 5 + STORM as usize, "{puts:#?}");
    assert_eq!(retries_wait_for_retry_after(&puts), STORM as usize);
}

/// Asserts that no note refused with a Retry-After was sent again before it had passed
/// (from the moment the refusal left the sandbox). Returns how many refusals it checked.
fn retries_wait_for_retry_after(puts: &[records::Hit]) -> usize {
    let mut checked = 0;
    for (i, h) in puts.iter().enumerate() {
        let (Some(429), Some(ra), Some(answered)) = (h.status, h.retry_after, h.answered) else {
            continue;
        };
        let next = puts[i + 1..]
            .iter()
            .find(|n| n.path == h.path)
            .expect("a refused note is sent again");
        let gap = next.arrived.duration_since(answered);
        assert!(
            gap >= ra,
            "{} was sent again {gap:?} after a 429 with Retry-After {ra:?}",
            h.path
        );
        checked += 1;
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_rate_limit_retry_after_is_respected() {
    // Two requests a minute: the call's two lookups pass, its note is refused with 429 and
    // the seconds left in the window (about a minute); it must wait them out.
    let gate = Gate::with_config(SandboxConfig {
        rate_limit_per_minute: Some(2),
        ..SandboxConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");
    press_2(&gate, &db, ANA, "120s").await;
    let entries = outbox(&db, None).await;
    assert_eq!(entries.len(), 1);
    assert_exactly_once_in_order(&gate, &entries);
    let puts = gate.note_hits();
    assert_eq!(
        puts.iter().filter(|h| h.status == Some(429)).count(),
        1,
        "{puts:#?}"
    );
    assert_eq!(retries_wait_for_retry_after(&puts), 1);
    assert!(gate.state().stats().rate_limited >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_notes_are_dead_lettered_with_the_response_and_retry_delivers_them() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");

    gate.state().set_faults(put_fault(401)).unwrap();
    let ana = call(ANA.0)
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .deliver_for("30s")
        .ok()
        .await;
    assert!(ana.stderr.contains("0 delivered, 1 dead"), "{}", ana.stderr);
    gate.state().set_faults(put_fault(404)).unwrap();
    press_2(&gate, &db, JOHN, "30s").await;

    let dead = outbox(&db, Some("dead")).await;
    assert_eq!(dead.len(), 2, "{dead:#?}");
    for (entry, status, ticket) in [(&dead[0], 401, ANA.1), (&dead[1], 404, JOHN.1)] {
        assert_eq!(entry.last_status, Some(status), "{entry:#?}");
        assert_eq!(entry.attempts, 1, "a permanent refusal is not retried");
        let kept = entry.last_response.as_deref().unwrap_or_default();
        assert!(
            kept.contains("Injected by the ringdesk Zendesk sandbox"),
            "the response is kept: {entry:#?}"
        );
        assert!(notes_on(gate.state(), ticket).is_empty());
    }
    assert_eq!(dead[0].call_id.as_deref(), Some(ana.call_id.as_str()));
    assert_eq!(gate.note_hits().len(), 2, "each sent once");

    // The cause is fixed; the operator retries both; the next run delivers them.
    gate.state().clear_faults();
    for e in &dead {
        let said = outbox_retry(&db, e.id).await;
        assert!(said.contains("again"), "{said}");
    }
    assert!(outbox(&db, Some("dead")).await.is_empty());
    press_2(&gate, &db, BRUNO, "90s").await;
    let entries = outbox(&db, None).await;
    assert_eq!(entries.len(), 3);
    assert_exactly_once_in_order(&gate, &entries);
}

/// `ringdesk_outbox_items{state="S"} N` of a metrics text.
fn gauge(metrics: &str, state: &str) -> Option<u64> {
    let prefix = format!("ringdesk_outbox_items{{state=\"{state}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_admin_api_shows_a_dead_note_and_its_retry_delivers_it() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");
    gate.state().set_faults(put_fault(401)).unwrap();
    let serve = Serve::start(dir.path(), &db, gate.url()).await;
    let ana = press_2(&gate, &db, ANA, "30s").await;

    let dead = serve.get_json("/outbox?state=dead").await;
    let dead = dead.as_array().expect("a list");
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert_eq!(dead[0]["call_id"], ana.as_str());
    assert_eq!(dead[0]["last_status"], 401);
    assert!(dead[0]["last_response"]
        .as_str()
        .is_some_and(|r| r.contains("Injected by the ringdesk Zendesk sandbox")));
    let id = dead[0]["id"].as_i64().expect("id");
    let metrics = serve.metrics().await;
    assert_eq!(gauge(&metrics, "dead"), Some(1), "{metrics}");
    assert_eq!(gauge(&metrics, "delivered"), Some(0), "{metrics}");
    let rec = serve.get_json(&format!("/interactions/{ana}")).await;
    assert_eq!(rec["ticket_id"], "2");
    // The wallboard's stream lists it (what was asked, never the note itself).
    let snap = serve.first_snapshot().await;
    let listed = &snap["outbox"]["dead_items"];
    assert_eq!(listed[0]["id"], id, "{snap:#}");
    assert_eq!(
        listed[0]["request"], "PUT /api/v2/tickets/2.json",
        "{snap:#}"
    );
    assert_eq!(listed[0]["last_status"], 401);
    assert!(
        !snap.to_string().contains("Call from"),
        "no note text: {snap}"
    );

    gate.state().clear_faults();
    let (status, entry) = serve.post(&format!("/outbox/{id}/retry")).await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["state"], "pending");
    // The server's own worker delivers it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while gauge(&serve.metrics().await, "delivered") != Some(1) {
        assert!(tokio::time::Instant::now() < deadline, "not delivered");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = serve.kill().await;
    assert!(!log.contains("panicked"), "{log}");
    let entries = outbox(&db, None).await;
    assert_exactly_once_in_order(&gate, &entries);
    assert_eq!(gate.note_hits().len(), 2, "refused once, delivered once");
}
