//! [`Session`]: one call around its flow executor. Every rule about what the caller hears
//! and where the call is (playing, on hold, queued, bridged, gone) lives here, once, for
//! both the SIP runtime and the simulator.

use crate::helpdesk::Helpdesk;
use crate::io::{Input, Output, Party, ScreenPop};
use crate::record::CallRecorder;
use jiff::Timestamp;
use ringdesk_flow::{
    Action, ActionId, AgentRef, CallStart, Event, Executor, Flow, HttpOutcome, LogEntry,
    QueueResult, Resume, ResumeError,
};
use ringdesk_store::{Interaction, OutboxItem};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// How a session treats the flow's requests.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Durable requests go to the call's outbox items (stored with the record, delivered
    /// after the call) instead of out at once. The server always defers; the simulator
    /// does when it records the call.
    pub defer_durable: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            defer_durable: true,
        }
    }
}

/// Where the call stands with the queue.
#[derive(Debug, Clone, PartialEq)]
enum Queue {
    /// Not queued (never, or no longer).
    Out,
    /// Asked to be queued; the answer has not come.
    Joining,
    /// Waiting for an agent.
    Waiting,
    /// Talking to an agent.
    Bridged(AgentRef),
}

/// Music on hold playing: its action and when its duration ends.
#[derive(Debug, Clone, Copy)]
struct Music {
    id: ActionId,
    ends_at: Option<Instant>,
}

/// The reason given to the flow for a prompt asked for after the caller left.
const CALLER_GONE: &str = "the caller has hung up";

/// One call: its executor, what is playing, where it is in the queue, its record.
pub struct Session {
    ex: Executor,
    recorder: CallRecorder,
    helpdesk: Arc<dyn Helpdesk>,
    config: SessionConfig,
    /// Instant and wall-clock time of the session's start (record times are derived).
    start: (Instant, Timestamp),
    /// Prompts handed to the media and not yet finished, in order.
    prompts: Vec<ActionId>,
    music: Option<Music>,
    queue: Queue,
    /// The caller is no longer on the line (hung up, or the flow disconnected).
    caller_gone: bool,
    out: VecDeque<Output>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("prompts", &self.prompts)
            .field("music", &self.music)
            .field("queue", &self.queue)
            .field("caller_gone", &self.caller_gone)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Starts the flow for a call that arrived at `now` (`wall` on the wall clock). The
    /// flow's first outputs are ready at once (a driver may play the greeting with the
    /// answer).
    pub fn new(
        flow: Arc<Flow>,
        start: CallStart,
        helpdesk: Arc<dyn Helpdesk>,
        config: SessionConfig,
        now: Instant,
        wall: Timestamp,
    ) -> Session {
        let recorder = CallRecorder::new(&start.call_id, &start.ani, &start.dnis, wall);
        let ex = Executor::new(flow, start, now);
        let mut s = Session {
            ex,
            recorder,
            helpdesk,
            config,
            start: (now, wall),
            prompts: Vec::new(),
            music: None,
            queue: Queue::Out,
            caller_gone: false,
            out: VecDeque::new(),
        };
        s.pump(now);
        s
    }

    /// Resumes the rest of a durable `call_ended` handler kept in the outbox item marked
    /// `marker` of call `call_id` (see [`ringdesk_flow::Executor::resume`]). The caller is
    /// long gone; the requests the run records get markers below `marker`, the same ones
    /// each time the same run is repeated. [`Session::finish`] gives them; an item that
    /// carries a resume again means the service is still unavailable.
    pub fn resume(
        flow: Arc<Flow>,
        resume: &Resume,
        call_id: &str,
        marker: &str,
        helpdesk: Arc<dyn Helpdesk>,
        now: Instant,
        wall: Timestamp,
    ) -> Result<Session, ResumeError> {
        let ex = Executor::resume(flow, resume, now)?;
        let recorder = CallRecorder::new(call_id, "", "", wall).with_marker_prefix(marker);
        let mut s = Session {
            ex,
            recorder,
            helpdesk,
            config: SessionConfig {
                defer_durable: true,
            },
            start: (now, wall),
            prompts: Vec::new(),
            music: None,
            queue: Queue::Out,
            caller_gone: true,
            out: VecDeque::new(),
        };
        s.pump(now);
        Ok(s)
    }

    /// The call was answered at `now`.
    pub fn answered(&mut self, now: Instant) {
        let at = self.wall(now);
        self.recorder.answered(at);
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        let out = self.out.pop_front();
        if self.out.is_empty() && self.out.capacity() > 0 {
            // Outputs come in bursts (a key, a prompt's end) far apart: a call on hold
            // keeps no room for the next burst (outputs are ~200 bytes each).
            self.out = VecDeque::new();
        }
        out
    }

    /// When [`Session::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let music = self.music.and_then(|m| m.ends_at);
        [self.ex.poll_timeout(), music].into_iter().flatten().min()
    }

    /// The flow has run to its end (call-ended handlers included).
    pub fn is_finished(&self) -> bool {
        self.ex.is_finished()
    }

    /// The caller is no longer on the line.
    pub fn caller_gone(&self) -> bool {
        self.caller_gone
    }

    /// Something happened.
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Digit(key) => self.feed(now, Event::Digit { key }),
            Input::PlayDone(id) => {
                if let Some(i) = self.prompts.iter().position(|p| *p == id) {
                    self.prompts.remove(i);
                    self.feed(now, Event::PlayDone { id });
                }
                // Otherwise stopped before it ended: the flow expects nothing.
            }
            Input::PlayFailed { id, reason } => {
                let was_music = self.music.is_some_and(|m| m.id == id);
                if was_music {
                    self.music = None;
                }
                if let Some(i) = self.prompts.iter().position(|p| *p == id) {
                    self.prompts.remove(i);
                } else if !was_music {
                    return;
                }
                self.feed(now, Event::PlayFailed { id, reason });
            }
            Input::HttpDone { id, outcome } => self.feed(now, Event::HttpDone { id, outcome }),
            Input::QueueResult { id, result } => {
                self.queue = if result == QueueResult::Queued {
                    if self.caller_gone {
                        // Gone while the queue answered: leave at once.
                        self.out.push_back(Output::LeaveQueue { by: Party::Caller });
                        Queue::Out
                    } else {
                        Queue::Waiting
                    }
                } else {
                    Queue::Out
                };
                self.feed(now, Event::QueueResult { id, result });
            }
            Input::QueueInfo { id, info } => self.feed(now, Event::QueueInfo { id, info }),
            Input::AgentOffered(agent) => self.feed(now, Event::AgentOffered { agent }),
            Input::AgentAnswered(agent) => {
                if self.queue != Queue::Waiting || self.caller_gone {
                    // Nobody left to bridge: the agent's leg goes.
                    self.out.push_back(Output::Unbridge {
                        hang_up_agent: true,
                    });
                    self.pump(now);
                    return;
                }
                self.queue = Queue::Bridged(agent.clone());
                // Our prompts and music stop: from now on the caller hears the agent.
                self.stop_media(false);
                self.out.push_back(Output::Bridge {
                    agent: agent.clone(),
                });
                self.feed(now, Event::AgentAnswered { agent });
            }
            Input::BridgeFailed { reason } => {
                if let Queue::Bridged(agent) = std::mem::replace(&mut self.queue, Queue::Out) {
                    tracing::error!("cannot bridge to the agent: {reason}");
                    self.out.push_back(Output::Unbridge {
                        hang_up_agent: true,
                    });
                    self.out.push_back(Output::LeaveQueue { by: Party::System });
                    self.feed(now, Event::AgentDisconnected { agent, lost: false });
                }
            }
            Input::AgentHangup | Input::AgentLost => {
                if let Queue::Bridged(agent) = std::mem::replace(&mut self.queue, Queue::Out) {
                    self.out.push_back(Output::Unbridge {
                        hang_up_agent: false,
                    });
                    self.out.push_back(Output::LeaveQueue { by: Party::Agent });
                    let lost = input == Input::AgentLost;
                    self.feed(now, Event::AgentDisconnected { agent, lost });
                }
            }
            Input::MaxWait => {
                if self.queue == Queue::Waiting {
                    self.queue = Queue::Out;
                    self.feed(now, Event::QueueMaxWait);
                }
            }
            Input::CallerHangup => {
                if !self.caller_gone {
                    self.caller_gone = true;
                    self.stop_media(false);
                    self.leave(Party::Caller);
                    self.feed(now, Event::CallerHangup);
                }
            }
        }
        self.pump(now);
    }

    /// `now` has reached [`Session::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(m) = self.music.filter(|m| m.ends_at.is_some_and(|t| t <= now)) {
            self.music = None;
            self.out.push_back(Output::Stop { barge_in: false });
            self.feed(now, Event::PlayDone { id: m.id });
        }
        if self.ex.poll_timeout().is_some_and(|t| t <= now) {
            self.ex.handle_timeout(now);
        }
        self.pump(now);
    }

    /// The driver is ending the call (its flow finished, or the driver stops): leave the
    /// queue or the bridge if still there. Outputs follow.
    pub fn end(&mut self, _now: Instant) {
        self.leave(Party::System);
    }

    /// The interaction record and the outbox items, once the call is over.
    pub fn finish(self, now: Instant) -> (Interaction, Vec<OutboxItem>) {
        let at = self.wall(now);
        self.recorder.finish(at)
    }

    /// The wall-clock time of `now`.
    pub fn wall(&self, now: Instant) -> Timestamp {
        let (i, w) = self.start;
        let d = now.saturating_duration_since(i);
        jiff::SignedDuration::try_from(d)
            .ok()
            .and_then(|d| w.checked_add(d).ok())
            .unwrap_or(w)
    }

    /// Leaves the bridge (the agent gets a BYE) or the queue.
    fn leave(&mut self, by: Party) {
        match self.queue {
            Queue::Bridged(_) => self.out.extend([
                Output::Unbridge {
                    hang_up_agent: true,
                },
                Output::LeaveQueue { by },
            ]),
            // Still waiting: whoever ends it, the caller leaves the queue unanswered.
            Queue::Waiting => self.out.push_back(Output::LeaveQueue { by: Party::Caller }),
            Queue::Out | Queue::Joining => {}
        }
        if self.queue != Queue::Joining {
            self.queue = Queue::Out;
        }
    }

    fn stop_media(&mut self, barge_in: bool) {
        if !self.prompts.is_empty() || self.music.is_some() || barge_in {
            self.out.push_back(Output::Stop { barge_in });
        }
        self.prompts.clear();
        self.music = None;
    }

    /// Feeds an event to the executor and the record.
    fn feed(&mut self, now: Instant, event: Event) {
        let at = self.wall(now);
        self.recorder.on_event(&event, at);
        self.ex.handle_event(now, event);
    }

    /// Turns the executor's actions into outputs until it has none.
    fn pump(&mut self, now: Instant) {
        while let Some(action) = self.ex.poll_action() {
            self.on_action(now, action);
        }
    }

    fn on_action(&mut self, now: Instant, action: Action) {
        self.recorder.on_action(&action);
        match action {
            Action::Play {
                id,
                node,
                segments,
                interruptible,
            } => {
                if self.caller_gone {
                    return self.fail_play(now, id);
                }
                self.prompts.push(id);
                self.out.push_back(Output::Play {
                    id,
                    node,
                    segments,
                    interruptible,
                });
            }
            Action::StopPlay { id } => {
                let prompt = self.prompts.contains(&id);
                let music = self.music.is_some_and(|m| m.id == id);
                // The media stops everything queued: so does the session.
                if prompt || music {
                    self.stop_media(prompt);
                }
            }
            Action::PlayMusic {
                id,
                node,
                file,
                duration,
            } => {
                if self.caller_gone {
                    return self.fail_play(now, id);
                }
                self.music = Some(Music {
                    id,
                    ends_at: duration.map(|d| now + d),
                });
                self.out.push_back(Output::Music {
                    id,
                    node,
                    file,
                    duration,
                });
            }
            Action::Http { id, node, request } => {
                if request.durable && self.config.defer_durable {
                    let at = self.wall(now);
                    self.recorder.durable(&*self.helpdesk, &request, at);
                    self.out.push_back(Output::Deferred { node, request });
                    self.feed(
                        now,
                        Event::HttpDone {
                            id,
                            outcome: HttpOutcome::Deferred,
                        },
                    );
                } else {
                    self.out.push_back(Output::Http { id, node, request });
                }
            }
            Action::Defer {
                node,
                request,
                resume,
            } => match resume.to_text() {
                Ok(text) => {
                    let at = self.wall(now);
                    self.recorder.deferred_rest(&request, text, at);
                    self.out.push_back(Output::Deferred { node, request });
                }
                Err(e) => self.out.push_back(Output::Log(LogEntry::Error {
                    node,
                    message: format!("the rest of the handler is lost: {e}"),
                })),
            },
            Action::Enqueue {
                id,
                node,
                queue,
                priority,
                availability,
                skills,
            } => {
                self.queue = Queue::Joining;
                let pop = self.screen_pop();
                self.out.push_back(Output::Enqueue {
                    id,
                    node,
                    queue,
                    priority,
                    availability,
                    skills,
                    pop,
                });
            }
            Action::QueueInfo { id, node, queue } => {
                self.out.push_back(Output::QueueInfo { id, node, queue })
            }
            Action::Disconnect { reason } => {
                self.stop_media(false);
                self.leave(Party::System);
                let send_bye = !self.caller_gone;
                self.caller_gone = true;
                self.out.push_back(Output::Disconnect { reason, send_bye });
            }
            Action::Log(entry) => self.out.push_back(Output::Log(entry)),
        }
    }

    fn fail_play(&mut self, now: Instant, id: ActionId) {
        self.feed(
            now,
            Event::PlayFailed {
                id,
                reason: CALLER_GONE.into(),
            },
        );
    }

    /// Screen-pop material from the flow's conventional variables and the helpdesk.
    fn screen_pop(&self) -> ScreenPop {
        let v = self.ex.variables();
        let text = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let ticket_id = text("ticket_id");
        let ticket_url = if ticket_id.is_empty() {
            String::new()
        } else {
            self.helpdesk.ticket_url(&ticket_id).unwrap_or_default()
        };
        ScreenPop {
            ani: text("ani"),
            caller_name: text("user_name"),
            ticket_id,
            ticket_url,
            language: text("language"),
            menu_choice: text("menu_choice"),
            ticket_status: text("ticket_status"),
            ticket_priority: text("ticket_priority"),
        }
    }
}
