//! Agent state transitions and the matching of waiting calls to available agents.
//!
//! The core keeps one invariant after every input: no waiting call could be offered to an
//! available agent. So each change needs only one match: a call that starts waiting looks
//! for the longest-available qualified agent (O(agents of its queue)); an agent who becomes
//! available looks for the best call among the queues they serve (O(queues × skill groups ×
//! log calls)). Best means priority first, then arrival order, across those queues.

use crate::acd::Acd;
use crate::agent::Slot;
use crate::call::Phase;
use crate::ids::{AgentId, CallId};
use crate::output::Output;
use crate::state::{AgentStatus, ChangeCause};
use std::time::Instant;

impl Acd {
    /// Moves agent `a` to `to`, keeping every queue's counts and available set right,
    /// and reports the change. Does not dispatch.
    pub(crate) fn transition(&mut self, a: usize, to: Slot, cause: ChangeCause, now: Instant) {
        let Some(agent) = self.agents.get_mut(a) else {
            return;
        };
        let from = agent.slot.status();
        let to_status = to.status();
        if agent.slot == to {
            return;
        }
        if from == AgentStatus::WrapUp {
            self.timers.cancel(agent.wrap_timer.take());
        }
        let old_since = agent.idle_since;
        if to_status == AgentStatus::Available {
            // An offer withdrawn through no fault of the agent keeps their place in line.
            if !(cause == ChangeCause::OfferWithdrawn && old_since.is_some()) {
                agent.idle_since = Some(now);
            }
        } else if to_status != AgentStatus::Reserved {
            agent.idle_since = None;
        }
        let new_since = agent.idle_since;
        let reason = match &to {
            Slot::NotReady(r) => Some(r.clone()),
            _ => None,
        };
        agent.slot = to;
        let id = agent.id.clone();
        for qi in agent.queues.clone() {
            let Some(q) = self.queues.get_mut(qi) else {
                continue;
            };
            if from == AgentStatus::Available {
                if let Some(s) = old_since {
                    q.remove_available(s, a);
                }
            }
            if to_status == AgentStatus::Available {
                if let Some(s) = new_since {
                    q.add_available(s, a);
                }
            }
            q.count_move(Some(from), to_status);
        }
        self.outputs.push_back(Output::AgentStateChanged {
            agent: id,
            from,
            to: to_status,
            cause,
            reason,
        });
    }

    /// Offers waiting call `seq` to available agent `a`.
    fn offer(&mut self, seq: u64, a: usize, now: Instant) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        let (key, qi) = (call.key(), call.queue);
        let Some(q) = self.queues.get_mut(qi) else {
            return;
        };
        q.remove_waiting(key, &call.site, &call.skills);
        let ring = q.config.ring_timeout;
        let queue_name = q.name.clone();
        let call_id = call.id.clone();
        let timer = self.timers.arm(
            now.checked_add(ring).unwrap_or(now),
            crate::timers::Timer::RingTimeout(seq),
        );
        if let Some(call) = self.calls.get_mut(&seq) {
            call.phase = Phase::Ringing { agent: a, timer };
        }
        self.transition(a, Slot::Reserved(seq), ChangeCause::Offered, now);
        let agent = self.agent_id(a);
        self.outputs.push_back(Output::Offer {
            call: call_id,
            agent,
            queue: queue_name,
        });
    }

    /// Looks for the best waiting call agent `a` (available) can take, and offers it.
    pub(crate) fn dispatch_agent(&mut self, a: usize, now: Instant) {
        let Some(agent) = self.agents.get(a) else {
            return;
        };
        if agent.slot != Slot::Available {
            return;
        }
        let best = agent
            .queues
            .iter()
            .filter_map(|qi| self.queues.get(*qi)?.head_for(&agent.skills, &agent.site))
            .min();
        if let Some((_, seq)) = best {
            self.offer(seq, a, now);
        }
    }

    /// Looks for the longest-available agent who can take waiting call `seq`, and offers it.
    pub(crate) fn dispatch_call(&mut self, seq: u64, now: Instant) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        if call.phase != Phase::Waiting {
            return;
        }
        let Some(q) = self.queues.get(call.queue) else {
            return;
        };
        let found = q.available_agents().find(|a| {
            self.agents.get(*a).is_some_and(|ag| {
                call.skills.is_subset(&ag.skills) && crate::queue::reaches(&ag.site, &call.site)
            })
        });
        if let Some(a) = found {
            self.offer(seq, a, now);
        }
    }

    /// Ends the offer of ringing call `seq` because of the agent (no answer, rejection,
    /// failure, logout): the agent goes to `agent_slot`, the call back to its place in the
    /// queue, then to the next agent. `cancel` asks the runtime to stop ringing.
    pub(crate) fn offer_failed_by_agent(
        &mut self,
        seq: u64,
        agent_slot: Slot,
        cause: ChangeCause,
        cancel: bool,
        now: Instant,
    ) {
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        let Phase::Ringing { agent: a, timer } = call.phase else {
            return;
        };
        call.phase = Phase::Waiting;
        let (key, qi, call_id) = (call.key(), call.queue, call.id.clone());
        self.timers.cancel(Some(timer));
        if let Some(q) = self.queues.get_mut(qi) {
            q.add_waiting(key, &call.site, &call.skills);
        }
        if cancel {
            let agent = self.agent_id(a);
            self.outputs.push_back(Output::CancelOffer {
                call: call_id,
                agent,
            });
        }
        self.transition(a, agent_slot, cause, now);
        self.dispatch_call(seq, now);
    }

    /// Forgets call `seq` entirely (left the queue or its conversation ended). If it was
    /// ringing, the offer is cancelled ([`Output::CancelOffer`]) and the agent is returned:
    /// the caller reports why the call left, then calls [`Acd::release_agent`] with it.
    pub(crate) fn remove_call(&mut self, seq: u64) -> Option<(crate::call::Call, Option<usize>)> {
        let call = self.calls.remove(&seq)?;
        self.call_index.remove(&call.id);
        self.timers.cancel(call.max_wait_timer);
        self.timers.cancel(call.announce_timer);
        if let Some(q) = self.queues.get_mut(call.queue) {
            match call.phase {
                Phase::Waiting => {
                    q.remove_waiting(call.key(), &call.site, &call.skills);
                    q.remove_pending(call.enqueued_at, seq);
                }
                Phase::Ringing { .. } => q.remove_pending(call.enqueued_at, seq),
                Phase::Connected { .. } => {}
            }
        }
        let mut released = None;
        if let Phase::Ringing { agent: a, timer } = call.phase {
            self.timers.cancel(Some(timer));
            let agent = self.agent_id(a);
            self.outputs.push_back(Output::CancelOffer {
                call: call.id.clone(),
                agent,
            });
            released = Some(a);
        }
        Some((call, released))
    }

    /// Returns an agent whose offer was withdrawn through no fault of theirs: available
    /// again with their place in line kept (or logged out if unregistered), then dispatched.
    pub(crate) fn release_agent(&mut self, a: Option<usize>, now: Instant) {
        let Some(a) = a else {
            return;
        };
        let registered = self.agents.get(a).is_some_and(|ag| ag.registered);
        if registered {
            self.transition(a, Slot::Available, ChangeCause::OfferWithdrawn, now);
            self.dispatch_agent(a, now);
        } else {
            self.transition(a, Slot::LoggedOut, ChangeCause::Unregistered, now);
        }
    }

    /// The id of agent `a`.
    pub(crate) fn agent_id(&self, a: usize) -> AgentId {
        self.agents
            .get(a)
            .map(|ag| ag.id.clone())
            .unwrap_or_else(|| AgentId(String::new()))
    }

    /// Looks up a call by id.
    pub(crate) fn seq_of(&self, call: &CallId) -> Option<u64> {
        self.call_index.get(call).copied()
    }
}
