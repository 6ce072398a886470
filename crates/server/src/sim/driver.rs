//! The call simulator's driver: runs the flow executor for one simulated caller on a
//! virtual clock, with real HTTP, a scripted caller and a scripted queue.
//!
//! Virtual time jumps straight to the next thing that happens (a prompt ending, a timer,
//! a scripted wait, an agent answering), so a five-minute call runs in milliseconds; only
//! HTTP requests take real time, and the clock advances by what they really took.

use super::script::Step;
use super::transcript::{Entry, Sink};
use crate::runtime::record::CallRecorder;
use jiff::Timestamp;
use ringdesk_flow::{
    Action, ActionId, AgentRef, AvailabilityCheck, CallStart, Event, Executor, Flow, HttpOutcome,
    HttpRequest, LogEntry, QueueInfo, QueueResult, Segment,
};
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

/// What is playing to the caller.
#[derive(Debug, Clone, Copy)]
struct Playing {
    id: ActionId,
    /// `None` for music without a duration.
    ends_at: Option<Instant>,
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
    ex: Executor,
    script: VecDeque<Step>,
    /// Prompts queued to the caller, in order (each ends after the one before).
    prompts: VecDeque<Playing>,
    music: Option<Playing>,
    queue_steps: VecDeque<(Instant, QueueStep)>,
    caller_gone: bool,
    recorder: Option<CallRecorder>,
    /// Durable requests go to the recorder's outbox items instead of out at once.
    defer_durable: bool,
    wall_start: Timestamp,
}

impl<'a, H: HttpPort, S: Sink> Simulator<'a, H, S> {
    pub fn new(
        flow: Arc<Flow>,
        call: CallStart,
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
        let mut recorder = CallRecorder::new(&call.call_id, &call.ani, &call.dnis, wall_start);
        recorder.answered(wall_start);
        let ex = Executor::new(flow, call, start);
        Simulator {
            http,
            sink,
            queue,
            limits,
            start,
            now: start,
            ex,
            script,
            prompts: VecDeque::new(),
            music: None,
            queue_steps: VecDeque::new(),
            caller_gone: false,
            recorder: Some(recorder),
            defer_durable: false,
            wall_start,
        }
    }

    /// Sends durable HTTP requests to the outbox (returned by [`Self::finish_record`])
    /// instead of performing them during the call.
    pub fn defer_durable(mut self, yes: bool) -> Self {
        self.defer_durable = yes;
        self
    }

    fn wall_now(&self) -> Timestamp {
        let d = jiff::SignedDuration::try_from(self.at()).unwrap_or_default();
        self.wall_start.checked_add(d).unwrap_or(self.wall_start)
    }

    /// Feeds an event to the executor (and the record).
    fn feed(&mut self, event: Event) {
        let at = self.wall_now();
        if let Some(r) = self.recorder.as_mut() {
            r.on_event(&event, at);
        }
        self.ex.handle_event(self.now, event);
    }

    /// The interaction record and outbox items, once the call has run.
    pub fn finish_record(
        &mut self,
    ) -> Option<(ringdesk_store::Interaction, Vec<ringdesk_store::OutboxItem>)> {
        let at = self.wall_now();
        self.recorder.take().map(|r| r.finish(at))
    }

    fn at(&self) -> Duration {
        self.now - self.start
    }

    fn emit(&mut self, entry: Entry) {
        let at = self.at();
        self.sink.line(at, entry);
    }

    /// Runs the call until the executor finishes.
    pub async fn run(&mut self) -> Summary {
        loop {
            self.drain().await;
            if self.ex.is_finished() {
                break;
            }
            if self.at() >= self.limits.max_call && !self.caller_gone {
                self.hangup("the simulation's call limit was reached");
                continue;
            }
            // A prompt is playing: the caller listens until it ends (or a timer fires).
            if let Some(Playing {
                ends_at: Some(end), ..
            }) = self.prompts.front().copied()
            {
                self.advance_to(end);
                continue;
            }
            if self.caller_gone {
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
                    self.feed(Event::Digit { key });
                }
                Some(Step::Wait(d)) => {
                    self.emit(Entry::Wait {
                        seconds: d.as_secs_f64(),
                    });
                    let target = self.now + d;
                    while self.now < target && !self.ex.is_finished() {
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
        let finished_reason = "finished".to_string();
        Summary {
            duration: self.at(),
            finished_reason,
        }
    }

    fn hangup(&mut self, reason: &str) {
        if self.caller_gone {
            return;
        }
        self.caller_gone = true;
        self.prompts.clear();
        self.music = None;
        self.queue_steps.clear();
        self.emit(Entry::CallerHangup {
            reason: reason.to_string(),
        });
        self.feed(Event::CallerHangup);
    }

    /// The earliest moment something happens without the caller doing anything.
    fn next_wakeup(&self) -> Option<Instant> {
        [
            self.ex.poll_timeout(),
            self.prompts.front().and_then(|p| p.ends_at),
            self.music.and_then(|p| p.ends_at),
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
            if self.ex.is_finished() {
                return;
            }
        }
        if target > self.now {
            self.now = target;
        }
    }

    /// Delivers whatever is due at `self.now`.
    fn fire_due(&mut self) {
        let now = self.now;
        if self.ex.poll_timeout().is_some_and(|t| t <= now) {
            self.ex.handle_timeout(now);
        }
        while let Some(p) = self
            .prompts
            .front()
            .copied()
            .filter(|p| p.ends_at.is_some_and(|t| t <= now))
        {
            self.prompts.pop_front();
            self.feed(Event::PlayDone { id: p.id });
        }
        if let Some(p) = self.music.filter(|p| p.ends_at.is_some_and(|t| t <= now)) {
            self.music = None;
            self.feed(Event::PlayDone { id: p.id });
        }
        while self.queue_steps.front().is_some_and(|(t, _)| *t <= now) {
            let Some((_, step)) = self.queue_steps.pop_front() else {
                break;
            };
            if step == QueueStep::MaxWait {
                self.music = None;
                self.emit(Entry::Decision {
                    node: "queue".into(),
                    text: "the queue's maximum wait has passed".into(),
                });
                self.feed(Event::QueueMaxWait);
                continue;
            }
            let agent = self.queue.agent.clone();
            let (what, event) = match step {
                QueueStep::MaxWait => continue,
                QueueStep::Offered => (
                    "is offered the call",
                    Event::AgentOffered {
                        agent: agent.clone(),
                    },
                ),
                QueueStep::Answered => {
                    self.music = None;
                    self.prompts.clear();
                    (
                        "answers",
                        Event::AgentAnswered {
                            agent: agent.clone(),
                        },
                    )
                }
                QueueStep::Disconnected => (
                    "hangs up",
                    Event::AgentDisconnected {
                        agent: agent.clone(),
                    },
                ),
            };
            self.emit(Entry::Agent {
                what: what.into(),
                agent_id: agent.id.clone(),
                agent_name: agent.name.clone(),
            });
            self.feed(event);
            if step == QueueStep::Disconnected {
                // The conversation is over: the call ends for the caller too.
                self.hangup("after talking to the agent");
            }
        }
    }

    /// Performs every action the executor has queued, feeding answers back.
    async fn drain(&mut self) {
        while let Some(action) = self.ex.poll_action() {
            self.perform(action).await;
        }
    }

    async fn perform(&mut self, action: Action) {
        let at = self.wall_now();
        if let Some(r) = self.recorder.as_mut() {
            r.on_action(&action);
        }
        match action {
            Action::Play {
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
                if self.caller_gone {
                    self.feed(Event::PlayFailed {
                        id,
                        reason: "the caller has hung up".into(),
                    });
                } else {
                    // Queued behind what is already playing, as the media playout does.
                    let from = self
                        .prompts
                        .back()
                        .and_then(|p| p.ends_at)
                        .unwrap_or(self.now)
                        .max(self.now);
                    self.prompts.push_back(Playing {
                        id,
                        ends_at: Some(from + len),
                    });
                }
            }
            Action::StopPlay { id } => {
                // Stopping stops everything queued, as the media playout does.
                if self.prompts.iter().any(|p| p.id == id) {
                    self.prompts.clear();
                    self.emit(Entry::PlayStopped {
                        reason: "barge-in".into(),
                    });
                }
                if self.music.is_some_and(|p| p.id == id) {
                    self.music = None;
                }
            }
            Action::PlayMusic {
                id,
                node,
                file,
                duration,
            } => {
                self.emit(Entry::Music {
                    node,
                    file,
                    seconds: duration.map(|d| d.as_secs_f64()),
                });
                if self.caller_gone {
                    self.feed(Event::PlayFailed {
                        id,
                        reason: "the caller has hung up".into(),
                    });
                } else {
                    self.music = Some(Playing {
                        id,
                        ends_at: duration.map(|d| self.now + d),
                    });
                }
            }
            Action::Http { id, node, request } => {
                let began = Instant::now();
                let outcome = if request.durable && self.defer_durable {
                    if let Some(r) = self.recorder.as_mut() {
                        r.durable(&request, at);
                    }
                    HttpOutcome::Deferred
                } else {
                    self.http.execute(&request).await
                };
                let took = began.elapsed();
                self.now += took;
                let (status, error, attempts) = match &outcome {
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
                self.feed(Event::HttpDone { id, outcome });
            }
            Action::Enqueue {
                id,
                node,
                queue,
                priority,
                availability,
                skills: _,
            } => {
                let q = &self.queue;
                let refused = match availability {
                    AvailabilityCheck::Off => false,
                    AvailabilityCheck::LoggedIn => q.agents_logged_in == 0,
                    AvailabilityCheck::Available => q.agents_available == 0,
                };
                let result = if refused {
                    QueueResult::NoAgents {
                        logged_in: q.agents_logged_in,
                        available: q.agents_available,
                    }
                } else {
                    QueueResult::Queued
                };
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
                if result == QueueResult::Queued && !self.caller_gone {
                    let max_wait = self.queue.max_wait;
                    let answered_in_time = match (self.queue.answer_after, max_wait) {
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
                self.feed(Event::QueueResult { id, result });
            }
            Action::QueueInfo { id, node, queue: _ } => {
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
                self.feed(Event::QueueInfo { id, info });
            }
            Action::Disconnect { reason } => {
                self.emit(Entry::Disconnect {
                    reason: reason.clone(),
                });
                // The executor knows it disconnected; it runs call_ended itself.
                self.caller_gone = true;
                self.prompts.clear();
                self.music = None;
                self.queue_steps.clear();
            }
            Action::Log(entry) => self.log(entry),
        }
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
