//! End-to-end: one call per outcome through `ringdesk call --store`, against the Zendesk
//! sandbox over HTTP. Each checks the interaction record (`interactions show --json`) and
//! the post-call note that the outbox delivered: private, on the caller's ticket, in the
//! caller's language, saying what happened; and that a call whose lookups failed posts
//! no note anywhere.

mod records;

use jiff::Timestamp;
use records::notes::{count_marker, notes_on, ticket_number};
use records::{call, interaction, outbox, Gate, Note};
use ringdesk_zendesk::sandbox::{ErrorFault, Faults};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The demo admin whose API token ringdesk uses: author of the notes.
const API_USER: u64 = 1;

fn store(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("ringdesk.sqlite")
}

fn ts(rec: &Value, field: &str) -> Option<Timestamp> {
    rec[field].as_str().map(|s| {
        s.parse()
            .unwrap_or_else(|e| panic!("{field} = {s:?} is not a timestamp: {e}"))
    })
}

/// The call's times are present where they must be, absent where they must not, and in
/// order: arrived ≤ answered ≤ queued ≤ offered ≤ agent answered ≤ ended.
fn assert_times(rec: &Value, queued: bool, agent: bool) {
    let arrived = ts(rec, "arrived_at").expect("arrived_at");
    let answered = ts(rec, "answered_at").expect("answered_at");
    let ended = ts(rec, "ended_at").expect("ended_at");
    let mut chain = vec![("arrived_at", arrived), ("answered_at", answered)];
    assert_eq!(ts(rec, "queued_at").is_some(), queued, "queued_at: {rec:#}");
    assert_eq!(
        ts(rec, "agent_answered_at").is_some(),
        agent,
        "agent_answered_at: {rec:#}"
    );
    assert_eq!(
        ts(rec, "offered_at").is_some(),
        agent,
        "offered_at: {rec:#}"
    );
    for f in ["queued_at", "offered_at", "agent_answered_at"] {
        if let Some(t) = ts(rec, f) {
            chain.push((f, t));
        }
    }
    chain.push(("ended_at", ended));
    for pair in chain.windows(2) {
        assert!(
            pair[0].1 <= pair[1].1,
            "{} after {}: {rec:#}",
            pair[0].0,
            pair[1].0
        );
    }
}

/// The number of seconds after `marker` (`UTC, 91 s.` → 91).
fn seconds_after(body: &str, marker: &str) -> Option<i64> {
    let rest = &body[body.find(marker)? + marker.len()..];
    rest.split(' ').next()?.parse().ok()
}

/// The note's call length agrees with the record (to the second).
fn assert_note_length_matches(note: &Note, rec: &Value) {
    let secs = seconds_after(&note.body, "UTC, ").expect("the note says how long the call was");
    let arrived = ts(rec, "arrived_at").expect("arrived_at");
    let ended = ts(rec, "ended_at").expect("ended_at");
    let recorded = ended.duration_since(arrived).as_secs_f64();
    assert!(
        (recorded - secs as f64).abs() <= 1.0,
        "note says {secs} s, record says {recorded} s\n{}",
        note.body
    );
}

/// The one note of `call_id`: delivered through the outbox (one item, delivered, keyed by
/// the ticket), on `ticket` exactly once, private, by the API user.
async fn the_note(gate: &Gate, db: &std::path::Path, call_id: &str, ticket: u64) -> Note {
    let items = outbox(db, None).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    let item = &items[0];
    assert_eq!(item.call_id.as_deref(), Some(call_id));
    assert_eq!(item.state, "delivered", "{item:#?}");
    assert_eq!(item.item.ordering_key, format!("ticket:{ticket}"));
    assert_eq!(item.item.method, "PUT");
    assert_eq!(ticket_number(&item.item.path), Some(ticket));
    let marker = item.item.marker.clone().expect("the note has a marker");
    assert!(marker.starts_with(call_id), "{marker}");
    assert_eq!(count_marker(gate.state(), ticket, &marker), 1);
    let note = notes_on(gate.state(), ticket)
        .into_iter()
        .find(|n| n.marker == marker)
        .expect("the note is on the ticket");
    assert!(!note.public, "the note must be private: {note:#?}");
    assert_eq!(note.author_id, API_USER);
    // Nowhere else.
    for t in 2..=17u64 {
        if t != ticket {
            assert_eq!(
                count_marker(gate.state(), t, &marker),
                0,
                "note on ticket {t}"
            );
        }
    }
    note
}

fn assert_says(note: &Note, parts: &[&str]) {
    for p in parts {
        assert!(note.body.contains(p), "note lacks {p:?}:\n{}", note.body);
    }
}

fn assert_not_says(note: &Note, parts: &[&str]) {
    for p in parts {
        assert!(!note.body.contains(p), "note has {p:?}:\n{}", note.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressed_2_leaves_a_private_portuguese_note_on_the_latest_unsolved_ticket() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let run = call("+5511987650101")
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .ok()
        .await;
    let rec = interaction(&db, &run.call_id).await;
    assert_eq!(rec["call_id"], run.call_id.as_str());
    assert_eq!(rec["ani"], "+5511987650101");
    assert_eq!(rec["user_id"], "101");
    assert_eq!(rec["ticket_id"], "2");
    assert_eq!(rec["language"], "pt-BR");
    assert_eq!(
        rec["menu_path"],
        json!([{"key": "2", "node": "caller_hangs_up"}])
    );
    assert_eq!(rec["queue"], Value::Null);
    assert_eq!(rec["priority"], Value::Null);
    assert_eq!(rec["end_reason"], "flow");
    assert_eq!(rec["flow_errors"], json!([]));
    assert_times(&rec, false, false);

    let note = the_note(&gate, &db, &run.call_id, 2).await;
    assert!(
        note.body.starts_with("Ligação de 5511987650101 em "),
        "{}",
        note.body
    );
    assert_says(
        &note,
        &[
            "Status informado: aberto.",
            "Teclas: 2.",
            "Resultado: escolheu desligar no menu.",
            "Encerrada por: URA.",
        ],
    );
    assert_not_says(&note, &["Fila ", "Atendente:", "Call from"]);
    assert_note_length_matches(&note, &rec);
    // The other tickets of the caller are untouched (3 was created last, 4 updated last).
    for t in [3, 4] {
        assert!(notes_on(gate.state(), t).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talked_to_an_agent_note_has_queue_wait_agent_and_talk_time() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let run = call("+12125550107")
        .press("1")
        .zendesk(gate.url())
        .store(&db)
        .ok()
        .await;
    let rec = interaction(&db, &run.call_id).await;
    assert_eq!(rec["ani"], "+12125550107");
    assert_eq!(rec["user_id"], "107");
    assert_eq!(rec["ticket_id"], "10");
    assert_eq!(rec["language"], "en-US");
    assert_eq!(rec["menu_path"], json!([{"key": "1", "node": "to_queue"}]));
    assert_eq!(rec["queue"], "support");
    assert_eq!(rec["priority"], 1, "urgent ticket, highest priority");
    assert_eq!(rec["end_reason"], "agent");
    assert_eq!(rec["wait_seconds"], 20.0);
    assert_eq!(rec["talk_seconds"], 60.0);
    let agent = rec["agent_name"].as_str().expect("agent_name").to_string();
    assert!(rec["agent_id"].as_str().is_some_and(|a| !a.is_empty()));
    assert_times(&rec, true, true);

    let note = the_note(&gate, &db, &run.call_id, 10).await;
    assert!(
        note.body.starts_with("Call from 12125550107 at "),
        "{}",
        note.body
    );
    assert_says(
        &note,
        &[
            "Status told: open.",
            "Keys pressed: 1.",
            "Outcome: talked to an agent.",
            "Queue support, priority 1, waited 20 s.",
            &format!("Agent: {agent}, talked 60 s."),
            "Ended by: the agent.",
        ],
    );
    assert_not_says(&note, &["Ligação"]);
    assert_note_length_matches(&note, &rec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_in_queue_note_says_the_caller_hung_up_after_waiting() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let run = call("+12125550107")
        .press("1")
        .answer_after("never")
        .press("wait 40s, hangup")
        .zendesk(gate.url())
        .store(&db)
        .ok()
        .await;
    let rec = interaction(&db, &run.call_id).await;
    assert_eq!(rec["ticket_id"], "10");
    assert_eq!(rec["language"], "en-US");
    assert_eq!(rec["menu_path"], json!([{"key": "1", "node": "to_queue"}]));
    assert_eq!(rec["queue"], "support");
    assert_eq!(rec["priority"], 1);
    assert_eq!(rec["end_reason"], "caller");
    assert_eq!(rec["agent_id"], Value::Null);
    assert_eq!(rec["talk_seconds"], Value::Null);
    assert_times(&rec, true, false);
    let queued = ts(&rec, "queued_at").unwrap();
    let ended = ts(&rec, "ended_at").unwrap();
    assert_eq!(ended.duration_since(queued).as_secs(), 40, "{rec:#}");

    let note = the_note(&gate, &db, &run.call_id, 10).await;
    assert_says(
        &note,
        &[
            "Keys pressed: 1.",
            "Outcome: asked for an agent.",
            "Queue support, priority 1, waited 40 s.",
            "Ended by: the caller.",
        ],
    );
    assert_not_says(&note, &["Agent:", "talked to an agent"]);
    assert_note_length_matches(&note, &rec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agent_logged_in_note_and_record_say_so() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    // Bruno (pt-BR), ticket 5 on hold, urgent; asks for an agent, none is logged in,
    // chooses to hang up.
    let run = call("+5521987650102")
        .agents(0)
        .press("1")
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .ok()
        .await;
    let rec = interaction(&db, &run.call_id).await;
    assert_eq!(rec["ani"], "+5521987650102");
    assert_eq!(rec["user_id"], "102");
    assert_eq!(rec["ticket_id"], "5");
    assert_eq!(rec["language"], "pt-BR");
    assert_eq!(
        rec["menu_path"],
        json!([{"key": "1", "node": "to_queue"}, {"key": "2", "node": "no_agents_leave"}])
    );
    assert_eq!(rec["queue"], "support");
    assert_eq!(rec["priority"], 1);
    assert_eq!(rec["end_reason"], "no_agent");
    assert_eq!(rec["agent_id"], Value::Null);
    assert_eq!(ts(&rec, "agent_answered_at"), None);

    let note = the_note(&gate, &db, &run.call_id, 5).await;
    assert!(
        note.body.starts_with("Ligação de 5521987650102 em "),
        "{}",
        note.body
    );
    assert_says(
        &note,
        &[
            "Status informado: em andamento.",
            "Teclas: 12.",
            "Resultado: nenhum atendente conectado; o cliente preferiu desligar.",
            "Encerrada por: URA.",
        ],
    );
    assert_not_says(&note, &["Atendente:", "hold"]);
    assert_note_length_matches(&note, &rec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_down_during_the_call_posts_no_note_anywhere_and_records_the_error() {
    let gate = Gate::start().await;
    gate.state()
        .set_faults(Faults {
            error: Some(ErrorFault {
                status: 503,
                count: None,
                fraction: None,
            }),
            path_prefix: Some("/api/v2/search".into()),
            ..Faults::default()
        })
        .unwrap();
    let before: Vec<usize> = (2..=17u64)
        .map(|t| gate.state().comments(t).map_or(0, |c| c.len()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let run = call("+5511987650101")
        .press("1")
        .zendesk(gate.url())
        .store(&db)
        .ok()
        .await;
    assert!(run.stderr.contains("(0 outbox item(s))"), "{}", run.stderr);
    let rec = interaction(&db, &run.call_id).await;
    assert_eq!(rec["ani"], "+5511987650101");
    assert_eq!(rec["user_id"], Value::Null);
    assert_eq!(rec["ticket_id"], Value::Null);
    assert_eq!(
        rec["language"], "en-US",
        "nothing known: the default language"
    );
    assert_eq!(rec["queue"], "support");
    assert_eq!(rec["priority"], 5, "lookup failed: normal priority");
    assert_eq!(rec["end_reason"], "agent");
    let errors = rec["flow_errors"].as_array().expect("flow_errors");
    assert!(
        errors.iter().any(|e| e["node"] == "lookup_user"
            && e["message"].as_str().is_some_and(|m| m.contains("503"))),
        "{rec:#}"
    );
    assert_times(&rec, true, true);

    assert!(outbox(&db, None).await.is_empty());
    assert!(gate.note_hits().is_empty(), "{:#?}", gate.note_hits());
    let after: Vec<usize> = (2..=17u64)
        .map(|t| gate.state().comments(t).map_or(0, |c| c.len()))
        .collect();
    assert_eq!(before, after, "no ticket changed");
    assert!(
        gate.hits()
            .iter()
            .any(|h| h.path == "/api/v2/search.json" && h.status == Some(503)),
        "the lookups did reach the failing Zendesk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactions_list_filters_by_caller_ticket_outcome_and_time() {
    let gate = Gate::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let ana = call("+5511987650101")
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .ok()
        .await;
    let john = call("+12125550107")
        .press("1")
        .zendesk(gate.url())
        .store(&db)
        .ok()
        .await;
    let bruno = call("+5521987650102")
        .agents(0)
        .press("1")
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .ok()
        .await;
    let ids = |list: Vec<Value>| -> Vec<String> {
        list.iter()
            .filter_map(|i| i["call_id"].as_str().map(str::to_string))
            .collect()
    };
    let all = records::bin::interactions(&db).await;
    assert_eq!(
        ids(all.clone()),
        vec![
            bruno.call_id.clone(),
            john.call_id.clone(),
            ana.call_id.clone()
        ],
        "most recent first"
    );
    let by = |f: &'static [&'static str]| records::bin::interactions_where(&db, f);
    assert_eq!(
        ids(by(&["--ani", "+12125550107"]).await),
        vec![john.call_id.clone()]
    );
    assert_eq!(ids(by(&["--ticket", "2"]).await), vec![ana.call_id.clone()]);
    assert_eq!(
        ids(by(&["--outcome", "no_agent"]).await),
        vec![bruno.call_id.clone()]
    );
    assert_eq!(
        ids(by(&["--outcome", "agent"]).await),
        vec![john.call_id.clone()]
    );
    assert!(by(&["--ticket", "999"]).await.is_empty());
    // --since the second call's arrival: the last two.
    let since = all[1]["arrived_at"]
        .as_str()
        .expect("arrived_at")
        .to_string();
    let recent = records::bin::interactions_where(&db, &["--since", &since]).await;
    assert_eq!(ids(recent), vec![bruno.call_id, john.call_id]);
    let until = records::bin::interactions_where(&db, &["--until", &since]).await;
    assert_eq!(ids(until), vec![ana.call_id]);
}
