//! Handling due deadlines: ring-no-answer, maximum wait, announcements, end of wrap-up.

use crate::acd::Acd;
use crate::agent::Slot;
use crate::call::Phase;
use crate::output::Output;
use crate::state::{ChangeCause, REASON_RING_NO_ANSWER};
use crate::timers::Timer;
use std::time::Instant;

impl Acd {
    /// Processes every deadline due at `now`, in deadline order. Call it when
    /// [`Acd::poll_timeout`] has passed (calling it early or often is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::RingTimeout(seq) => self.ring_timeout(seq, now),
                Timer::MaxWait(seq) => self.max_wait(seq, now),
                Timer::Announce(seq) => self.announce(seq, at, now),
                Timer::WrapUpEnd(a) => self.wrap_up_end(a, now),
            }
        }
    }

    fn ring_timeout(&mut self, seq: u64, now: Instant) {
        if let Some(c) = self.calls.get(&seq) {
            if matches!(c.phase, Phase::Ringing { .. }) {
                let slot = Slot::NotReady(REASON_RING_NO_ANSWER.to_owned());
                self.offer_failed_by_agent(seq, slot, ChangeCause::RingNoAnswer, true, now);
            }
        }
    }

    fn max_wait(&mut self, seq: u64, now: Instant) {
        let Some(c) = self.calls.get_mut(&seq) else {
            return;
        };
        // The timer fired, so it is no longer armed.
        c.max_wait_timer = None;
        if matches!(c.phase, Phase::Connected { .. }) {
            return;
        }
        if let Some((c, released)) = self.remove_call(seq) {
            let waited = now.saturating_duration_since(c.enqueued_at);
            let queue = self.queue_name(c.queue);
            self.outputs.push_back(Output::MaxWaitReached {
                call: c.id,
                queue,
                waited,
            });
            self.release_agent(released, now);
        }
    }

    /// Announces to a waiting caller (not while their call rings an agent) and re-arms on
    /// the original schedule, skipping slots missed by a late wake-up.
    fn announce(&mut self, seq: u64, due: Instant, now: Instant) {
        let Some(c) = self.calls.get(&seq) else {
            return;
        };
        let Some(q) = self.queues.get(c.queue) else {
            return;
        };
        let Some(every) = q.config.announce_every else {
            return;
        };
        if matches!(c.phase, Phase::Connected { .. }) {
            return;
        }
        if c.phase == Phase::Waiting {
            let position = q.position(c.key());
            let estimated_wait = q.stats.estimate(position, q.staffed());
            self.outputs.push_back(Output::Announce {
                call: c.id.clone(),
                position,
                estimated_wait,
            });
        }
        let late = now.saturating_duration_since(due);
        let skipped = late.as_nanos() / every.as_nanos().max(1);
        let step = every.saturating_mul(u32::try_from(skipped + 1).unwrap_or(u32::MAX));
        let next = due.checked_add(step);
        let key = next.map(|at| self.timers.arm(at, Timer::Announce(seq)));
        if let Some(c) = self.calls.get_mut(&seq) {
            c.announce_timer = key;
        }
    }

    fn wrap_up_end(&mut self, a: usize, now: Instant) {
        let Some(ag) = self.agents.get_mut(a) else {
            return;
        };
        ag.wrap_timer = None;
        if ag.slot != Slot::WrapUp {
            return;
        }
        if ag.registered {
            self.transition(a, Slot::Available, ChangeCause::WrapUpEnded, now);
            self.dispatch_agent(a, now);
        } else {
            self.transition(a, Slot::LoggedOut, ChangeCause::Unregistered, now);
        }
    }
}
