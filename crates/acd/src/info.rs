//! Get Queue Info: position, estimated wait, agents and calls of a queue.

use crate::acd::Acd;
use crate::call::Phase;
use crate::ids::CallId;
use crate::state::AgentStatus;
use std::time::{Duration, Instant};

/// The figures of one queue, optionally from one caller's point of view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueInfo {
    /// 1-based position of the caller asked about, when that call is in this queue
    /// (a call ringing an agent is at position 1).
    pub position: Option<u32>,
    /// Estimated wait of that caller, or of a new caller; `None` without history.
    pub estimated_wait: Option<Duration>,
    /// Agents serving the queue who are logged in (any state but logged out).
    pub agents_logged_in: u32,
    /// Agents serving the queue who are available now.
    pub agents_available: u32,
    /// Calls waiting or ringing.
    pub calls_queued: u32,
    /// How long the oldest of those calls has waited.
    pub oldest_wait: Option<Duration>,
}

impl Acd {
    /// The figures of `queue` (`None` if there is no such queue). With `call`, the position
    /// and estimate are that caller's; otherwise the estimate is for a caller joining now.
    ///
    /// Cost: O(log calls + position).
    pub fn queue_info(
        &self,
        now: Instant,
        queue: &str,
        call: Option<&CallId>,
    ) -> Option<QueueInfo> {
        let qi = *self.queue_index.get(queue)?;
        let q = self.queues.get(qi)?;
        let position = call
            .and_then(|id| self.seq_of(id))
            .and_then(|seq| self.calls.get(&seq))
            .filter(|c| c.queue == qi)
            .and_then(|c| match c.phase {
                Phase::Waiting => Some(q.position(c.key())),
                Phase::Ringing { .. } => Some(1),
                Phase::Connected { .. } => None,
            });
        let for_position = position.unwrap_or_else(|| {
            u32::try_from(q.waiting_len())
                .unwrap_or(u32::MAX)
                .saturating_add(1)
        });
        Some(QueueInfo {
            position,
            estimated_wait: q.stats.estimate(for_position, q.staffed()),
            agents_logged_in: q.logged_in(),
            agents_available: q.count(AgentStatus::Available),
            calls_queued: u32::try_from(q.pending_len()).unwrap_or(u32::MAX),
            oldest_wait: q.oldest_wait(now),
        })
    }
}
