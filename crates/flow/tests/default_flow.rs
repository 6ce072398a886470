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
    assert_eq!(status, "Hello Ana. Your ticket number 1001 is in progress.");
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

/// Answers the ticket lookup with one ticket, plays status, returns at the menu prompt.
fn at_menu(locale: &str, status: &str, priority: Option<&str>) -> Sim {
    let mut s = known_caller(locale);
    let (id, _) = s.expect_http();
    s.respond(id, 200, &ticket_body(1001, status, priority));
    s.play_through();
    s
}

fn expect_enqueue(s: &mut Sim) -> (ActionId, u8) {
    match s.next() {
        Action::Enqueue { id, priority, .. } => (id, priority),
        other => panic!("expected Enqueue, got {other:?}"),
    }
}

/// The flow asks to queue the caller; the queue answers `result`.
fn queue_answers(s: &mut Sim, result: QueueResult) {
    let (id, _) = expect_enqueue(s);
    s.event(Event::QueueResult { id, result });
}

#[test]
fn each_status_is_spoken_in_caller_words() {
    for (status, en) in [
        ("new", "new"),
        ("open", "open"),
        ("pending", "waiting for your reply"),
        ("hold", "in progress"),
    ] {
        let mut s = known_caller("en-US");
        let (id, _) = s.expect_http();
        s.respond(id, 200, &ticket_body(7, status, None));
        let said = s.play_through();
        assert_eq!(said, format!("Hello Ana. Your ticket number 7 is {en}."));
    }
}

#[test]
fn priority_maps_to_queue_priority() {
    for (p, expected) in [
        (Some("urgent"), 1),
        (Some("high"), 3),
        (Some("normal"), 5),
        (Some("low"), 7),
        (None, 5),
    ] {
        let mut s = at_menu("en-US", "open", p);
        s.play_through();
        s.digit('1');
        assert_eq!(expect_enqueue(&mut s).1, expected, "priority {p:?}");
        assert_eq!(s.var_str("ticket_priority"), p.unwrap_or(""));
    }
}

#[test]
fn portuguese_caller_hears_portuguese() {
    let mut s = known_caller("pt-BR");
    let (id, _) = s.expect_http();
    s.respond(id, 200, &ticket_body(55, "hold", Some("high")));
    match s.next() {
        Action::Play { segments, .. } => match &segments[0] {
            Segment::Tts { text, language, .. } => {
                assert_eq!(text, "Olá Ana. O seu chamado número 55 está em andamento.");
                assert_eq!(language, "pt-BR");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(s.var_str("language"), "pt-BR");
}

#[test]
fn default_language_comes_from_runtime() {
    let mut st = start("anonymous");
    st.extra.insert("default_language".into(), json!("pt-BR"));
    let mut s = Sim::new(default_flow(), st);
    let greeting = s.play_through();
    assert!(greeting.starts_with("Bem-vindo"), "{greeting}");
}

#[test]
fn unknown_and_anonymous_callers_never_reach_zendesk() {
    for ani in [
        "anonymous",
        "",
        "*",
        "1 type:ticket",
        "Anonymous",
        "restricted",
        "+1 000",
    ] {
        let mut s = Sim::new(default_flow(), start(ani));
        s.play_through();
        let said = s.play_through();
        assert_eq!(
            said, "We could not identify you by your phone number.",
            "ani {ani:?}"
        );
        assert_eq!(s.var_str("caller_kind"), "unknown");
        // Next is the menu, and no HTTP was ever asked for.
        let (_, menu, _) = s.expect_play();
        assert!(menu.starts_with("Press 1"), "{menu}");
        assert!(s.none_pending());
        assert!(!s.entered("lookup_user"));
    }
}

#[test]
fn number_not_in_zendesk_is_unknown() {
    let mut s = Sim::new(default_flow(), start("+15135557611"));
    s.play_through();
    let (id, req) = s.expect_http();
    assert_eq!(req.query[0].1, "role:end-user phone:15135557611");
    s.respond(id, 200, &user_body(json!([])));
    // Then the national number, for profiles that store it in a local format.
    let (id, req) = s.expect_http();
    assert_eq!(req.query[0].1, "role:end-user phone:*5135557611");
    s.respond(id, 200, &user_body(json!([])));
    assert_eq!(
        s.play_through(),
        "We could not identify you by your phone number."
    );
    assert_eq!(s.var_str("caller_kind"), "unknown");
}

#[test]
fn shared_number_picks_unshared_user_or_says_nothing_personal() {
    // One shared, one not: the unshared one is the caller.
    let mut s = Sim::new(default_flow(), start("+15135557611"));
    s.play_through();
    let (id, _) = s.expect_http();
    s.respond(
        id,
        200,
        &user_body(json!([
            { "id": 1, "name": "Front Desk", "shared_phone_number": true },
            { "id": 2, "name": "Bia", "shared_phone_number": false, "locale": "en-US" }
        ])),
    );
    let (_, req) = s.expect_http();
    assert_eq!(req.query[0].1, "type:ticket status<solved requester:2");

    // Only shared users: ambiguous, no ticket lookup, nothing personal.
    let mut s = Sim::new(default_flow(), start("+15135557611"));
    s.play_through();
    let (id, _) = s.expect_http();
    s.respond(
        id,
        200,
        &user_body(json!([
            { "id": 1, "name": "Front Desk", "shared_phone_number": true },
            { "id": 3, "name": "Carla", "shared_phone_number": true }
        ])),
    );
    let said = s.play_through();
    assert_eq!(said, "We could not identify you by your phone number.");
    assert!(!said.contains("Front Desk") && !said.contains("Carla"));
    assert_eq!(s.var_str("caller_kind"), "ambiguous");
    assert_eq!(s.var_str("user_name"), "");
}

#[test]
fn http_error_apologizes_and_queues_at_normal_priority() {
    for failure in [
        HttpOutcome::Response {
            status: 503,
            headers: vec![],
            body: "{\"error\":\"unavailable\"}".into(),
            attempts: 3,
            elapsed: Duration::from_secs(1),
        },
        HttpOutcome::Failed {
            kind: HttpFailureKind::Timeout,
            message: "timed out".into(),
            attempts: 3,
            elapsed: Duration::from_secs(5),
        },
        HttpOutcome::Response {
            status: 200,
            headers: vec![],
            body: "<html>".into(),
            attempts: 1,
            elapsed: Duration::from_secs(1),
        },
    ] {
        let mut s = Sim::new(default_flow(), start("+15135557611"));
        s.play_through();
        let (id, _) = s.expect_http();
        s.event(Event::HttpDone {
            id,
            outcome: failure.clone(),
        });
        let said = s.play_through();
        assert!(
            said.starts_with("Sorry, we cannot check your tickets"),
            "{said}"
        );
        assert_eq!(expect_enqueue(&mut s).1, 5);
        assert_eq!(s.var_str("caller_kind"), "lookup_failed");
    }
    // A failure on the ticket lookup too.
    let mut s = known_caller("en-US");
    let (id, _) = s.expect_http();
    s.respond(id, 500, "oops");
    assert!(s.play_through().starts_with("Sorry, we cannot check"));
    assert_eq!(s.var_str("user_name"), "");
}

#[test]
fn menu_timeouts_and_invalid_keys_end_in_queue() {
    let mut s = at_menu("en-US", "open", Some("low"));
    // First prompt, then no input.
    let first = s.play_through();
    assert_eq!(first, "Press 1 to speak with an agent, or 2 to hang up.");
    s.advance(Duration::from_millis(4999));
    assert!(s.none_pending(), "timed out early");
    s.advance(Duration::from_millis(1));
    let second = s.play_through();
    assert_eq!(
        second,
        "Sorry, we did not hear your choice. | Press 1 to speak with an agent, or 2 to hang up."
    );
    s.digit('9');
    let third = s.play_through();
    assert_eq!(
        third,
        "Sorry, that is not a valid option. | Press 1 to speak with an agent, or 2 to hang up."
    );
    s.advance(Duration::from_secs(5));
    // Retries exhausted (3 attempts): the caller goes to an agent.
    assert_eq!(expect_enqueue(&mut s).1, 7);
    assert_eq!(s.var_str("outcome"), "menu_exhausted");
    assert_eq!(s.var_str("keys_pressed"), "9");
}

#[test]
fn pressing_2_says_goodbye_and_posts_private_note() {
    let mut s = at_menu("en-US", "pending", Some("normal"));
    s.play_through();
    s.digit('2');
    assert_eq!(s.play_through(), "Thank you for calling. Goodbye.");
    match s.next() {
        Action::Disconnect { reason } => assert_eq!(reason, "chose_hang_up"),
        other => panic!("{other:?}"),
    }
    let (id, req) = s.expect_http();
    assert_eq!(req.method, "PUT");
    assert_eq!(req.path, "/api/v2/tickets/1001.json");
    assert!(req.durable);
    let body: serde_json::Value =
        serde_json::from_str(req.body.as_deref().unwrap_or("")).expect("body is JSON");
    assert_eq!(body["ticket"]["comment"]["public"], json!(false));
    let note = body["ticket"]["comment"]["body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(note.contains("Keys pressed: 2"), "{note}");
    assert!(note.contains("chose to hang up from the menu"), "{note}");
    assert!(note.contains("5511987654321"), "{note}");
    assert!(note.contains("Ended by: the IVR."), "{note}");
    s.event(Event::HttpDone {
        id,
        outcome: HttpOutcome::Deferred,
    });
    assert!(s.ex.is_finished());
}

#[test]
fn note_is_in_portuguese_for_portuguese_callers_and_names_the_agent() {
    let mut st = start("+5511987654321");
    st.extra
        .insert("zendesk_url".into(), json!("https://acme.zendesk.com/"));
    let mut s = Sim::new(default_flow(), st);
    s.play_through();
    let (id, _) = s.expect_http();
    s.respond(
        id,
        200,
        &user_body(json!([{ "id": 42, "name": "Ana", "locale": "pt-BR" }])),
    );
    let (id, _) = s.expect_http();
    s.respond(id, 200, &ticket_body(1001, "open", Some("urgent")));
    s.play_through();
    s.play_through();
    s.digit('1');
    let (qid, prio) = expect_enqueue(&mut s);
    assert_eq!(prio, 1);
    s.event(Event::QueueResult {
        id: qid,
        result: QueueResult::Queued,
    });
    let music = match s.next() {
        Action::PlayMusic {
            id, file, duration, ..
        } => {
            assert_eq!(file, "defaultmusic_on_hold.wav");
            assert_eq!(duration, Some(Duration::from_secs(30)));
            id
        }
        other => panic!("{other:?}"),
    };
    let agent = AgentRef {
        id: "a7".into(),
        name: "Bruno".into(),
    };
    s.event(Event::AgentOffered {
        agent: agent.clone(),
    });
    s.event(Event::AgentAnswered {
        agent: agent.clone(),
    });
    assert_eq!(s.next(), Action::StopPlay { id: music });
    assert_eq!(
        s.var_str("ticket_url"),
        "https://acme.zendesk.com/agent/tickets/1001"
    );
    s.event(Event::AgentDisconnected { agent, lost: false });
    match s.next() {
        Action::Disconnect { .. } => {}
        other => panic!("{other:?}"),
    }
    let (_, req) = s.expect_http();
    let body: serde_json::Value =
        serde_json::from_str(req.body.as_deref().unwrap_or("")).expect("JSON");
    let note = body["ticket"]["comment"]["body"]
        .as_str()
        .unwrap_or_default();
    assert!(note.starts_with("Ligação de 5511987654321"), "{note}");
    assert!(note.contains("Atendente: Bruno"), "{note}");
    assert!(note.contains("prioridade 1"), "{note}");
}

#[test]
fn no_agents_offers_wait_or_hang_up_and_records_it() {
    let mut s = at_menu("en-US", "open", Some("high"));
    s.play_through();
    s.digit('1');
    queue_answers(
        &mut s,
        QueueResult::NoAgents {
            logged_in: 0,
            available: 0,
        },
    );
    let said = s.play_through();
    assert!(
        said.starts_with("No agent is logged in right now."),
        "{said}"
    );
    s.digit('1');
    match s.next() {
        Action::Enqueue {
            availability,
            priority,
            ..
        } => {
            assert_eq!(availability, AvailabilityCheck::Off);
            assert_eq!(priority, 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.var_str("queue_result"), "no_agents_waited");

    let mut s = at_menu("en-US", "open", Some("high"));
    s.play_through();
    s.digit('1');
    queue_answers(
        &mut s,
        QueueResult::NoAgents {
            logged_in: 0,
            available: 0,
        },
    );
    s.play_through();
    s.digit('2');
    assert_eq!(s.play_through(), "Thank you for calling. Goodbye.");
    assert_eq!(s.var_str("queue_result"), "no_agents_hung_up");
}

#[test]
fn caller_hangup_during_lookup_still_posts_nothing_without_ticket() {
    let mut s = Sim::new(default_flow(), start("+15135557611"));
    s.play_through();
    let (id, _) = s.expect_http();
    s.event(Event::CallerHangup);
    // The late answer is ignored; no ticket is known, so no note.
    s.respond(id, 200, &user_body(json!([])));
    assert!(s.none_pending(), "{:?}", s.pending);
    assert!(s.ex.is_finished());
    assert_eq!(s.var_str("hangup_by"), "caller");
}

#[test]
fn default_flow_metadata() {
    let f = default_flow();
    assert_eq!(f.name(), "zendesk-ticket-status");
    assert_eq!(
        f.connectors().into_iter().collect::<Vec<_>>(),
        vec!["zendesk".to_string()]
    );
    assert_eq!(
        f.audio_files(),
        vec!["defaultmusic_on_hold.wav".to_string()]
    );
    let prompts = f.static_prompts();
    assert!(prompts.iter().any(|p| matches!(p, Segment::Tts { text, language, .. } if language == "pt-BR" && text.starts_with("Bem-vindo"))));
    assert!(prompts.iter().all(|p| match p {
        Segment::Tts { text, .. } => !text.contains("{{"),
        _ => true,
    }));
    assert!(f.warnings().is_empty(), "{:?}", f.warnings());
}

/// What the caller hears when the queue is full.
const QUEUE_FULL_EN: &str = "Sorry, all our agents are busy and no more calls can wait right now. Press 1 to try again, or 2 to hang up.";

fn full(max_calls: u32) -> QueueResult {
    QueueResult::Failed {
        reason: QueueFailure::Full { max_calls },
    }
}

/// At the menu, presses 1; the queue answers full. Returns at the apology (not yet played).
fn queue_full_after_pressing_1(locale: &str) -> Sim {
    let mut s = at_menu(locale, "open", Some("high"));
    s.play_through();
    s.digit('1');
    let (qid, prio) = expect_enqueue(&mut s);
    assert_eq!(prio, 3);
    s.event(Event::QueueResult {
        id: qid,
        result: full(2),
    });
    s
}

/// The private note the call_ended handler posts after the flow hangs up.
fn note_after_disconnect(s: &mut Sim, reason: &str) -> String {
    match s.next() {
        Action::Disconnect { reason: r } => assert_eq!(r, reason),
        other => panic!("expected Disconnect, got {other:?}"),
    }
    let (_, req) = s.expect_http();
    let body: serde_json::Value =
        serde_json::from_str(req.body.as_deref().unwrap_or("")).expect("JSON");
    body["ticket"]["comment"]["body"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_full_queue_apologizes_and_the_caller_may_hang_up() {
    let mut s = queue_full_after_pressing_1("en-US");
    assert_eq!(s.play_through(), QUEUE_FULL_EN);
    assert_eq!(s.var_str("queue_result"), "full");
    assert!(s.errors().is_empty(), "not an error: {:?}", s.errors());
    assert!(s
        .exits_taken()
        .contains(&("queue_caller".to_string(), "full".to_string())));
    s.digit('2');
    assert_eq!(s.play_through(), "Thank you for calling. Goodbye.");
    let note = note_after_disconnect(&mut s, "queue_full_hung_up");
    assert!(
        note.contains("Outcome: the queue was full; the caller chose to hang up."),
        "{note}"
    );
    assert!(note.contains("Keys pressed: 12."), "{note}");
    assert!(!note.contains("Queue support"), "never queued: {note}");
}

#[test]
fn a_full_queue_lets_the_caller_try_again_and_the_note_says_so() {
    let mut s = queue_full_after_pressing_1("en-US");
    s.play_through();
    s.digit('1');
    let (qid, prio) = expect_enqueue(&mut s);
    assert_eq!(prio, 3, "the same priority on the second try");
    s.event(Event::QueueResult {
        id: qid,
        result: QueueResult::Queued,
    });
    let Action::PlayMusic { id: music, .. } = s.next() else {
        panic!("expected music on hold")
    };
    assert_eq!(s.var_str("queue_result"), "queued");
    assert_eq!(s.var("queue_full_count"), json!(1));
    s.event(Event::CallerHangup);
    assert_eq!(s.next(), Action::StopPlay { id: music });
    let (_, req) = s.expect_http();
    let body: serde_json::Value =
        serde_json::from_str(req.body.as_deref().unwrap_or("")).expect("JSON");
    let note = body["ticket"]["comment"]["body"]
        .as_str()
        .unwrap_or_default();
    assert!(note.contains("Outcome: asked for an agent."), "{note}");
    assert!(note.contains("Queue support, priority 3"), "{note}");
    assert!(
        note.contains("The queue was full on 1 earlier attempt(s)."),
        "{note}"
    );
}

#[test]
fn a_full_queue_three_times_ends_the_call_politely() {
    let mut s = queue_full_after_pressing_1("en-US");
    for attempt in 2..=3 {
        assert_eq!(s.play_through(), QUEUE_FULL_EN, "attempt {attempt}");
        s.digit('1');
        queue_answers(&mut s, full(2));
    }
    assert_eq!(s.var("queue_full_count"), json!(3));
    assert_eq!(
        s.play_through(),
        "Sorry, we cannot take your call right now. Please call again later."
    );
    let note = note_after_disconnect(&mut s, "queue_full");
    assert!(
        note.contains("Outcome: the queue was full and the caller could not wait for an agent."),
        "{note}"
    );
    assert!(!note.contains("earlier attempt"), "{note}");
}

#[test]
fn a_full_queue_without_a_choice_ends_the_call_after_one_retry() {
    let mut s = queue_full_after_pressing_1("pt-BR");
    let said = s.play_through();
    assert!(
        said.starts_with("Desculpe, todos os nossos atendentes estão ocupados"),
        "{said}"
    );
    assert!(said.contains("Tecle 1 para tentar novamente"), "{said}");
    // No key: the menu's 5 s timeout, the miss prompt and the menu again, then the end.
    s.advance(Duration::from_secs(6));
    let again = s.play_through();
    assert!(
        again.starts_with("Desculpe, não recebemos a sua opção."),
        "{again}"
    );
    s.advance(Duration::from_secs(6));
    assert_eq!(
        s.play_through(),
        "Desculpe, não podemos atender a sua ligação agora. Por favor, ligue mais tarde."
    );
    let note = note_after_disconnect(&mut s, "queue_full");
    assert!(
        note.contains("Resultado: a fila estava cheia e o cliente não pôde aguardar um atendente."),
        "{note}"
    );
}

#[test]
fn a_full_queue_after_choosing_to_wait_for_an_agent_is_handled_too() {
    let mut s = at_menu("en-US", "open", None);
    s.play_through();
    s.digit('1');
    queue_answers(
        &mut s,
        QueueResult::NoAgents {
            logged_in: 0,
            available: 0,
        },
    );
    s.play_through();
    s.digit('1');
    queue_answers(&mut s, full(1000));
    assert_eq!(s.play_through(), QUEUE_FULL_EN);
    assert_eq!(s.var_str("queue_result"), "full");
}

/// Ana (ticket 1001, open) calling, her caller ID believed as far as `identity` says
/// (the runtime's `caller_identity`); returns once both lookups are answered.
fn caller_with_identity(identity: &str, ticket: bool) -> Sim {
    let mut st = start("+5511987654321");
    st.extra.insert("caller_identity".into(), json!(identity));
    let mut s = Sim::new(default_flow(), st);
    s.play_through();
    let (id, _) = s.expect_http();
    let ana = json!([{ "id": 42, "name": "Ana", "locale": "en-US", "phone": "+5511987654321" }]);
    s.respond(id, 200, &user_body(ana));
    let (id, _) = s.expect_http();
    let tickets = if ticket {
        ticket_body(1001, "open", Some("normal"))
    } else {
        json!({ "results": [], "count": 0 }).to_string()
    };
    s.respond(id, 200, &tickets);
    s
}

fn keys(s: &mut Sim, keys: &str) {
    for k in keys.chars() {
        s.digit(k);
    }
}

const NOT_CONFIRMED: &str =
    "We could not confirm your identity, so we cannot share account details by phone.";

/// The note the flow posts after the caller presses 2 at the menu.
fn note_after_hanging_up(s: &mut Sim) -> String {
    assert!(s.play_through().contains("Press 1"));
    s.digit('2');
    assert_eq!(s.play_through(), "Thank you for calling. Goodbye.");
    note_after_disconnect(s, "chose_hang_up")
}

#[test]
fn a_caller_who_keys_in_the_ticket_number_hears_the_details() {
    let mut s = caller_with_identity("check", true);
    assert_eq!(
        s.play_through(),
        "For your security, please enter your ticket number, then press the hash key."
    );
    keys(&mut s, "1001#");
    assert_eq!(
        s.play_through(),
        "Hello Ana. Your ticket number 1001 is open."
    );
    assert_eq!(s.var_str("identity_check"), "passed");
    let note = note_after_hanging_up(&mut s);
    assert!(note.contains("Status told: open."), "{note}");
    assert!(note.contains("Identity check: passed."), "{note}");
}

#[test]
fn a_failed_check_is_bounded_recorded_and_says_nothing_personal() {
    let mut s = caller_with_identity("check", true);
    let mut heard = vec![s.play_through()];
    keys(&mut s, "9#");
    heard.push(s.play_through());
    assert_eq!(heard[1], "That number does not match.");
    heard.push(s.play_through());
    // No key at all is a failed try too: the second and last.
    s.advance(Duration::from_secs(9));
    heard.push(s.play_through());
    assert_eq!(heard[3], NOT_CONFIRMED);
    assert_eq!(s.var_str("identity_check"), "failed");
    let note = note_after_hanging_up(&mut s);
    for said in &heard {
        assert!(!said.contains("Ana") && !said.contains("1001"), "{said}");
    }
    assert!(note.contains("Status told: none."), "{note}");
    assert!(note.contains("Identity check: failed."), "{note}");
}

#[test]
fn an_unverified_caller_hears_nothing_personal_ticket_or_not() {
    for ticket in [true, false] {
        let mut s = caller_with_identity("unverified", ticket);
        assert_eq!(s.play_through(), NOT_CONFIRMED, "ticket: {ticket}");
        assert!(!s.entered("ask_ticket_number"));
        if ticket {
            let note = note_after_hanging_up(&mut s);
            assert!(note.contains("Status told: none."), "{note}");
            assert!(!note.contains("Identity check"), "{note}");
        }
    }
    // With nothing to check against, a `check` caller is told the same.
    let mut s = caller_with_identity("check", false);
    assert_eq!(s.play_through(), NOT_CONFIRMED);
    // A verified caller (the runtime's default for the host's own trunk) as before.
    let mut s = caller_with_identity("verified", false);
    assert_eq!(
        s.play_through(),
        "Hello Ana. We found no open ticket for you."
    );
}

/// A caller whose lookup failed, hung up at the apology; Zendesk is still down when the
/// call_ended handler looks the caller up again: the rest of it is deferred.
fn outage_call(extra: &[(&str, &str)]) -> (Sim, Resume) {
    let mut call = start("+15135557611");
    for (k, v) in extra {
        call.extra.insert((*k).into(), (*v).into());
    }
    let mut s = Sim::new(default_flow(), call);
    s.play_through();
    let (id, _) = s.expect_http();
    s.respond(id, 503, "{\"error\":\"unavailable\"}");
    let (_, said, _) = s.expect_play();
    assert!(said.starts_with("Sorry, we cannot check"), "{said}");
    s.event(Event::CallerHangup);
    assert!(matches!(s.next(), Action::StopPlay { .. }));
    // The same lookup as during the call, after it.
    let (id, req) = s.expect_http();
    assert_eq!(
        req.query,
        vec![(
            "query".to_string(),
            "role:end-user phone:15135557611".to_string()
        )]
    );
    s.event(Event::HttpDone {
        id,
        outcome: HttpOutcome::Failed {
            kind: HttpFailureKind::Connect,
            message: "refused".into(),
            attempts: 3,
            elapsed: Duration::from_secs(1),
        },
    });
    let resume = match s.next() {
        Action::Defer { node, resume, .. } => {
            assert_eq!(node, "lookup_user");
            resume
        }
        other => panic!("expected Defer, got {other:?}"),
    };
    assert!(s.none_pending(), "{:?}", s.pending);
    assert!(s.ex.is_finished());
    (s, resume)
}

/// Zendesk is back: the deferred rest runs.
fn resumed(s: &Sim, resume: &Resume) -> Sim {
    let ex = Executor::resume(default_flow(), resume, s.now).expect("resumes");
    let mut r = Sim {
        ex,
        now: s.now,
        log: Vec::new(),
        pending: Vec::new(),
    };
    r.drain();
    r
}

#[test]
fn after_an_outage_the_note_reaches_the_callers_most_recent_unsolved_ticket() {
    let (s, resume) = outage_call(&[]);
    let note = resume.variables["note"].as_str().unwrap().to_string();
    assert!(
        note.starts_with("Call from 15135557611 at 2026-01-01 10:00:00 UTC"),
        "{note}"
    );
    assert!(note.contains("Ended by: the caller."), "{note}");
    assert!(
        note.contains("Status told: none."),
        "nothing was told: {note}"
    );
    let mut r = resumed(&s, &resume);
    let (id, req) = r.expect_http();
    assert_eq!(
        req.query[0].1, "role:end-user phone:15135557611",
        "the flow's own lookup"
    );
    r.respond(
        id,
        200,
        &user_body(json!([{ "id": 42, "name": "Ana", "locale": "pt-BR" }])),
    );
    let (id, req) = r.expect_http();
    assert_eq!(req.query[0].1, "type:ticket status<solved requester:42");
    assert_eq!(req.query[1].1, "updated_at");
    r.respond(id, 200, &ticket_body(1001, "open", Some("low")));
    let (_, req) = r.expect_http();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("PUT", "/api/v2/tickets/1001.json")
    );
    assert!(req.durable);
    let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["ticket"]["comment"]["public"], false);
    assert_eq!(
        body["ticket"]["comment"]["body"], note,
        "the note says what happened during the call"
    );
    assert!(r.log.iter().all(|l| !matches!(l, LogEntry::Error { .. })));
}

#[test]
fn after_an_outage_the_local_format_fallback_and_shared_numbers_rules_hold() {
    // Nobody in E.164; one user in the local format: the note goes to their ticket.
    let (s, resume) = outage_call(&[]);
    let mut r = resumed(&s, &resume);
    let (id, _) = r.expect_http();
    r.respond(id, 200, &user_body(json!([])));
    let (id, req) = r.expect_http();
    assert_eq!(req.query[0].1, "role:end-user phone:*5135557611");
    r.respond(id, 200, &user_body(json!([{ "id": 9, "name": "Bo" }])));
    let (id, _) = r.expect_http();
    r.respond(id, 200, &ticket_body(55, "new", None));
    let (_, req) = r.expect_http();
    assert_eq!(req.path, "/api/v2/tickets/55.json");
    // A shared number: no personal guess, no note.
    let mut r = resumed(&s, &resume);
    let (id, _) = r.expect_http();
    r.respond(
        id,
        200,
        &user_body(json!([
            { "id": 1, "shared_phone_number": true },
            { "id": 2, "shared_phone_number": true }
        ])),
    );
    assert!(r.none_pending(), "{:?}", r.pending);
    assert!(r.ex.is_finished());
    assert_eq!(r.var_str("caller_kind"), "ambiguous");
}

#[test]
fn after_an_outage_a_caller_without_a_ticket_follows_the_no_ticket_rule() {
    // [calls] no_ticket = "nothing": a known caller with no open ticket gets no note.
    let (s, resume) = outage_call(&[]);
    let mut r = resumed(&s, &resume);
    let (id, _) = r.expect_http();
    r.respond(id, 200, &user_body(json!([{ "id": 42, "name": "Ana" }])));
    let (id, _) = r.expect_http();
    r.respond(id, 200, &user_body(json!([])));
    assert!(r.none_pending(), "{:?}", r.pending);
    assert!(r.ex.is_finished());
    // "create_ticket": an unknown caller becomes an end-user, then a ticket holds the note.
    let (s, resume) = outage_call(&[("no_ticket_action", "create_ticket")]);
    let mut r = resumed(&s, &resume);
    for _ in 0..2 {
        let (id, _) = r.expect_http();
        r.respond(id, 200, &user_body(json!([])));
    }
    let (id, req) = r.expect_http();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/api/v2/users.json")
    );
    assert!(!req.durable);
    r.respond(id, 201, r#"{"user": {"id": 77}}"#);
    let (_, req) = r.expect_http();
    assert_eq!(req.path, "/api/v2/tickets.json");
    assert!(req.durable);
    let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["ticket"]["requester_id"], 77);
    assert_eq!(body["ticket"]["comment"]["body"], resume.variables["note"]);
}

#[test]
fn after_an_outage_a_refusal_ends_the_handler_without_a_guess() {
    let (s, resume) = outage_call(&[("no_ticket_action", "create_ticket")]);
    let mut r = resumed(&s, &resume);
    let (id, _) = r.expect_http();
    r.respond(id, 401, "{\"error\":\"Couldn't authenticate you\"}");
    assert!(r.none_pending(), "nothing created: {:?}", r.pending);
    assert!(r.ex.is_finished());
    assert!(!r.errors().is_empty(), "the refusal is an error");
}

#[test]
fn a_lost_agent_puts_the_caller_back_in_the_queue_at_the_same_priority() {
    let mut s = at_menu("en-US", "open", Some("urgent"));
    s.play_through();
    s.digit('1');
    let (qid, prio) = expect_enqueue(&mut s);
    s.event(Event::QueueResult {
        id: qid,
        result: QueueResult::Queued,
    });
    let music = match s.next() {
        Action::PlayMusic { id, .. } => id,
        other => panic!("{other:?}"),
    };
    let agent = AgentRef {
        id: "ana".into(),
        name: "Ana".into(),
    };
    s.event(Event::AgentAnswered {
        agent: agent.clone(),
    });
    assert_eq!(s.next(), Action::StopPlay { id: music });
    // Ana's browser closes mid-call: the caller hears why, then waits again.
    s.event(Event::AgentDisconnected {
        agent: agent.clone(),
        lost: true,
    });
    let said = s.play_through();
    assert!(
        said.starts_with("Sorry, we lost the connection to your agent."),
        "{said}"
    );
    let (qid, again) = expect_enqueue(&mut s);
    assert_eq!(again, prio, "the same priority as the first time");
    s.event(Event::QueueResult {
        id: qid,
        result: QueueResult::Queued,
    });
    let music = match s.next() {
        Action::PlayMusic { id, .. } => id,
        other => panic!("music again, got {other:?}"),
    };
    // The next agent's answer stops the waiting, as the first time.
    s.event(Event::AgentAnswered {
        agent: AgentRef {
            id: "bob".into(),
            name: "Bob".into(),
        },
    });
    assert_eq!(s.next(), Action::StopPlay { id: music });
    // Bob hangs up (not lost): the call ends.
    s.event(Event::AgentDisconnected {
        agent: AgentRef {
            id: "bob".into(),
            name: "Bob".into(),
        },
        lost: false,
    });
    match s.next() {
        Action::Disconnect { .. } => {}
        other => panic!("{other:?}"),
    }
}
