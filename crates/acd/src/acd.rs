//! The routing core's state and its construction, queries and output draining.
//!
//! Inputs live in `inputs.rs`, `enqueue.rs` and `timeout.rs`; the matching of calls to agents
//! in `dispatch.rs`. The core reads no clock: every input carries `now`.

use crate::agent::{Agent, Slot};
use crate::call::Call;
use crate::config::{validate_name, AcdConfig, AgentConfig, QueueConfig, MAX_AGENTS, MAX_QUEUES};
use crate::error::ConfigError;
use crate::ids::{AgentId, CallId};
use crate::output::Output;
use crate::queue::Queue;
use crate::state::{AgentState, AgentStatus};
use crate::timers::Timers;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// The sans-IO routing core: queues, agents, offers and their timers.
///
/// Drive it like quinn-proto: call an input (`enqueue`, `offer_answered`, ...) or
/// [`Acd::handle_timeout`] with the current time, then drain [`Acd::poll_output`] until it
/// returns `None`, then sleep until [`Acd::poll_timeout`] or the next input.
#[derive(Debug)]
pub struct Acd {
    pub(crate) queues: Vec<Queue>,
    pub(crate) queue_index: HashMap<String, usize>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) agent_index: HashMap<AgentId, usize>,
    /// Calls from enqueue until they leave the queue or their bridged call ends, by sequence.
    pub(crate) calls: HashMap<u64, Call>,
    pub(crate) call_index: HashMap<CallId, u64>,
    pub(crate) next_seq: u64,
    pub(crate) timers: Timers,
    pub(crate) outputs: VecDeque<Output>,
}

impl Acd {
    /// Builds the core from validated configuration. Every agent starts logged out.
    pub fn new(config: &AcdConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut acd = Self {
            queues: Vec::new(),
            queue_index: HashMap::new(),
            agents: Vec::new(),
            agent_index: HashMap::new(),
            calls: HashMap::new(),
            call_index: HashMap::new(),
            next_seq: 0,
            timers: Timers::default(),
            outputs: VecDeque::new(),
        };
        for (name, q) in &config.queues {
            acd.add_queue(name, q.clone())?;
        }
        for a in &config.agents {
            acd.add_agent(a)?;
        }
        Ok(acd)
    }

    /// Adds a queue at run time.
    pub fn add_queue(&mut self, name: &str, config: QueueConfig) -> Result<(), ConfigError> {
        validate_name("queue", name)?;
        config.validate(name)?;
        if self.queue_index.contains_key(name) {
            return Err(ConfigError::DuplicateQueue(name.to_owned()));
        }
        if self.queues.len() >= MAX_QUEUES {
            return Err(ConfigError::TooMany {
                what: "queues",
                max: MAX_QUEUES,
            });
        }
        self.queue_index.insert(name.to_owned(), self.queues.len());
        self.queues.push(Queue::new(name.to_owned(), config));
        Ok(())
    }

    /// Adds an agent at run time; it starts logged out. The password is not kept here.
    pub fn add_agent(&mut self, config: &AgentConfig) -> Result<(), ConfigError> {
        config.validate()?;
        let id = AgentId(config.id.clone());
        if self.agent_index.contains_key(&id) {
            return Err(ConfigError::DuplicateAgent(config.id.clone()));
        }
        if self.agents.len() >= MAX_AGENTS {
            return Err(ConfigError::TooMany {
                what: "agents",
                max: MAX_AGENTS,
            });
        }
        let mut queues = Vec::with_capacity(config.queues.len());
        for q in &config.queues {
            let idx = *self
                .queue_index
                .get(q)
                .ok_or_else(|| ConfigError::UnknownQueue {
                    agent: config.id.clone(),
                    queue: crate::config::truncate(q),
                })?;
            if !queues.contains(&idx) {
                queues.push(idx);
            }
        }
        let idx = self.agents.len();
        for &q in &queues {
            if let Some(queue) = self.queues.get_mut(q) {
                queue.count_move(None, AgentStatus::LoggedOut);
            }
        }
        self.agent_index.insert(id.clone(), idx);
        self.agents.push(Agent {
            id,
            name: config.name.clone(),
            queues,
            skills: config.skill_set(),
            slot: Slot::LoggedOut,
            registered: false,
            idle_since: None,
            wrap_timer: None,
            site: None,
        });
        Ok(())
    }

    /// The next output, if any. Drain after every input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Acd::handle_timeout`] should next be called (`None`: no deadline armed).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// An agent's current state, `None` for an unknown agent.
    pub fn agent_state(&self, agent: &AgentId) -> Option<AgentState> {
        let a = self.agents.get(*self.agent_index.get(agent)?)?;
        let call_id = |seq: &u64| {
            self.calls
                .get(seq)
                .map(|c| c.id.clone())
                .unwrap_or_else(|| CallId(String::new()))
        };
        Some(match &a.slot {
            Slot::LoggedOut => AgentState::LoggedOut,
            Slot::Available => AgentState::Available,
            Slot::NotReady(r) => AgentState::NotReady { reason: r.clone() },
            Slot::Reserved(s) => AgentState::Reserved { call: call_id(s) },
            Slot::Busy(s) => AgentState::Busy { call: call_id(s) },
            Slot::WrapUp => AgentState::WrapUp,
        })
    }

    /// An agent's display name, `None` for an unknown agent.
    pub fn agent_name(&self, agent: &AgentId) -> Option<&str> {
        let a = self.agents.get(*self.agent_index.get(agent)?)?;
        Some(&a.name)
    }

    /// Ids of all configured agents, in configuration order.
    pub fn agent_ids(&self) -> impl Iterator<Item = &AgentId> + '_ {
        self.agents.iter().map(|a| &a.id)
    }

    /// The name of the queue at index `qi` (empty for none).
    pub(crate) fn queue_name(&self, qi: usize) -> String {
        self.queues
            .get(qi)
            .map(|q| q.name.clone())
            .unwrap_or_default()
    }

    /// Names of all queues.
    pub fn queue_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.queues.iter().map(|q| q.name.as_str())
    }

    /// A queue's configuration (`None` for an unknown queue): e.g. its `max_calls`, for
    /// saying why [`crate::EnqueueError::QueueFull`] refused a call.
    pub fn queue_config(&self, queue: &str) -> Option<&QueueConfig> {
        let q = self.queues.get(*self.queue_index.get(queue)?)?;
        Some(&q.config)
    }

    /// Calls the core is tracking (queued, ringing or connected).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// True when the core tracks this call (queued, ringing or connected).
    pub fn has_call(&self, call: &CallId) -> bool {
        self.call_index.contains_key(call)
    }
}
