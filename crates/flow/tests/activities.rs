//! Each activity and each exit, driven on virtual time with scripted events.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ringdesk_flow::*;
use serde_json::json;

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn play_renders_language_and_voice_then_exits() {
    let f = load(
        r#"
name: t
start: hello
variables:
  language: { type: string, default: pt-PT }
  who: { type: string, default: "Ana" }
nodes:
  hello:
    play:
      segments:
        - audio: chime.wav
        - text: { en-US: "Hi {{ who }}", pt-BR: "Oi {{ who }}" }
      voice: pt-BR-x
    next: bye
  bye:
    play: "Plain {{ who }}"
    next: done
  done:
    end: {}
"#,
    );
    let mut s = Sim::new(f, start("1"));
    match s.next() {
        Action::Play {
            id,
            segments,
            interruptible,
            ..
        } => {
            assert!(!interruptible);
            assert_eq!(
                segments[0],
                Segment::Audio {
                    file: "chime.wav".into()
                }
            );
            // pt-PT falls back to the other Portuguese entry, spoken with its own tag.
            assert_eq!(
                segments[1],
                Segment::Tts {
                    text: "Oi Ana".into(),
                    language: "pt-BR".into(),
                    voice: Some("pt-BR-x".into())
                }
            );
            s.event(Event::PlayDone { id });
        }
        other => panic!("{other:?}"),
    }
    match s.next() {
        Action::Play { id, segments, .. } => {
            assert_eq!(
                segments,
                vec![Segment::Tts {
                    text: "Plain Ana".into(),
                    language: "pt-PT".into(),
                    voice: None
                }]
            );
            s.event(Event::PlayDone { id });
        }
        other => panic!("{other:?}"),
    }
    // `end` in the main flow hangs up, and the executor finishes.
    assert_eq!(
        s.next(),
        Action::Disconnect {
            reason: "flow ended".into()
        }
    );
    assert!(s.ex.is_finished());
    assert!(s.log.iter().any(|l| matches!(l, LogEntry::Finished { .. })));
}

const MENU_FLOW: &str = r##"
name: menu
start: intro
variables:
  choice: string
nodes:
  intro:
    play: { text: "Intro", interruptible: INTR }
    next: menu
  menu:
    menu:
      prompt: "Pick"
      no_input_prompt: "Nothing?"
      invalid_prompt: "Wrong."
      timeout: 3s
      retries: 1
      output: choice
    exits: { "1": one, "#": hash, exhausted: gave_up }
  one:
    play: "One"
    next: done
  hash:
    play: "Hash"
    next: done
  gave_up:
    play: "Bye"
    next: done
  done:
    disconnect: {}
"##;

fn menu_flow(interruptible: bool) -> Sim {
    Sim::new(
        load(&MENU_FLOW.replace("INTR", &interruptible.to_string())),
        start("1"),
    )
}

#[test]
fn barge_in_stops_prompt_and_key_reaches_menu() {
    let mut s = menu_flow(true);
    let (id, text, interruptible) = s.expect_play();
    assert_eq!(text, "Intro");
    assert!(interruptible);
    s.digit('1');
    assert_eq!(s.next(), Action::StopPlay { id });
    // The menu takes the type-ahead key without playing its prompt.
    assert_eq!(s.play_through(), "One");
    assert_eq!(s.var_str("choice"), "1");
    assert_eq!(s.var_str("keys_pressed"), "1");
}

#[test]
fn keys_during_non_interruptible_prompt_are_kept() {
    let mut s = menu_flow(false);
    let (id, _, interruptible) = s.expect_play();
    assert!(!interruptible);
    s.digit('#');
    assert!(
        s.none_pending(),
        "a non-interruptible prompt is not stopped"
    );
    s.event(Event::PlayDone { id });
    assert_eq!(s.play_through(), "Hash");
}

#[test]
fn menu_digit_during_its_prompt() {
    let mut s = menu_flow(false);
    s.play_through();
    let (id, text, interruptible) = s.expect_play();
    assert_eq!(text, "Pick");
    assert!(interruptible, "menu prompts default to interruptible");
    s.digit('#');
    assert_eq!(s.next(), Action::StopPlay { id });
    assert_eq!(s.play_through(), "Hash");
}

#[test]
fn menu_no_input_then_invalid_exhausts() {
    let mut s = menu_flow(false);
    s.play_through();
    s.play_through();
    assert_eq!(s.ex.poll_timeout(), Some(s.now + SECS(3)));
    s.advance(SECS(3));
    assert_eq!(s.play_through(), "Nothing? | Pick");
    s.digit('7');
    assert_eq!(s.play_through(), "Bye");
    assert_eq!(s.var_str("choice"), "");
    let exits = s.exits_taken();
    assert!(
        exits.contains(&("menu".into(), "exhausted".into())),
        "{exits:?}"
    );
}

#[test]
fn menu_invalid_during_prompt_replays_with_invalid_message() {
    let mut s = menu_flow(false);
    s.play_through();
    let (id, _, _) = s.expect_play();
    s.digit('5');
    assert_eq!(s.next(), Action::StopPlay { id });
    assert_eq!(s.play_through(), "Wrong. | Pick");
    s.digit('1');
    assert_eq!(s.play_through(), "One");
}

const COLLECT_FLOW: &str = r#"
name: collect
start: ask
variables:
  account: string
nodes:
  ask:
    collect:
      prompt: "Enter your account number"
      min: 3
      max: 5
      first_digit_timeout: 4s
      inter_digit_timeout: 2s
      output: account
    exits: { ok: ok, no_input: silent, invalid: short }
  ok:
    play: "Got {{ account }}"
    next: done
  silent:
    play: "Silence"
    next: done
  short:
    play: "Short {{ account }}"
    next: done
  done:
    end: {}
"#;

#[test]
fn collect_stops_at_max_digits() {
    let mut s = Sim::new(load(COLLECT_FLOW), start("1"));
    let (id, _, _) = s.expect_play();
    s.digit('1');
    assert_eq!(s.next(), Action::StopPlay { id });
    for k in ['2', '3', '4', '5'] {
        s.digit(k);
    }
    assert_eq!(s.play_through(), "Got 12345");
}

#[test]
fn collect_terminator_and_timeouts() {
    // Terminator with enough digits.
    let mut s = Sim::new(load(COLLECT_FLOW), start("1"));
    s.play_through();
    for k in ['9', '8', '7', '#'] {
        s.digit(k);
    }
    assert_eq!(s.play_through(), "Got 987");

    // First-digit timeout.
    let mut s = Sim::new(load(COLLECT_FLOW), start("1"));
    s.play_through();
    s.advance(Duration::from_millis(3999));
    assert!(s.none_pending());
    s.advance(Duration::from_millis(1));
    assert_eq!(s.play_through(), "Silence");

    // Inter-digit timeout with too few digits.
    let mut s = Sim::new(load(COLLECT_FLOW), start("1"));
    s.play_through();
    s.digit('4');
    s.advance(Duration::from_millis(1999));
    s.digit('2');
    s.advance(SECS(2));
    assert_eq!(s.play_through(), "Short 42");

    // Inter-digit timeout with enough digits.
    let mut s = Sim::new(load(COLLECT_FLOW), start("1"));
    s.play_through();
    for k in ['1', '2', '3'] {
        s.digit(k);
    }
    s.advance(SECS(2));
    assert_eq!(s.play_through(), "Got 123");
}

const HTTP_FLOW: &str = r#"
name: http
start: call
variables:
  id: { type: integer }
  names: json
  code: { type: integer }
  token: { type: string, default: "abc" }
nodes:
  call:
    http:
      connector: crm
      method: post
      path: "/api/items/{{ ani | digits }}.json"
      query: { q: "phone:{{ ani | digits }}", fixed: "1" }
      headers: { X-Token: "{{ token }}" }
      body: '{"ani": {{ ani | tojson }}}'
      timeout: 2s
      retries: 3
      outputs:
        id: "$.items[0].id"
        names: { path: "$.items[*].name", all: true }
        missing: "$.nothing"
      status_variable: code
    exits: { ok: good, error: bad }
  good:
    play: "ok {{ id }} {{ names | join(',') }} {{ code }}"
    next: done
  bad:
    play: "error {{ code }} {{ id }}"
    next: done
  done:
    end: {}
"#;

#[test]
fn http_request_is_rendered_and_outputs_extracted() {
    let mut s = Sim::new(load(HTTP_FLOW), start("+1 (555) 010-9999"));
    let (id, req) = s.expect_http();
    assert_eq!(
        req,
        HttpRequest {
            connector: "crm".into(),
            method: "POST".into(),
            path: "/api/items/15550109999.json".into(),
            query: vec![
                ("q".into(), "phone:15550109999".into()),
                ("fixed".into(), "1".into())
            ],
            headers: vec![("X-Token".into(), "abc".into())],
            body: Some("{\"ani\": \"+1 (555) 010-9999\"}".into()),
            timeout: SECS(2),
            retries: 3,
            durable: false,
        }
    );
    s.respond(
        id,
        201,
        r#"{"items": [{"id": "17", "name": "a"}, {"id": 18, "name": "b"}]}"#,
    );
    assert_eq!(s.play_through(), "ok 17 a,b 201");
    assert_eq!(s.var("id"), json!(17));
    assert_eq!(s.var("missing"), json!(null));
}

#[test]
fn http_error_exit_on_status_and_on_no_response() {
    let mut s = Sim::new(load(HTTP_FLOW), start("5"));
    let (id, _) = s.expect_http();
    s.respond(id, 404, r#"{"items": [{"id": 3}]}"#);
    assert_eq!(s.play_through(), "error 404 0");
    assert_eq!(s.var_str("error_message"), "HTTP status 404");

    let mut s = Sim::new(load(HTTP_FLOW), start("5"));
    let (id, _) = s.expect_http();
    s.event(Event::HttpDone {
        id,
        outcome: HttpOutcome::Failed {
            kind: HttpFailureKind::Connect,
            message: "refused".into(),
            attempts: 4,
            elapsed: SECS(2),
        },
    });
    assert_eq!(s.play_through(), "error 0 0");

    // A stale answer for an old id changes nothing.
    let mut s = Sim::new(load(HTTP_FLOW), start("5"));
    let (id, _) = s.expect_http();
    s.respond(ActionId(id.0 + 100), 200, "{}");
    assert!(s.none_pending());
    s.event(Event::HttpDone {
        id,
        outcome: HttpOutcome::Deferred,
    });
    assert_eq!(s.play_through(), "ok 0  0");
}

#[test]
fn http_unsafe_rendered_path_takes_error_exit_without_request() {
    let f = load(
        r#"
name: p
start: call
variables:
  seg: { type: string, default: "../admin" }
nodes:
  call:
    http: { connector: c, path: "/api/{{ seg }}" }
    exits: { ok: done, error: bad }
  bad:
    play: "bad"
    next: done
  done:
    end: {}
"#,
    );
    let mut s = Sim::new(f, start("1"));
    assert_eq!(s.play_through(), "bad");
}

#[test]
fn set_condition_and_case() {
    let f = load(
        r#"
name: logic
start: init
variables:
  n: { type: integer, default: 2 }
  flag: boolean
  data: json
  label: string
nodes:
  init:
    set:
      n: "{{ n * 3 }}"
      flag: "{{ n > 5 }}"
      data: '{"k": [1, 2]}'
      label: "{{ 'x' | replace({'x': 'big'}) }}"
    next: check
  check:
    condition: "{{ flag and data.k | length == 2 }}"
    exits: { "true": pick, "false": done }
  pick:
    case: label
    exits: { big: big, small: done, default: done }
  big:
    case: "'nothing matches'"
    exits: { big: done, default: fallback }
  fallback:
    play: "n={{ n }}"
    next: done
  done:
    end: {}
"#,
    );
    let mut s = Sim::new(f, start("1"));
    assert_eq!(s.play_through(), "n=6");
    assert_eq!(s.var("flag"), json!(true));
    assert_eq!(s.var("data"), json!({"k": [1, 2]}));
    let exits = s.exits_taken();
    for e in [("check", "true"), ("pick", "big"), ("big", "default")] {
        assert!(exits.contains(&(e.0.into(), e.1.into())), "{exits:?}");
    }
}

#[test]
fn set_with_bad_integer_goes_to_error_handler() {
    let f = load(
        r#"
name: e
start: init
variables:
  n: integer
nodes:
  init:
    set: { n: "abc" }
    next: done
  done:
    end: {}
  oops:
    play: "Error at {{ error_node }}"
    next: done
events:
  error: oops
"#,
    );
    let mut s = Sim::new(f, start("1"));
    assert_eq!(s.play_through(), "Error at init");
    assert!(s.var_str("error_message").contains("not an integer"));
}

fn queue_flow(priority: &str, check: &str, error_exit: bool) -> String {
    let extra_nodes = format!(
        "{}{}",
        if check == "off" {
            ""
        } else {
            "  none:\n    play: \"none\"\n    next: done\n"
        },
        if error_exit {
            "  failed:\n    play: \"failed\"\n    next: done\n"
        } else {
            ""
        },
    );
    format!(
        r#"
name: q
start: q
variables:
  p: {{ type: string, default: "{priority}" }}
nodes:
  q:
    queue: {{ name: "sales", priority: "{{{{ p }}}}", check: {check} }}
    exits: {{ queued: wait{no_agents}{error} }}
  wait:
    music: {{ file: moh.wav }}
    next: done
{extra_nodes}  done:
    end: {{}}
"#,
        no_agents = if check == "off" {
            ""
        } else {
            ", no_agents: none"
        },
        error = if error_exit { ", error: failed" } else { "" },
        extra_nodes = extra_nodes,
    )
}

#[test]
fn queue_priority_is_clamped_like_webex() {
    for (p, expected) in [
        ("1", 1),
        ("3", 3),
        ("10", 10),
        ("0", 10),
        ("11", 10),
        ("-2", 10),
        ("abc", 10),
        ("", 10),
    ] {
        let mut s = Sim::new(load(&queue_flow(p, "off", false)), start("1"));
        match s.next() {
            Action::Enqueue {
                queue,
                priority,
                availability,
                ..
            } => {
                assert_eq!(queue, "sales");
                assert_eq!(priority, expected, "priority {p:?}");
                assert_eq!(availability, AvailabilityCheck::Off);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn queue_exits_queued_no_agents_and_error() {
    let mut s = Sim::new(load(&queue_flow("2", "available", true)), start("1"));
    let Action::Enqueue {
        id, availability, ..
    } = s.next()
    else {
        panic!()
    };
    assert_eq!(availability, AvailabilityCheck::Available);
    s.event(Event::QueueResult {
        id,
        result: QueueResult::Queued,
    });
    match s.next() {
        Action::PlayMusic {
            id, file, duration, ..
        } => {
            assert_eq!(file, "moh.wav");
            assert_eq!(duration, None);
            // Music without duration plays until an agent answers: the flow just waits.
            s.event(Event::AgentAnswered {
                agent: AgentRef {
                    id: "1".into(),
                    name: "Al".into(),
                },
            });
            assert_eq!(s.next(), Action::StopPlay { id });
        }
        other => panic!("{other:?}"),
    }
    assert!(s.none_pending());
    assert!(!s.ex.is_finished(), "the caller is with the agent");
    s.event(Event::CallerHangup);
    assert!(s.ex.is_finished());

    let mut s = Sim::new(load(&queue_flow("2", "logged_in", true)), start("1"));
    let Action::Enqueue { id, .. } = s.next() else {
        panic!()
    };
    s.event(Event::QueueResult {
        id,
        result: QueueResult::NoAgents {
            logged_in: 0,
            available: 0,
        },
    });
    assert_eq!(s.play_through(), "none");

    let mut s = Sim::new(load(&queue_flow("2", "off", true)), start("1"));
    let Action::Enqueue { id, .. } = s.next() else {
        panic!()
    };
    s.event(Event::QueueResult {
        id,
        result: QueueResult::Failed {
            reason: "no such queue".into(),
        },
    });
    assert_eq!(s.play_through(), "failed");

    // Without an error exit or handler the main flow stops and the call is hung up.
    let mut s = Sim::new(load(&queue_flow("2", "off", false)), start("1"));
    let Action::Enqueue { id, .. } = s.next() else {
        panic!()
    };
    s.event(Event::QueueResult {
        id,
        result: QueueResult::Failed { reason: "x".into() },
    });
    assert!(matches!(s.next(), Action::Disconnect { .. }));
    assert!(s.ex.is_finished());
}

#[test]
fn queue_info_outputs_and_music_loop() {
    let f = load(
        r#"
name: qi
start: info
variables:
  pos: integer
  wait_s: string
nodes:
  info:
    queue_info:
      queue: support
      outputs: { pos: position, wait_s: estimated_wait, avail: agents_available, oldest: oldest_wait }
    next: music
  music:
    music: { file: jingle.wav, loop: false }
    next: say
  say:
    play: "pos {{ pos }} wait {{ wait_s }} avail {{ avail }} oldest {{ oldest }}"
    next: done
  done:
    end: {}
"#,
    );
    let mut s = Sim::new(f, start("1"));
    let Action::QueueInfo { id, queue, .. } = s.next() else {
        panic!()
    };
    assert_eq!(queue, "support");
    s.event(Event::QueueInfo {
        id,
        info: QueueInfo {
            position: Some(3),
            estimated_wait: Some(SECS(90)),
            agents_logged_in: 4,
            agents_available: 1,
            calls_queued: 5,
            oldest_wait: None,
        },
    });
    assert_eq!(s.play_through(), "<jingle.wav>");
    assert_eq!(s.play_through(), "pos 3 wait 90 avail 1 oldest -1");
    assert_eq!(s.var("wait_s"), json!("90"));
}

#[test]
fn handlers_offered_answered_disconnected_and_call_ended() {
    let f = load(
        r#"
name: ev
start: q
variables:
  offers: { type: integer }
  answered_by: string
  ended_note: string
nodes:
  q:
    queue: { name: support, priority: 5 }
    exits: { queued: moh, full: stop }
  moh:
    music: { file: moh.wav, duration: 10s }
    next: moh
  offered:
    set: { offers: "{{ offers + 1 }}" }
    next: stop
  answered:
    set: { answered_by: "{{ agent_name }}" }
    next: stop
  ended:
    play: "never heard"
    next: record
  record:
    set: { ended_note: "by {{ hangup_by }} after {{ answered_by }}" }
    next: stop
  stop:
    end: {}
events:
  agent_offered: offered
  agent_answered: { start: answered }
  call_ended: ended
"#,
    );
    assert_eq!(f.warnings().len(), 1, "{:?}", f.warnings());
    assert!(f.warnings()[0].message.contains("hung up"));
    let mut s = Sim::new(f, start("1"));
    let Action::Enqueue { id, .. } = s.next() else {
        panic!()
    };
    s.event(Event::QueueResult {
        id,
        result: QueueResult::Queued,
    });
    let Action::PlayMusic { id: m1, .. } = s.next() else {
        panic!()
    };
    s.event(Event::PlayDone { id: m1 });
    let Action::PlayMusic { id: m2, .. } = s.next() else {
        panic!()
    };
    let agent = AgentRef {
        id: "7".into(),
        name: "Zoe".into(),
    };
    s.advance(Duration::from_secs(12));
    s.event(Event::AgentOffered {
        agent: agent.clone(),
    });
    assert!(
        s.none_pending(),
        "music keeps playing while the agent is offered"
    );
    assert_eq!(s.var("offers"), json!(1));
    s.event(Event::AgentAnswered {
        agent: agent.clone(),
    });
    assert_eq!(s.next(), Action::StopPlay { id: m2 });
    assert_eq!(s.var_str("answered_by"), "Zoe");
    // Keys go to the agent now, not the flow.
    s.digit('5');
    assert_eq!(s.var_str("keys_pressed"), "");
    assert_eq!(s.var("wait_seconds"), json!(12), "queued to answered");
    s.advance(Duration::from_secs(30));
    s.event(Event::AgentDisconnected { agent, lost: false });
    assert_eq!(
        s.var("talk_seconds"),
        json!(30),
        "answered to agent hang-up"
    );
    assert_eq!(s.var("call_seconds"), json!(42));
    assert_eq!(
        s.next(),
        Action::Disconnect {
            reason: "agent disconnected".into()
        }
    );
    assert!(s.none_pending(), "prompts after hangup are skipped");
    assert_eq!(s.var_str("ended_note"), "by agent after Zoe");
    assert!(s.ex.is_finished());
    // Anything after the end is ignored.
    s.event(Event::CallerHangup);
    s.digit('1');
    assert!(s.none_pending());
}

#[test]
fn caller_hangup_stops_prompt_and_runs_call_ended() {
    let f = load(
        r#"
name: h
start: talk
nodes:
  talk:
    play: "long prompt"
    next: talk
  ended:
    disconnect: {}
events:
  call_ended: ended
"#,
    );
    let mut s = Sim::new(f, start("1"));
    let (id, _, _) = s.expect_play();
    s.event(Event::CallerHangup);
    assert_eq!(s.next(), Action::StopPlay { id });
    assert!(
        s.none_pending(),
        "no Disconnect after the caller already left"
    );
    assert!(s.ex.is_finished());
    assert_eq!(s.var_str("hangup_by"), "caller");
}

#[test]
fn loop_guard_stops_a_flow_that_never_waits() {
    let src = r#"
name: loop
start: a
variables:
  n: integer
nodes:
  a:
    set: { n: "{{ n + 1 }}" }
    next: b
  b:
    condition: "true"
    exits: { "true": a, "false": a }
HANDLER
"#;
    // Without an error handler: the call is hung up.
    let mut s = Sim::new(load(&src.replace("HANDLER", "")), start("1"));
    assert!(matches!(s.next(), Action::Disconnect { .. }));
    assert!(s.ex.is_finished());
    let errors = s.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("1000 node transitions"), "{errors:?}");
    assert_eq!(s.var("n"), json!(500));

    // With one: it runs.
    let with = src.replace(
        "HANDLER",
        "  sorry:\n    play: \"error in {{ error_node }}\"\n    next: bye\n  bye:\n    end: {}\nevents:\n  error: sorry",
    );
    let mut s = Sim::new(load(&with), start("1"));
    let said = s.play_through();
    assert!(said.starts_with("error in "), "{said}");
}

#[test]
fn play_failure_is_logged_and_flow_continues() {
    let f = load("name: f\nstart: a\nnodes:\n  a:\n    play: x\n    next: b\n  b:\n    play: y\n    next: c\n  c:\n    end: {}\n");
    let mut s = Sim::new(f, start("1"));
    let (id, _, _) = s.expect_play();
    s.event(Event::PlayFailed {
        id,
        reason: "tts down".into(),
    });
    assert_eq!(s.play_through(), "y");
    assert!(s.errors()[0].contains("tts down"));
}

#[test]
fn start_variables_are_exposed() {
    let f = load(
        r#"
name: v
start: a
variables:
  tenant: { type: string, default: "none" }
nodes:
  a:
    play: "{{ ani }}|{{ dnis }}|{{ call_id }}|{{ started_at }}|{{ headers['x-test'] }}|{{ tenant }}"
    next: b
  b:
    end: {}
"#,
    );
    let mut st = start("+15550100");
    st.extra.insert("tenant".into(), json!("acme"));
    st.extra.insert("ani".into(), json!("spoofed"));
    let mut s = Sim::new(f, st);
    assert_eq!(
        s.play_through(),
        "+15550100|100|call-1|2026-01-01T10:00:00Z|yes|acme"
    );
}

#[test]
fn jayway_style_filters_and_no_terminator() {
    let f = load(
        r##"
name: j
start: ask
variables:
  code: string
nodes:
  ask:
    collect: { max: 3, terminator: none, output: code }
    exits: { ok: call, no_input: call, invalid: call }
  call:
    http:
      connector: c
      path: /x
      outputs: { pick: "$.r[?(@.shared != true)].id" }
    exits: { ok: say, error: say }
  say:
    play: "{{ code }} {{ pick }}"
    next: done
  done:
    end: {}
"##,
    );
    let mut s = Sim::new(f, start("1"));
    for k in ['#', '1', '2'] {
        s.digit(k);
    }
    let (id, _) = s.expect_http();
    s.respond(id, 200, r#"{"r": [{"id": 1, "shared": true}, {"id": 2}]}"#);
    assert_eq!(s.play_through(), "#12 2");
}

#[test]
fn flow_and_executor_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Flow>();
    send::<Executor>();
}

#[test]
fn background_prompt_does_not_wait_and_its_completion_is_ignored() {
    let f = load(
        r#"
name: bg
start: greet
nodes:
  greet:
    play: { text: "Welcome", wait: false }
    next: lookup
  lookup:
    http: { connector: zendesk, method: GET, path: /x }
    exits: { ok: tell, error: tell }
  tell:
    play: "Your ticket is open"
    next: done
  done:
    disconnect: {}
"#,
    );
    let mut s = Sim::new(f, start("1"));
    let (greeting, text, interruptible) = s.expect_play();
    assert_eq!(text, "Welcome");
    assert!(!interruptible, "a background prompt cannot be barged into");
    // The lookup starts while the greeting still plays.
    let (http, _) = s.expect_http();
    s.event(Event::HttpDone {
        id: http,
        outcome: HttpOutcome::Response {
            status: 200,
            headers: vec![],
            body: "{}".into(),
            attempts: 1,
            elapsed: Duration::from_millis(5),
        },
    });
    let (tell, text, _) = s.expect_play();
    assert_eq!(text, "Your ticket is open");
    // The greeting's completion answers nothing; the flow still waits for `tell`.
    s.event(Event::PlayDone { id: greeting });
    assert!(s.none_pending());
    s.event(Event::PlayDone { id: tell });
    assert!(matches!(s.next(), Action::Disconnect { .. }));
}

#[test]
fn queue_max_wait_stops_the_hold_and_runs_its_handler_or_hangs_up() {
    let src = |with_handler: bool| {
        let handler = if with_handler {
            r#"
  sorry:
    play: "All agents are busy. Goodbye."
    next: bye
  bye:
    disconnect: { reason: max_wait }
events:
  queue_max_wait: sorry
"#
        } else {
            ""
        };
        format!(
            r#"
name: mw
start: q
nodes:
  q:
    queue: {{ name: support, priority: 5 }}
    exits: {{ queued: moh }}
  moh:
    music: {{ file: moh.wav, duration: 30s }}
    next: moh
{handler}"#
        )
    };
    let run = |flow: &str| {
        let mut s = Sim::new(load(flow), start("1"));
        let Action::Enqueue { id, .. } = s.next() else {
            panic!()
        };
        s.event(Event::QueueResult {
            id,
            result: QueueResult::Queued,
        });
        let Action::PlayMusic { id: music, .. } = s.next() else {
            panic!()
        };
        s.event(Event::QueueMaxWait);
        assert_eq!(s.next(), Action::StopPlay { id: music });
        s
    };
    // With a handler: it speaks and hangs up.
    let mut s = run(&src(true));
    let (id, text, _) = s.expect_play();
    assert_eq!(text, "All agents are busy. Goodbye.");
    s.event(Event::PlayDone { id });
    assert_eq!(
        s.next(),
        Action::Disconnect {
            reason: "max_wait".into()
        }
    );
    assert!(s.ex.is_finished());
    // Without one: the call ends at once.
    let mut s = run(&src(false));
    assert_eq!(
        s.next(),
        Action::Disconnect {
            reason: "maximum queue wait reached".into()
        }
    );
    assert!(s.ex.is_finished());
    // Not queued: ignored.
    let mut s = Sim::new(load(&src(false)), start("1"));
    let _ = s.next();
    s.event(Event::QueueMaxWait);
    assert!(s.none_pending());
}

#[test]
fn queue_asks_for_templated_skills() {
    let f = load(
        r#"
name: sk
start: q
variables:
  language: { type: string, default: pt-BR }
nodes:
  q:
    queue:
      name: support
      priority: 3
      skills: "{{ 'portuguese' if language == 'pt-BR' else '' }}, billing, "
    exits: { queued: done }
  done:
    end: {}
"#,
    );
    let mut s = Sim::new(f, start("1"));
    match s.next() {
        Action::Enqueue {
            skills, priority, ..
        } => {
            assert_eq!(
                skills,
                vec!["portuguese".to_string(), "billing".to_string()]
            );
            assert_eq!(priority, 3);
        }
        other => panic!("{other:?}"),
    }
}

/// A queue step with a `full` and/or an `error` exit (besides `queued`), an `error`
/// handler when asked.
fn full_queue_flow(full_exit: bool, error_exit: bool, error_handler: bool) -> String {
    let mut exits = String::new();
    let mut nodes = String::new();
    if full_exit {
        exits.push_str(", full: sorry_full");
        nodes.push_str("  sorry_full:\n    play: \"full\"\n    next: done\n");
    }
    if error_exit {
        exits.push_str(", error: failed");
        nodes.push_str("  failed:\n    play: \"failed: {{ error_message }}\"\n    next: done\n");
    }
    let handler = if error_handler {
        "  oops:\n    play: \"handler: {{ error_message }}\"\n    next: done\nevents:\n  error: oops\n"
    } else {
        ""
    };
    format!(
        r#"
name: fq
start: q
nodes:
  q:
    queue: {{ name: support, priority: 5 }}
    exits: {{ queued: wait{exits} }}
  wait:
    music: {{ file: moh.wav }}
    next: done
  done:
    end: {{}}
{nodes}{handler}"#
    )
}

/// Runs `flow` until its Enqueue and answers that the queue (max_calls 2) is full.
fn answer_full(flow: &str) -> Sim {
    let mut s = Sim::new(load(flow), start("1"));
    let Action::Enqueue { id, .. } = s.next() else {
        panic!("expected Enqueue")
    };
    s.event(Event::QueueResult {
        id,
        result: QueueResult::Failed {
            reason: QueueFailure::Full { max_calls: 2 },
        },
    });
    s
}

#[test]
fn a_full_queue_takes_the_full_exit() {
    let flow = full_queue_flow(true, true, false);
    let mut s = answer_full(&flow);
    assert_eq!(s.play_through(), "full");
    assert!(s
        .exits_taken()
        .contains(&("q".to_string(), "full".to_string())));
    assert!(s.errors().is_empty(), "{:?}", s.errors());
    assert!(
        s.log
            .iter()
            .any(|l| matches!(l, LogEntry::Decision { node, text }
            if node == "q" && text == "the queue is full (max_calls = 2)")),
        "{:#?}",
        s.log
    );
    assert_eq!(
        s.var_str("error_message"),
        "",
        "a full queue is not an error"
    );
    // Any other refusal still takes `error`, even with a `full` exit.
    let mut s = Sim::new(load(&flow), start("1"));
    let Action::Enqueue { id, .. } = s.next() else {
        panic!()
    };
    s.event(Event::QueueResult {
        id,
        result: QueueResult::Failed {
            reason: "unknown queue".into(),
        },
    });
    assert_eq!(s.play_through(), "failed: queue failed: unknown queue");
}

#[test]
fn a_full_queue_without_a_full_exit_takes_error_then_the_handler() {
    // `error` exit: error_message says the queue is full.
    let mut s = answer_full(&full_queue_flow(false, true, false));
    assert_eq!(
        s.play_through(),
        "failed: queue failed: the queue is full (max_calls = 2)"
    );
    assert!(s
        .exits_taken()
        .contains(&("q".to_string(), "error".to_string())));
    // No exit for it: the error handler.
    let mut s = answer_full(&full_queue_flow(false, false, true));
    assert_eq!(
        s.play_through(),
        "handler: queue failed: the queue is full (max_calls = 2)"
    );
    // No exit and no handler: the caller is hung up at once (what 1,000 callers met).
    let mut s = answer_full(&full_queue_flow(false, false, false));
    assert!(
        matches!(s.next(), Action::Disconnect { .. }),
        "{:?}",
        s.pending
    );
    assert!(s.ex.is_finished());
}

#[test]
fn the_full_exit_is_allowed_with_every_availability_check() {
    for check in ["off", "logged_in", "available"] {
        let no_agents = if check == "off" {
            ""
        } else {
            ", no_agents: done"
        };
        let f = load(&format!(
            "name: x\nstart: q\nnodes:\n  q:\n    queue: {{ name: s, check: {check} }}\n    exits: {{ queued: done, full: done{no_agents} }}\n  done:\n    end: {{}}\n"
        ));
        assert!(f.warnings().is_empty(), "{check}: {:?}", f.warnings());
    }
}

/// A flow whose call_ended handler looks something up, then posts durably.
fn durable_handler_flow(durable: bool) -> Arc<Flow> {
    load(&format!(
        "name: dh
start: a
variables:
  found: string
nodes:
  a:
    play: hi
    next: done
  look:
    http:
      connector: zendesk
      path: /lookup
      outputs: {{ found: \"$.id\" }}
    exits: {{ ok: post, error: failed }}
  post:
    http:
      connector: zendesk
      method: PUT
      path: \"/things/{{{{ found }}}}\"
      body: note
      durable: true
    exits: {{ ok: done, error: done }}
  failed:
    set: {{ found: failed }}
    next: done
  done:
    end: {{}}
events:
  call_ended: {{ start: look, durable: {durable} }}
"
    ))
}

fn answer(status: u16, body: &str) -> HttpOutcome {
    HttpOutcome::Response {
        status,
        headers: vec![],
        body: body.into(),
        attempts: 1,
        elapsed: Duration::ZERO,
    }
}

fn hung_up_at_lookup(flow: Arc<Flow>) -> (Sim, ActionId) {
    let mut s = Sim::new(flow, start("+15135557611"));
    s.expect_play();
    s.event(Event::CallerHangup);
    assert!(matches!(s.next(), Action::StopPlay { .. }));
    let (id, req) = s.expect_http();
    assert_eq!(req.path, "/lookup");
    (s, id)
}

#[test]
fn a_durable_handler_defers_its_rest_when_the_service_is_unavailable() {
    for outage in [
        answer(503, "down"),
        answer(429, "busy"),
        answer(502, "bad gateway"),
        HttpOutcome::Failed {
            kind: HttpFailureKind::Connect,
            message: "refused".into(),
            attempts: 3,
            elapsed: Duration::ZERO,
        },
        HttpOutcome::Failed {
            kind: HttpFailureKind::Timeout,
            message: "slow".into(),
            attempts: 3,
            elapsed: Duration::ZERO,
        },
    ] {
        let (mut s, id) = hung_up_at_lookup(durable_handler_flow(true));
        s.event(Event::HttpDone {
            id,
            outcome: outage.clone(),
        });
        let resume = match s.next() {
            Action::Defer {
                node,
                request,
                resume,
            } => {
                assert_eq!(node, "look");
                assert_eq!(request.path, "/lookup");
                resume
            }
            other => panic!("expected Defer after {outage:?}, got {other:?}"),
        };
        assert!(s.none_pending(), "{:?}", s.pending);
        assert!(s.ex.is_finished(), "the handler stops at the outage");
        assert!(!s.entered("failed"), "no error exit while deferring");
        assert_eq!(resume.flow, "dh");
        assert_eq!(resume.node, "look");
        assert_eq!(resume.variables["hangup_by"], "caller");
        assert_eq!(resume.variables["ani"], "+15135557611");
        // Kept as text and read back, it is the same rest.
        let text = resume.to_text().unwrap();
        assert_eq!(Resume::from_text(&text).unwrap(), resume);
    }
}

#[test]
fn a_refusal_is_an_answer_and_a_plain_handler_never_defers() {
    // 404 is an answer: the error exit, as always.
    let (mut s, id) = hung_up_at_lookup(durable_handler_flow(true));
    s.respond(id, 404, "no");
    assert!(s.entered("failed"));
    assert!(s.none_pending(), "{:?}", s.pending);
    // Not durable: an outage takes the error exit.
    let (mut s, id) = hung_up_at_lookup(durable_handler_flow(false));
    s.respond(id, 503, "down");
    assert!(s.entered("failed"));
    assert!(s.none_pending(), "{:?}", s.pending);
}

#[test]
fn a_resumed_handler_runs_the_rest_and_defers_again_while_the_outage_lasts() {
    let flow = durable_handler_flow(true);
    let (mut s, id) = hung_up_at_lookup(flow.clone());
    s.respond(id, 503, "down");
    let Action::Defer { resume, .. } = s.next() else {
        panic!("expected Defer")
    };
    let resumed = |s: &Sim| {
        let ex = Executor::resume(flow.clone(), &resume, s.now).unwrap();
        let mut r = Sim {
            ex,
            now: s.now,
            log: Vec::new(),
            pending: Vec::new(),
        };
        r.drain();
        r
    };
    // Still down: deferred again, from the same node.
    let mut r = resumed(&s);
    let (id, req) = r.expect_http();
    assert_eq!(req.path, "/lookup");
    r.respond(id, 500, "still down");
    assert!(matches!(r.next(), Action::Defer { ref node, .. } if node == "look"));
    assert!(r.ex.is_finished());
    // Back: the rest runs to its end, the durable request with what the lookup found.
    let mut r = resumed(&s);
    let (id, _) = r.expect_http();
    r.respond(id, 200, r#"{"id": 77}"#);
    let (id, req) = r.expect_http();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("PUT", "/things/77")
    );
    assert!(req.durable);
    r.event(Event::HttpDone {
        id,
        outcome: HttpOutcome::Deferred,
    });
    assert!(r.none_pending(), "{:?}", r.pending);
    assert!(r.ex.is_finished());
    assert_eq!(r.var_str("hangup_by"), "caller");
}

#[test]
fn a_resume_for_another_flow_or_node_or_too_large_is_refused() {
    let flow = durable_handler_flow(true);
    let mut resume = Resume {
        flow: "other".into(),
        node: "look".into(),
        variables: serde_json::Map::new(),
    };
    let now = Instant::now();
    assert!(matches!(
        Executor::resume(flow.clone(), &resume, now),
        Err(ResumeError::OtherFlow { .. })
    ));
    resume.flow = "dh".into();
    resume.node = "gone".into();
    assert!(matches!(
        Executor::resume(flow.clone(), &resume, now),
        Err(ResumeError::NoSuchNode { .. })
    ));
    resume.variables.insert(
        "big".into(),
        serde_json::Value::String("x".repeat(MAX_RESUME_BYTES)),
    );
    assert_eq!(resume.to_text(), Err(ResumeError::TooLarge));
    assert_eq!(
        Resume::from_text(&"x".repeat(MAX_RESUME_BYTES + 1)),
        Err(ResumeError::TooLarge)
    );
    assert!(matches!(
        Resume::from_text("{\"v\":2}"),
        Err(ResumeError::Invalid(_))
    ));
}
