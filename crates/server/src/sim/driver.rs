//! The call simulator's driver: runs one simulated call's [`Session`] (the same call core
//! the SIP runtime drives) on a virtual clock, with real HTTP, a scripted caller and a
//! scripted queue. It holds no rule of its own about the call: only how long a prompt
//! takes to speak (an estimate: nothing is synthesized), what the scripted caller does,
//! and what the scripted queue answers.
//!
//! Virtual time jumps straight to the next thing that happens (a prompt ending, a timer,
//! a scripted wait, an agent answering), so a five-minute call runs in milliseconds; only
//! HTTP requests take real time, and the clock advances by what they really took.

use super::script::Step;
use super::transcript::{Entry, Sink};
use jiff::Timestamp;
use ringdesk_flow::{
    ActionId, AgentRef, AvailabilityCheck, CallStart, Flow, HttpOutcome, HttpRequest, LogEntry,
    QueueFailure, QueueInfo, QueueResult, Segment,
};
use ringdesk_session::{Helpdesk, Input, Output, Session, SessionConfig};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Performs the flow's HTTP requests (the simulator's only real IO).
pub trait HttpPort {
    fn execute(&self, request: &HttpRequest) -> impl Future<Output = HttpOutcome>;
}

/// How the scripted queue behaves.
#[derive(Debug, Clone)]
pub struct QueueScript {
    /// Agents logged in (0 makes availability checks fail).
    pub agents_logged_in: u32,
    /// Agents available right now.
    pub agents_available: u32,
    /// How long after queueing an agent answers (`None`: nobody ever answers).
    pub answer_after: Option<Duration>,
    /// How long the agent talks before hanging up.
    pub talk: Duration,
    /// The queue's maximum wait (`None`: no limit).
    pub max_wait: Option<Duration>,
    /// The queue is at this `max_calls`: every queue request is refused as full.
    pub full: Option<u32>,
    pub agent: AgentRef,
}

impl Default for QueueScript {
    fn default() -> Self {
        QueueScript {
            agents_logged_in: 1,
            agents_available: 1,
            answer_after: Some(Duration::from_secs(20)),
            talk: Duration::from_secs(60),
            max_wait: None,
            full: None,
            agent: AgentRef {
                id: "agent-1".into(),
                name: "Ana Souza".into(),
            },
        }
    }
}

/// Limits that keep a simulation finite.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The caller hangs up after this much virtual time at the latest.
    pub max_call: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_call: Duration::from_secs(3600),
        }
    }
}

/// How one simulated call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub duration: Duration,
    pub finished_reason: String,
}

/// A scheduled queue event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueueStep {
    Offered,
    Answered,
    Disconnected,
    MaxWait,
}

/// A prompt queued to the caller, and when it will have been spoken.
#[derive(Debug, Clone, Copy)]
struct Playing {
    id: ActionId,
    ends_at: Instant,
}

/// How long a prompt takes to speak, estimated (the simulator does not synthesize audio).
pub fn estimate_speech(segments: &[Segment]) -> Duration {
    let mut ms = 0u64;
    for s in segments {
        ms += match s {
            // ~15 characters a second, as espeak-ng speaks at its default rate.
            Segment::Tts { text, .. } => 300 + 66 * text.chars().count() as u64,
            Segment::Audio { .. } => 3000,
        };
    }
    Duration::from_millis(ms.max(200))
}

/// Runs one call to the end and returns how it ended. Every step goes to `sink`.
pub struct Simulator<'a, H: HttpPort, S: Sink> {
    http: &'a H,
    sink: &'a mut S,
    queue: QueueScript,
    limits: Limits,
    start: Instant,
    now: Instant,
    /// `None` once the record has been taken.
    session: Option<Session>,
    script: VecDeque<Step>,
    /// Prompts queued to the caller, in order (each ends after the one before).
    prompts: VecDeque<Playing>,
    queue_steps: VecDeque<(Instant, QueueStep)>,
    /// Outputs taken from the session while time moved on, to carry out in order.
    pending: VecDeque<Output>,
}

impl<'a, H: HttpPort, S: Sink> Simulator<'a, H, S> {
    /// `defer_durable`: durable requests go to the record's outbox items (returned by
    /// [`Self::finish_record`]) instead of out during the call.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        flow: Arc<Flow>,
        call: CallStart,
        helpdesk: Arc<dyn Helpdesk>,
        defer_durable: bool,
        script: VecDeque<Step>,
        queue: QueueScript,
        limits: Limits,
        http: &'a H,
        sink: &'a mut S,
    ) -> Self {
        let start = Instant::now();
        sink.line(
            Duration::ZERO,
            Entry::CallStarted {
                call_id: call.call_id.clone(),
                ani: call.ani.clone(),
                dnis: call.dnis.clone(),
                flow: flow.name().to_string(),
            },
        );
        let wall_start = call.started_at.parse().unwrap_or_else(|_| Timestamp::now());
        let config = SessionConfig { defer_durable };
        let mut session = Session::new(flow, call, helpdesk, config, start, wall_start);
        session.answered(start);
        Simulator {
            http,
            sink,
            queue,
            limits,
            start,
            now: start,
            session: Some(session),
            script,
            prompts: VecDeque::new(),
            queue_steps: VecDeque::new(),
            pending: VecDeque::new(),
        }
    }

    /// The interaction record and outbox items, once the call has run.
    pub fn finish_record(
        &mut self,
    ) -> Option<(ringdesk_store::Interaction, Vec<ringdesk_store::OutboxItem>)> {
        let mut session = self.session.take()?;
        session.end(self.now);
        while session.poll_output().is_some() {}
        Some(session.finish(self.now))
    }

    fn session(&mut self) -> &mut Session {
        self.session
            .as_mut()
            .expect("the session lives until finish_record")
    }

    fn finished(&self) -> bool {
        self.session.as_ref().is_none_or(|s| s.is_finished())
    }

    fn caller_gone(&self) -> bool {
        self.session.as_ref().is_none_or(|s| s.caller_gone())
    }

    fn input(&mut self, input: Input) {
        let now = self.now;
        self.session().handle_input(now, input);
    }

    fn at(&self) -> Duration {
        self.now - self.start
    }

    fn emit(&mut self, entry: Entry) {
        let at = self.at();
        self.sink.line(at, entry);
    }

    /// Runs the call until the flow finishes.
    pub async fn run(&mut self) -> Summary {
        loop {
            self.drain().await;
            if self.finished() {
                break;
            }
            if self.at() >= self.limits.max_call && !self.caller_gone() {
                self.hangup("the simulation's call limit was reached");
                continue;
            }
            // A prompt is playing: the caller listens until it ends (or a timer fires).
            if let Some(p) = self.prompts.front().copied() {
                self.advance_to(p.ends_at);
                continue;
            }
            if self.caller_gone() {
                // Only the flow's own timers (call-ended handlers) can move it on now.
                match self.next_wakeup() {
                    Some(t) => self.advance_to(t),
                    None => {
                        self.emit(Entry::Error {
                            node: "-".into(),
                            message: "the flow waits for nothing that can happen".into(),
                        });
                        break;
                    }
                }
                continue;
            }
            match self.script.pop_front() {
                Some(Step::Key(key)) => {
                    self.emit(Entry::Key { key });
                    self.input(Input::Digit(key));
                }
                Some(Step::Wait(d)) => {
                    self.emit(Entry::Wait {
                        seconds: d.as_secs_f64(),
                    });
                    let target = self.now + d;
                    while self.now < target && !self.finished() {
                        let next = self.next_wakeup().map_or(target, |t| t.min(target));
                        self.advance_to(next);
                        self.drain().await;
                    }
                }
                Some(Step::Hangup) => self.hangup("as scripted"),
                None => match self.next_wakeup() {
                    Some(t) => self.advance_to(t),
                    None => self.hangup("nothing more to hear"),
                },
            }
        }
        Summary {
            duration: self.at(),
            finished_reason: "finished".to_string(),
        }
    }

    fn hangup(&mut self, reason: &str) {
        if self.caller_gone() {
            return;
        }
        self.queue_steps.clear();
        self.emit(Entry::CallerHangup {
            reason: reason.to_string(),
        });
        self.input(Input::CallerHangup);
    }

    /// The earliest moment something happens without the caller doing anything.
    fn next_wakeup(&self) -> Option<Instant> {
        [
            self.session.as_ref().and_then(|s| s.poll_timeout()),
            self.prompts.front().map(|p| p.ends_at),
            self.queue_steps.front().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Moves virtual time to `target`, delivering everything due on the way, in order.
    fn advance_to(&mut self, target: Instant) {
        loop {
            let next = match self.next_wakeup() {
                Some(t) if t <= target => t,
                _ => break,
            };
            if next > self.now {
                self.now = next;
            }
            self.fire_due();
            if self.finished() {
                return;
            }
        }
        if target > self.now {
            self.now = target;
        }
    }

    /// Delivers whatever is due at `self.now`. The session's outputs wait for
    /// [`Self::drain`], except stops (a stopped prompt must not end later).
    fn fire_due(&mut self) {
        let now = self.now;
        if self
            .session
            .as_ref()
            .and_then(|s| s.poll_timeout())
            .is_some_and(|t| t <= now)
        {
            self.session().handle_timeout(now);
            self.take_stops();
        }
        while let Some(p) = self.prompts.front().copied().filter(|p| p.ends_at <= now) {
            self.prompts.pop_front();
            self.input(Input::PlayDone(p.id));
            self.take_stops();
        }
        while self.queue_steps.front().is_some_and(|(t, _)| *t <= now) {
            let Some((_, step)) = self.queue_steps.pop_front() else {
                break;
            };
            self.queue_step(step);
            self.take_stops();
        }
    }

    /// Takes the session's outputs for [`Self::drain`], applying stops at once: a prompt
    /// stopped now must not be heard ending later.
    fn take_stops(&mut self) {
        while let Some(out) = self.session.as_mut().and_then(|s| s.poll_output()) {
            if matches!(out, Output::Stop { .. }) {
                self.prompts.clear();
            }
            self.pending.push_back(out);
        }
    }

    fn queue_step(&mut self, step: QueueStep) {
        if step == QueueStep::MaxWait {
            self.emit(Entry::Decision {
                node: "queue".into(),
                text: "the queue's maximum wait has passed".into(),
            });
            return self.input(Input::MaxWait);
        }
        let agent = self.queue.agent.clone();
        let (what, input) = match step {
            QueueStep::MaxWait | QueueStep::Offered => {
                ("is offered the call", Input::AgentOffered(agent.clone()))
            }
            QueueStep::Answered => ("answers", Input::AgentAnswered(agent.clone())),
            QueueStep::Disconnected => ("hangs up", Input::AgentHangup),
        };
        self.emit(Entry::Agent {
            what: what.into(),
            agent_id: agent.id.clone(),
            agent_name: agent.name.clone(),
        });
        self.input(input);
        if step == QueueStep::Disconnected {
            // The conversation is over: the call ends for the caller too.
            self.hangup("after talking to the agent");
        }
    }
}

impl<H: HttpPort, S: Sink> Simulator<'_, H, S> {
    /// Carries out every output, in order, feeding answers back.
    async fn drain(&mut self) {
        loop {
            let out = match self.pending.pop_front() {
                Some(out) => out,
                None => match self.session.as_mut().and_then(|s| s.poll_output()) {
                    Some(out) => out,
                    None => return,
                },
            };
            self.perform(out).await;
        }
    }

    async fn perform(&mut self, out: Output) {
        match out {
            Output::Play {
                id,
                node,
                segments,
                interruptible,
            } => {
                let len = estimate_speech(&segments);
                let language = segments.iter().find_map(|s| match s {
                    Segment::Tts { language, .. } => Some(language.clone()),
                    Segment::Audio { .. } => None,
                });
                let text = segments
                    .iter()
                    .map(|s| match s {
                        Segment::Tts { text, .. } => text.clone(),
                        Segment::Audio { file } => format!("<audio {file}>"),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                self.emit(Entry::Play {
                    node,
                    language,
                    text,
                    interruptible,
                    seconds: len.as_secs_f64(),
                });
                // Queued behind what is already playing.
                let from = self
                    .prompts
                    .back()
                    .map_or(self.now, |p| p.ends_at)
                    .max(self.now);
                self.prompts.push_back(Playing {
                    id,
                    ends_at: from + len,
                });
            }
            Output::Stop { barge_in } => {
                self.prompts.clear();
                if barge_in {
                    self.emit(Entry::PlayStopped {
                        reason: "barge-in".into(),
                    });
                }
            }
            Output::Music {
                node,
                file,
                duration,
                ..
            } => self.emit(Entry::Music {
                node,
                file,
                seconds: duration.map(|d| d.as_secs_f64()),
            }),
            Output::Http { id, node, request } => {
                let began = Instant::now();
                let outcome = self.http.execute(&request).await;
                let took = began.elapsed();
                self.now += took;
                self.emit_http(node, &request, &outcome, took);
                self.input(Input::HttpDone { id, outcome });
            }
            Output::Deferred { node, request } => {
                self.emit_http(node, &request, &HttpOutcome::Deferred, Duration::ZERO)
            }
            Output::Enqueue {
                id,
                node,
                queue,
                priority,
                availability,
                ..
            } => {
                let result = self.enqueue(availability);
                let text = match &result {
                    QueueResult::Queued => "queued".to_string(),
                    QueueResult::NoAgents {
                        logged_in,
                        available,
                    } => format!("no agents ({logged_in} logged in, {available} available)"),
                    QueueResult::Failed { reason } => format!("failed: {reason}"),
                };
                self.emit(Entry::Queue {
                    node,
                    queue,
                    priority,
                    result: text,
                });
                self.input(Input::QueueResult { id, result });
            }
            Output::QueueInfo { id, node, .. } => {
                let q = &self.queue;
                let info = QueueInfo {
                    position: Some(1),
                    estimated_wait: q.answer_after,
                    agents_logged_in: q.agents_logged_in,
                    agents_available: q.agents_available,
                    calls_queued: 1,
                    oldest_wait: Some(Duration::ZERO),
                };
                self.emit(Entry::QueueInfo {
                    node,
                    position: info.position,
                    estimated_wait_seconds: info.estimated_wait.map(|d| d.as_secs_f64()),
                    agents_available: info.agents_available,
                });
                self.input(Input::QueueInfo { id, info });
            }
            // The scripted agent is heard from `Bridge` on; no media to connect.
            Output::Bridge { .. } | Output::Unbridge { .. } => {}
            Output::LeaveQueue { .. } => self.queue_steps.clear(),
            Output::Disconnect { reason, .. } => {
                self.emit(Entry::Disconnect { reason });
                self.queue_steps.clear();
            }
            Output::Log(entry) => self.log(entry),
        }
    }

    /// The scripted queue's answer to a queue request; schedules its agent's steps.
    fn enqueue(&mut self, availability: AvailabilityCheck) -> QueueResult {
        let q = &self.queue;
        // As the routing core does: a full queue refuses before any availability check.
        if let Some(max_calls) = q.full {
            return QueueResult::Failed {
                reason: QueueFailure::Full { max_calls },
            };
        }
        let refused = match availability {
            AvailabilityCheck::Off => false,
            AvailabilityCheck::LoggedIn => q.agents_logged_in == 0,
            AvailabilityCheck::Available => q.agents_available == 0,
        };
        if refused {
            return QueueResult::NoAgents {
                logged_in: q.agents_logged_in,
                available: q.agents_available,
            };
        }
        if !self.caller_gone() {
            let max_wait = q.max_wait;
            let answered_in_time = match (q.answer_after, max_wait) {
                (Some(a), Some(m)) => a < m,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if let (Some(m), false) = (max_wait, answered_in_time) {
                self.queue_steps
                    .push_back((self.now + m, QueueStep::MaxWait));
            }
            if let (Some(after), true) = (self.queue.answer_after, answered_in_time) {
                let offered = self.now + after;
                self.queue_steps.push_back((offered, QueueStep::Offered));
                self.queue_steps.push_back((offered, QueueStep::Answered));
                self.queue_steps
                    .push_back((offered + self.queue.talk, QueueStep::Disconnected));
            }
        }
        QueueResult::Queued
    }

    fn emit_http(
        &mut self,
        node: String,
        request: &HttpRequest,
        outcome: &HttpOutcome,
        took: Duration,
    ) {
        let (status, error, attempts) = match outcome {
            HttpOutcome::Response {
                status, attempts, ..
            } => (Some(*status), None, *attempts),
            HttpOutcome::Failed {
                message, attempts, ..
            } => (None, Some(message.clone()), *attempts),
            HttpOutcome::Deferred => (None, None, 0),
        };
        self.emit(Entry::Http {
            node,
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            status,
            error,
            duration_ms: took.as_millis() as u64,
            attempts,
            durable: request.durable,
        });
    }

    fn log(&mut self, entry: LogEntry) {
        let e = match entry {
            LogEntry::NodeEntered { node, activity } => Entry::Node { node, activity },
            LogEntry::ExitTaken { node, exit, target } => Entry::Exit { node, exit, target },
            LogEntry::VariableSet { name, value } => Entry::Variable { name, value },
            LogEntry::Decision { node, text } => Entry::Decision { node, text },
            LogEntry::Error { node, message } => Entry::Error { node, message },
            LogEntry::HandlerStarted { event } => Entry::Handler { event },
            LogEntry::Finished { reason } => Entry::Finished { reason },
        };
        self.emit(e);
    }
}
