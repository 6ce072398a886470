//! Agent states, who hung up, and the availability check: the small vocabulary of the core.

use crate::ids::CallId;
use serde::{Deserialize, Serialize};

/// An agent's state, without its details (see [`AgentState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentStatus {
    /// No softphone registered.
    LoggedOut,
    /// Waiting for a call.
    Available,
    /// Logged in but not taking calls.
    NotReady,
    /// Being offered a call (the runtime is ringing the agent).
    Reserved,
    /// On a call.
    Busy,
    /// After a call, for the queue's wrap-up time.
    WrapUp,
}

impl AgentStatus {
    /// Number of variants (for per-status counters).
    pub(crate) const COUNT: usize = 6;

    /// Index of the variant in per-status counters.
    pub(crate) fn index(self) -> usize {
        match self {
            Self::LoggedOut => 0,
            Self::Available => 1,
            Self::NotReady => 2,
            Self::Reserved => 3,
            Self::Busy => 4,
            Self::WrapUp => 5,
        }
    }

    /// Lower-case name, for logs and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::Available => "available",
            Self::NotReady => "not_ready",
            Self::Reserved => "reserved",
            Self::Busy => "busy",
            Self::WrapUp => "wrap_up",
        }
    }

    /// True for every state except [`AgentStatus::LoggedOut`].
    pub fn is_logged_in(self) -> bool {
        self != Self::LoggedOut
    }
}

/// An agent's state with its details, as reported by [`crate::Acd::agent_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    LoggedOut,
    Available,
    NotReady { reason: String },
    Reserved { call: CallId },
    Busy { call: CallId },
    WrapUp,
}

impl AgentState {
    /// The state without details.
    pub fn status(&self) -> AgentStatus {
        match self {
            Self::LoggedOut => AgentStatus::LoggedOut,
            Self::Available => AgentStatus::Available,
            Self::NotReady { .. } => AgentStatus::NotReady,
            Self::Reserved { .. } => AgentStatus::Reserved,
            Self::Busy { .. } => AgentStatus::Busy,
            Self::WrapUp => AgentStatus::WrapUp,
        }
    }
}

/// A state an agent (or a supervisor, through the admin API) may ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedState {
    Available,
    NotReady { reason: String },
}

/// Why an agent's state changed (carried by [`crate::Output::AgentStateChanged`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeCause {
    /// The softphone registered.
    Registered,
    /// The registration ended or lapsed.
    Unregistered,
    /// The admin API asked for it.
    Requested,
    /// A call was offered to the agent.
    Offered,
    /// The agent answered the offer.
    Answered,
    /// The offer rang for the queue's ring timeout without an answer.
    RingNoAnswer,
    /// The agent rejected the offer (486/603).
    Rejected,
    /// The offer could not be delivered (no route, timeout, server error).
    OfferFailed,
    /// The offer was withdrawn for a reason that is not the agent's (caller hung up, max wait).
    OfferWithdrawn,
    /// The bridged call ended.
    CallEnded,
    /// The wrap-up time elapsed.
    WrapUpEnded,
}

/// Not-ready reason set after a ring-no-answer.
pub const REASON_RING_NO_ANSWER: &str = "ring no answer";
/// Not-ready reason set after a rejected offer.
pub const REASON_REJECTED: &str = "rejected";
/// Not-ready reason set after an offer that could not be delivered.
pub const REASON_OFFER_FAILED: &str = "offer failed";

/// Who ended a bridged call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Caller,
    Agent,
    /// The server (shutdown, transfer, media failure).
    System,
}

/// What a queue checks before accepting a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AvailabilityCheck {
    /// Queue regardless.
    #[default]
    Off,
    /// Refuse when no agent who could take the call is logged in.
    LoggedIn,
    /// Refuse when no agent who could take the call is available right now.
    Available,
}
