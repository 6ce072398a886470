//! The call session on virtual time: what a caller hears and where the call is, from
//! inputs alone (no ports, no sleeps).

use ringdesk_flow::{load_str, ActionId, AgentRef, CallStart, Flow, HttpOutcome, QueueResult};
use ringdesk_session::{CheckRequest, Helpdesk, Input, Output, Party, Session, SessionConfig};
use ringdesk_store::EndReason;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FLOW: &str = r#"
name: t
start: greet
variables:
  ticket_id: { type: string, default: "42" }
  user_name: { type: string, default: "Ana" }
nodes:
  greet:
    play: "Hello"
    next: menu
  menu:
    menu:
      prompt: "Press 1 for an agent, 2 to hang up."
      timeout: 5s
      retries: 1
    exits: { "1": agent, "2": bye, exhausted: bye }
  agent:
    queue: { name: support, priority: 3 }
    exits: { queued: hold, error: bye }
  hold:
    music: { file: moh.wav, duration: 30s }
    next: hold
  bye:
    disconnect: { reason: "caller chose to hang up" }
  note:
    http:
      connector: crm
      method: put
      path: "/tickets/{{ ticket_id }}"
      body: "called"
      durable: true
    exits: { ok: done, error: done }
  done:
    end: {}
events:
  call_ended: note
"#;

/// Marks bodies and orders by `/tickets/<n>`, links tickets under `https://desk`.
#[derive(Debug)]
struct Desk;

impl Helpdesk for Desk {
    fn name(&self) -> &str {
        "desk"
    }
    fn start_variables(&self) -> Vec<(String, serde_json::Value)> {
        vec![]
    }
    fn ticket_url(&self, id: &str) -> Option<String> {
        Some(format!("https://desk/t/{id}"))
    }
    fn ticket_of_path<'a>(&self, path: &'a str) -> Option<&'a str> {
        path.strip_prefix("/tickets/")
    }
    fn mark_body(&self, body: &str, marker: &str) -> String {
        format!("{body} [{marker}]")
    }
    fn delivered_check(&self, _: &str) -> Option<CheckRequest> {
        None
    }
    fn found(&self, _: &str, _: &str) -> Result<bool, String> {
        Ok(false)
    }
}

fn flow() -> Arc<Flow> {
    Arc::new(load_str(FLOW, "t.yaml").expect("test flow loads"))
}

fn start() -> CallStart {
    CallStart {
        call_id: "c1".into(),
        ani: "+5511987650101".into(),
        dnis: "support".into(),
        headers: vec![],
        started_at: "2026-12-07T10:00:00Z".into(),
        extra: BTreeMap::new(),
    }
}

fn agent() -> AgentRef {
    AgentRef {
        id: "ana".into(),
        name: "Ana Souza".into(),
    }
}

/// A session on a virtual clock with its outputs (logs dropped).
struct T {
    s: Session,
    now: Instant,
}

impl T {
    fn new(config: SessionConfig) -> T {
        let now = Instant::now();
        let wall = "2026-12-07T10:00:00Z".parse().unwrap();
        let mut s = Session::new(flow(), start(), Arc::new(Desk), config, now, wall);
        s.answered(now);
        T { s, now }
    }

    fn outs(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.s.poll_output())
            .filter(|o| !matches!(o, Output::Log(_)))
            .collect()
    }

    fn input(&mut self, i: Input) -> Vec<Output> {
        self.s.handle_input(self.now, i);
        self.outs()
    }

    fn advance(&mut self, d: Duration) -> Vec<Output> {
        self.now += d;
        self.s.handle_timeout(self.now);
        self.outs()
    }

    /// The id of the one Play among `outs`.
    fn play_id(outs: &[Output]) -> ActionId {
        let ids: Vec<_> = outs
            .iter()
            .filter_map(|o| match o {
                Output::Play { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(ids.len(), 1, "one prompt in {outs:?}");
        ids[0]
    }

    /// Greeting played, menu prompt played, `1` pressed: the queue request.
    fn press_1_for_the_queue(&mut self) -> (ActionId, Output) {
        let greet = T::play_id(&self.outs());
        let menu = T::play_id(&self.input(Input::PlayDone(greet)));
        self.input(Input::PlayDone(menu));
        let outs = self.input(Input::Digit('1'));
        let q = outs
            .into_iter()
            .find(|o| matches!(o, Output::Enqueue { .. }))
            .expect("queued after 1");
        let Output::Enqueue { id, .. } = &q else {
            unreachable!()
        };
        (*id, q)
    }

    /// Queued and on hold: the music's action id.
    fn on_hold(&mut self) -> ActionId {
        let (id, _) = self.press_1_for_the_queue();
        let outs = self.input(Input::QueueResult {
            id,
            result: QueueResult::Queued,
        });
        match outs.as_slice() {
            [Output::Music { id, duration, .. }] => {
                assert_eq!(*duration, Some(Duration::from_secs(30)));
                *id
            }
            other => panic!("expected music, got {other:?}"),
        }
    }
}

#[test]
fn the_queue_request_carries_the_screen_pop_from_the_helpdesk() {
    let mut t = T::new(SessionConfig::default());
    let (_, q) = t.press_1_for_the_queue();
    let Output::Enqueue {
        queue,
        priority,
        pop,
        ..
    } = q
    else {
        unreachable!()
    };
    assert_eq!((queue.as_str(), priority), ("support", 3));
    assert_eq!(pop.ticket_id, "42");
    assert_eq!(pop.caller_name, "Ana");
    assert_eq!(pop.ani, "+5511987650101");
    assert_eq!(pop.ticket_url, "https://desk/t/42");
}

#[test]
fn music_ends_when_its_duration_is_over_and_starts_again() {
    let mut t = T::new(SessionConfig::default());
    let music = t.on_hold();
    assert_eq!(t.s.poll_timeout(), Some(t.now + Duration::from_secs(30)));
    assert!(t.advance(Duration::from_secs(29)).is_empty());
    let outs = t.advance(Duration::from_secs(1));
    assert_eq!(outs[0], Output::Stop { barge_in: false });
    let Output::Music { id, .. } = &outs[1] else {
        panic!("music again: {outs:?}")
    };
    assert_ne!(*id, music);
}

#[test]
fn a_caller_who_hangs_up_while_queued_leaves_the_queue_and_the_note_is_deferred() {
    let mut t = T::new(SessionConfig::default());
    t.on_hold();
    let outs = t.input(Input::CallerHangup);
    assert_eq!(outs[0], Output::Stop { barge_in: false });
    assert_eq!(outs[1], Output::LeaveQueue { by: Party::Caller });
    assert!(
        matches!(&outs[2], Output::Deferred { request, .. } if request.path == "/tickets/42"),
        "{outs:?}"
    );
    assert!(t.s.is_finished());
    let (rec, items) = t.s.finish(t.now);
    assert_eq!(rec.end_reason, Some(EndReason::Caller));
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].ordering_key, "ticket:42");
    assert_eq!(items[0].body.as_deref(), Some("called [c1-1]"));
}

#[test]
fn without_deferral_the_durable_request_goes_out_and_waits_for_its_answer() {
    let mut t = T::new(SessionConfig {
        defer_durable: false,
    });
    t.on_hold();
    let outs = t.input(Input::CallerHangup);
    let Some(Output::Http { id, .. }) = outs.last().cloned() else {
        panic!("{outs:?}")
    };
    assert!(!t.s.is_finished());
    t.input(Input::HttpDone {
        id,
        outcome: HttpOutcome::Failed {
            kind: ringdesk_flow::HttpFailureKind::Connect,
            message: "down".into(),
            attempts: 1,
            elapsed: Duration::ZERO,
        },
    });
    assert!(t.s.is_finished());
    assert!(t.s.finish(t.now).1.is_empty());
}

#[test]
fn an_answering_agent_stops_the_music_and_is_bridged_then_the_caller_hangs_up() {
    let mut t = T::new(SessionConfig::default());
    t.on_hold();
    assert!(t.input(Input::AgentOffered(agent())).is_empty());
    let outs = t.input(Input::AgentAnswered(agent()));
    assert_eq!(
        outs,
        vec![
            Output::Stop { barge_in: false },
            Output::Bridge { agent: agent() }
        ]
    );
    // The music's duration no longer matters.
    assert_eq!(t.s.poll_timeout(), None);
    let outs = t.input(Input::CallerHangup);
    assert_eq!(
        outs[..2],
        [
            Output::Unbridge {
                hang_up_agent: true
            },
            Output::LeaveQueue { by: Party::Caller }
        ]
    );
    let (rec, _) = t.s.finish(t.now);
    assert_eq!(rec.agent_id.as_deref(), Some("ana"));
}

#[test]
fn the_agent_hanging_up_ends_the_bridge_without_a_bye_to_the_agent() {
    let mut t = T::new(SessionConfig::default());
    t.on_hold();
    t.input(Input::AgentAnswered(agent()));
    let outs = t.input(Input::AgentHangup);
    assert_eq!(
        outs[..2],
        [
            Output::Unbridge {
                hang_up_agent: false
            },
            Output::LeaveQueue { by: Party::Agent }
        ]
    );
    // Nobody left but the caller: the executor hangs up, with a BYE.
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Disconnect { send_bye: true, .. })),
        "{outs:?}"
    );
    // A second hang-up report changes nothing.
    assert!(t.input(Input::AgentHangup).is_empty());
    let (rec, _) = t.s.finish(t.now);
    assert_eq!(rec.end_reason, Some(EndReason::Agent));
}

#[test]
fn a_failed_bridge_tells_the_flow_the_agent_left() {
    let mut t = T::new(SessionConfig::default());
    t.on_hold();
    t.input(Input::AgentAnswered(agent()));
    let outs = t.input(Input::BridgeFailed {
        reason: "no socket".into(),
    });
    assert_eq!(
        outs[..2],
        [
            Output::Unbridge {
                hang_up_agent: true
            },
            Output::LeaveQueue { by: Party::System }
        ]
    );
}

#[test]
fn an_agent_answering_after_the_caller_left_is_hung_up() {
    let mut t = T::new(SessionConfig::default());
    t.on_hold();
    t.input(Input::CallerHangup);
    assert_eq!(
        t.input(Input::AgentAnswered(agent())),
        vec![Output::Unbridge {
            hang_up_agent: true
        }]
    );
}

#[test]
fn a_key_during_the_menu_prompt_stops_it_and_its_late_end_is_ignored() {
    let mut t = T::new(SessionConfig::default());
    let greet = T::play_id(&t.outs());
    let menu = T::play_id(&t.input(Input::PlayDone(greet)));
    let outs = t.input(Input::Digit('2'));
    assert_eq!(outs[0], Output::Stop { barge_in: true }, "{outs:?}");
    assert!(matches!(
        &outs[1],
        Output::Disconnect { send_bye: true, reason } if reason == "caller chose to hang up"
    ));
    // The media reports the stopped prompt anyway: nothing happens.
    assert!(t.input(Input::PlayDone(menu)).is_empty());
    // The caller is gone: the flow's BYE is not sent twice, a hang-up report is ignored.
    assert!(t.s.caller_gone());
    assert!(t.input(Input::CallerHangup).is_empty());
}

#[test]
fn the_record_times_follow_the_virtual_clock() {
    let mut t = T::new(SessionConfig::default());
    t.on_hold();
    t.advance(Duration::from_secs(12));
    t.input(Input::AgentAnswered(agent()));
    let (rec, _) = t.s.finish(t.now);
    assert_eq!(
        rec.agent_answered_at.map(|a| a.to_string()).as_deref(),
        Some("2026-12-07T10:00:12Z")
    );
}

/// A durable call_ended handler: look the ticket up, then post durably.
const DURABLE_FLOW: &str = r#"
name: d
start: greet
variables:
  ticket_id: string
nodes:
  greet:
    play: "Hello"
    next: greet
  look:
    http:
      connector: crm
      path: /search
      outputs: { ticket_id: "$.id" }
    exits: { ok: note, error: done }
  note:
    http:
      connector: crm
      method: put
      path: "/tickets/{{ ticket_id }}"
      body: "called"
      durable: true
    exits: { ok: done, error: done }
  done:
    end: {}
events:
  call_ended: { start: look, durable: true }
"#;

fn durable_flow() -> Arc<Flow> {
    Arc::new(load_str(DURABLE_FLOW, "d.yaml").expect("test flow loads"))
}

fn down() -> HttpOutcome {
    HttpOutcome::Failed {
        kind: ringdesk_flow::HttpFailureKind::Connect,
        message: "refused".into(),
        attempts: 1,
        elapsed: Duration::ZERO,
    }
}

/// The rest of `session`, run to its end with `answer` for its one live request.
fn run_rest(mut s: Session, now: Instant, answer: HttpOutcome) -> Vec<ringdesk_store::OutboxItem> {
    let outs: Vec<Output> = std::iter::from_fn(|| s.poll_output()).collect();
    let id = outs
        .iter()
        .find_map(|o| match o {
            Output::Http { id, request, .. } if request.path == "/search" => Some(*id),
            _ => None,
        })
        .expect("the lookup goes out now");
    s.handle_input(
        now,
        Input::HttpDone {
            id,
            outcome: answer,
        },
    );
    while s.poll_output().is_some() {}
    assert!(s.is_finished());
    s.finish(now).1
}

#[test]
fn an_outage_in_a_durable_handler_keeps_its_rest_in_the_outbox_and_the_rest_resumes() {
    let now = Instant::now();
    let wall = "2026-12-07T10:00:00Z".parse().unwrap();
    let mut s = Session::new(
        durable_flow(),
        start(),
        Arc::new(Desk),
        SessionConfig::default(),
        now,
        wall,
    );
    s.handle_input(now, Input::CallerHangup);
    let items = run_rest(s, now, down());
    assert_eq!(items.len(), 1, "{items:?}");
    let kept = &items[0];
    assert_eq!(kept.ordering_key, "call:c1");
    assert_eq!(kept.marker.as_deref(), Some("c1-1"));
    assert_eq!(
        (kept.method.as_str(), kept.path.as_str()),
        ("GET", "/search")
    );
    let resume = ringdesk_flow::Resume::from_text(kept.resume.as_deref().unwrap()).unwrap();
    assert_eq!(resume.node, "look");

    let resumed = |answer| {
        let s = Session::resume(
            durable_flow(),
            &resume,
            "c1",
            "c1-1",
            Arc::new(Desk),
            now,
            wall,
        )
        .expect("resumes");
        assert!(s.caller_gone());
        run_rest(s, now, answer)
    };
    // Still down: the run keeps a rest again (the worker retries the item itself).
    let again = resumed(down());
    assert!(again.iter().all(|i| i.resume.is_some()), "{again:?}");
    // Back: the note, marked below the item's marker, ordered by its ticket; the same
    // markers each time the same run is repeated.
    let ok = HttpOutcome::Response {
        status: 200,
        headers: vec![],
        body: r#"{"id": 7}"#.into(),
        attempts: 1,
        elapsed: Duration::ZERO,
    };
    let items = resumed(ok.clone());
    assert_eq!(items, resumed(ok));
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].resume, None);
    assert_eq!(items[0].ordering_key, "ticket:7");
    assert_eq!(items[0].marker.as_deref(), Some("c1-1-1"));
    assert_eq!(items[0].body.as_deref(), Some("called [c1-1-1]"));
}

#[test]
fn the_flow_defers_on_exactly_what_the_outbox_retries() {
    use ringdesk_store::{classify_status, StatusClass};
    for status in 100..=999u16 {
        let outcome = HttpOutcome::Response {
            status,
            headers: vec![],
            body: String::new(),
            attempts: 1,
            elapsed: Duration::ZERO,
        };
        let retried = matches!(
            classify_status(status),
            StatusClass::Retry | StatusClass::RetryUncertain
        );
        assert_eq!(outcome.is_unavailable(), retried, "status {status}");
    }
}
