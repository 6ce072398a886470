//! A full consistency check of the core's indices and states, for tests and debugging.
//!
//! It is O(everything): never call it on a hot path.

use crate::acd::Acd;
use crate::agent::Slot;
use crate::call::Phase;
use crate::state::AgentStatus;

impl Acd {
    /// Checks every internal invariant: each ringing call is held by exactly one reserved
    /// agent and each connected call by one busy agent (so no call is offered twice and no
    /// agent holds two calls), per-queue counts and indices agree with the agents and calls,
    /// and no waiting call could be offered to an available agent (nothing is left idle).
    pub fn check_invariants(&self) -> Result<(), String> {
        for (a, ag) in self.agents.iter().enumerate() {
            match ag.slot {
                Slot::Reserved(seq) => match self.calls.get(&seq).map(|c| c.phase) {
                    Some(Phase::Ringing { agent, .. }) if agent == a => {}
                    other => return Err(format!("agent {} reserved for {seq}: {other:?}", ag.id)),
                },
                Slot::Busy(seq) => match self.calls.get(&seq).map(|c| c.phase) {
                    Some(Phase::Connected { agent, .. }) if agent == a => {}
                    other => return Err(format!("agent {} busy on {seq}: {other:?}", ag.id)),
                },
                Slot::Available => {
                    if !ag.registered || ag.idle_since.is_none() {
                        return Err(format!("agent {} available but unregistered", ag.id));
                    }
                    for qi in &ag.queues {
                        if let Some(k) = self
                            .queues
                            .get(*qi)
                            .and_then(|q| q.head_for(&ag.skills, &ag.site))
                        {
                            return Err(format!("agent {} idle while call {k:?} waits", ag.id));
                        }
                    }
                }
                Slot::WrapUp if ag.wrap_timer.is_none() => {
                    return Err(format!("agent {} in wrap-up without a timer", ag.id));
                }
                _ => {}
            }
        }
        for (seq, c) in &self.calls {
            if self.call_index.get(&c.id) != Some(seq) {
                return Err(format!("call {} not indexed", c.id));
            }
            match c.phase {
                Phase::Ringing { agent, .. } => {
                    if self.agents.get(agent).map(|a| &a.slot) != Some(&Slot::Reserved(*seq)) {
                        return Err(format!("call {} rings an agent not reserved for it", c.id));
                    }
                }
                Phase::Connected { agent, .. } => {
                    if self.agents.get(agent).map(|a| &a.slot) != Some(&Slot::Busy(*seq)) {
                        return Err(format!(
                            "call {} connected to an agent not busy with it",
                            c.id
                        ));
                    }
                }
                Phase::Waiting => {}
            }
        }
        if self.call_index.len() != self.calls.len() {
            return Err("call index size differs".into());
        }
        // (waiting, waiting or ringing) per queue, in one pass over the calls.
        let mut per_queue = vec![(0usize, 0usize); self.queues.len()];
        for c in self.calls.values() {
            if let Some(n) = per_queue.get_mut(c.queue) {
                match c.phase {
                    Phase::Waiting => *n = (n.0 + 1, n.1 + 1),
                    Phase::Ringing { .. } => n.1 += 1,
                    Phase::Connected { .. } => {}
                }
            }
        }
        for (qi, q) in self.queues.iter().enumerate() {
            q.check()?;
            let mut counts = [0u32; AgentStatus::COUNT];
            for ag in self.agents.iter().filter(|a| a.queues.contains(&qi)) {
                if let Some(c) = counts.get_mut(ag.slot.status().index()) {
                    *c += 1;
                }
            }
            for st in [
                AgentStatus::LoggedOut,
                AgentStatus::Available,
                AgentStatus::NotReady,
                AgentStatus::Reserved,
                AgentStatus::Busy,
                AgentStatus::WrapUp,
            ] {
                if counts.get(st.index()).copied() != Some(q.count(st)) {
                    return Err(format!(
                        "queue {}: count of {} is wrong",
                        q.name,
                        st.as_str()
                    ));
                }
            }
            let (waiting, pending) = per_queue.get(qi).copied().unwrap_or_default();
            if waiting != q.waiting_len() || pending != q.pending_len() {
                return Err(format!("queue {}: call indices disagree", q.name));
            }
        }
        Ok(())
    }
}
