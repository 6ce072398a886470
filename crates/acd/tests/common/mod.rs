//! Test harness: a core on virtual time, with helpers to build configs and drain outputs.

#![allow(dead_code)]

use ringdesk_acd::{
    Acd, AcdConfig, AgentConfig, AgentId, CallId, EnqueueRequest, Output, QueueConfig,
};
use std::time::{Duration, Instant};

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn agent(id: &str, queues: &[&str], skills: &[&str]) -> AgentConfig {
    AgentConfig {
        id: id.into(),
        name: id.to_uppercase(),
        password: Some(ringdesk_acd::Secret::new("pw")),
        password_env: None,
        contact_hosts: vec![],
        srtp: None,
        queues: queues.iter().map(|q| q.to_string()).collect(),
        skills: skills.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn aid(id: &str) -> AgentId {
    AgentId::new(id)
}

pub fn cid(id: &str) -> CallId {
    CallId::new(id)
}

/// A core plus a virtual clock.
pub struct Harness {
    pub acd: Acd,
    pub now: Instant,
    pub t0: Instant,
}

impl Harness {
    pub fn new(queues: &[(&str, QueueConfig)], agents: Vec<AgentConfig>) -> Self {
        let mut config = AcdConfig::default();
        for (name, q) in queues {
            config.queues.insert(name.to_string(), q.clone());
        }
        config.agents = agents;
        let t0 = Instant::now();
        Self {
            acd: Acd::new(&config).expect("valid config"),
            now: t0,
            t0,
        }
    }

    /// Moves the clock forward, handling every deadline on the way in order.
    pub fn advance(&mut self, by: Duration) -> Vec<Output> {
        let end = self.now + by;
        let mut out = Vec::new();
        while let Some(at) = self.acd.poll_timeout().filter(|at| *at <= end) {
            self.now = self.now.max(at);
            self.acd.handle_timeout(self.now);
            out.extend(self.drain());
        }
        self.now = end;
        out
    }

    pub fn drain(&mut self) -> Vec<Output> {
        let out: Vec<Output> = std::iter::from_fn(|| self.acd.poll_output()).collect();
        self.acd.check_invariants().expect("invariants");
        out
    }

    pub fn login(&mut self, id: &str) -> Vec<Output> {
        self.acd
            .agent_registered(self.now, &aid(id))
            .expect("known agent");
        self.drain()
    }

    pub fn enqueue(&mut self, call: &str, queue: &str, priority: u8) -> Vec<Output> {
        self.acd
            .enqueue(self.now, EnqueueRequest::new(call, queue, priority))
            .expect("queued");
        self.drain()
    }

    pub fn answer(&mut self, call: &str, agent: &str) -> Vec<Output> {
        self.acd
            .offer_answered(self.now, &cid(call), &aid(agent))
            .expect("answer");
        self.drain()
    }

    pub fn end(&mut self, call: &str) -> Vec<Output> {
        self.acd
            .call_ended(self.now, &cid(call), ringdesk_acd::Party::Caller)
            .expect("end");
        self.drain()
    }
}

/// The (call, agent) pairs offered, in order.
pub fn offers(out: &[Output]) -> Vec<(String, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Offer { call, agent, .. } => Some((call.0.clone(), agent.0.clone())),
            _ => None,
        })
        .collect()
}

pub fn offer(call: &str, agent: &str) -> (String, String) {
    (call.to_owned(), agent.to_owned())
}
