//! Typed errors of the routing core. None of them carries a secret.

use crate::state::{AgentStatus, AvailabilityCheck};
use thiserror::Error;

/// The configuration is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("invalid {what} name {name:?}")]
    BadName { what: &'static str, name: String },
    #[error("agent id must be 1..=256 bytes without control characters")]
    BadAgentId,
    #[error("duplicate agent id {0:?}")]
    DuplicateAgent(String),
    #[error("duplicate queue {0:?}")]
    DuplicateQueue(String),
    #[error("agent {agent:?} serves unknown queue {queue:?}")]
    UnknownQueue { agent: String, queue: String },
    #[error("queue {queue:?}: {field} is out of range")]
    BadDuration { queue: String, field: &'static str },
    #[error("queue {0:?}: max_calls must be at least 1")]
    ZeroMaxCalls(String),
    #[error("too many {what} (at most {max})")]
    TooMany { what: &'static str, max: usize },
    /// No usable SIP password (`password` or `password_env`); never carries the value.
    #[error("agent {agent:?}: SIP password: {reason}")]
    AgentPassword { agent: String, reason: String },
}

/// A call was not queued.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnqueueError {
    /// The availability check refused the call (the flow's "no agents" exit).
    /// Counts are of agents serving the queue who have the skills asked for.
    #[error("no agents ({check:?} check): {logged_in} logged in, {available} available")]
    NoAgents {
        check: AvailabilityCheck,
        logged_in: u32,
        available: u32,
    },
    #[error("unknown queue")]
    UnknownQueue,
    #[error("priority must be 1..=10")]
    InvalidPriority,
    #[error("call id must be 1..=256 bytes")]
    InvalidCallId,
    #[error("the call is already queued or connected")]
    DuplicateCall,
    #[error("too many or invalid skills")]
    InvalidSkills,
    /// The site is empty or too long.
    #[error("invalid site")]
    InvalidSite,
    /// The queue already holds its `max_calls` calls waiting or ringing.
    #[error("the queue is full")]
    QueueFull,
}

/// An input about an agent or a call was not applicable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AcdError {
    #[error("unknown agent")]
    UnknownAgent,
    #[error("unknown call")]
    UnknownCall,
    /// The call is not (or no longer) being offered to this agent; e.g. an answer that
    /// crossed a ring-no-answer cancel. The runtime should hang up the agent leg.
    #[error("the call is not being offered to this agent")]
    NotOffered,
    /// The call is not connected to an agent.
    #[error("the call is not connected")]
    NotConnected,
    /// The agent must register a softphone first.
    #[error("the agent is logged out")]
    LoggedOut,
    /// The agent's state does not allow the change (e.g. available while on a call).
    #[error("not allowed while the agent is {}", .0.as_str())]
    NotAllowed(AgentStatus),
    #[error("invalid not-ready reason")]
    InvalidReason,
}
