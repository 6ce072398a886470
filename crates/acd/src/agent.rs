//! An agent as the core tracks it: configuration, registration and routing state.

use crate::ids::AgentId;
use crate::queue::{Site, Skills};
use crate::state::AgentStatus;
use crate::timers::TimerKey;
use std::time::Instant;

/// Routing state of an agent; calls are named by their sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    LoggedOut,
    Available,
    NotReady(String),
    Reserved(u64),
    Busy(u64),
    WrapUp,
}

impl Slot {
    pub(crate) fn status(&self) -> AgentStatus {
        match self {
            Self::LoggedOut => AgentStatus::LoggedOut,
            Self::Available => AgentStatus::Available,
            Self::NotReady(_) => AgentStatus::NotReady,
            Self::Reserved(_) => AgentStatus::Reserved,
            Self::Busy(_) => AgentStatus::Busy,
            Self::WrapUp => AgentStatus::WrapUp,
        }
    }
}

/// One configured agent.
#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) id: AgentId,
    pub(crate) name: String,
    /// Indices of the queues served (deduplicated).
    pub(crate) queues: Vec<usize>,
    pub(crate) skills: Skills,
    pub(crate) slot: Slot,
    /// A softphone is registered. While busy, a lapse only takes effect when the call ends.
    pub(crate) registered: bool,
    /// When the agent last became available (kept across an offer withdrawn through no
    /// fault of theirs, so they keep their place).
    pub(crate) idle_since: Option<Instant>,
    pub(crate) wrap_timer: Option<TimerKey>,
    /// Where the agent can be rung from: `None` from anywhere (one node, or a contact
    /// any node reaches), `Some(node)` only for calls at that site (a desktop phone or a
    /// connection only that node has).
    pub(crate) site: Site,
}
