//! What the core asks the runtime to do, or tells it happened; drained with [`crate::Acd::poll_output`].

use crate::ids::{AgentId, CallId};
use crate::state::{AgentStatus, ChangeCause, Party};
use std::time::Duration;

/// One decision or notice of the routing core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Ring the agent (INVITE their softphone) for this call. Answer later with
    /// [`crate::Acd::offer_answered`], [`crate::Acd::offer_rejected`] or [`crate::Acd::offer_failed`].
    Offer {
        call: CallId,
        agent: AgentId,
        queue: String,
    },
    /// Stop ringing the agent (CANCEL the INVITE). No answer is expected for this offer;
    /// an answer that crosses it is refused with [`crate::AcdError::NotOffered`].
    CancelOffer { call: CallId, agent: AgentId },
    /// An agent changed state. `reason` is the not-ready reason when `to` is not ready.
    AgentStateChanged {
        agent: AgentId,
        from: AgentStatus,
        to: AgentStatus,
        cause: ChangeCause,
        reason: Option<String>,
    },
    /// Tell the waiting caller their position and estimated wait.
    Announce {
        call: CallId,
        position: u32,
        estimated_wait: Option<Duration>,
    },
    /// The caller waited the queue's maximum; the call has left the queue (the flow's
    /// max-wait exit). Any offer in progress was cancelled just before (`CancelOffer`).
    MaxWaitReached {
        call: CallId,
        queue: String,
        waited: Duration,
    },
    /// The agent answered: the runtime bridges caller and agent. The call left the queue.
    Answered {
        call: CallId,
        agent: AgentId,
        queue: String,
        waited: Duration,
    },
    /// The caller hung up while queued (bookkeeping; any offer was cancelled just before).
    Abandoned {
        call: CallId,
        queue: String,
        waited: Duration,
    },
    /// A bridged call ended (bookkeeping, e.g. for the post-call note).
    CallEnded {
        call: CallId,
        agent: AgentId,
        by: Party,
        handled: Duration,
    },
}
