//! A call as the core tracks it from enqueue to the end of the bridged conversation.

use crate::ids::CallId;
use crate::queue::{CallKey, Site, Skills};
use crate::timers::TimerKey;
use std::time::Instant;

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// In the queue, not offered.
    Waiting,
    /// Being offered to an agent.
    Ringing { agent: usize, timer: TimerKey },
    /// Answered; bridged to the agent.
    Connected { agent: usize, answered_at: Instant },
}

/// One call.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) id: CallId,
    pub(crate) queue: usize,
    pub(crate) priority: u8,
    pub(crate) seq: u64,
    pub(crate) skills: Skills,
    /// Where the call's media is (the node holding it, in a cluster).
    pub(crate) site: Site,
    pub(crate) enqueued_at: Instant,
    pub(crate) phase: Phase,
    pub(crate) max_wait_timer: Option<TimerKey>,
    pub(crate) announce_timer: Option<TimerKey>,
}

impl Call {
    /// The call's routing key.
    pub(crate) fn key(&self) -> CallKey {
        (self.priority, self.seq)
    }
}
