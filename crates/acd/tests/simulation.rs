//! Randomized simulation on virtual time: hundreds of callers and agents, random arrivals,
//! answers, rejections, failures, hang-ups, abandonments and state changes, with an
//! independent shadow model checking every output and the core's invariants after every step.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ringdesk_acd::{
    Acd, AcdConfig, AgentConfig, AgentId, AgentStatus, AvailabilityCheck, CallId, EnqueueError,
    EnqueueRequest, Output, Party, QueueConfig, RequestedState,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const QUEUES: [&str; 4] = ["billing", "support", "sales", "vip"];
const SKILLS: [&str; 3] = ["en", "pt", "es"];
const AGENTS: usize = 100;
const CALLERS: usize = 400;

#[derive(Debug, Clone)]
struct Meta {
    queue: String,
    priority: u8,
    arrival: u64,
    skills: BTreeSet<String>,
}

#[derive(Default, Debug)]
struct Counts {
    offers: u32,
    cancels: u32,
    answered: u32,
    abandoned: u32,
    max_wait: u32,
    ended: u32,
    announces: u32,
    refused: u32,
}

/// What the outputs say the world looks like, kept independently of the core.
struct Model {
    agent_queues: BTreeMap<String, BTreeSet<String>>,
    agent_skills: BTreeMap<String, BTreeSet<String>>,
    status: BTreeMap<String, AgentStatus>,
    meta: BTreeMap<String, Meta>,
    waiting: BTreeSet<String>,
    ringing: BTreeMap<String, String>,
    ringing_agent: BTreeMap<String, String>,
    connected: BTreeMap<String, String>,
    resolved: BTreeSet<String>,
    counts: Counts,
}

impl Model {
    fn qualifies(&self, agent: &str, m: &Meta) -> bool {
        self.agent_queues[agent].contains(&m.queue) && m.skills.is_subset(&self.agent_skills[agent])
    }

    fn key(m: &Meta) -> (u8, u64) {
        (m.priority, m.arrival)
    }

    /// The offer of `call` ended without a CANCEL (rejected or failed): back to waiting.
    fn unring(&mut self, call: &str) {
        let agent = self.ringing.remove(call).expect("was ringing");
        self.ringing_agent.remove(&agent);
        self.waiting.insert(call.to_owned());
    }

    fn apply(&mut self, o: Output) {
        match o {
            Output::Offer { call, agent, queue } => {
                self.counts.offers += 1;
                let (call, agent) = (call.0, agent.0);
                assert!(!self.ringing.contains_key(&call), "{call} offered twice");
                assert!(
                    !self.ringing_agent.contains_key(&agent),
                    "{agent} offered two calls"
                );
                assert_eq!(self.status[&agent], AgentStatus::Reserved);
                assert!(self.waiting.remove(&call), "{call} offered but not waiting");
                let m = &self.meta[&call];
                assert_eq!(m.queue, queue);
                assert!(self.qualifies(&agent, m), "{agent} cannot take {call}");
                for w in &self.waiting {
                    let wm = &self.meta[w];
                    if self.qualifies(&agent, wm) {
                        assert!(
                            Self::key(wm) > Self::key(m),
                            "{agent} got {call} {:?} while {w} {:?} waits",
                            Self::key(m),
                            Self::key(wm)
                        );
                    }
                }
                self.ringing.insert(call.clone(), agent.clone());
                self.ringing_agent.insert(agent, call);
            }
            Output::CancelOffer { call, agent } => {
                self.counts.cancels += 1;
                assert_eq!(self.ringing.get(&call.0), Some(&agent.0));
                self.unring(&call.0);
            }
            Output::AgentStateChanged {
                agent, from, to, ..
            } => {
                assert!(
                    from != to || to == AgentStatus::NotReady,
                    "{agent}: {from:?} to itself"
                );
                let st = self.status.get_mut(&agent.0).expect("known agent");
                assert_eq!(*st, from, "{agent} state out of step");
                *st = to;
            }
            Output::Announce { call, position, .. } => {
                self.counts.announces += 1;
                assert!(
                    self.waiting.contains(&call.0),
                    "announce to a call not waiting"
                );
                let m = &self.meta[&call.0];
                let ahead = self
                    .waiting
                    .iter()
                    .filter(|w| {
                        let wm = &self.meta[*w];
                        wm.queue == m.queue && Self::key(wm) < Self::key(m)
                    })
                    .count();
                assert_eq!(position as usize, ahead + 1, "position of {call}");
            }
            Output::MaxWaitReached { call, .. } => {
                self.counts.max_wait += 1;
                assert!(
                    self.waiting.remove(&call.0),
                    "max wait of a call not waiting"
                );
                assert!(self.resolved.insert(call.0));
            }
            Output::Abandoned { call, .. } => {
                self.counts.abandoned += 1;
                assert!(
                    self.waiting.remove(&call.0),
                    "abandon of a call not waiting"
                );
                assert!(self.resolved.insert(call.0));
            }
            Output::Answered { call, agent, .. } => {
                self.counts.answered += 1;
                assert_eq!(self.ringing.remove(&call.0), Some(agent.0.clone()));
                self.ringing_agent.remove(&agent.0);
                self.connected.insert(call.0, agent.0);
            }
            Output::CallEnded { call, agent, .. } => {
                self.counts.ended += 1;
                assert_eq!(self.connected.remove(&call.0), Some(agent.0));
                assert!(self.resolved.insert(call.0));
            }
        }
    }

    fn open_calls(&self) -> usize {
        self.waiting.len() + self.ringing.len() + self.connected.len()
    }
}

struct Sim {
    acd: Acd,
    model: Model,
    rng: StdRng,
    now: Instant,
    arrivals: u64,
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut config = AcdConfig::default();
        for (i, q) in QUEUES.iter().enumerate() {
            config.queues.insert(
                q.to_string(),
                QueueConfig {
                    ring_timeout: Duration::from_secs(rng.gen_range(8..=20)),
                    wrap_up: Duration::from_secs(rng.gen_range(0..=15)),
                    announce_every: Some(Duration::from_secs(rng.gen_range(45..=90))),
                    max_wait: (i % 2 == 0).then(|| Duration::from_secs(rng.gen_range(120..=400))),
                    no_agent_check: if i == 3 {
                        AvailabilityCheck::LoggedIn
                    } else {
                        AvailabilityCheck::Off
                    },
                    max_calls: 1_000,
                    service_level: Duration::from_secs(20),
                },
            );
        }
        let mut agents = Vec::new();
        for i in 0..AGENTS + QUEUES.len() {
            let (queues, skills): (Vec<String>, Vec<String>) = if i < AGENTS {
                let n = rng.gen_range(1..=2);
                let qs = (0..n)
                    .map(|_| QUEUES[rng.gen_range(0..QUEUES.len())].to_string())
                    .collect();
                let sk = SKILLS
                    .iter()
                    .filter(|_| rng.gen_bool(0.4))
                    .map(|s| s.to_string())
                    .collect();
                (qs, sk)
            } else {
                // One all-skills agent per queue, so every call can be served eventually.
                (
                    vec![QUEUES[i - AGENTS].to_string()],
                    SKILLS.iter().map(|s| s.to_string()).collect(),
                )
            };
            agents.push(AgentConfig {
                id: format!("a{i}"),
                name: format!("Agent {i}"),
                password: Some(ringdesk_acd::Secret::new("x")),
                password_env: None,
                contact_hosts: vec![],
                srtp: None,
                queues,
                skills,
            });
        }
        let model = Model {
            agent_queues: agents
                .iter()
                .map(|a| (a.id.clone(), a.queues.iter().cloned().collect()))
                .collect(),
            agent_skills: agents
                .iter()
                .map(|a| (a.id.clone(), a.skills.iter().cloned().collect()))
                .collect(),
            status: agents
                .iter()
                .map(|a| (a.id.clone(), AgentStatus::LoggedOut))
                .collect(),
            meta: BTreeMap::new(),
            waiting: BTreeSet::new(),
            ringing: BTreeMap::new(),
            ringing_agent: BTreeMap::new(),
            connected: BTreeMap::new(),
            resolved: BTreeSet::new(),
            counts: Counts::default(),
        };
        config.agents = agents;
        Self {
            acd: Acd::new(&config).unwrap(),
            model,
            rng,
            now: Instant::now(),
            arrivals: 0,
        }
    }

    fn drain(&mut self) {
        while let Some(o) = self.acd.poll_output() {
            self.model.apply(o);
        }
    }

    fn check(&self) {
        self.acd.check_invariants().expect("core invariants");
        assert_eq!(self.acd.call_count(), self.model.open_calls());
        for q in QUEUES {
            let info = self.acd.queue_info(self.now, q, None).unwrap();
            let queued = self
                .model
                .waiting
                .iter()
                .chain(self.model.ringing.keys())
                .filter(|c| self.model.meta[*c].queue == q)
                .count();
            assert_eq!(info.calls_queued as usize, queued, "calls queued in {q}");
            let serving = |st: AgentStatus| {
                self.model
                    .status
                    .iter()
                    .filter(|(a, s)| **s == st && self.model.agent_queues[*a].contains(q))
                    .count()
            };
            assert_eq!(
                info.agents_available as usize,
                serving(AgentStatus::Available)
            );
            let logged_out = serving(AgentStatus::LoggedOut);
            let members = self
                .model
                .agent_queues
                .values()
                .filter(|qs| qs.contains(q))
                .count();
            assert_eq!(info.agents_logged_in as usize, members - logged_out);
        }
    }

    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(at) = self.acd.poll_timeout().filter(|at| *at <= end) {
            self.now = self.now.max(at);
            self.acd.handle_timeout(self.now);
            self.drain();
            self.check();
        }
        self.now = end;
    }

    fn pick<T: Clone>(&mut self, items: impl Iterator<Item = T>) -> Option<T> {
        let v: Vec<T> = items.collect();
        if v.is_empty() {
            None
        } else {
            Some(v[self.rng.gen_range(0..v.len())].clone())
        }
    }

    fn arrive(&mut self) {
        let queue = QUEUES[self.rng.gen_range(0..QUEUES.len())].to_string();
        let priority = self.rng.gen_range(1..=10);
        let skills: BTreeSet<String> = if self.rng.gen_bool(0.2) {
            [SKILLS[self.rng.gen_range(0..SKILLS.len())].to_string()].into()
        } else {
            BTreeSet::new()
        };
        let id = format!("c{}", self.arrivals);
        let meta = Meta {
            queue: queue.clone(),
            priority,
            arrival: self.arrivals,
            skills: skills.clone(),
        };
        self.arrivals += 1;
        self.model.meta.insert(id.clone(), meta);
        self.model.waiting.insert(id.clone());
        let req = EnqueueRequest::new(id.clone(), queue, priority).with_skills(skills);
        match self.acd.enqueue(self.now, req) {
            Ok(()) => {}
            Err(EnqueueError::NoAgents { logged_in, .. }) => {
                assert_eq!(logged_in, 0);
                self.model.waiting.remove(&id);
                self.model.resolved.insert(id);
                self.model.counts.refused += 1;
            }
            Err(e) => panic!("unexpected enqueue error {e}"),
        }
    }

    fn offer_event(&mut self) {
        let Some((call, agent)) = self.pick(
            self.model
                .ringing
                .iter()
                .map(|(c, a)| (c.clone(), a.clone()))
                .collect::<Vec<_>>()
                .into_iter(),
        ) else {
            return;
        };
        let (c, a) = (CallId::new(call.clone()), AgentId::new(agent));
        match self.rng.gen_range(0..10) {
            0..=6 => self.acd.offer_answered(self.now, &c, &a).unwrap(),
            7..=8 => {
                self.acd.offer_rejected(self.now, &c, &a).unwrap();
                self.model.unring(&call);
            }
            _ => {
                self.acd.offer_failed(self.now, &c, &a).unwrap();
                self.model.unring(&call);
            }
        }
    }

    fn hang_up(&mut self) {
        let connected: Vec<String> = self.model.connected.keys().cloned().collect();
        if let Some(call) = self.pick(connected.into_iter()) {
            let by = [Party::Caller, Party::Agent, Party::System][self.rng.gen_range(0..3)];
            self.acd
                .call_ended(self.now, &CallId::new(call), by)
                .unwrap();
        }
    }

    fn abandon(&mut self) {
        let open: Vec<String> = self
            .model
            .waiting
            .iter()
            .chain(self.model.ringing.keys())
            .cloned()
            .collect();
        if let Some(call) = self.pick(open.into_iter()) {
            self.acd
                .caller_abandoned(self.now, &CallId::new(call))
                .unwrap();
        }
    }

    fn agent_event(&mut self) {
        let i = self.rng.gen_range(0..AGENTS + QUEUES.len());
        let id = format!("a{i}");
        let a = AgentId::new(id.clone());
        let st = self.model.status[&id];
        match self.rng.gen_range(0..20) {
            0..=7 => self.acd.agent_registered(self.now, &a).unwrap(),
            8..=10 => self.acd.agent_unregistered(self.now, &a).unwrap(),
            11..=15 => {
                let r = self
                    .acd
                    .set_agent_state(self.now, &a, RequestedState::Available);
                let allowed = matches!(
                    st,
                    AgentStatus::Available | AgentStatus::NotReady | AgentStatus::WrapUp
                );
                assert_eq!(r.is_ok(), allowed, "{id} {st:?} -> available: {r:?}");
            }
            _ => {
                let r = self.acd.set_agent_state(
                    self.now,
                    &a,
                    RequestedState::NotReady {
                        reason: "break".into(),
                    },
                );
                let allowed = !matches!(st, AgentStatus::LoggedOut | AgentStatus::Busy);
                assert_eq!(r.is_ok(), allowed, "{id} {st:?} -> not ready: {r:?}");
                if allowed && st == AgentStatus::Reserved {
                    // Withdrawn with a CANCEL: the model learns it from the outputs.
                }
            }
        }
    }

    fn step(&mut self) {
        let by = Duration::from_millis(self.rng.gen_range(0..3_000));
        self.advance(by);
        match self.rng.gen_range(0..100) {
            0..=29 if (self.arrivals as usize) < CALLERS => self.arrive(),
            0..=54 => self.offer_event(),
            55..=69 => self.hang_up(),
            70..=74 => self.abandon(),
            _ => self.agent_event(),
        }
        self.drain();
        self.check();
    }

    /// No more arrivals; every agent comes back and answers: every call must end.
    fn finish(&mut self) {
        for round in 0..20_000 {
            if self.model.open_calls() == 0 {
                return;
            }
            assert!(
                round < 19_999,
                "calls never finished: {}",
                self.model.open_calls()
            );
            for i in 0..AGENTS + QUEUES.len() {
                let a = AgentId::new(format!("a{i}"));
                self.acd.agent_registered(self.now, &a).unwrap();
                if self.model.status[&format!("a{i}")] == AgentStatus::NotReady {
                    self.acd
                        .set_agent_state(self.now, &a, RequestedState::Available)
                        .unwrap();
                }
                self.drain();
            }
            let ringing: Vec<_> = self
                .model
                .ringing
                .iter()
                .map(|(c, a)| (c.clone(), a.clone()))
                .collect();
            for (c, a) in ringing {
                self.acd
                    .offer_answered(self.now, &CallId::new(c), &AgentId::new(a))
                    .unwrap();
                self.drain();
            }
            let connected: Vec<_> = self.model.connected.keys().cloned().collect();
            for c in connected {
                self.acd
                    .call_ended(self.now, &CallId::new(c), Party::Agent)
                    .unwrap();
                self.drain();
            }
            self.check();
            self.advance(Duration::from_secs(5));
        }
    }
}

fn run(seed: u64) -> Counts {
    let mut sim = Sim::new(seed);
    while (sim.arrivals as usize) < CALLERS {
        sim.step();
    }
    // Keep the system busy a while after the last arrival.
    for _ in 0..500 {
        sim.step();
    }
    sim.finish();
    assert_eq!(sim.acd.call_count(), 0);
    assert_eq!(sim.model.resolved.len(), CALLERS, "every caller resolved");
    let c = &sim.model.counts;
    assert_eq!(
        (c.ended + c.abandoned + c.max_wait + c.refused) as usize,
        CALLERS,
        "each caller ends exactly once: {c:?}"
    );
    sim.model.counts
}

#[test]
fn randomized_simulation_keeps_every_invariant() {
    let mut total = Counts::default();
    for seed in [1, 2, 3, 7, 42, 2024] {
        let c = run(seed);
        total.offers += c.offers;
        total.cancels += c.cancels;
        total.answered += c.answered;
        total.ended += c.ended;
        total.abandoned += c.abandoned;
        total.max_wait += c.max_wait;
        total.announces += c.announces;
        total.refused += c.refused;
    }
    eprintln!("{total:?}");
    // The simulation must actually exercise every path it claims to.
    assert!(total.cancels > 0, "{total:?}");
    assert!(total.abandoned > 0, "{total:?}");
    assert!(total.max_wait > 0, "{total:?}");
    assert!(total.announces > 0, "{total:?}");
    assert!(total.refused > 0, "{total:?}");
    assert!(total.offers > total.answered, "{total:?}");
}
