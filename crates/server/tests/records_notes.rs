//! End-to-end: one call per outcome through `ringdesk call --store`, against the Zendesk
//! sandbox over HTTP. Each checks the interaction record (`interactions show --json`) and
//! the post-call note that the outbox delivered: private, on the caller's ticket, in the
//! caller's language, saying what happened; and that a call whose lookups failed (Zendesk
//! down) gets its note once Zendesk is back, looked up by the flow's own rules, exactly
//! once, across a `kill -9` of the server too.

mod records;

use jiff::Timestamp;
use records::notes::{count_marker, notes_on, ticket_number};
use records::Serve;
use records::{call, interaction, outbox, Gate, Note};
use ringdesk_zendesk::sandbox::{ErrorFault, Faults, HangFault};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

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

/// Zendesk's API answers every request with 503 (down), or nothing is wrong (back).
fn zendesk_down(gate: &Gate, down: bool) {
    let faults = if down {
        Faults {
            error: Some(ErrorFault {
                status: 503,
                count: None,
                fraction: None,
            }),
            path_prefix: Some("/api/v2/".into()),
            ..Faults::default()
        }
    } else {
        Faults::default()
    };
    gate.state().set_faults(faults).expect("valid faults");
}

/// The comments on each demo ticket.
fn comment_counts(gate: &Gate) -> Vec<usize> {
    (1..=17u64)
        .map(|t| gate.state().comments(t).map_or(0, |c| c.len()))
        .collect()
}

/// Polls `outbox list` until it holds `n` entries, all delivered (bounded).
async fn until_delivered(db: &std::path::Path, n: usize) -> Vec<records::bin::Entry> {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let entries = outbox(db, None).await;
        if entries.len() == n && entries.iter().all(|e| e.state == "delivered") {
            return entries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not delivered: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The rest of `call_id`'s call_ended handler, kept while Zendesk was down: one item
/// ordered with its call, holding the lookup that failed.
fn assert_the_rest_is_kept(items: &[records::bin::Entry], call_id: &str) {
    assert_eq!(items.len(), 1, "{items:#?}");
    let rest = &items[0];
    assert_eq!(rest.call_id.as_deref(), Some(call_id));
    assert_eq!(rest.item.ordering_key, format!("call:{call_id}"));
    assert_eq!(
        (rest.item.method.as_str(), rest.item.path.as_str()),
        ("GET", "/api/v2/search.json")
    );
    assert_eq!(rest.item.marker, Some(format!("{call_id}-1")));
}

/// After the outage: the rest delivered, and the one note it recorded on `ticket`,
/// exactly once, private, by the API user, nowhere else.
fn assert_one_note_after_the_outage(
    gate: &Gate,
    entries: &[records::bin::Entry],
    call_id: &str,
    ticket: u64,
) -> Note {
    assert_eq!(entries.len(), 2, "{entries:#?}");
    assert_eq!(entries[0].item.ordering_key, format!("call:{call_id}"));
    let item = &entries[1];
    assert_eq!(
        item.call_id.as_deref(),
        Some(call_id),
        "the note keeps its call"
    );
    assert_eq!(item.item.ordering_key, format!("ticket:{ticket}"));
    assert_eq!(item.item.method, "PUT");
    let marker = format!("{call_id}-1-1");
    assert_eq!(item.item.marker.as_deref(), Some(marker.as_str()));
    assert_eq!(count_marker(gate.state(), ticket, &marker), 1);
    for t in (1..=17u64).filter(|t| *t != ticket) {
        assert_eq!(
            count_marker(gate.state(), t, &marker),
            0,
            "note on ticket {t}"
        );
    }
    let puts = gate
        .note_hits()
        .iter()
        .filter(|h| h.marker.as_deref() == Some(marker.as_str()) && h.status == Some(200))
        .count();
    assert_eq!(puts, 1, "sent once");
    let note = notes_on(gate.state(), ticket)
        .into_iter()
        .find(|n| n.marker == marker)
        .expect("the note is on the ticket");
    assert!(!note.public, "the note must be private: {note:#?}");
    assert_eq!(note.author_id, API_USER);
    note
}

/// Safety net for a state to be reached (not a timing assertion).
const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_down_when_the_call_starts_the_note_reaches_the_ticket_once_it_is_back() {
    let gate = Gate::start().await;
    zendesk_down(&gate, true);
    let before = comment_counts(&gate);
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let run = call("+5511987650101")
        .press("1")
        .zendesk(gate.url())
        .store(&db)
        .deliver_for("0s")
        .ok()
        .await;
    assert!(run.stderr.contains("(1 outbox item(s))"), "{}", run.stderr);
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
    assert_the_rest_is_kept(&outbox(&db, Some("pending")).await, &run.call_id);
    assert!(gate.note_hits().is_empty(), "{:#?}", gate.note_hits());
    assert_eq!(before, comment_counts(&gate), "no ticket changed");

    // Zendesk is back; the server's outbox resumes the handler: the same lookups, then
    // the note on Ana's most recently updated unsolved ticket.
    zendesk_down(&gate, false);
    let serve = Serve::start(dir.path(), &db, gate.url()).await;
    let entries = until_delivered(&db, 2).await;
    let log = serve.kill().await;
    assert!(!log.contains("panicked"), "{log}");
    let note = assert_one_note_after_the_outage(&gate, &entries, &run.call_id, 2);
    assert_says(
        &note,
        &[
            "Call from 5511987650101 at ",
            "Status told: none.",
            "Outcome: talked to an agent.",
            "Agent: ",
        ],
    );
    assert_note_length_matches(&note, &rec);
    let searches: Vec<_> = gate
        .hits()
        .into_iter()
        .filter(|h| h.path == "/api/v2/search.json" && h.status == Some(200))
        .collect();
    assert_eq!(
        searches.len(),
        2,
        "the user, then the ticket: {searches:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_waiting_for_zendesk_survives_kill_9_of_the_server_and_lands_once() {
    let gate = Gate::start().await;
    zendesk_down(&gate, true);
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let run = call("+12125550107")
        .press("2")
        .zendesk(gate.url())
        .store(&db)
        .deliver_for("0s")
        .ok()
        .await;
    assert_the_rest_is_kept(&outbox(&db, None).await, &run.call_id);
    let is_search = |h: &records::Hit| h.path == "/api/v2/search.json";
    let during_call = gate.hits().into_iter().filter(|h| is_search(h)).count();

    // The server tries while Zendesk is down, then Zendesk holds its lookups: the
    // resumed handler is in flight when the server is killed.
    let serve = Serve::start(dir.path(), &db, gate.url()).await;
    gate.wait_for("the server tried the lookup again", LIMIT, |hits| {
        hits.iter().filter(|h| is_search(h)).count() > during_call
    })
    .await;
    gate.state()
        .set_faults(Faults {
            hang: Some(HangFault { count: None }),
            path_prefix: Some("/api/v2/search".into()),
            ..Faults::default()
        })
        .expect("valid faults");
    gate.wait_for("a lookup held by Zendesk", LIMIT, |hits| {
        hits.iter().any(|h| is_search(h) && h.answered.is_none())
    })
    .await;
    let log = serve.kill().await;
    assert!(!log.contains("panicked"), "{log}");
    let left = outbox(&db, None).await;
    assert_the_rest_is_kept(&left, &run.call_id);
    assert_eq!(left[0].state, "in_flight", "killed mid-run: {left:#?}");
    assert!(gate.note_hits().is_empty(), "{:#?}", gate.note_hits());

    // Zendesk is back; the next server resumes the interrupted handler: one note on
    // John's ticket.
    zendesk_down(&gate, false);
    let serve = Serve::start(dir.path(), &db, gate.url()).await;
    let entries = until_delivered(&db, 2).await;
    let log = serve.kill().await;
    assert!(!log.contains("panicked"), "{log}");
    let note = assert_one_note_after_the_outage(&gate, &entries, &run.call_id, 10);
    assert_says(&note, &["Call from 12125550107 at ", "Status told: none."]);
    assert_eq!(gate.note_hits().len(), 1, "{:#?}", gate.note_hits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_a_caller_without_a_ticket_gets_the_new_ticket_rule() {
    const UNKNOWN: &str = "+12125550199";
    let gate = Gate::start().await;
    zendesk_down(&gate, true);
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let config = dir.path().join("ringdesk.toml");
    std::fs::write(&config, "[calls]\nno_ticket = \"create_ticket\"\n").unwrap();
    // The call, then its outbox for up to a minute: Zendesk comes back meanwhile.
    let child = call(UNKNOWN)
        .press("2")
        .config(&config)
        .zendesk(gate.url())
        .store(&db)
        .deliver_for("60s")
        .spawn();
    let deadline = tokio::time::Instant::now() + LIMIT;
    let rest = loop {
        // The call creates the file when it records.
        let items = if db.exists() {
            outbox(&db, None).await
        } else {
            Vec::new()
        };
        if items
            .first()
            .is_some_and(|i| i.attempts >= 1 && i.state == "pending")
        {
            break items;
        }
        assert!(tokio::time::Instant::now() < deadline, "{items:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let call_id = rest[0].call_id.clone().expect("the rest names its call");
    assert_the_rest_is_kept(&rest, &call_id);
    let posts = |gate: &Gate| -> Vec<(String, Option<u16>)> {
        gate.hits()
            .into_iter()
            .filter(|h| h.method == "POST")
            .map(|h| (h.path, h.status))
            .collect()
    };
    assert!(posts(&gate).is_empty(), "nobody created while down");

    zendesk_down(&gate, false);
    let out = child.wait_with_output().await.expect("ringdesk call ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let entries = until_delivered(&db, 2).await;
    assert_eq!(
        posts(&gate),
        vec![
            ("/api/v2/users.json".to_string(), Some(201)),
            ("/api/v2/tickets.json".to_string(), Some(201)),
        ],
        "one end-user, one ticket"
    );
    let created = &entries[1];
    assert_eq!(created.item.path, "/api/v2/tickets.json");
    let marker = format!("{call_id}-1-1");
    assert_eq!(created.item.marker.as_deref(), Some(marker.as_str()));
    let user = (1000..1100)
        .filter_map(|id| gate.state().user(id))
        .find(|u| u.phone.as_deref() == Some(UNKNOWN))
        .expect("a new end-user with the caller's number");
    let tickets: Vec<_> = (1..2000)
        .filter_map(|id| gate.state().ticket(id))
        .filter(|t| t.requester_id == user.id)
        .collect();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    let notes = notes_on(gate.state(), tickets[0].id);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].marker, marker);
    assert!(!notes[0].public);
    assert!(
        notes[0].body.contains("Call from 12125550199 at "),
        "{}",
        notes[0].body
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
