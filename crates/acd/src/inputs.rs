//! Inputs from the runtime about agents (registration, admin state changes) and about
//! offers and calls (answered, rejected, failed, ended, abandoned).

use crate::acd::Acd;
use crate::agent::Slot;
use crate::call::Phase;
use crate::error::AcdError;
use crate::ids::{AgentId, CallId};
use crate::output::Output;
use crate::state::{ChangeCause, Party, RequestedState, REASON_OFFER_FAILED, REASON_REJECTED};
use std::time::Instant;

/// Longest not-ready reason, in bytes.
pub const MAX_REASON_LEN: usize = 128;

impl Acd {
    fn agent_idx(&self, agent: &AgentId) -> Result<usize, AcdError> {
        self.agent_index
            .get(agent)
            .copied()
            .ok_or(AcdError::UnknownAgent)
    }

    /// The agent's softphone registered (or refreshed its registration).
    /// A logged-out agent becomes available; otherwise nothing changes.
    pub fn agent_registered(&mut self, now: Instant, agent: &AgentId) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let Some(ag) = self.agents.get_mut(a) else {
            return Err(AcdError::UnknownAgent);
        };
        ag.registered = true;
        if ag.slot == Slot::LoggedOut {
            self.transition(a, Slot::Available, ChangeCause::Registered, now);
            self.dispatch_agent(a, now);
        }
        Ok(())
    }

    /// The agent's registration ended or lapsed: the agent is logged out. An offer in
    /// progress is cancelled and the call goes back to its place; a call in progress goes
    /// on, and the agent is logged out when it ends.
    pub fn agent_unregistered(&mut self, now: Instant, agent: &AgentId) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let Some(ag) = self.agents.get_mut(a) else {
            return Err(AcdError::UnknownAgent);
        };
        ag.registered = false;
        match ag.slot {
            Slot::LoggedOut | Slot::Busy(_) => {}
            Slot::Reserved(seq) => self.offer_failed_by_agent(
                seq,
                Slot::LoggedOut,
                ChangeCause::Unregistered,
                true,
                now,
            ),
            Slot::Available | Slot::NotReady(_) | Slot::WrapUp => {
                self.transition(a, Slot::LoggedOut, ChangeCause::Unregistered, now);
            }
        }
        Ok(())
    }

    /// Where the agent can be rung from (`None`: from anywhere). In a cluster, an agent
    /// whose phone only one node reaches takes only the calls whose media that node holds
    /// ([`crate::EnqueueRequest::with_site`]). An available agent may be offered a call at
    /// once.
    pub fn set_agent_site(
        &mut self,
        now: Instant,
        agent: &AgentId,
        site: Option<String>,
    ) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let Some(ag) = self.agents.get_mut(a) else {
            return Err(AcdError::UnknownAgent);
        };
        if ag.site != site {
            ag.site = site;
            self.dispatch_agent(a, now);
        }
        Ok(())
    }

    /// An agent or supervisor asks for available or not ready (admin API).
    ///
    /// Not ready while being offered a call withdraws the offer (the call goes back to its
    /// place). Refused while logged out, and while busy on a call.
    pub fn set_agent_state(
        &mut self,
        now: Instant,
        agent: &AgentId,
        state: RequestedState,
    ) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        if let RequestedState::NotReady { reason } = &state {
            if reason.is_empty()
                || reason.len() > MAX_REASON_LEN
                || reason.chars().any(char::is_control)
            {
                return Err(AcdError::InvalidReason);
            }
        }
        let slot = self
            .agents
            .get(a)
            .map(|ag| ag.slot.clone())
            .ok_or(AcdError::UnknownAgent)?;
        match (slot, state) {
            (Slot::LoggedOut, _) => Err(AcdError::LoggedOut),
            (Slot::Busy(_), _) => Err(AcdError::NotAllowed(crate::AgentStatus::Busy)),
            (Slot::Reserved(_), RequestedState::Available) => {
                Err(AcdError::NotAllowed(crate::AgentStatus::Reserved))
            }
            (Slot::Reserved(seq), RequestedState::NotReady { reason }) => {
                self.offer_failed_by_agent(
                    seq,
                    Slot::NotReady(reason),
                    ChangeCause::Requested,
                    true,
                    now,
                );
                Ok(())
            }
            (Slot::Available, RequestedState::Available) => Ok(()),
            (Slot::NotReady(_) | Slot::WrapUp, RequestedState::Available) => {
                self.transition(a, Slot::Available, ChangeCause::Requested, now);
                self.dispatch_agent(a, now);
                Ok(())
            }
            (
                Slot::Available | Slot::NotReady(_) | Slot::WrapUp,
                RequestedState::NotReady { reason },
            ) => {
                self.transition(a, Slot::NotReady(reason), ChangeCause::Requested, now);
                Ok(())
            }
        }
    }

    /// Finds a call ringing `agent`.
    fn ringing(&self, call: &CallId, agent: &AgentId) -> Result<(u64, usize), AcdError> {
        let seq = self.seq_of(call).ok_or(AcdError::UnknownCall)?;
        let a = self.agent_idx(agent)?;
        match self.calls.get(&seq).map(|c| c.phase) {
            Some(Phase::Ringing { agent: r, .. }) if r == a => Ok((seq, a)),
            Some(_) => Err(AcdError::NotOffered),
            None => Err(AcdError::UnknownCall),
        }
    }

    /// The agent answered the offer: the agent is busy, the call leaves the queue
    /// ([`Output::Answered`]); the runtime bridges them.
    pub fn offer_answered(
        &mut self,
        now: Instant,
        call: &CallId,
        agent: &AgentId,
    ) -> Result<(), AcdError> {
        let (seq, a) = self.ringing(call, agent)?;
        let Some(c) = self.calls.get_mut(&seq) else {
            return Err(AcdError::UnknownCall);
        };
        if let Phase::Ringing { timer, .. } = c.phase {
            self.timers.cancel(Some(timer));
        }
        self.timers.cancel(c.max_wait_timer.take());
        self.timers.cancel(c.announce_timer.take());
        c.phase = Phase::Connected {
            agent: a,
            answered_at: now,
        };
        let waited = now.saturating_duration_since(c.enqueued_at);
        let (qi, enqueued_at, id) = (c.queue, c.enqueued_at, c.id.clone());
        if let Some(q) = self.queues.get_mut(qi) {
            q.remove_pending(enqueued_at, seq);
            q.stats.wait.record(waited);
        }
        self.transition(a, Slot::Busy(seq), ChangeCause::Answered, now);
        let queue = self.queue_name(qi);
        self.outputs.push_back(Output::Answered {
            call: id,
            agent: agent.clone(),
            queue,
            waited,
        });
        Ok(())
    }

    /// The agent rejected the offer (486/603): the agent goes not ready ("rejected") and
    /// the call back to its place, then to the next agent.
    pub fn offer_rejected(
        &mut self,
        now: Instant,
        call: &CallId,
        agent: &AgentId,
    ) -> Result<(), AcdError> {
        let (seq, _) = self.ringing(call, agent)?;
        let slot = Slot::NotReady(REASON_REJECTED.to_owned());
        self.offer_failed_by_agent(seq, slot, ChangeCause::Rejected, false, now);
        Ok(())
    }

    /// The offer could not be delivered (no answer from the phone, transport error, other
    /// final failure): handled like a rejection, with reason "offer failed".
    pub fn offer_failed(
        &mut self,
        now: Instant,
        call: &CallId,
        agent: &AgentId,
    ) -> Result<(), AcdError> {
        let (seq, _) = self.ringing(call, agent)?;
        let slot = Slot::NotReady(REASON_OFFER_FAILED.to_owned());
        self.offer_failed_by_agent(seq, slot, ChangeCause::OfferFailed, false, now);
        Ok(())
    }

    /// A bridged call ended. The agent goes to wrap-up (then available), or straight to
    /// available without wrap-up time, or logged out if their registration lapsed meanwhile.
    pub fn call_ended(&mut self, now: Instant, call: &CallId, by: Party) -> Result<(), AcdError> {
        let seq = self.seq_of(call).ok_or(AcdError::UnknownCall)?;
        let Some(Phase::Connected {
            agent: a,
            answered_at,
        }) = self.calls.get(&seq).map(|c| c.phase)
        else {
            return Err(AcdError::NotConnected);
        };
        let Some((c, _)) = self.remove_call(seq) else {
            return Err(AcdError::UnknownCall);
        };
        let talk = now.saturating_duration_since(answered_at);
        let wrap = self
            .queues
            .get(c.queue)
            .map(|q| q.config.wrap_up)
            .unwrap_or_default();
        if let Some(q) = self.queues.get_mut(c.queue) {
            q.stats.handle.record(talk.saturating_add(wrap));
        }
        let agent = self.agent_id(a);
        self.outputs.push_back(Output::CallEnded {
            call: c.id,
            agent,
            by,
            handled: talk,
        });
        let registered = self.agents.get(a).is_some_and(|ag| ag.registered);
        if !registered {
            self.transition(a, Slot::LoggedOut, ChangeCause::Unregistered, now);
        } else if wrap.is_zero() {
            self.transition(a, Slot::Available, ChangeCause::CallEnded, now);
            self.dispatch_agent(a, now);
        } else {
            self.transition(a, Slot::WrapUp, ChangeCause::CallEnded, now);
            let at = now.checked_add(wrap).unwrap_or(now);
            let key = self.timers.arm(at, crate::timers::Timer::WrapUpEnd(a));
            if let Some(ag) = self.agents.get_mut(a) {
                ag.wrap_timer = Some(key);
            }
        }
        Ok(())
    }

    /// The call is lost with the node that held its media: a bridged call ends as ended
    /// by the system (its agent to wrap-up), a waiting or ringing one as abandoned.
    /// Returns the agent it was ringing or bridged to, if any.
    pub fn call_lost(&mut self, now: Instant, call: &CallId) -> Result<Option<AgentId>, AcdError> {
        let seq = self.seq_of(call).ok_or(AcdError::UnknownCall)?;
        let phase = self.calls.get(&seq).map(|c| c.phase);
        let agent = match phase {
            Some(Phase::Connected { agent, .. } | Phase::Ringing { agent, .. }) => {
                Some(self.agent_id(agent))
            }
            _ => None,
        };
        match phase {
            Some(Phase::Connected { .. }) => self.call_ended(now, call, Party::System)?,
            _ => self.caller_abandoned(now, call)?,
        }
        Ok(agent)
    }

    /// The caller hung up. In the queue: the call is removed ([`Output::Abandoned`]) and an
    /// agent being offered it is released. Already connected: same as
    /// [`Acd::call_ended`] by the caller.
    pub fn caller_abandoned(&mut self, now: Instant, call: &CallId) -> Result<(), AcdError> {
        let seq = self.seq_of(call).ok_or(AcdError::UnknownCall)?;
        if let Some(Phase::Connected { .. }) = self.calls.get(&seq).map(|c| c.phase) {
            return self.call_ended(now, call, Party::Caller);
        }
        let Some((c, released)) = self.remove_call(seq) else {
            return Err(AcdError::UnknownCall);
        };
        let waited = now.saturating_duration_since(c.enqueued_at);
        let queue = self.queue_name(c.queue);
        self.outputs.push_back(Output::Abandoned {
            call: c.id,
            queue,
            waited,
        });
        self.release_agent(released, now);
        Ok(())
    }
}
