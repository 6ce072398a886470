//! The queue as the voice runtime sees it today: no agents can log in yet (agent
//! registration and routing come with the queue issue), so an availability check finds
//! no agent, and a caller queued without a check waits with music until they hang up.

use ringdesk_flow::{AvailabilityCheck, QueueInfo, QueueResult};

/// Answers the flow's queue actions.
#[derive(Debug, Default)]
pub struct QueuePort;

impl QueuePort {
    pub fn enqueue(&self, queue: &str, priority: u8, check: AvailabilityCheck) -> QueueResult {
        match check {
            AvailabilityCheck::LoggedIn | AvailabilityCheck::Available => {
                tracing::info!(queue, priority, "queue: no agent logged in");
                QueueResult::NoAgents {
                    logged_in: 0,
                    available: 0,
                }
            }
            AvailabilityCheck::Off => {
                tracing::info!(queue, priority, "queue: caller waiting");
                QueueResult::Queued
            }
        }
    }

    /// No agents, no history: nothing to estimate from.
    pub fn info(&self, _queue: &str) -> QueueInfo {
        QueueInfo::default()
    }
}
