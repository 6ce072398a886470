//! The queue runtime: one task owns the sans-IO routing core (`ringdesk-acd`), feeds it
//! calls, agent registrations and offer results with `now`, wakes it at its timers, and
//! carries out its outputs (ring an agent through a [`Dialer`], tell a waiting call its
//! agent answered).
//!
//! Every input that changes the core is an [`Input`], applied by one function. On one
//! node it is applied at once. With a shared PostgreSQL store (decision 0019) it is
//! appended to the shared queue's log instead, and applied when the log hands it back, in
//! the log's order and at the log's time, exactly as every other node applies it: each
//! node's copy of the core makes the same decisions, and a node carries out those about
//! the calls whose media it holds.

use super::acd_input::{ContactRef, Input, OfferEnd};
use super::acd_log::{Batch, SharedLog};
use super::queue_stats::Today;
use ringdesk_acd::{
    Acd, AcdConfig, AgentId, AgentState, AvailabilityCheck as Check, CallId, EnqueueError,
    EnqueueRequest, Output, Party, RequestedState,
};
use ringdesk_flow::{AgentRef, AvailabilityCheck, QueueFailure, QueueInfo, QueueResult};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// What a queued call hears from the queue. Kept small (the agent boxed): every call's
/// queue channel allocates room for 32 of them when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueEvent {
    /// An agent is being offered the call.
    Offered(Box<AgentRef>),
    /// The agent answered; the call task bridges to `leg`.
    Answered { agent: Box<AgentRef>, leg: u64 },
    /// The queue's maximum wait passed; the call left the queue.
    MaxWait,
}

/// One offer to ring: the call, the agent, the queue.
#[derive(Debug, Clone, Copy)]
pub struct Ring<'a> {
    pub call: &'a str,
    pub agent: &'a str,
    pub queue: &'a str,
    /// The agent's contact when it registered with another node of a cluster.
    pub remote: Option<&'a ContactRef>,
}

/// Rings agents for the queue (the SIP UAC in the server; a fake in tests).
pub trait Dialer: Send + Sync + 'static {
    /// Starts ringing the agent for the call; the result comes back through
    /// [`AcdHandle::offer_result`]. Returns a leg id for cancelling.
    fn offer(&self, ring: &Ring<'_>, acd: AcdHandle) -> u64;
    /// Stops ringing (CANCEL).
    fn cancel(&self, leg: u64);
    /// Hangs up an answered leg that no bridge took (its caller left just as the agent
    /// answered); a leg a bridge took is left to it.
    fn release(&self, _leg: u64) {}
    /// The agent's contact registered here, for other nodes of a cluster to ring (UDP
    /// only: a TLS agent is reached over its connection, which only this node has).
    fn contact(&self, _agent: &str) -> Option<ContactRef> {
        None
    }
}

/// How an offer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferResult {
    Answered {
        leg: u64,
    },
    /// 486/603 and the like.
    Rejected,
    /// No answer possible (unreachable, timeout, transport).
    Failed,
}

/// One agent as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
    /// The call ringing or bridged to the agent, or in wrap-up the call just ended.
    pub call: Option<String>,
    /// How long the agent has been in this state (`None` before its first change).
    pub seconds_in_state: Option<f64>,
    /// In wrap-up: how long until the agent is available again.
    pub wrap_up_left_seconds: Option<f64>,
}

/// One queue as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueView {
    pub name: String,
    pub calls_queued: u32,
    pub oldest_wait_seconds: Option<f64>,
    pub estimated_wait_seconds: Option<f64>,
    pub agents_logged_in: u32,
    pub agents_available: u32,
    /// `[queues.<name>] max_calls`: calls waiting or ringing beyond it are refused.
    pub max_calls: u32,
    /// Today (since local midnight): calls answered, abandoned while waiting, and timed
    /// out at `max_wait`.
    pub answered_today: u32,
    pub abandoned_today: u32,
    pub timed_out_today: u32,
    /// The share of today's calls answered within `service_level_seconds` (`None`
    /// before the first).
    pub service_level: Option<f64>,
    pub service_level_seconds: f64,
}

enum Cmd {
    Enqueue {
        call: String,
        queue: String,
        priority: u8,
        check: AvailabilityCheck,
        skills: Vec<String>,
        events: mpsc::UnboundedSender<QueueEvent>,
        reply: oneshot::Sender<QueueResult>,
    },
    Info {
        queue: String,
        call: Option<String>,
        reply: oneshot::Sender<QueueInfo>,
    },
    Left {
        call: String,
        by: Party,
    },
    Registered(String),
    Unregistered(String),
    SetState {
        agent: String,
        state: RequestedState,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Agents(oneshot::Sender<Vec<AgentView>>),
    Agent(String, oneshot::Sender<Option<AgentView>>),
    /// Today's counts so far (from the records, at start).
    Seed(Box<Today>),
    Queues(oneshot::Sender<Vec<QueueView>>),
    OfferResult {
        call: String,
        agent: String,
        result: OfferResult,
    },
}

/// Talks to the queue task. Cheap to clone.
#[derive(Clone)]
pub struct AcdHandle {
    tx: mpsc::UnboundedSender<Cmd>,
    /// How long a call waits for the shared queue's log to take it (`None` alone: at once).
    enqueue_wait: Option<Duration>,
}

/// How long a call waits for the shared queue's log to take it before its flow is told
/// the queue failed (PostgreSQL unreachable): the flow's error handling speaks, rather
/// than the caller hearing nothing for as long as the outage lasts.
pub const ENQUEUE_WAIT: Duration = Duration::from_secs(10);

impl AcdHandle {
    /// Starts the queue task for the configured queues and agents.
    pub fn spawn(config: &AcdConfig, dialer: Arc<dyn Dialer>) -> Result<AcdHandle, String> {
        Self::start(config, dialer, None)
    }

    /// Starts the queue task as one node of a shared queue: inputs go through `log`.
    pub fn spawn_shared(
        config: &AcdConfig,
        dialer: Arc<dyn Dialer>,
        log: SharedLog,
        rows: mpsc::Receiver<Batch>,
    ) -> Result<AcdHandle, String> {
        Self::start(config, dialer, Some((log, rows)))
    }

    fn start(
        config: &AcdConfig,
        dialer: Arc<dyn Dialer>,
        log: Option<(SharedLog, mpsc::Receiver<Batch>)>,
    ) -> Result<AcdHandle, String> {
        let acd = Acd::new(config).map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = AcdHandle {
            tx,
            enqueue_wait: log.is_some().then_some(ENQUEUE_WAIT),
        };
        tokio::spawn(run(acd, rx, dialer, handle.clone(), log));
        Ok(handle)
    }

    /// Queues a call; events for it arrive on `events`.
    pub async fn enqueue(
        &self,
        call: &str,
        queue: &str,
        priority: u8,
        check: AvailabilityCheck,
        skills: Vec<String>,
        events: mpsc::UnboundedSender<QueueEvent>,
    ) -> QueueResult {
        let (reply, rx) = oneshot::channel();
        let cmd = Cmd::Enqueue {
            call: call.into(),
            queue: queue.into(),
            priority,
            check,
            skills,
            events,
            reply,
        };
        if self.tx.send(cmd).is_err() {
            return QueueResult::Failed {
                reason: "the queue is not running".into(),
            };
        }
        let stopped = || QueueResult::Failed {
            reason: "the queue is not running".into(),
        };
        match self.enqueue_wait {
            None => rx.await.unwrap_or_else(|_| stopped()),
            Some(wait) => match tokio::time::timeout(wait, rx).await {
                Ok(r) => r.unwrap_or_else(|_| stopped()),
                Err(_) => {
                    tracing::warn!(
                        call,
                        "the shared queue did not take the call within {wait:?} (is PostgreSQL reachable?): the queue step fails"
                    );
                    QueueResult::Failed {
                        reason: "the shared queue is unreachable".into(),
                    }
                }
            },
        }
    }

    /// The same handle, its calls waiting at most `wait` for the shared queue (tests).
    #[cfg(test)]
    pub(crate) fn with_enqueue_wait(mut self, wait: Duration) -> AcdHandle {
        self.enqueue_wait = Some(wait);
        self
    }

    pub async fn info(&self, queue: &str, call: Option<&str>) -> QueueInfo {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Info {
            queue: queue.into(),
            call: call.map(str::to_string),
            reply,
        });
        rx.await.unwrap_or_default()
    }

    /// The call left (caller hung up, or the bridged call ended).
    pub fn left(&self, call: &str, by: Party) {
        let _ = self.tx.send(Cmd::Left {
            call: call.into(),
            by,
        });
    }

    pub fn registered(&self, agent: &str) {
        let _ = self.tx.send(Cmd::Registered(agent.into()));
    }

    pub fn unregistered(&self, agent: &str) {
        let _ = self.tx.send(Cmd::Unregistered(agent.into()));
    }

    pub async fn set_state(&self, agent: &str, state: RequestedState) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::SetState {
            agent: agent.into(),
            state,
            reply,
        });
        rx.await.unwrap_or(Err("the queue is not running".into()))
    }

    pub async fn queues(&self) -> Vec<QueueView> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Queues(reply));
        rx.await.unwrap_or_default()
    }

    /// Starts today's queue counts from `today` (built from the day's records at start).
    pub fn seed_today(&self, today: Today) {
        let _ = self.tx.send(Cmd::Seed(Box::new(today)));
    }

    /// One agent (`None` when not configured).
    pub async fn agent(&self, id: &str) -> Option<AgentView> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Agent(id.to_string(), reply));
        rx.await.ok().flatten()
    }

    pub async fn agents(&self) -> Vec<AgentView> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Agents(reply));
        rx.await.unwrap_or_default()
    }

    pub fn offer_result(&self, call: &str, agent: &str, result: OfferResult) {
        let _ = self.tx.send(Cmd::OfferResult {
            call: call.into(),
            agent: agent.into(),
            result,
        });
    }
}

/// The flow's availability check as the routing core takes it.
fn check_of(c: AvailabilityCheck) -> Check {
    match c {
        AvailabilityCheck::Off => Check::Off,
        AvailabilityCheck::LoggedIn => Check::LoggedIn,
        AvailabilityCheck::Available => Check::Available,
    }
}

fn state_view(s: &AgentState) -> (String, Option<String>) {
    match s {
        AgentState::LoggedOut => ("logged_out".into(), None),
        AgentState::Available => ("available".into(), None),
        AgentState::NotReady { reason } => ("not_ready".into(), Some(reason.clone())),
        AgentState::Reserved { .. } => ("reserved".into(), None),
        AgentState::Busy { .. } => ("busy".into(), None),
        AgentState::WrapUp => ("wrap_up".into(), None),
    }
}

struct Task {
    acd: Acd,
    dialer: Arc<dyn Dialer>,
    me: AcdHandle,
    /// Waiting calls' event channels.
    calls: HashMap<String, mpsc::UnboundedSender<QueueEvent>>,
    /// Offers ringing: (call, agent) → leg.
    ringing: HashMap<(String, String), u64>,
    /// Answered offers: call → leg.
    answered_legs: HashMap<String, u64>,
    /// When each agent's state last changed.
    since: HashMap<String, Instant>,
    /// Each agent's last offered call and its queue (for wrap-up).
    last_call: HashMap<String, (String, String)>,
    /// Today's answered, abandoned and timed-out calls per queue.
    today: Today,
    /// This node's name in a shared queue ("" alone).
    node: String,
    /// The shared queue's log, when there is one.
    log: Option<SharedLog>,
    /// Calls asking for the queue, until their input is applied: their events and answer.
    pending_enqueue: HashMap<String, PendingEnqueue>,
    /// State requests until their input is applied.
    pending_state: HashMap<u64, oneshot::Sender<Result<(), String>>>,
    next_req: u64,
    /// Each call in the core → the node holding its media, and what a record of it
    /// needs if that node stops.
    owners: HashMap<String, Owner>,
    /// The time of the log's row being applied (Unix ms; 0 alone).
    row_ms: i64,
    /// Each reachable agent → the node it is reachable through, and its contact there.
    reach: HashMap<String, (String, Option<ContactRef>)>,
    /// The nodes appending to the shared log, less those said gone: the first of them (by
    /// name) ticks for everyone, the others later, as its backups.
    nodes: BTreeSet<String>,
    /// A tick this node appended is not applied yet; and no new one before this.
    tick_pending: bool,
    tick_floor: Option<Instant>,
    /// When each call of this node asked for the queue, until its first offer.
    asked_at: HashMap<String, Instant>,
    /// Rows applied, and since when (reported once caught up with the log).
    replayed: u64,
    started: Instant,
    /// Whether outcomes count in today's figures (not while replaying the log's past,
    /// which the figures seeded from the records already hold).
    counting: bool,
}

type PendingEnqueue = (
    mpsc::UnboundedSender<QueueEvent>,
    oneshot::Sender<QueueResult>,
);

/// A call in the core as the shared queue knows it.
struct Owner {
    /// The node holding its media.
    node: String,
    queue: String,
    priority: u8,
    /// When it asked for the queue (the log's time, Unix ms).
    queued_ms: i64,
}

/// A small pause between ticks of one node: a tick whose time falls just before the
/// deadline (the node's and the database's clocks differ a little) is not sent again at once.
const TICK_SPACING: Duration = Duration::from_millis(20);
/// How long after a deadline a node ticks: the log's times are whole milliseconds, so a
/// tick sent at the deadline itself could be stamped just before it.
const TICK_LATE: Duration = Duration::from_millis(2);
/// How much later each further node ticks: one tick per deadline reaches the log while
/// the first node lives (the others see it applied and their deadline gone), and a dead
/// node's timers are late by this much until it is said gone.
const TICK_BACKUP: Duration = Duration::from_millis(250);

/// Most nodes remembered as ticking (names come from the log's rows).
const MAX_NODES: usize = 256;

/// This node's place among the nodes that tick (0: the first, by name).
fn tick_rank(nodes: &BTreeSet<String>, me: &str) -> u32 {
    let before = nodes.iter().take_while(|n| n.as_str() < me).count();
    u32::try_from(before).unwrap_or(u32::MAX)
}

async fn run(
    acd: Acd,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    dialer: Arc<dyn Dialer>,
    me: AcdHandle,
    log: Option<(SharedLog, mpsc::Receiver<Batch>)>,
) {
    let (log, mut rows) = log.unzip();
    let mut t = Task {
        acd,
        dialer,
        me,
        calls: HashMap::new(),
        ringing: HashMap::new(),
        answered_legs: HashMap::new(),
        since: HashMap::new(),
        last_call: HashMap::new(),
        today: Today::new(today()),
        node: log.as_ref().map(|l| l.node.clone()).unwrap_or_default(),
        counting: log.is_none(),
        log,
        pending_enqueue: HashMap::new(),
        pending_state: HashMap::new(),
        next_req: 0,
        owners: HashMap::new(),
        row_ms: 0,
        reach: HashMap::new(),
        nodes: BTreeSet::new(),
        tick_pending: false,
        tick_floor: None,
        asked_at: HashMap::new(),
        replayed: 0,
        started: Instant::now(),
    };
    loop {
        let wake = if t.tick_pending {
            None
        } else {
            let late = if t.log.is_some() {
                TICK_LATE + TICK_BACKUP.saturating_mul(tick_rank(&t.nodes, &t.node))
            } else {
                Duration::ZERO
            };
            t.acd
                .poll_timeout()
                .map(|w| w + late)
                .map(|w| t.tick_floor.map_or(w, |f| w.max(f)))
                .map(tokio::time::Instant::from_std)
        };
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => t.handle(cmd),
                None => return,
            },
            batch = async { match rows.as_mut() { Some(r) => r.recv().await, None => std::future::pending().await } } => match batch {
                Some(batch) => t.applied(batch),
                None => rows = None,
            },
            _ = async { match wake { Some(w) => tokio::time::sleep_until(w).await, None => std::future::pending().await } } => {
                t.timer();
            }
        }
        t.outputs(Instant::now());
    }
}

/// Today's date where ringdesk runs (the queues' counts start again at local midnight).
fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

impl Task {
    /// Counts an outcome in today's figures of `queue` (`f` gets the counts, the day, the
    /// queue and its service-level target).
    fn count(
        &mut self,
        queue: &str,
        f: impl FnOnce(&mut Today, jiff::civil::Date, &str, Duration),
    ) {
        let target = self
            .acd
            .queue_config(queue)
            .map_or(Duration::from_secs(20), |c| c.service_level);
        f(&mut self.today, today(), queue, target);
    }

    /// One agent as the API shows it; `None` when not configured.
    fn view(&self, id: &AgentId, now: Instant) -> Option<AgentView> {
        let state = self.acd.agent_state(id)?;
        let (name, reason) = state_view(&state);
        let since = self.since.get(id.as_str()).copied();
        let last = self.last_call.get(id.as_str());
        let (call, wrap_up_left_seconds) = match &state {
            AgentState::Reserved { call } | AgentState::Busy { call } => {
                (Some(call.to_string()), None)
            }
            AgentState::WrapUp => {
                let wrap_up = last
                    .and_then(|(_, queue)| self.acd.queue_config(queue))
                    .map(|q| q.wrap_up);
                let left = match (wrap_up, since) {
                    (Some(w), Some(s)) => Some(
                        w.saturating_sub(now.saturating_duration_since(s))
                            .as_secs_f64(),
                    ),
                    _ => None,
                };
                (last.map(|(c, _)| c.clone()), left)
            }
            _ => (None, None),
        };
        Some(AgentView {
            id: id.to_string(),
            name: self.acd.agent_name(id).unwrap_or_default().to_string(),
            state: name,
            reason,
            call,
            seconds_in_state: since.map(|s| now.saturating_duration_since(s).as_secs_f64()),
            wrap_up_left_seconds,
        })
    }

    fn handle(&mut self, cmd: Cmd) {
        let now = Instant::now();
        match cmd {
            Cmd::Enqueue {
                call,
                queue,
                priority,
                check,
                skills,
                events,
                reply,
            } => {
                self.pending_enqueue.insert(call.clone(), (events, reply));
                self.asked_at.insert(call.clone(), now);
                self.submit(
                    Input::Enqueue {
                        call,
                        queue,
                        priority,
                        check: check_of(check),
                        skills,
                    },
                    now,
                );
            }
            Cmd::Info { queue, call, reply } => {
                let id = call.map(CallId::new);
                let info = self
                    .acd
                    .queue_info(now, &queue, id.as_ref())
                    .map(|i| QueueInfo {
                        position: i.position,
                        estimated_wait: i.estimated_wait,
                        agents_logged_in: i.agents_logged_in,
                        agents_available: i.agents_available,
                        calls_queued: i.calls_queued,
                        oldest_wait: i.oldest_wait,
                    })
                    .unwrap_or_default();
                let _ = reply.send(info);
            }
            Cmd::Left { call, by } => {
                tracing::debug!(call, ?by, "call leaves the queue");
                self.calls.remove(&call);
                if let Some(leg) = self.answered_legs.remove(&call) {
                    self.dialer.release(leg);
                }
                self.asked_at.remove(&call);
                self.submit(Input::Left { call, by }, now);
            }
            Cmd::Registered(agent) => {
                let contact = self.log.as_ref().and_then(|_| self.dialer.contact(&agent));
                self.submit(Input::Registered { agent, contact }, now);
            }
            Cmd::Unregistered(agent) => self.submit(Input::Unregistered { agent }, now),
            Cmd::SetState {
                agent,
                state,
                reply,
            } => {
                self.next_req += 1;
                let req = self.next_req;
                self.pending_state.insert(req, reply);
                let not_ready = match state {
                    RequestedState::Available => None,
                    RequestedState::NotReady { reason } => Some(reason),
                };
                self.submit(
                    Input::SetState {
                        agent,
                        not_ready,
                        req,
                    },
                    now,
                );
            }
            Cmd::Agents(reply) => {
                let ids: Vec<AgentId> = self.acd.agent_ids().cloned().collect();
                let list = ids.iter().filter_map(|id| self.view(id, now)).collect();
                let _ = reply.send(list);
            }
            Cmd::Agent(id, reply) => {
                let _ = reply.send(self.view(&AgentId::new(id), now));
            }
            Cmd::Seed(today) => self.today = *today,
            Cmd::Queues(reply) => {
                let names: Vec<String> = self.acd.queue_names().map(str::to_string).collect();
                let list = names
                    .into_iter()
                    .filter_map(|name| {
                        let i = self.acd.queue_info(now, &name, None)?;
                        let config = self.acd.queue_config(&name)?;
                        let (max_calls, target) = (config.max_calls, config.service_level);
                        let day = self.today.get(today(), &name);
                        Some(QueueView {
                            max_calls,
                            answered_today: day.answered,
                            abandoned_today: day.abandoned,
                            timed_out_today: day.timed_out,
                            service_level: day.service_level(),
                            service_level_seconds: target.as_secs_f64(),
                            calls_queued: i.calls_queued,
                            oldest_wait_seconds: i.oldest_wait.map(|d| d.as_secs_f64()),
                            estimated_wait_seconds: i.estimated_wait.map(|d| d.as_secs_f64()),
                            agents_logged_in: i.agents_logged_in,
                            agents_available: i.agents_available,
                            name,
                        })
                    })
                    .collect();
                let _ = reply.send(list);
            }
            Cmd::OfferResult {
                call,
                agent,
                result,
            } => {
                let leg = self.ringing.remove(&(call.clone(), agent.clone()));
                let result = match result {
                    OfferResult::Answered { leg: l } => {
                        let leg = leg.unwrap_or(l).max(l);
                        if self.calls.contains_key(&call) {
                            self.answered_legs.insert(call.clone(), leg);
                        } else {
                            // The caller left as the agent answered: nobody will bridge.
                            self.dialer.release(leg);
                        }
                        OfferEnd::Answered
                    }
                    OfferResult::Rejected => OfferEnd::Rejected,
                    OfferResult::Failed => OfferEnd::Failed,
                };
                self.submit(
                    Input::OfferResult {
                        call,
                        agent,
                        result,
                    },
                    now,
                );
            }
        }
    }

    /// Applies `input` now (one node), or appends it to the shared queue's log, to be
    /// applied when the log hands it back.
    fn submit(&mut self, input: Input, now: Instant) {
        match &self.log {
            Some(log) => log.append(&input),
            None => {
                let node = self.node.clone();
                self.apply(&input, &node, now);
            }
        }
    }

    /// A timer of the core is due: handled now (one node), or a tick for the log.
    fn timer(&mut self) {
        let now = Instant::now();
        match &self.log {
            None => self.acd.handle_timeout(now),
            Some(log) => {
                log.append(&Input::Tick);
                self.tick_pending = true;
            }
        }
    }

    /// Rows of the shared queue's log, in its order: each applied at its time, its
    /// outputs carried out before the next.
    fn applied(&mut self, batch: Batch) {
        let rows = match batch {
            Batch::CaughtUp => {
                tracing::info!(
                    rows = self.replayed,
                    seconds = self.started.elapsed().as_secs_f64(),
                    calls = self.acd.call_count(),
                    "shared queue: caught up with the log"
                );
                self.counting = true;
                return;
            }
            Batch::Rows(rows) => rows,
        };
        let Some(clock) = self.log.as_ref().map(|l| l.clock) else {
            return;
        };
        self.replayed += rows.len() as u64;
        for row in rows {
            match serde_json::from_str::<Input>(&row.body) {
                Ok(input) => {
                    let now = clock.at(row.at_ms);
                    self.row_ms = row.at_ms;
                    if !self.nodes.contains(&row.node) && self.nodes.len() < MAX_NODES {
                        self.nodes.insert(row.node.clone());
                    }
                    self.apply(&input, &row.node, now);
                    self.outputs(now);
                }
                Err(e) => {
                    tracing::warn!(seq = row.seq, node = %row.node, "shared queue: an input this version does not read was skipped: {e}");
                }
            }
        }
    }

    /// The one place an input changes the core; `origin` is the node that made it.
    fn apply(&mut self, input: &Input, origin: &str, now: Instant) {
        let mine = origin == self.node;
        match input {
            Input::Enqueue {
                call,
                queue,
                priority,
                check,
                skills,
            } => {
                let mut req = EnqueueRequest::new(call.clone(), queue.clone(), *priority)
                    .with_check(*check)
                    .with_skills(skills.clone());
                if self.log.is_some() {
                    // Agents reachable only through another node are not offered it.
                    req = req.with_site(origin);
                }
                let result = match self.acd.enqueue(now, req) {
                    Ok(()) => {
                        let owner = Owner {
                            node: origin.to_string(),
                            queue: queue.clone(),
                            priority: *priority,
                            queued_ms: self.row_ms,
                        };
                        self.owners.insert(call.clone(), owner);
                        QueueResult::Queued
                    }
                    Err(EnqueueError::NoAgents {
                        logged_in,
                        available,
                        ..
                    }) => QueueResult::NoAgents {
                        logged_in,
                        available,
                    },
                    Err(EnqueueError::QueueFull) => {
                        let max_calls = self
                            .acd
                            .queue_config(queue)
                            .map_or(ringdesk_acd::DEFAULT_MAX_CALLS, |c| c.max_calls);
                        if mine {
                            tracing::info!(
                                call,
                                queue,
                                max_calls,
                                "queue full: call refused, {max_calls} calls already wait or ring \
                                 ([queues.{queue}] max_calls); the flow takes its `full` exit, \
                                 else `error`"
                            );
                        }
                        QueueResult::Failed {
                            reason: QueueFailure::Full { max_calls },
                        }
                    }
                    Err(e) => QueueResult::Failed {
                        reason: e.to_string().into(),
                    },
                };
                if let Some((events, reply)) =
                    mine.then(|| self.pending_enqueue.remove(call)).flatten()
                {
                    if result == QueueResult::Queued && reply.is_closed() {
                        // Its flow stopped waiting (the log was out of reach for longer
                        // than ENQUEUE_WAIT) and went on: take the call out again.
                        tracing::warn!(
                            call,
                            "queued after its flow stopped waiting: taken out of the queue"
                        );
                        self.asked_at.remove(call);
                        self.submit(
                            Input::Left {
                                call: call.clone(),
                                by: Party::Caller,
                            },
                            now,
                        );
                        return;
                    }
                    if result == QueueResult::Queued {
                        self.calls.insert(call.clone(), events);
                    } else {
                        self.asked_at.remove(call);
                    }
                    let _ = reply.send(result);
                }
            }
            Input::Left { call, by } => {
                self.owners.remove(call);
                let id = CallId::new(call.clone());
                if self.acd.has_call(&id) {
                    let r = match *by {
                        Party::Caller => self.acd.caller_abandoned(now, &id),
                        other => self.acd.call_ended(now, &id, other),
                    };
                    if let Err(e) = r {
                        tracing::warn!(call = %id, "leaving the queue: {e}");
                    }
                }
            }
            Input::Registered { agent, contact } => {
                self.reach
                    .insert(agent.clone(), (origin.to_string(), contact.clone()));
                let id = AgentId::new(agent.clone());
                if self.log.is_some() {
                    // A contact any node can ring, or only this node's calls (a desktop
                    // page's phone, a TLS connection).
                    let site = contact.is_none().then(|| origin.to_string());
                    let _ = self.acd.set_agent_site(now, &id, site);
                }
                if let Err(e) = self.acd.agent_registered(now, &id) {
                    tracing::warn!("agent registration: {e}");
                }
            }
            Input::Unregistered { agent } => {
                // Reachable through another node since: that node says when it ends.
                if self.reach.get(agent).is_some_and(|(n, _)| n == origin) {
                    self.reach.remove(agent);
                    let _ = self
                        .acd
                        .agent_unregistered(now, &AgentId::new(agent.clone()));
                }
            }
            Input::SetState {
                agent,
                not_ready,
                req,
            } => {
                let r = self
                    .acd
                    .set_agent_state(
                        now,
                        &AgentId::new(agent.clone()),
                        Input::requested(not_ready),
                    )
                    .map_err(|e| e.to_string());
                if let Some(reply) = mine.then(|| self.pending_state.remove(req)).flatten() {
                    let _ = reply.send(r);
                }
            }
            Input::OfferResult {
                call,
                agent,
                result,
            } => {
                let (c, a) = (CallId::new(call.clone()), AgentId::new(agent.clone()));
                let r = match result {
                    OfferEnd::Answered => self.acd.offer_answered(now, &c, &a),
                    OfferEnd::Rejected => self.acd.offer_rejected(now, &c, &a),
                    OfferEnd::Failed => self.acd.offer_failed(now, &c, &a),
                };
                if let Err(e) = r {
                    tracing::info!("offer result not applied: {e}");
                }
            }
            Input::Tick => {
                self.acd.handle_timeout(now);
                if mine {
                    self.tick_pending = false;
                    self.tick_floor = Some(Instant::now() + TICK_SPACING);
                }
            }
            Input::NodeGone { node } => {
                // A node starting says its earlier run gone: it is alive.
                if node != origin {
                    self.nodes.remove(node);
                }
                self.node_gone(node, origin, now);
            }
        }
    }

    /// `node` stopped: the calls whose media it held end (a bridged call as ended by the
    /// system, its agent to wrap-up; a waiting or ringing one as abandoned), and agents
    /// reachable only through it are logged out. The node that said so records each lost
    /// call, unless a record of it exists.
    fn node_gone(&mut self, node: &str, origin: &str, now: Instant) {
        let calls: Vec<String> = self
            .owners
            .iter()
            .filter(|(_, o)| o.node == node)
            .map(|(c, _)| c.clone())
            .collect();
        for call in &calls {
            let id = CallId::new(call.clone());
            // Said by this node during this run (not a row of the past replayed at start,
            // whose records were written then).
            let said_now = origin == self.node
                && self
                    .log
                    .as_ref()
                    .is_some_and(|l| self.row_ms >= l.clock.base_ms());
            let agent = self.acd.call_lost(now, &id).ok().flatten();
            if let Some(owner) = self.owners.remove(call) {
                if said_now {
                    self.record_lost(&id, owner, agent.as_ref());
                }
            }
            // This node's own live call, ended because another node took it for dead (its
            // lease lapsed, e.g. cut off from the database): the caller leaves the queue
            // as at its maximum wait rather than wait for an offer that cannot come.
            if let Some(tx) = self.calls.remove(call) {
                tracing::warn!(
                    call,
                    by = origin,
                    "shared queue: this node was taken for stopped; the call leaves the queue"
                );
                let _ = tx.send(QueueEvent::MaxWait);
            }
        }
        let agents: Vec<String> = self
            .reach
            .iter()
            .filter(|(_, (n, _))| n == node)
            .map(|(a, _)| a.clone())
            .collect();
        for agent in &agents {
            self.reach.remove(agent);
            let _ = self
                .acd
                .agent_unregistered(now, &AgentId::new(agent.clone()));
        }
        if !calls.is_empty() || !agents.is_empty() {
            tracing::info!(
                node,
                calls = calls.len(),
                agents = agents.len(),
                "shared queue: a stopped node's calls ended and its agents logged out"
            );
        }
    }

    /// Writes the record of a call lost with its node (the shared store keeps a record
    /// that node wrote before it stopped).
    fn record_lost(&self, call: &CallId, owner: Owner, agent: Option<&AgentId>) {
        let Some(log) = &self.log else {
            return;
        };
        let at = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms).unwrap_or_else(|_| jiff::Timestamp::now())
        };
        let (queued, ended) = (at(owner.queued_ms), at(self.row_ms));
        let mut record = ringdesk_store::Interaction::new(call.as_str(), "", "", queued);
        record.queue = Some(owner.queue);
        record.priority = Some(owner.priority);
        record.queued_at = Some(queued);
        record.ended_at = Some(ended);
        record.agent_id = agent.map(|a| a.to_string());
        record.agent_name = agent
            .and_then(|a| self.acd.agent_name(a))
            .map(str::to_string);
        record.end_reason = Some(ringdesk_store::EndReason::Error);
        record.end_detail = Some(format!(
            "lost with its node {}, which stopped (recorded by {})",
            owner.node, self.node
        ));
        let store = log.store.clone();
        let id = call.to_string();
        tokio::spawn(async move {
            if let Err(e) = store.record_lost_call(record, ended).await {
                tracing::warn!(
                    call = id,
                    "the record of a call lost with its node was not written: {e}"
                );
            }
        });
    }

    fn outputs(&mut self, now: Instant) {
        while let Some(out) = self.acd.poll_output() {
            match out {
                Output::Offer { call, agent, queue } => {
                    self.last_call
                        .insert(agent.to_string(), (call.to_string(), queue.clone()));
                    // With a shared queue, the node holding the call's media rings.
                    if self.log.is_some() && !self.calls.contains_key(call.as_str()) {
                        continue;
                    }
                    if let Some(asked) = self.asked_at.remove(call.as_str()) {
                        super::queue_metrics::offered_after(asked.elapsed());
                    }
                    let name = self.acd.agent_name(&agent).unwrap_or_default().to_string();
                    if let Some(tx) = self.calls.get(call.as_str()) {
                        let _ = tx.send(QueueEvent::Offered(Box::new(AgentRef {
                            id: agent.to_string(),
                            name: name.clone(),
                        })));
                    }
                    let remote = match self.reach.get(agent.as_str()) {
                        Some((node, Some(contact))) if *node != self.node => Some(contact),
                        _ => None,
                    };
                    let ring = Ring {
                        call: call.as_str(),
                        agent: agent.as_str(),
                        queue: &queue,
                        remote,
                    };
                    let leg = self.dialer.offer(&ring, self.me.clone());
                    self.ringing
                        .insert((call.to_string(), agent.to_string()), leg);
                }
                Output::CancelOffer { call, agent } => {
                    if let Some(leg) = self.ringing.remove(&(call.to_string(), agent.to_string())) {
                        self.dialer.cancel(leg);
                    }
                }
                Output::Answered {
                    call,
                    agent,
                    queue,
                    waited,
                } => {
                    if self.counting {
                        self.count(&queue, |t, day, q, sl| t.answered(day, q, waited, sl));
                    }
                    let name = self.acd.agent_name(&agent).unwrap_or_default().to_string();
                    let leg = self.answered_legs.get(call.as_str()).copied().unwrap_or(0);
                    if let Some(tx) = self.calls.get(call.as_str()) {
                        let _ = tx.send(QueueEvent::Answered {
                            agent: Box::new(AgentRef {
                                id: agent.to_string(),
                                name,
                            }),
                            leg,
                        });
                    }
                }
                Output::MaxWaitReached { call, queue, .. } => {
                    if self.counting {
                        self.count(&queue, |t, day, q, _| t.timed_out(day, q));
                    }
                    self.asked_at.remove(call.as_str());
                    self.owners.remove(call.as_str());
                    if let Some(tx) = self.calls.remove(call.as_str()) {
                        let _ = tx.send(QueueEvent::MaxWait);
                    }
                }
                Output::AgentStateChanged {
                    agent, from, to, ..
                } => {
                    if self.counting {
                        tracing::info!(agent = %agent, ?from, ?to, "agent state");
                    }
                    self.since.insert(agent.to_string(), now);
                }
                Output::Abandoned { call, queue, .. } => {
                    if self.counting {
                        self.count(&queue, |t, day, q, _| t.abandoned(day, q));
                    }
                    self.owners.remove(call.as_str());
                }
                Output::CallEnded { call, .. } => {
                    self.owners.remove(call.as_str());
                }
                Output::Announce { .. } => {}
            }
        }
    }
}

/// A dialer for tests that rings nobody: every offer stays ringing until cancelled.
#[cfg(test)]
pub(crate) struct Silent;

#[cfg(test)]
impl Dialer for Silent {
    fn offer(&self, _: &Ring<'_>, _: AcdHandle) -> u64 {
        0
    }
    fn cancel(&self, _: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[test]
    fn the_first_node_by_name_ticks_and_the_others_back_it_up() {
        let nodes: BTreeSet<String> = ["node-b", "node-a", "node-c"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(tick_rank(&nodes, "node-a"), 0);
        assert_eq!(tick_rank(&nodes, "node-b"), 1);
        assert_eq!(tick_rank(&nodes, "node-c"), 2);
        // A node not seen yet (it has appended nothing) counts those before it.
        assert_eq!(tick_rank(&nodes, "node-bb"), 2);
        assert_eq!(tick_rank(&BTreeSet::new(), "node-z"), 0);
    }

    /// Remembers which agent each call was offered to; never answers.
    #[derive(Default)]
    struct Recording(Mutex<Vec<(String, String)>>, Mutex<Vec<u64>>);

    impl Dialer for Recording {
        fn offer(&self, ring: &Ring<'_>, _: AcdHandle) -> u64 {
            if let Ok(mut v) = self.0.lock() {
                v.push((ring.call.to_string(), ring.agent.to_string()));
            }
            1
        }
        fn cancel(&self, _: u64) {}
        fn release(&self, leg: u64) {
            self.1.lock().unwrap().push(leg);
        }
    }

    fn config() -> AcdConfig {
        crate::config::Config::parse(
            r#"
[[agents]]
id = "ann"
name = "Ann"
password = "p"
queues = ["support"]

[[agents]]
id = "bia"
name = "Bia"
password = "p"
queues = ["support"]
skills = ["portuguese"]
"#,
            "t.toml",
        )
        .unwrap()
        .acd()
    }

    #[tokio::test]
    async fn a_call_asking_for_a_skill_goes_to_the_agent_who_has_it() {
        let dialer = Arc::new(Recording::default());
        let acd = AcdHandle::spawn(&config(), dialer.clone()).unwrap();
        // Ann has waited longest, but only Bia speaks Portuguese.
        acd.registered("ann");
        acd.registered("bia");
        let (tx, mut events) = mpsc::unbounded_channel();
        let r = acd
            .enqueue(
                "c1",
                "support",
                5,
                AvailabilityCheck::Off,
                vec!["portuguese".into()],
                tx,
            )
            .await;
        assert_eq!(r, QueueResult::Queued);
        let offered = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            offered,
            QueueEvent::Offered(Box::new(AgentRef {
                id: "bia".into(),
                name: "Bia".into()
            }))
        );
        assert_eq!(
            dialer.0.lock().unwrap().as_slice(),
            &[("c1".to_string(), "bia".to_string())]
        );
        // Without the skill, the longest available (Ann) gets the next call.
        let (tx, mut events) = mpsc::unbounded_channel();
        acd.enqueue("c2", "support", 5, AvailabilityCheck::Off, vec![], tx)
            .await;
        let offered = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(offered, QueueEvent::Offered(agent) if agent.id == "ann"));
    }

    #[tokio::test]
    async fn a_full_queue_answers_full_with_its_max_calls() {
        let config = crate::config::Config::parse(
            "[queues.support]\nmax_calls = 2\n[queues.sales]\n",
            "t.toml",
        )
        .unwrap()
        .acd();
        let acd = AcdHandle::spawn(&config, Arc::new(Recording::default())).unwrap();
        let enqueue = |call: &'static str, queue: &'static str| {
            let acd = acd.clone();
            async move {
                let (tx, _events) = mpsc::unbounded_channel();
                acd.enqueue(call, queue, 5, AvailabilityCheck::Off, vec![], tx)
                    .await
            }
        };
        assert_eq!(enqueue("c1", "support").await, QueueResult::Queued);
        assert_eq!(enqueue("c2", "support").await, QueueResult::Queued);
        assert_eq!(
            enqueue("c3", "support").await,
            QueueResult::Failed {
                reason: QueueFailure::Full { max_calls: 2 }
            }
        );
        // Other refusals stay text; another queue keeps its own (default) limit.
        let unknown = enqueue("c4", "nowhere").await;
        assert!(
            matches!(&unknown, QueueResult::Failed { reason: QueueFailure::Other(r) } if r.contains("unknown queue")),
            "{unknown:?}"
        );
        assert_eq!(enqueue("c5", "sales").await, QueueResult::Queued);
        let views = acd.queues().await;
        let max: Vec<(&str, u32, u32)> = views
            .iter()
            .map(|q| (q.name.as_str(), q.max_calls, q.calls_queued))
            .collect();
        assert_eq!(
            max,
            [
                ("sales", ringdesk_acd::DEFAULT_MAX_CALLS, 1),
                ("support", 2, 2)
            ]
        );
        // A call leaving makes room.
        acd.left("c1", Party::Caller);
        assert_eq!(enqueue("c6", "support").await, QueueResult::Queued);
    }

    /// The caller hangs up just as the agent answers, in either order: the answered leg,
    /// which no bridge will take, is hung up.
    #[tokio::test]
    async fn an_agent_leg_answered_as_the_caller_leaves_is_released() {
        let dialer = Arc::new(Recording::default());
        let acd = AcdHandle::spawn(&config(), dialer.clone()).unwrap();
        acd.registered("ann");
        acd.registered("bia");
        let offered = |skills: Vec<String>, call: &'static str| {
            let acd = acd.clone();
            async move {
                let (tx, mut events) = mpsc::unbounded_channel();
                acd.enqueue(call, "support", 5, AvailabilityCheck::Off, skills, tx)
                    .await;
                let e = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
                assert!(matches!(e, Ok(Some(QueueEvent::Offered(_)))), "{e:?}");
                events
            }
        };
        // The answer first, then the caller's hang-up (the answer never bridged).
        let _events = offered(vec![], "c1").await;
        acd.offer_result("c1", "ann", OfferResult::Answered { leg: 7 });
        acd.left("c1", Party::Caller);
        // The hang-up first, then the answer.
        let _events = offered(vec!["portuguese".into()], "c2").await;
        acd.left("c2", Party::Caller);
        acd.offer_result("c2", "bia", OfferResult::Answered { leg: 8 });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while dialer.1.lock().unwrap().len() < 2 {
            assert!(std::time::Instant::now() < deadline, "legs not released");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(*dialer.1.lock().unwrap(), [7, 8]);
    }

    #[test]
    fn queue_events_stay_small() {
        // A call's queue channel allocates 32 events up front: 24 bytes each, not 56.
        assert!(std::mem::size_of::<QueueEvent>() <= 24);
    }
}
