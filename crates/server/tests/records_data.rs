//! End-to-end, data safety: a new ticket whose creation answer is lost (the sandbox
//! applies it, then answers 504) is retried from the outbox with the same
//! `Idempotency-Key` and exists once, and so is an end-user whose creation the connector
//! retried; `ringdesk interactions purge` removes old records
//! only, never an outbox item still to deliver, and `--dry-run` changes nothing;
//! `ringdesk serve` purges by `[records] keep_days` on its own, keeps its database
//! owner-only and shows the record-write counters on /metrics.

mod records;

use records::bin::json_of;
use records::{call, interactions, outbox, Gate, Serve};
use ringdesk_store::{Interaction, OutboxItem, Store};
use ringdesk_zendesk::sandbox::{Faults, LostResponse};

const EDUARDO: (&str, u64) = ("+5531987650105", 105); // a known caller without a ticket

fn tickets_of(gate: &Gate, user: u64) -> usize {
    (1..2000)
        .filter_map(|id| gate.state().ticket(id))
        .filter(|t| t.requester_id == user)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ticket_whose_answer_was_lost_is_created_exactly_once() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");
    let config = dir.path().join("ringdesk.toml");
    std::fs::write(&config, "[calls]\nno_ticket = \"create_ticket\"\n").unwrap();
    let before = tickets_of(&gate, EDUARDO.1);
    // The first ticket creation is applied, then its answer is lost (504).
    gate.state()
        .set_faults(Faults {
            lost_response: Some(LostResponse {
                status: 504,
                count: Some(1),
            }),
            method: Some("POST".into()),
            path_prefix: Some("/api/v2/tickets".into()),
            ..Faults::default()
        })
        .unwrap();
    call(EDUARDO.0)
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .config(&config)
        .deliver_for("60s")
        .ok()
        .await;
    let entries = outbox(&db, None).await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let e = &entries[0];
    assert_eq!(e.item.path, "/api/v2/tickets.json");
    assert_eq!(e.state, "delivered", "{e:#?}");
    assert!(e.attempts >= 2, "the lost answer was retried: {e:#?}");
    let posts = gate
        .hits()
        .iter()
        .filter(|h| h.method == "POST" && h.path == "/api/v2/tickets.json")
        .count();
    assert!(posts >= 2, "{posts} creation requests");
    assert_eq!(
        tickets_of(&gate, EDUARDO.1),
        before + 1,
        "one ticket, though its creation was sent {posts} times"
    );
    assert_eq!(gate.state().stats().idempotent_replays, 1);
}

/// An unknown caller's end-user is created by an immediate request (not the outbox),
/// which the connector retries after a 5xx: the retry carries the same key, so the
/// caller exists once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_user_whose_creation_answer_was_lost_is_created_exactly_once() {
    const UNKNOWN: &str = "+12125550199";
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ringdesk.toml");
    std::fs::write(&config, "[calls]\nno_ticket = \"create_ticket\"\n").unwrap();
    gate.state()
        .set_faults(Faults {
            lost_response: Some(LostResponse {
                status: 503,
                count: Some(1),
            }),
            method: Some("POST".into()),
            path_prefix: Some("/api/v2/users".into()),
            ..Faults::default()
        })
        .unwrap();
    let run = call(UNKNOWN)
        .press("2")
        .zendesk(gate.url())
        .config(&config)
        .run()
        .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let posts = gate
        .hits()
        .iter()
        .filter(|h| h.method == "POST" && h.path == "/api/v2/users.json")
        .count();
    assert_eq!(posts, 2, "the lost answer was retried by the connector");
    let users: Vec<u64> = (1000..1100)
        .filter_map(|id| gate.state().user(id))
        .filter(|u| u.phone.as_deref() == Some(UNKNOWN))
        .map(|u| u.id)
        .collect();
    assert_eq!(
        users.len(),
        1,
        "one end-user, not {}: {users:?}",
        users.len()
    );
    assert_eq!(tickets_of(&gate, users[0]), 1);
}

fn days_ago(days: i64) -> jiff::Timestamp {
    jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(days * 24))
        .unwrap()
}

fn note(call: &str) -> OutboxItem {
    OutboxItem {
        ordering_key: "ticket:2".into(),
        connector: "zendesk".into(),
        method: "PUT".into(),
        path: "/api/v2/tickets/2.json".into(),
        query: vec![],
        headers: vec![],
        body: Some("{\"ticket\":{\"comment\":{\"body\":\"n\"}}}".into()),
        marker: Some(format!("{call}-1")),
        created_at: jiff::Timestamp::now(),
        resume: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactions_purge_removes_old_records_but_never_a_note_still_to_deliver() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");
    {
        let store = Store::open(&db).unwrap();
        for (id, days, items) in [
            ("old", 120, vec![]),
            ("old-pending", 100, vec![note("old-pending")]),
            ("recent", 10, vec![]),
        ] {
            let i = Interaction::new(id, "+5511987650101", "+15550100", days_ago(days));
            store
                .record_call(i, items, jiff::Timestamp::now())
                .await
                .unwrap();
        }
    }
    let args = ["interactions", "purge", "--older-than", "30", "--dry-run"];
    let dry = json_of(&args, &db).await;
    assert_eq!(dry["interactions"], 1, "{dry}");
    assert_eq!(dry["kept_undelivered"], 1, "{dry}");
    assert_eq!(
        interactions(&db).await.len(),
        3,
        "a dry run changes nothing"
    );
    // Without --older-than: [records] keep_days, 90 by default.
    let done = json_of(&["interactions", "purge"], &db).await;
    assert_eq!(done["interactions"], 1, "{done}");
    let left: Vec<String> = interactions(&db)
        .await
        .iter()
        .map(|i| i["call_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left, ["recent", "old-pending"]);
    let pending = outbox(&db, Some("pending")).await;
    assert_eq!(pending.len(), 1, "the undelivered note is kept");

    // keep_days = 0 keeps records forever: purging then needs an explicit --older-than.
    let config = dir.path().join("forever.toml");
    std::fs::write(&config, "[records]\nkeep_days = 0\n").unwrap();
    let mut cmd = records::bin::command();
    cmd.args(["interactions", "purge", "--store"])
        .arg(&db)
        .arg("--config")
        .arg(&config);
    let out = cmd.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("--older-than"), "{stderr}");
    assert_eq!(interactions(&db).await.len(), 2);
}

/// `NAME N` of a metrics text.
fn counter(metrics: &str, name: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|n| n.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_purges_old_records_keeps_its_database_private_and_counts_record_writes() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ringdesk.sqlite");
    {
        let store = Store::open(&db).unwrap();
        for (id, days) in [("ancient", 400), ("fresh", 1)] {
            let i = Interaction::new(id, "+5511987650101", "+15550100", days_ago(days));
            store
                .record_call(i, vec![], jiff::Timestamp::now())
                .await
                .unwrap();
        }
    }
    let serve = Serve::start(dir.path(), &db, gate.url()).await;
    // The first purge runs at start (default keep_days: 90).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let list = serve.get_json("/interactions").await;
        let ids: Vec<&str> = list
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|i| i["call_id"].as_str())
            .collect();
        if ids == ["fresh"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not purged: {ids:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let metrics = serve.metrics().await;
    for name in [
        "ringdesk_records_write_failures_total",
        "ringdesk_records_write_retries_total",
        "ringdesk_records_lost_total",
    ] {
        assert_eq!(counter(&metrics, name), Some(0), "{name}: {metrics}");
    }
    let log = serve.kill().await;
    assert!(log.contains("retention: purged"), "{log}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let p = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
            if let Ok(m) = std::fs::metadata(&p) {
                let mode = m.permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
            }
        }
    }
}
