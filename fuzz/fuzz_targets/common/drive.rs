//! Drives a flow's executor on virtual time for the flow fuzz targets: prompts finish at
//! once, each HTTP request is answered with the next body the target supplies, digits
//! are pressed when nothing else is pending, and time jumps to the next timeout. Bounded
//! in steps, so a flow that loops cannot hang the fuzzer.

use ringdesk_flow::{Action, CallStart, Event, Executor, Flow, HttpOutcome, Segment};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most actions handled per run.
const MAX_STEPS: usize = 300;
/// The keys a byte selects.
const KEYS: &[u8; 12] = b"0123456789*#";

/// A call from `ani` with no extra variables.
pub fn start(ani: &str) -> CallStart {
    CallStart {
        call_id: "fuzz-1".into(),
        ani: ani.into(),
        dnis: "100".into(),
        headers: vec![("X-Fuzz".into(), ani.into())],
        started_at: "2026-01-01T10:00:00Z".into(),
        ..CallStart::default()
    }
}

/// Runs `flow` for a call `start`, answering HTTP requests with `bodies` in turn (then
/// with `{}`), pressing `digits`; calls `heard` with every text prompt rendered.
pub fn run(
    flow: Arc<Flow>,
    start: CallStart,
    bodies: &[&str],
    digits: &[u8],
    mut heard: impl FnMut(&str),
) {
    let mut now = Instant::now();
    let mut ex = Executor::new(flow, start, now);
    let mut bodies = bodies.iter();
    let mut digits = digits.iter();
    for _ in 0..MAX_STEPS {
        if let Some(action) = ex.poll_action() {
            match action {
                Action::Play { id, segments, .. } => {
                    for s in &segments {
                        if let Segment::Tts { text, .. } = s {
                            heard(text);
                        }
                    }
                    ex.handle_event(now, Event::PlayDone { id });
                }
                Action::Http { id, .. } => {
                    let body = bodies.next().copied().unwrap_or("{}");
                    let outcome = HttpOutcome::Response {
                        status: 200,
                        headers: vec![("content-type".into(), "application/json".into())],
                        body: body.to_owned(),
                        attempts: 1,
                        elapsed: Duration::from_millis(5),
                    };
                    ex.handle_event(now, Event::HttpDone { id, outcome });
                }
                _ => {}
            }
            continue;
        }
        if ex.is_finished() {
            return;
        }
        if let Some(d) = digits.next() {
            let key = char::from(KEYS[usize::from(*d) % KEYS.len()]);
            ex.handle_event(now, Event::Digit { key });
            continue;
        }
        match ex.poll_timeout() {
            Some(t) => {
                now = now.max(t);
                ex.handle_timeout(now);
            }
            None => return,
        }
    }
}
