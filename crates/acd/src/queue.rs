//! One queue's indices: waiting calls by skills and routing order, available agents by idle time.
//!
//! A call's routing key is `(priority, seq)`: priority 1 first, then arrival order. A call that
//! comes back after a failed offer keeps its key, so it returns ahead of every later arrival.

use crate::config::QueueConfig;
use crate::estimate::QueueStats;
use crate::state::AgentStatus;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Routing order of a call: priority, then arrival sequence.
pub(crate) type CallKey = (u8, u64);

/// A set of skills (sorted, so it can key a map).
pub(crate) type Skills = BTreeSet<String>;

/// Where a call's media is (a node of a cluster), or `None` on one node.
pub(crate) type Site = Option<String>;

/// Whether an agent reachable at `agent_site` (`None`: anywhere) can take a call at `site`.
pub(crate) fn reaches(agent_site: &Site, site: &Site) -> bool {
    agent_site.is_none() || agent_site == site
}

/// A queue and its indices.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) name: String,
    pub(crate) config: QueueConfig,
    /// Waiting (not ringing) calls grouped by where they are and the skills they ask for.
    /// Groups are few (one per site and distinct skill set in use), so an agent's best call
    /// is found by peeking each group it qualifies for.
    groups: BTreeMap<(Site, Skills), BTreeSet<CallKey>>,
    /// Every waiting call in routing order (for positions).
    waiting: BTreeSet<CallKey>,
    /// Calls waiting or ringing, by enqueue time.
    pending: BTreeSet<(Instant, u64)>,
    /// Available agents serving the queue: longest available first.
    available: BTreeSet<(Instant, usize)>,
    /// Agents serving the queue, per status.
    counts: [u32; AgentStatus::COUNT],
    pub(crate) stats: QueueStats,
}

impl Queue {
    pub(crate) fn new(name: String, config: QueueConfig) -> Self {
        Self {
            name,
            config,
            groups: BTreeMap::new(),
            waiting: BTreeSet::new(),
            pending: BTreeSet::new(),
            available: BTreeSet::new(),
            counts: [0; AgentStatus::COUNT],
            stats: QueueStats::default(),
        }
    }

    /// Starts tracking a new call (waiting or ringing) for size and oldest-wait figures.
    pub(crate) fn add_pending(&mut self, enqueued_at: Instant, seq: u64) {
        self.pending.insert((enqueued_at, seq));
    }

    /// Stops tracking a call that was answered or left.
    pub(crate) fn remove_pending(&mut self, enqueued_at: Instant, seq: u64) {
        self.pending.remove(&(enqueued_at, seq));
    }

    /// Calls waiting or ringing.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// How long the oldest call still in the queue has waited.
    pub(crate) fn oldest_wait(&self, now: Instant) -> Option<Duration> {
        self.pending
            .first()
            .map(|(t, _)| now.saturating_duration_since(*t))
    }

    /// Puts a call in the waiting indices.
    pub(crate) fn add_waiting(&mut self, key: CallKey, site: &Site, skills: &Skills) {
        self.waiting.insert(key);
        self.groups
            .entry((site.clone(), skills.clone()))
            .or_default()
            .insert(key);
    }

    /// Takes a call out of the waiting indices (offered, or gone).
    pub(crate) fn remove_waiting(&mut self, key: CallKey, site: &Site, skills: &Skills) {
        self.waiting.remove(&key);
        let group = (site.clone(), skills.clone());
        if let Some(g) = self.groups.get_mut(&group) {
            g.remove(&key);
            if g.is_empty() {
                self.groups.remove(&group);
            }
        }
    }

    /// The first waiting call an agent with `agent_skills`, reachable at `agent_site`, can
    /// take.
    pub(crate) fn head_for(&self, agent_skills: &Skills, agent_site: &Site) -> Option<CallKey> {
        self.groups
            .iter()
            .filter(|((site, needed), _)| {
                needed.is_subset(agent_skills) && reaches(agent_site, site)
            })
            .filter_map(|(_, calls)| calls.first().copied())
            .min()
    }

    /// 1-based position of a call with `key` among waiting calls (ringing calls count as 1).
    pub(crate) fn position(&self, key: CallKey) -> u32 {
        let ahead = self.waiting.range(..key).count();
        u32::try_from(ahead).unwrap_or(u32::MAX).saturating_add(1)
    }

    /// Waiting calls (not ringing).
    pub(crate) fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    /// Available agents, longest available first.
    pub(crate) fn available_agents(&self) -> impl Iterator<Item = usize> + '_ {
        self.available.iter().map(|(_, a)| *a)
    }

    pub(crate) fn add_available(&mut self, since: Instant, agent: usize) {
        self.available.insert((since, agent));
    }

    pub(crate) fn remove_available(&mut self, since: Instant, agent: usize) {
        self.available.remove(&(since, agent));
    }

    /// Moves one serving agent's count from one status to another.
    pub(crate) fn count_move(&mut self, from: Option<AgentStatus>, to: AgentStatus) {
        if let Some(f) = from {
            if let Some(c) = self.counts.get_mut(f.index()) {
                *c = c.saturating_sub(1);
            }
        }
        if let Some(c) = self.counts.get_mut(to.index()) {
            *c = c.saturating_add(1);
        }
    }

    /// Serving agents in `status`.
    pub(crate) fn count(&self, status: AgentStatus) -> u32 {
        self.counts.get(status.index()).copied().unwrap_or(0)
    }

    /// Serving agents logged in.
    pub(crate) fn logged_in(&self) -> u32 {
        self.counts
            .iter()
            .sum::<u32>()
            .saturating_sub(self.count(AgentStatus::LoggedOut))
    }

    /// Serving agents working calls: available, reserved, busy or in wrap-up.
    pub(crate) fn staffed(&self) -> u32 {
        [
            AgentStatus::Available,
            AgentStatus::Reserved,
            AgentStatus::Busy,
            AgentStatus::WrapUp,
        ]
        .iter()
        .map(|s| self.count(*s))
        .sum()
    }

    /// Consistency of the indices (used by [`crate::Acd::check_invariants`]).
    pub(crate) fn check(&self) -> Result<(), String> {
        let grouped: usize = self.groups.values().map(BTreeSet::len).sum();
        if grouped != self.waiting.len() || self.groups.values().any(BTreeSet::is_empty) {
            return Err(format!("queue {}: groups disagree with waiting", self.name));
        }
        if self.waiting.len() > self.pending.len() {
            return Err(format!("queue {}: more waiting than pending", self.name));
        }
        if self.available.len() != self.count(AgentStatus::Available) as usize {
            return Err(format!("queue {}: available set vs count", self.name));
        }
        Ok(())
    }
}
