//! Test harness: drives an Executor on virtual time and records what it asks for.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringdesk_flow::*;

pub fn load(src: &str) -> Arc<Flow> {
    match load_str(src, "test.yaml") {
        Ok(f) => Arc::new(f),
        Err(e) => panic!("flow did not load:\n{e}"),
    }
}

pub fn default_flow() -> Arc<Flow> {
    let text = include_str!("../../../../flows/zendesk-ticket-status.yaml");
    match load_str(text, "flows/zendesk-ticket-status.yaml") {
        Ok(f) => Arc::new(f),
        Err(e) => panic!("default flow did not load:\n{e}"),
    }
}

pub fn start(ani: &str) -> CallStart {
    CallStart {
        call_id: "call-1".into(),
        ani: ani.into(),
        dnis: "100".into(),
        headers: vec![("X-Test".into(), "yes".into())],
        started_at: "2026-01-01T10:00:00Z".into(),
        extra: BTreeMap::new(),
    }
}

/// A call on virtual time.
pub struct Sim {
    pub ex: Executor,
    pub now: Instant,
    pub log: Vec<LogEntry>,
    pub pending: Vec<Action>,
}

impl Sim {
    pub fn new(flow: Arc<Flow>, start: CallStart) -> Sim {
        let now = Instant::now();
        let ex = Executor::new(flow, start, now);
        let mut s = Sim {
            ex,
            now,
            log: Vec::new(),
            pending: Vec::new(),
        };
        s.drain();
        s
    }

    /// Moves non-log actions into `pending`, logs into `log`.
    pub fn drain(&mut self) {
        while let Some(a) = self.ex.poll_action() {
            match a {
                Action::Log(l) => self.log.push(l),
                other => self.pending.push(other),
            }
        }
    }

    pub fn event(&mut self, e: Event) {
        self.ex.handle_event(self.now, e);
        self.drain();
    }

    /// Advances virtual time by `d`, firing timeouts that fall due.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(t) = self.ex.poll_timeout() {
            if t > target {
                break;
            }
            self.now = t;
            self.ex.handle_timeout(t);
            self.drain();
        }
        self.now = target;
    }

    /// Takes the next pending action (panics when there is none).
    pub fn next(&mut self) -> Action {
        assert!(
            !self.pending.is_empty(),
            "no pending action; log: {:#?}",
            self.log
        );
        self.pending.remove(0)
    }

    pub fn none_pending(&self) -> bool {
        self.pending.is_empty()
    }

    /// Expects a Play; returns its id and the spoken texts joined.
    pub fn expect_play(&mut self) -> (ActionId, String, bool) {
        match self.next() {
            Action::Play {
                id,
                segments,
                interruptible,
                ..
            } => (id, texts(&segments), interruptible),
            other => panic!("expected Play, got {other:?}"),
        }
    }

    /// Expects a Play and answers it PlayDone; returns the text.
    pub fn play_through(&mut self) -> String {
        let (id, text, _) = self.expect_play();
        self.event(Event::PlayDone { id });
        text
    }

    pub fn expect_http(&mut self) -> (ActionId, HttpRequest) {
        match self.next() {
            Action::Http { id, request, .. } => (id, request),
            other => panic!("expected Http, got {other:?}"),
        }
    }

    pub fn respond(&mut self, id: ActionId, status: u16, body: &str) {
        self.event(Event::HttpDone {
            id,
            outcome: HttpOutcome::Response {
                status,
                headers: vec![],
                body: body.into(),
                attempts: 1,
                elapsed: Duration::from_millis(20),
            },
        });
    }

    pub fn digit(&mut self, key: char) {
        self.event(Event::Digit { key });
    }

    pub fn var(&self, name: &str) -> serde_json::Value {
        self.ex
            .variables()
            .get(name)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }

    pub fn var_str(&self, name: &str) -> String {
        match self.var(name) {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }
    }

    pub fn exits_taken(&self) -> Vec<(String, String)> {
        self.log
            .iter()
            .filter_map(|l| match l {
                LogEntry::ExitTaken { node, exit, .. } => Some((node.clone(), exit.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn entered(&self, node: &str) -> bool {
        self.log
            .iter()
            .any(|l| matches!(l, LogEntry::NodeEntered { node: n, .. } if n == node))
    }

    pub fn errors(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|l| match l {
                LogEntry::Error { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }
}

pub fn texts(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Tts { text, .. } => text.clone(),
            Segment::Audio { file } => format!("<{file}>"),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
