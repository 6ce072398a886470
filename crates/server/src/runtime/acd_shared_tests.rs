//! The shared queue on a real PostgreSQL (a private cluster started by the test): two
//! nodes' queue tasks over one log, each with a dialer that records what it rang. Checks
//! the issue's rules at the level where routing happens: priority then arrival across
//! nodes, the node holding the call rings (with the agent's contact from the other node),
//! no double offers under a burst, an agent only one node reaches takes only its calls,
//! both nodes' views agree, a stopped node's calls and agents are released once, and a
//! PostgreSQL outage holds routing up without losing an input.

#[path = "../../../store/tests/common/pg.rs"]
mod pg;

use super::acd::{AcdHandle, Dialer, OfferResult, QueueEvent, Ring};
use super::acd_input::ContactRef;
use super::acd_log::SharedLog;
use ringdesk_acd::{AcdConfig, Party, RequestedState};
use ringdesk_flow::{AvailabilityCheck, QueueResult};
use ringdesk_store::{PostgresOptions, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

/// One ring: which node rang, the call, the agent, the remote contact used.
type Rung = (&'static str, String, String, Option<ContactRef>);

/// Records rings; answers them when `auto` (the caller's side then ends the call).
struct Recorder {
    node: &'static str,
    rings: mpsc::UnboundedSender<Rung>,
    auto: bool,
    /// Shared by both nodes' dialers: each agent's ringing or connected call.
    busy: Arc<Mutex<HashMap<String, String>>>,
    /// Rings that found the agent already busy (must stay empty).
    doubles: Arc<Mutex<Vec<String>>>,
    next: std::sync::atomic::AtomicU64,
}

impl Dialer for Recorder {
    fn offer(&self, ring: &Ring<'_>, acd: AcdHandle) -> u64 {
        let (call, agent, remote) = (ring.call, ring.agent, ring.remote);
        let _ = self
            .rings
            .send((self.node, call.into(), agent.into(), remote.cloned()));
        if let Some(old) = self
            .busy
            .lock()
            .unwrap()
            .insert(agent.to_string(), call.to_string())
        {
            self.doubles
                .lock()
                .unwrap()
                .push(format!("{agent}: {call} while {old}"));
        }
        let leg = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if self.auto {
            let (call, agent) = (call.to_string(), agent.to_string());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                acd.offer_result(&call, &agent, OfferResult::Answered { leg });
            });
        }
        leg
    }

    fn cancel(&self, _: u64) {}

    /// Agent a4's phone is one only its node reaches (a desktop page's): no contact.
    fn contact(&self, agent: &str) -> Option<ContactRef> {
        if agent == "a4" {
            return None;
        }
        Some(ContactRef {
            uri: format!("sip:{agent}@{}", self.node),
            source: "127.0.0.1:5070".parse().unwrap(),
            path: Vec::new(),
        })
    }
}

fn config(agents: usize) -> AcdConfig {
    config_with(agents, "")
}

/// [`config`] with more `[queues.support]` lines.
fn config_with(agents: usize, queue: &str) -> AcdConfig {
    let mut toml = format!("[queues.support]\nwrap_up = \"0s\"\n{queue}");
    for i in 0..agents {
        toml.push_str(&format!(
            "[[agents]]\nid = \"a{i}\"\nname = \"Agent {i}\"\npassword = \"p\"\nqueues = [\"support\"]\n"
        ));
    }
    crate::config::Config::parse(&toml, "t.toml").unwrap().acd()
}

struct Node {
    acd: AcdHandle,
    store: Store,
}

#[allow(clippy::too_many_arguments)]
async fn node(
    pg: &pg::PgCluster,
    db: &str,
    name: &'static str,
    config: &AcdConfig,
    rings: mpsc::UnboundedSender<Rung>,
    auto: bool,
    busy: &Arc<Mutex<HashMap<String, String>>>,
    doubles: &Arc<Mutex<Vec<String>>>,
) -> Node {
    let mut opts = PostgresOptions::new(pg.url(db), name);
    opts.password = Some(pg::PASSWORD.into());
    let store = Store::connect_postgres(opts).await.expect("connect");
    // What the outbox worker does at a node's start: the shared queue waits for it.
    let joined = store.node_join(jiff::Timestamp::now()).await.expect("join");
    assert_eq!(joined, Some(0), "{name} joins");
    let (log, rows) = SharedLog::open(&store).await.expect("open the log");
    let dialer = Arc::new(Recorder {
        node: name,
        rings,
        auto,
        busy: busy.clone(),
        doubles: doubles.clone(),
        next: Default::default(),
    });
    let acd = AcdHandle::spawn_shared(config, dialer, log, rows).unwrap();
    Node { acd, store }
}

async fn enqueue(n: &Node, call: &str, priority: u8) -> mpsc::UnboundedReceiver<QueueEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    let r = n
        .acd
        .enqueue(
            call,
            "support",
            priority,
            AvailabilityCheck::Off,
            vec![],
            tx,
        )
        .await;
    assert_eq!(r, QueueResult::Queued, "{call}");
    rx
}

/// Every row of the shared log, in order.
async fn all_rows(store: &Store) -> Vec<ringdesk_store::AcdLogRow> {
    let mut out: Vec<ringdesk_store::AcdLogRow> = Vec::new();
    loop {
        let after = out.last().map_or(0, |r| r.seq);
        let rows = store.acd_read(after).await.unwrap();
        if rows.is_empty() {
            return out;
        }
        out.extend(rows);
    }
}

/// How many ticks each node appended to the log.
async fn ticks_by_node(store: &Store) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in all_rows(store).await {
        if r.body == r#"{"kind":"tick"}"# {
            *out.entry(r.node).or_insert(0) += 1;
        }
    }
    out
}

/// Waits until each of `nodes` counts `n` calls waiting or ringing (`what` in the failure).
async fn queued_on(nodes: &[&Node], n: u32, what: &str) {
    for node in nodes {
        let deadline = tokio::time::Instant::now() + WAIT;
        while node.acd.queues().await[0].calls_queued != n {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn next_ring(rings: &mut mpsc::UnboundedReceiver<Rung>) -> Rung {
    tokio::time::timeout(WAIT, rings.recv())
        .await
        .expect("a ring in time")
        .expect("dialers alive")
}

/// Waits until `n` shows `agent` in `state`.
async fn agent_state(n: &Node, agent: &str, state: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = n.acd.agent(agent).await.map(|v| v.state);
        if got.as_deref() == Some(state) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{agent}: {got:?}, wanted {state}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_queue() {
    let mut pg = pg::PgCluster::start();
    pg.create_db("q");
    let busy = Arc::new(Mutex::new(HashMap::new()));
    let doubles = Arc::new(Mutex::new(Vec::new()));

    // ---- Priority, then arrival, across nodes; the node holding the call rings. ----
    let (tx, mut rings) = mpsc::unbounded_channel();
    let a = node(
        &pg,
        "q",
        "a",
        &config(1),
        tx.clone(),
        false,
        &busy,
        &doubles,
    )
    .await;
    let b = node(&pg, "q", "b", &config(1), tx, false, &busy, &doubles).await;
    a.acd.registered("a0");
    agent_state(&b, "a0", "available").await;
    // Not ready (asked on node A), while three callers arrive.
    a.acd
        .set_state(
            "a0",
            RequestedState::NotReady {
                reason: "lunch".into(),
            },
        )
        .await
        .unwrap();
    agent_state(&b, "a0", "not_ready").await;
    let mut normal_a = enqueue(&a, "normal-on-a", 5).await;
    let mut urgent_b = enqueue(&b, "urgent-on-b", 1).await;
    let _later_b = enqueue(&b, "later-normal-on-b", 5).await;
    // Both nodes see three calls waiting.
    queued_on(&[&a, &b], 3, "queued calls").await;
    // Available again, asked on node B: the urgent caller on B is offered first, rung by
    // B at the contact the agent registered with A.
    b.acd
        .set_state("a0", RequestedState::Available)
        .await
        .unwrap();
    let (by, call, agent, contact) = next_ring(&mut rings).await;
    assert_eq!(
        (by, call.as_str(), agent.as_str()),
        ("b", "urgent-on-b", "a0")
    );
    assert_eq!(contact.map(|c| c.uri).as_deref(), Some("sip:a0@a"));
    assert!(matches!(
        tokio::time::timeout(WAIT, urgent_b.recv()).await,
        Ok(Some(QueueEvent::Offered(_)))
    ));
    agent_state(&a, "a0", "reserved").await;
    b.acd
        .offer_result("urgent-on-b", "a0", OfferResult::Answered { leg: 1 });
    b.acd.left("urgent-on-b", Party::Agent);
    // Then the earlier of the two normal callers, on node A (rung by A, its own contact).
    let (by, call, _, contact) = next_ring(&mut rings).await;
    assert_eq!((by, call.as_str(), contact), ("a", "normal-on-a", None));
    assert!(matches!(
        tokio::time::timeout(WAIT, normal_a.recv()).await,
        Ok(Some(QueueEvent::Offered(_)))
    ));
    // The agent refuses: the call goes back to its place, the agent is not ready.
    a.acd
        .offer_result("normal-on-a", "a0", OfferResult::Rejected);
    agent_state(&b, "a0", "not_ready").await;

    // ---- A stopped node: its calls end, its agents are released, once. ----
    // The agent, available again, is offered the first call (on A, still first).
    b.acd
        .set_state("a0", RequestedState::Available)
        .await
        .unwrap();
    let (by, call, _, _) = next_ring(&mut rings).await;
    assert_eq!((by, call.as_str()), ("a", "normal-on-a"));
    agent_state(&b, "a0", "reserved").await;
    // Node A "stops" (its lease ran out, a renewal by B says so): its call leaves, the
    // agent (registered through A) is logged out, and B's caller stays queued.
    b.store
        .acd_append(&[ringdesk_store::node_gone_body("a")])
        .await
        .unwrap();
    agent_state(&b, "a0", "logged_out").await;
    queued_on(&[&b], 1, "B's caller stays").await;
    // The agent registers again through B: B's caller is offered, by B, with B's own
    // registration (no remote contact).
    b.acd.registered("a0");
    let (by, call, _, contact) = next_ring(&mut rings).await;
    assert_eq!(
        (by, call.as_str(), contact),
        ("b", "later-normal-on-b", None)
    );
    drop((a, b));

    // ---- A burst: 50 callers on two nodes, 5 agents, no double offers. ----
    pg.create_db("q2");
    // Fresh books: the first part's manual rings are not a burst's.
    let busy = Arc::new(Mutex::new(HashMap::new()));
    let doubles = Arc::new(Mutex::new(Vec::new()));
    let (tx, mut rings) = mpsc::unbounded_channel();
    let a = node(
        &pg,
        "q2",
        "a",
        &config(5),
        tx.clone(),
        true,
        &busy,
        &doubles,
    )
    .await;
    let b = node(&pg, "q2", "b", &config(5), tx, true, &busy, &doubles).await;
    for (i, agent) in ["a0", "a1", "a2", "a3", "a4"].into_iter().enumerate() {
        if i < 3 { &a } else { &b }.acd.registered(agent);
    }
    for agent in ["a0", "a1", "a2", "a3", "a4"] {
        agent_state(&a, agent, "available").await;
    }
    let mut waiting = Vec::new();
    for i in 0..50u32 {
        let n = if i.is_multiple_of(2) { &a } else { &b };
        let (tx, rx) = mpsc::unbounded_channel();
        let (acd, busy) = (n.acd.clone(), busy.clone());
        // A caller: queued, then bridged when its agent answers, and the agent hangs up.
        waiting.push(tokio::spawn(async move {
            let call = format!("burst-{i}");
            let mut events = rx;
            let r = acd
                .enqueue(
                    &call,
                    "support",
                    1 + (i % 3) as u8,
                    AvailabilityCheck::Off,
                    vec![],
                    tx,
                )
                .await;
            assert_eq!(r, QueueResult::Queued, "{call}");
            loop {
                match tokio::time::timeout(WAIT, events.recv()).await {
                    Ok(Some(QueueEvent::Answered { agent, .. })) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        busy.lock().unwrap().remove(&agent.id);
                        acd.left(&call, Party::Agent);
                        return;
                    }
                    Ok(Some(_)) => continue,
                    other => panic!("{call}: no answer: {other:?}"),
                }
            }
        }));
    }
    let mut rung: HashMap<String, usize> = HashMap::new();
    let mut a4_rung = 0;
    while rung.len() < 50 {
        let (by, call, agent, _) = next_ring(&mut rings).await;
        // a4, reachable through B only, is offered only B's calls.
        if agent == "a4" {
            assert_eq!(by, "b", "{call} offered to a4");
            a4_rung += 1;
        }
        let n: usize = call.trim_start_matches("burst-").parse().unwrap();
        assert_eq!(
            by,
            if n.is_multiple_of(2) { "a" } else { "b" },
            "{call} rung by its node"
        );
        *rung.entry(call).or_default() += 1;
    }
    // Every caller heard its agent answer.
    for w in waiting {
        w.await.unwrap();
    }
    assert!(rung.values().all(|&n| n == 1), "{rung:?}");
    assert!(a4_rung > 0, "a4 took none of B's calls");
    assert!(
        doubles.lock().unwrap().is_empty(),
        "{:?}",
        doubles.lock().unwrap()
    );
    // Both nodes agree: nobody waits, every agent is available again.
    for n in [&a, &b] {
        for agent in ["a0", "a1", "a2", "a3", "a4"] {
            agent_state(n, agent, "available").await;
        }
        assert_eq!(n.acd.queues().await[0].calls_queued, 0);
    }

    // ---- PostgreSQL stopped: routing waits, nothing is lost, and goes on after. ----
    pg.stop();
    let (tx, mut events) = mpsc::unbounded_channel();
    let acd = a.acd.clone();
    let asked = tokio::spawn(async move {
        acd.enqueue(
            "during-outage",
            "support",
            5,
            AvailabilityCheck::Off,
            vec![],
            tx,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!asked.is_finished(), "queued without the log");
    assert!(rings.try_recv().is_err(), "rung without the log");
    pg.run();
    let r = tokio::time::timeout(WAIT, asked)
        .await
        .expect("queued once back");
    assert_eq!(r.unwrap(), QueueResult::Queued);
    let (by, call, _, _) = next_ring(&mut rings).await;
    assert_eq!((by, call.as_str()), ("a", "during-outage"));
    assert!(matches!(
        tokio::time::timeout(WAIT, events.recv()).await,
        Ok(Some(QueueEvent::Offered(_)))
    ));

    // ---- A longer outage: the flow is told the queue failed, and the call its log
    // takes late is taken out again, on both nodes. ----
    pg.stop();
    let (tx, _events) = mpsc::unbounded_channel();
    let acd = a.acd.clone().with_enqueue_wait(Duration::from_millis(500));
    let r = tokio::time::timeout(
        WAIT,
        acd.enqueue("too-late", "support", 5, AvailabilityCheck::Off, vec![], tx),
    )
    .await
    .expect("the queue step fails in time, not at the outage's end");
    assert!(matches!(r, QueueResult::Failed { .. }), "{r:?}");
    pg.run();
    // The node appends the late enqueue once the database is back (its retry may take a
    // moment), then its way out.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let late: Vec<String> = all_rows(&a.store)
            .await
            .into_iter()
            .filter(|r| r.body.contains("too-late"))
            .map(|r| r.body)
            .collect();
        if late.iter().any(|b| b.contains(r#""kind":"enqueue""#))
            && late.iter().any(|b| b.contains(r#""kind":"left""#))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the late enqueue and its way out, in the log: {late:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    queued_on(&[&a, &b], 0, "the late call was not taken out of the queue").await;
    // ---- One tick per deadline: node "a" (first by name) ticks; "b" only backs it up,
    // later, and not at all while a's ticks arrive. Callers with no agent leave at
    // their queue's max wait, a deadline of each node's copy of the core. ----
    pg.create_db("q3");
    let (tx, _rings) = mpsc::unbounded_channel();
    let timed = config_with(1, "max_wait = \"150ms\"\n");
    let a = node(&pg, "q3", "a", &timed, tx.clone(), false, &busy, &doubles).await;
    let b = node(&pg, "q3", "b", &timed, tx, false, &busy, &doubles).await;
    let mut waiting = Vec::new();
    for i in 0..6 {
        let n = if i % 2 == 0 { &a } else { &b };
        waiting.push(enqueue(n, &format!("timed-{i}"), 5).await);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    queued_on(&[&a, &b], 0, "callers past max wait").await;
    let ticks = ticks_by_node(&a.store).await;
    let (by_a, by_b) = (
        ticks.get("a").copied().unwrap_or(0),
        ticks.get("b").copied().unwrap_or(0),
    );
    assert!(by_a > 0 && by_b * 4 <= by_a, "ticks by node: {ticks:?}");
}
