//! Putting a call in a queue: validation, the availability check, timers, first dispatch.

use crate::acd::Acd;
use crate::call::{Call, Phase};
use crate::config::{MAX_NAME_LEN, MAX_SKILLS};
use crate::error::EnqueueError;
use crate::ids::{CallId, MAX_ID_LEN};
use crate::queue::Skills;
use crate::state::{AgentStatus, AvailabilityCheck};
use crate::timers::Timer;
use std::time::Instant;

/// What the runtime asks for when the flow runs Queue Contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueueRequest {
    pub call: CallId,
    pub queue: String,
    /// 1 (highest) to 10 (lowest).
    pub priority: u8,
    /// Skills the answering agent must all have (empty: any agent of the queue).
    pub skills: Vec<String>,
    /// Overrides the queue's `no_agent_check` (the flow activity's own setting).
    pub check: Option<AvailabilityCheck>,
    /// Where the call's media is (the node holding it, in a cluster): agents reachable
    /// only at another site are not offered it. `None`: any agent.
    pub site: Option<String>,
}

impl EnqueueRequest {
    /// A request without skills, using the queue's availability check.
    pub fn new(call: impl Into<String>, queue: impl Into<String>, priority: u8) -> Self {
        Self {
            call: CallId(call.into()),
            queue: queue.into(),
            priority,
            skills: Vec::new(),
            check: None,
            site: None,
        }
    }

    /// Says where the call's media is.
    pub fn with_site(mut self, site: impl Into<String>) -> Self {
        self.site = Some(site.into());
        self
    }

    /// Asks for skills.
    pub fn with_skills<S: Into<String>>(mut self, skills: impl IntoIterator<Item = S>) -> Self {
        self.skills = skills.into_iter().map(Into::into).collect();
        self
    }

    /// Overrides the availability check.
    pub fn with_check(mut self, check: AvailabilityCheck) -> Self {
        self.check = Some(check);
        self
    }
}

impl Acd {
    /// Queues a call. On success the call waits (or is offered at once: drain the outputs).
    /// A refusal by the availability check is [`EnqueueError::NoAgents`].
    pub fn enqueue(&mut self, now: Instant, req: EnqueueRequest) -> Result<(), EnqueueError> {
        if req.call.0.is_empty() || req.call.0.len() > MAX_ID_LEN {
            return Err(EnqueueError::InvalidCallId);
        }
        if !(1..=10).contains(&req.priority) {
            return Err(EnqueueError::InvalidPriority);
        }
        if req.skills.len() > MAX_SKILLS
            || req
                .skills
                .iter()
                .any(|s| s.is_empty() || s.len() > MAX_NAME_LEN)
        {
            return Err(EnqueueError::InvalidSkills);
        }
        if req
            .site
            .as_ref()
            .is_some_and(|s| s.is_empty() || s.len() > MAX_NAME_LEN)
        {
            return Err(EnqueueError::InvalidSite);
        }
        let qi = *self
            .queue_index
            .get(&req.queue)
            .ok_or(EnqueueError::UnknownQueue)?;
        if self.call_index.contains_key(&req.call) {
            return Err(EnqueueError::DuplicateCall);
        }
        let q = self.queues.get(qi).ok_or(EnqueueError::UnknownQueue)?;
        if q.pending_len() >= q.config.max_calls as usize {
            return Err(EnqueueError::QueueFull);
        }
        let skills: Skills = req.skills.into_iter().collect();
        let check = req.check.unwrap_or(q.config.no_agent_check);
        self.availability(qi, &skills, check)?;

        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let config = q.config.clone();
        let max_wait_timer = config
            .max_wait
            .and_then(|d| now.checked_add(d))
            .map(|at| self.timers.arm(at, Timer::MaxWait(seq)));
        let announce_timer = config
            .announce_every
            .and_then(|d| now.checked_add(d))
            .map(|at| self.timers.arm(at, Timer::Announce(seq)));
        let call = Call {
            id: req.call.clone(),
            queue: qi,
            priority: req.priority,
            seq,
            skills,
            site: req.site,
            enqueued_at: now,
            phase: Phase::Waiting,
            max_wait_timer,
            announce_timer,
        };
        if let Some(q) = self.queues.get_mut(qi) {
            q.add_pending(now, seq);
            q.add_waiting(call.key(), &call.site, &call.skills);
        }
        self.call_index.insert(req.call, seq);
        self.calls.insert(seq, call);
        self.dispatch_call(seq, now);
        Ok(())
    }

    /// Applies an availability check for a call asking for `skills` in queue `qi`.
    fn availability(
        &self,
        qi: usize,
        skills: &Skills,
        check: AvailabilityCheck,
    ) -> Result<(), EnqueueError> {
        if check == AvailabilityCheck::Off {
            return Ok(());
        }
        let (logged_in, available) = self.qualified_counts(qi, skills);
        let refused = match check {
            AvailabilityCheck::Off => false,
            AvailabilityCheck::LoggedIn => logged_in == 0,
            AvailabilityCheck::Available => available == 0,
        };
        if refused {
            return Err(EnqueueError::NoAgents {
                check,
                logged_in,
                available,
            });
        }
        Ok(())
    }

    /// Agents serving queue `qi` with all of `skills`: (logged in, available).
    /// Without skills this is O(1); with skills, O(agents).
    pub(crate) fn qualified_counts(&self, qi: usize, skills: &Skills) -> (u32, u32) {
        let Some(q) = self.queues.get(qi) else {
            return (0, 0);
        };
        if skills.is_empty() {
            return (q.logged_in(), q.count(AgentStatus::Available));
        }
        let mut logged_in = 0u32;
        let mut available = 0u32;
        for a in self
            .agents
            .iter()
            .filter(|a| a.queues.contains(&qi) && skills.is_subset(&a.skills))
        {
            let st = a.slot.status();
            if st.is_logged_in() {
                logged_in += 1;
            }
            if st == AgentStatus::Available {
                available += 1;
            }
        }
        (logged_in, available)
    }
}
