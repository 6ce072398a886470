//! The sans-IO executor: runs one call through a flow. It keeps the call's variables and
//! a few "fibers" (the main flow and event handlers), turns nodes into [`Action`]s and
//! [`Event`]s into exits. Time comes in as `now`; nothing here reads a clock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value as Json;

use crate::io::{
    Action, ActionId, AgentRef, CallStart, Event, HttpRequest, LogEntry, Resume, ResumeError,
};
use crate::model::{EventKind, Flow};
use crate::vars::Variables;

/// Node transitions a fiber may make without waiting for anything before it is stopped
/// with an error (Webex caps self-loops at 100; this is the same idea, counted globally).
pub const MAX_TRANSITIONS_WITHOUT_WAIT: u32 = 1000;
/// Keys remembered for the next menu or collect (type-ahead).
pub const MAX_TYPEAHEAD: usize = 32;
/// Length of the `keys_pressed` variable.
pub const MAX_KEYS_PRESSED: usize = 64;
/// Fibers (main flow plus running handlers) alive at once.
const MAX_FIBERS: usize = 8;

/// What a fiber does when its prompt ends (or is interrupted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterPlay {
    Exit,
    Menu,
    Collect,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FState {
    /// Run the current node next.
    Enter,
    Playing {
        id: ActionId,
        interruptible: bool,
        then: AfterPlay,
    },
    /// A menu or collect waits for keys until `deadline`.
    Listening,
    Http(ActionId),
    Queue(ActionId),
    QueueInfo(ActionId),
    Music(ActionId),
    Done,
}

/// One thread of control: the main flow, or an event handler.
#[derive(Debug)]
pub(crate) struct Fiber {
    /// The main flow, or the error handler that replaced it (stopped when an agent answers).
    pub main_line: bool,
    pub label: &'static str,
    pub node: String,
    pub state: FState,
    pub transitions: u32,
    pub attempts: u32,
    pub collected: String,
    pub deadline: Option<Instant>,
    /// A durable `call_ended` handler: a request that finds the service unavailable
    /// defers the rest of it instead of taking its error exit.
    pub durable: bool,
    /// The durable handler's request awaiting its answer (named in [`Action::Defer`]).
    pub request: Option<Box<HttpRequest>>,
}

/// Runs one call through a flow. See [`crate::io`] for the driving loop.
pub struct Executor {
    pub(crate) flow: Arc<Flow>,
    /// Shared with template renders (copy on write: a render holds none after it returns).
    pub(crate) vars: crate::template::Vars,
    pub(crate) actions: VecDeque<Action>,
    next_action: u64,
    pub(crate) fibers: Vec<Fiber>,
    pub(crate) typeahead: VecDeque<char>,
    pub(crate) caller_connected: bool,
    pub(crate) queued: bool,
    pub(crate) with_agent: bool,
    /// An agent was connected and left (for the hang-up reason).
    agent_left: bool,
    call_ended: bool,
    finished: bool,
    /// When the call started, and the latest `now` passed in (for the call timings).
    started: Instant,
    clock: Instant,
    /// Queued (caller waiting), agent answered, agent left.
    queued_at: Option<Instant>,
    agent_at: Option<Instant>,
    agent_left_at: Option<Instant>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("flow", &self.flow.name)
            .field("fibers", &self.fibers)
            .field("finished", &self.finished)
            .finish()
    }
}

impl Executor {
    /// Starts the flow for a call; the first actions are ready at once.
    pub fn new(flow: Arc<Flow>, start: CallStart, now: Instant) -> Executor {
        let vars = Arc::new(crate::vars::initial(
            &flow.variables,
            &flow.var_layout,
            &start,
        ));
        let main = Fiber::new(true, "main", flow.start.clone());
        let mut ex = Executor::with(flow, vars, main, now);
        ex.step(now);
        ex
    }

    /// An executor at `now` running `fiber` alone, its caller connected, nothing done yet.
    fn with(flow: Arc<Flow>, vars: crate::template::Vars, fiber: Fiber, now: Instant) -> Executor {
        Executor {
            flow,
            vars,
            actions: VecDeque::new(),
            next_action: 0,
            fibers: vec![fiber],
            typeahead: VecDeque::new(),
            caller_connected: true,
            queued: false,
            with_agent: false,
            agent_left: false,
            call_ended: false,
            finished: false,
            started: now,
            clock: now,
            queued_at: None,
            agent_at: None,
            agent_left_at: None,
        }
    }

    /// Runs the rest of a durable `call_ended` handler that was deferred
    /// ([`Action::Defer`]): the call is over, its variables are as they were, and the
    /// handler starts again at the node that met the outage. The first actions are ready
    /// at once; it defers again if the service is still unavailable.
    pub fn resume(flow: Arc<Flow>, resume: &Resume, now: Instant) -> Result<Executor, ResumeError> {
        if resume.flow != flow.name {
            return Err(ResumeError::OtherFlow {
                found: resume.flow.clone(),
                expected: flow.name.clone(),
            });
        }
        if !flow.nodes.contains_key(&resume.node) {
            return Err(ResumeError::NoSuchNode {
                flow: flow.name.clone(),
                node: resume.node.clone(),
            });
        }
        let mut vars =
            crate::vars::initial(&flow.variables, &flow.var_layout, &CallStart::default());
        for (name, value) in &resume.variables {
            let value = vars.kept(name, value.clone());
            vars.insert(name, value);
        }
        let mut handler = Fiber::new(false, EventKind::CallEnded.name(), resume.node.clone());
        handler.durable = true;
        let mut ex = Executor::with(flow, Arc::new(vars), handler, now);
        ex.caller_connected = false;
        ex.call_ended = true;
        ex.log(LogEntry::HandlerStarted {
            event: EventKind::CallEnded.name().to_string(),
        });
        ex.step(now);
        Ok(ex)
    }

    /// Feeds one event. Events that answer an action no longer awaited are ignored.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        if self.finished {
            return;
        }
        self.clock = self.clock.max(now);
        match event {
            Event::PlayDone { id } => self.on_play_done(now, id),
            Event::PlayFailed { id, reason } => {
                if let Some(i) = self.fiber_waiting_on(id) {
                    let node = self.fibers[i].node.clone();
                    self.log(LogEntry::Error {
                        node,
                        message: format!("prompt failed: {}", crate::vars::cut(&reason, 200)),
                    });
                }
                self.on_play_done(now, id);
            }
            Event::Digit { key } => self.on_digit(now, key),
            Event::HttpDone { id, outcome } => {
                if let Some(i) = self.fiber_waiting_on(id) {
                    self.on_http_done(i, now, outcome);
                }
            }
            Event::QueueResult { id, result } => {
                if result == crate::QueueResult::Queued && self.queued_at.is_none() {
                    self.queued_at = Some(now);
                }
                if let Some(i) = self.fiber_waiting_on(id) {
                    self.on_queue_result(i, now, result);
                }
            }
            Event::QueueInfo { id, info } => {
                if let Some(i) = self.fiber_waiting_on(id) {
                    self.on_queue_info(i, now, &info);
                }
            }
            Event::AgentOffered { agent } => {
                if self.caller_connected {
                    self.set_agent(&agent);
                    self.spawn(EventKind::AgentOffered);
                }
            }
            Event::AgentAnswered { agent } => {
                if self.caller_connected {
                    self.set_agent(&agent);
                    self.agent_at.get_or_insert(now);
                    if let Some(q) = self.queued_at {
                        self.set_seconds("wait_seconds", q, now);
                    }
                    self.with_agent = true;
                    self.queued = false;
                    self.typeahead.clear();
                    for i in 0..self.fibers.len() {
                        if self.fibers[i].main_line {
                            self.stop_fiber(i);
                        }
                    }
                    self.spawn(EventKind::AgentAnswered);
                }
            }
            Event::AgentDisconnected { agent, lost } => {
                if self.caller_connected {
                    self.set_agent(&agent);
                    self.set_var("agent_lost", Json::Bool(lost));
                    if let (Some(a), true) = (self.agent_at, self.with_agent) {
                        self.agent_left_at = Some(now);
                        self.set_seconds("talk_seconds", a, now);
                    }
                    self.agent_left = self.with_agent;
                    self.with_agent = false;
                    self.queued = false;
                    self.spawn(EventKind::AgentDisconnected);
                }
            }
            Event::QueueMaxWait => {
                if self.caller_connected && self.queued {
                    self.queued = false;
                    // The waiting (music, announcements) stops; the handler decides what next.
                    for i in 0..self.fibers.len() {
                        if self.fibers[i].main_line {
                            self.stop_fiber(i);
                        }
                    }
                    if self.flow.handlers.contains_key(&EventKind::QueueMaxWait) {
                        self.spawn(EventKind::QueueMaxWait);
                    } else {
                        self.actions.push_back(Action::Disconnect {
                            reason: "maximum queue wait reached".into(),
                        });
                        self.end_call("flow");
                    }
                }
            }
            Event::CallerHangup => self.end_call("caller"),
        }
        self.step(now);
    }

    /// Tells the executor that `now` has reached (or passed) [`Executor::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        self.clock = self.clock.max(now);
        while let Some(i) = self
            .fibers
            .iter()
            .position(|f| f.state == FState::Listening && f.deadline.is_some_and(|d| d <= now))
        {
            self.fibers[i].deadline = None;
            self.on_listen_timeout(i, now);
            self.step(now);
        }
        self.step(now);
    }

    /// The next action to perform, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        let action = self.actions.pop_front();
        if action.is_none() && self.actions.capacity() > 0 {
            // Drained: the burst's room (an action takes ~200 bytes; a node's log entries
            // come by the dozen) is not kept, as a call waits far longer than it steps.
            self.actions = VecDeque::new();
        }
        action
    }

    /// When the executor next wants [`Executor::handle_timeout`] called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.fibers
            .iter()
            .filter(|f| f.state == FState::Listening)
            .filter_map(|f| f.deadline)
            .min()
    }

    /// True once the call has ended and every handler has run. Drain actions first.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The call's variables as they are now. A JSON object keeps only what the flow can
    /// read of it (see [`Variables`]).
    pub fn variables(&self) -> &Variables {
        &self.vars
    }

    // ----- internals shared by the other executor modules -----

    pub(crate) fn next_id(&mut self) -> ActionId {
        self.next_action += 1;
        ActionId(self.next_action)
    }

    pub(crate) fn log(&mut self, entry: LogEntry) {
        self.actions.push_back(Action::Log(entry));
    }

    /// Sets a variable to what the flow reads of `value`; the log shows the value kept.
    pub(crate) fn set_var(&mut self, name: &str, value: Json) {
        let value = self.vars.kept(name, value);
        self.log(LogEntry::VariableSet {
            name: name.to_string(),
            value: value.clone(),
        });
        Arc::make_mut(&mut self.vars).insert(name, value);
    }

    /// Sets a whole-seconds timing variable.
    fn set_seconds(&mut self, name: &str, from: Instant, to: Instant) {
        let secs = to.saturating_duration_since(from).as_secs();
        self.set_var(name, Json::from(secs));
    }

    fn set_agent(&mut self, agent: &AgentRef) {
        let id = Json::String(crate::vars::cut(&agent.id, 256));
        let name = Json::String(crate::vars::cut(&agent.name, 256));
        self.set_var("agent_id", id);
        self.set_var("agent_name", name);
    }

    fn fiber_waiting_on(&self, id: ActionId) -> Option<usize> {
        self.fibers.iter().position(|f| match f.state {
            FState::Playing { id: p, .. } => p == id,
            FState::Http(x) | FState::Queue(x) | FState::QueueInfo(x) | FState::Music(x) => x == id,
            _ => false,
        })
    }

    fn on_play_done(&mut self, now: Instant, id: ActionId) {
        let Some(i) = self.fiber_waiting_on(id) else {
            return;
        };
        match self.fibers[i].state {
            FState::Playing { then, .. } => self.after_play(i, now, then),
            FState::Music(_) => self.take_exit(i, "out"),
            _ => {}
        }
    }

    /// Starts a handler fiber for an event, when the flow handles it.
    pub(crate) fn spawn(&mut self, kind: EventKind) {
        let Some(start) = self.flow.handlers.get(&kind).cloned() else {
            return;
        };
        if self
            .fibers
            .iter()
            .filter(|f| f.state != FState::Done)
            .count()
            >= MAX_FIBERS
        {
            self.log(LogEntry::Error {
                node: start,
                message: format!("too many handlers running; `{}` skipped", kind.name()),
            });
            return;
        }
        self.log(LogEntry::HandlerStarted {
            event: kind.name().to_string(),
        });
        let mut fiber = Fiber::new(false, kind.name(), start);
        fiber.durable = kind == EventKind::CallEnded && self.flow.durable_call_ended;
        self.fibers.push(fiber);
    }

    /// The rest of fiber `i` from its current node, with the variables as they are.
    pub(crate) fn rest_of(&self, i: usize) -> Result<Resume, ResumeError> {
        let resume = Resume {
            flow: self.flow.name.clone(),
            node: self.fibers[i].node.clone(),
            variables: self
                .vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        resume.to_text()?;
        Ok(resume)
    }

    /// Stops a fiber: its prompt or music is stopped, pending answers are ignored.
    pub(crate) fn stop_fiber(&mut self, i: usize) {
        let Some(f) = self.fibers.get_mut(i) else {
            return;
        };
        let stop = match f.state {
            FState::Playing { id, .. } | FState::Music(id) => Some(id),
            _ => None,
        };
        f.state = FState::Done;
        f.deadline = None;
        if let Some(id) = stop {
            self.actions.push_back(Action::StopPlay { id });
        }
    }

    /// The call is over (caller hung up, or the flow disconnected): stop everything,
    /// then run `call_ended`.
    pub(crate) fn end_call(&mut self, by: &str) {
        if self.call_ended {
            return;
        }
        self.call_ended = true;
        self.caller_connected = false;
        self.queued = false;
        self.with_agent = false;
        self.typeahead.clear();
        for i in 0..self.fibers.len() {
            self.stop_fiber(i);
        }
        self.set_var("hangup_by", Json::String(by.to_string()));
        let now = self.clock;
        self.set_seconds("call_seconds", self.started, now);
        if let (Some(q), None) = (self.queued_at, self.agent_at) {
            self.set_seconds("wait_seconds", q, now);
        }
        if let (Some(a), None) = (self.agent_at, self.agent_left_at) {
            self.set_seconds("talk_seconds", a, now);
        }
        self.spawn(EventKind::CallEnded);
    }

    /// A fiber failed: run the error handler in its place, or stop it.
    pub(crate) fn fail(&mut self, i: usize, message: String) {
        let node = self.fibers[i].node.clone();
        self.log(LogEntry::Error {
            node: node.clone(),
            message: message.clone(),
        });
        self.set_var(
            "error_message",
            Json::String(crate::vars::cut(&message, 500)),
        );
        self.set_var("error_node", Json::String(node));
        let handler = self.flow.handlers.get(&EventKind::Error).cloned();
        let label = self.fibers[i].label;
        let can_handle = label != "error" && label != EventKind::CallEnded.name();
        match handler {
            Some(start) if can_handle => {
                self.stop_fiber(i);
                self.log(LogEntry::HandlerStarted {
                    event: "error".to_string(),
                });
                let f = &mut self.fibers[i];
                f.label = "error";
                f.node = start;
                f.state = FState::Enter;
                f.transitions = 0;
                f.attempts = 0;
            }
            _ => self.stop_fiber(i),
        }
    }

    /// Follows an exit of the fiber's current node.
    pub(crate) fn take_exit(&mut self, i: usize, exit: &str) {
        let node_name = self.fibers[i].node.clone();
        let target = self
            .flow
            .nodes
            .get(&node_name)
            .and_then(|n| n.exits.get(exit))
            .cloned();
        self.log(LogEntry::ExitTaken {
            node: node_name,
            exit: exit.to_string(),
            target: target.clone(),
        });
        match target {
            Some(t) => {
                let f = &mut self.fibers[i];
                f.node = t;
                f.state = FState::Enter;
                f.deadline = None;
            }
            None => self.fail(i, format!("exit `{exit}` is not connected")),
        }
    }

    /// Runs ready fibers until every fiber waits; then applies the end-of-call rules.
    fn step(&mut self, now: Instant) {
        loop {
            while let Some(i) = self.fibers.iter().position(|f| f.state == FState::Enter) {
                let f = &mut self.fibers[i];
                f.transitions += 1;
                if f.transitions > MAX_TRANSITIONS_WITHOUT_WAIT {
                    self.fail(
                        i,
                        format!(
                            "flow made {MAX_TRANSITIONS_WITHOUT_WAIT} node transitions without waiting (loop?)"
                        ),
                    );
                    if self.fibers[i].state == FState::Enter {
                        // The error handler starts fresh: count anew.
                        self.fibers[i].transitions = 0;
                    }
                    continue;
                }
                self.run_node(i, now);
            }
            self.fibers.retain(|f| f.state != FState::Done);
            if self.fibers.is_empty() {
                if !self.call_ended && !self.queued && !self.with_agent {
                    let reason = if self.agent_left {
                        "agent disconnected"
                    } else {
                        "flow ended"
                    };
                    self.actions.push_back(Action::Disconnect {
                        reason: reason.to_string(),
                    });
                    self.end_call(if self.agent_left { "agent" } else { "flow" });
                    continue;
                }
                if self.call_ended && !self.finished {
                    self.finished = true;
                    self.log(LogEntry::Finished {
                        reason: "call ended".to_string(),
                    });
                }
            }
            break;
        }
    }
}

impl Fiber {
    fn new(main_line: bool, label: &'static str, node: String) -> Fiber {
        Fiber {
            main_line,
            label,
            node,
            state: FState::Enter,
            transitions: 0,
            attempts: 0,
            collected: String::new(),
            deadline: None,
            durable: false,
            request: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drained_action_queue_does_not_keep_the_room_of_its_burst() {
        let flow = crate::load_str(
            r#"
name: t
start: many
variables:
  a: { type: string, default: "" }
  b: { type: string, default: "" }
  c: { type: string, default: "" }
  d: { type: string, default: "" }
  e: { type: string, default: "" }
  f: { type: string, default: "" }
nodes:
  many:
    set: { a: "1", b: "2", c: "3", d: "4", e: "5", f: "6" }
    next: wait
  wait:
    play: "Hello"
    next: done
  done:
    end: {}
"#,
            "t.yaml",
        )
        .unwrap();
        let mut ex = Executor::new(Arc::new(flow), CallStart::default(), Instant::now());
        let mut drained = 0;
        while ex.poll_action().is_some() {
            drained += 1;
        }
        assert!(
            drained >= 8,
            "the burst ({drained} actions) must need room for several"
        );
        assert_eq!(ex.actions.capacity(), 0, "nothing kept while waiting");
        assert!(!ex.is_finished(), "the prompt is still awaited");
    }
}
