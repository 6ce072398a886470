//! One queue across two ringdesk nodes sharing one PostgreSQL store (issue 15), tested
//! from outside: two `ringdesk serve` children with the same `[[agents]]` and
//! `[queues.support]` and a `[store]` on a private PostgreSQL cluster
//! (`store/tests/common/pg.rs`), SIPp callers sent to either node, and agents whose
//! softphones REGISTER with one node only. What is checked is what callers, agents' phones
//! and the admin API see: the order of the offers (the `X-Ringdesk-Caller` header of the
//! INVITEs an agent's phone gets) follows priority then arrival across the nodes, a burst
//! of callers on both nodes never offers one agent two calls nor one call to two agents,
//! and `GET /agents` of either node shows the same states. An agent whose softphone
//! registers through Kamailio (RFC 3327 Path) is rung through Kamailio by both nodes.

mod queue;

/// A private PostgreSQL cluster (the store crate's test harness).
#[path = "../../store/tests/common/pg.rs"]
mod pg;

/// Kamailio with the shipped config (its free port from the queue helpers' counter).
#[path = "cluster/kamailio.rs"]
#[allow(dead_code)] // each binary uses a part of the harness
mod kamailio;
use queue::ports;

/// The `[store]` of a node on the test cluster's database.
#[path = "cluster/store.rs"]
mod store;

use queue::agent;
use queue::demo::{BRUNO_URGENT, MARY_NORMAL, ROBERT_NORMAL, SHARED_NORMAL};
use queue::server::{AgentView, Options, Server};
use queue::sipp::{Message, Sipp, SippProc, Way};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use store::shared_store;

/// Longest wait for a caller to reach the queue (answer, 2 s, press 1, lookups).
const QUEUE_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for an offer to reach a phone.
const OFFER_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for a SIPp run to finish once its calls should be over.
const END_WAIT: Duration = Duration::from_secs(60);
/// Longest wait for the nodes to agree on agent states or queue figures, or for records
/// (the shared log and store answer in milliseconds; this is for a loaded CI machine).
const STATE_WAIT: Duration = Duration::from_secs(10);
/// How often the admin APIs are polled.
const POLL: Duration = Duration::from_millis(50);

/// A PostgreSQL cluster with the database `r` the nodes share.
fn store_cluster() -> pg::PgCluster {
    let pg = pg::PgCluster::start();
    pg.create_db("r");
    pg
}

/// Node `name` on the shared store with `options` (agents and queue timers).
async fn node(pg: &pg::PgCluster, name: &str, options: Options) -> Server {
    Server::start(options.store(shared_store(pg, name))).await
}

/// Nodes A and B with the same `options`, started one after the other (the first one
/// creates the schema).
async fn two_nodes(pg: &pg::PgCluster, options: Options) -> (Server, Server) {
    let a = node(pg, "node-a", options.clone()).await;
    let b = node(pg, "node-b", options).await;
    (a, b)
}

/// `nodes` without repeats (a one-node run passes the same node twice).
fn distinct<'a>(nodes: &[&'a Server]) -> Vec<&'a Server> {
    let mut out: Vec<&Server> = Vec::new();
    for n in nodes {
        if !out.iter().any(|o| std::ptr::eq(*o, *n)) {
            out.push(n);
        }
    }
    out
}

/// `GET /agents` of `node`, sorted by id.
async fn agents_of(node: &Server) -> Vec<AgentView> {
    let mut all = node.agents().await;
    all.sort_by(|x, y| x.id.cmp(&y.id));
    all
}

/// The state of agent `id` in `view` ("" when absent).
fn state_of<'a>(view: &'a [AgentView], id: &str) -> &'a str {
    view.iter()
        .find(|a| a.id == id)
        .map_or("", |a| a.state.as_str())
}

/// Waits up to [`STATE_WAIT`] until every node's `GET /agents` shows the same agents
/// (id, name, state, reason) and that view satisfies `want` (described by `what`);
/// returns the view. Each node applies the shared log on its own, so the views may
/// differ for a moment after a change, never for long.
async fn agreed_agents(
    nodes: &[&Server],
    what: &str,
    want: impl Fn(&[AgentView]) -> bool,
) -> Vec<AgentView> {
    let deadline = Instant::now() + STATE_WAIT;
    loop {
        let mut views = Vec::new();
        for n in nodes {
            views.push(agents_of(n).await);
        }
        if views.windows(2).all(|w| w[0] == w[1]) && want(&views[0]) {
            return views.swap_remove(0);
        }
        assert!(
            Instant::now() < deadline,
            "the nodes' GET /agents did not agree on {what} within {STATE_WAIT:?}:\n{}",
            views
                .iter()
                .enumerate()
                .map(|(i, v)| format!("node {i}: {v:?}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits up to [`STATE_WAIT`] until every node's `GET /queues` shows `n` calls waiting or
/// ringing in `support` (one queue: each node counts the callers of both).
async fn queued_everywhere(nodes: &[&Server], n: u64) {
    let deadline = Instant::now() + STATE_WAIT;
    loop {
        let mut counts = Vec::new();
        for node in nodes {
            counts.push(node.queue("support").await["calls_queued"].as_u64());
        }
        if counts.iter().all(|c| *c == Some(n)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes' GET /queues did not all show {n} calls queued in support within \
             {STATE_WAIT:?}: {counts:?} (node by node)"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits up to [`STATE_WAIT`] until `node` reads at least `n` records; returns them.
async fn records(node: &Server, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + STATE_WAIT;
    loop {
        let all = node.interactions().await;
        if all.len() >= n {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} records within {STATE_WAIT:?}: {all:#?}",
            all.len()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A caller who presses 1 and stays until ringdesk hangs up.
fn caller_until_bye(server: &Server, label: &str, number: &str) -> SippProc {
    Sipp::new("caller_press1_wait_bye.xml")
        .service("support")
        .caller(number)
        .spawn(label, Some(server.sip_addr()), server.dir())
}

fn header(m: &Message, name: &str) -> String {
    m.header(name).unwrap_or_default()
}

/// Who calls, on which node (0: the agent's node A, 1: node B), in arrival order: a normal
/// caller on B, a normal caller on A, an urgent caller on B, a normal caller on B.
const ARRIVALS: [(usize, &str); 4] = [
    (1, ROBERT_NORMAL),
    (0, MARY_NORMAL),
    (1, BRUNO_URGENT),
    (1, SHARED_NORMAL),
];
/// The offers expected: the urgent caller (on B) before the earlier normal callers on both
/// nodes, then the normal callers in arrival order whichever node holds them (B before A,
/// then A before B).
const OFFER_ORDER: [&str; 4] = [BRUNO_URGENT, ROBERT_NORMAL, MARY_NORMAL, SHARED_NORMAL];

/// The scenario of the first test on `nodes` ([A, B], or one node twice): agent ana,
/// registered with A only, is made not ready on A; the callers of [`ARRIVALS`] queue up
/// one by one (each seen queued by every node before the next one calls); then ana turns
/// available and her phone gets the offers in [`OFFER_ORDER`], answers each and hangs up.
/// Every caller gets the BYE, and each call's record (read from every node) names ana.
async fn offers_follow_priority_then_arrival(nodes: [&Server; 2]) {
    let [a, _] = nodes;
    let all = distinct(&nodes);
    let phone = agent::phone(
        a,
        "ana",
        "agent_answer_hangup.xml",
        ARRIVALS.len() as u32,
        Duration::from_millis(300),
        &[],
    );
    agent::log_in(a, "ana", &phone).await;
    a.must_set_state("ana", "not_ready").await;
    agreed_agents(&all, "ana not ready", |v| state_of(v, "ana") == "not_ready").await;

    let mut callers = Vec::new();
    for (i, (at, number)) in ARRIVALS.iter().enumerate() {
        let node = nodes[*at];
        let before = node.queued_count();
        callers.push(caller_until_bye(node, &format!("caller-{i}"), number));
        node.wait_queued(before + 1, QUEUE_WAIT).await;
        queued_everywhere(&all, i as u64 + 1).await;
    }
    assert!(
        phone.received("INVITE").is_empty(),
        "a not-ready agent was offered a call"
    );
    a.must_set_state("ana", "available").await;

    let invites = phone
        .wait_received("INVITE", ARRIVALS.len(), 2 * OFFER_WAIT)
        .await;
    let order: Vec<String> = invites
        .iter()
        .map(|m| header(m, "X-Ringdesk-Caller"))
        .collect();
    assert_eq!(
        order, OFFER_ORDER,
        "offer order: the urgent caller on B first, then the normal callers in arrival \
         order across the nodes"
    );
    for (i, c) in callers.into_iter().enumerate() {
        c.wait(END_WAIT).await.assert_passed(&format!(
            "caller {i} ({}) talks to ana, then gets the BYE",
            ARRIVALS[i].1
        ));
    }
    phone.wait(END_WAIT).await.assert_passed("ana's phone");
    for node in &all {
        for (_, number) in ARRIVALS {
            let rec = node.interaction_of(number, STATE_WAIT).await;
            assert_eq!(rec["agent_id"], "ana", "{rec:#}");
        }
        let rec = node.interaction_of(BRUNO_URGENT, STATE_WAIT).await;
        assert_eq!(rec["priority"], 1, "{rec:#}");
    }
}

/// The first test's config: agent ana, no wrap-up.
fn one_agent() -> Options {
    Options::agents(&["ana"]).wrap_up("0s")
}

/// Test 1: nodes A and B on one store, agent ana registered with A only. Callers queue on
/// both nodes while ana is not ready (a normal caller on B, a normal one on A, an urgent one
/// on B, a normal one on B); once ana is available she is offered the urgent caller held by
/// B first, then the normal callers in arrival order across the nodes (B's earlier caller
/// before A's, A's before B's later one): node B rings ana's phone, registered with A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_urgent_caller_on_one_node_is_offered_before_an_earlier_normal_caller_on_the_other() {
    let pg = store_cluster();
    let (a, b) = two_nodes(&pg, one_agent()).await;
    offers_follow_priority_then_arrival([&a, &b]).await;
}

/// The burst's agents and the node (0: A, 1: B) each one's softphone registers with.
const BURST_AGENTS: [(&str, usize); 5] =
    [("ana", 0), ("bob", 1), ("cy", 0), ("dee", 1), ("eve", 0)];
/// Callers per node in the burst.
const BURST_CALLERS: u32 = 25;
/// The number prefixes of the burst's callers on A and on B (call K: prefix then K).
const BURST_PREFIXES: [&str; 2] = ["+1555100", "+1555200"];
/// How long an agent talks before hanging up in the burst.
const BURST_TALK: Duration = Duration::from_millis(300);
/// Longest the burst may take (SIPp's own timeout for the callers).
const BURST_WAIT: Duration = Duration::from_secs(90);

/// One thing a phone's message trace shows about a dialog.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    /// An INVITE (an offer) received.
    Offer { call_id: String, caller: String },
    /// The dialog ended: BYE sent or received, or CANCEL received.
    End { call_id: String },
}

/// The offers and dialog ends in a SIPp `-trace_msg` log, in order (retransmissions
/// dropped).
fn dialog_events(log: &str) -> Vec<Event> {
    let mut out = Vec::new();
    let mut offered: BTreeSet<String> = BTreeSet::new();
    let mut ended: BTreeSet<String> = BTreeSet::new();
    for (way, m) in queue::sipp::trace(log) {
        let (received, sent) = (way == Way::Received, way == Way::Sent);
        let call_id = header(&m, "Call-ID");
        if received && m.text.starts_with("INVITE ") && offered.insert(call_id.clone()) {
            out.push(Event::Offer {
                call_id,
                caller: header(&m, "X-Ringdesk-Caller"),
            });
        } else if ((sent && m.text.starts_with("BYE "))
            || (received && (m.text.starts_with("BYE ") || m.text.starts_with("CANCEL "))))
            && offered.contains(&call_id)
            && ended.insert(call_id.clone())
        {
            out.push(Event::End { call_id });
        }
    }
    out
}

/// The offers a phone got while another of its dialogs was still going, as (open call,
/// new caller): an agent offered two calls at once.
fn overlapping_offers(events: &[Event]) -> Vec<(Vec<String>, String)> {
    let mut open: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for e in events {
        match e {
            Event::Offer { call_id, caller } => {
                if !open.is_empty() {
                    out.push((open.clone(), caller.clone()));
                }
                open.push(call_id.clone());
            }
            Event::End { call_id } => open.retain(|c| c != call_id),
        }
    }
    out
}

/// Test 2: five agents (three registered with A, two with B) and a burst of 25 callers on
/// each node. Every caller is connected to an agent and gets the BYE when the agent hangs
/// up; no agent's phone is offered a call while another of its calls is ringing or
/// talking; each caller is offered exactly once, to one agent (no call offered to two
/// agents); the records (read from each node) name, for each caller, the agent whose phone
/// got the offer, so each agent's offers equal its answered calls; and calls cross the
/// nodes both ways (B's callers reach agents registered with A and A's reach B's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_callers_on_two_nodes_never_double_offers() {
    let pg = store_cluster();
    let (a, b) = two_nodes(&pg, burst_options()).await;
    burst([&a, &b]).await;
}

/// The burst's config: its agents, a 20 s ring timeout, no wrap-up.
fn burst_options() -> Options {
    let ids: Vec<&str> = BURST_AGENTS.iter().map(|(id, _)| *id).collect();
    Options::agents(&ids).ring_timeout("20s").wrap_up("0s")
}

/// The burst on `nodes` ([A, B], or one node twice to check the harness).
async fn burst(nodes: [&Server; 2]) {
    let all = distinct(&nodes);
    let mut phones = Vec::new();
    for (id, at) in BURST_AGENTS {
        let node = nodes[at];
        let phone = agent::phone(
            node,
            id,
            "agent_answer_hangup.xml",
            2 * BURST_CALLERS,
            BURST_TALK,
            &[],
        );
        agent::log_in(node, id, &phone).await;
        phones.push((id, at, phone));
    }
    agreed_agents(&all, "every agent available", |v| {
        BURST_AGENTS
            .iter()
            .all(|(id, _)| state_of(v, id) == "available")
    })
    .await;

    let callers: Vec<SippProc> = nodes
        .iter()
        .zip(BURST_PREFIXES)
        .enumerate()
        .map(|(i, (node, prefix))| {
            Sipp::new("caller_numbered_press1_wait_bye.xml")
                .service("support")
                .caller(prefix)
                .calls(BURST_CALLERS)
                .timeout(BURST_WAIT)
                .spawn(&format!("callers-{i}"), Some(node.sip_addr()), node.dir())
        })
        .collect();
    for (i, c) in callers.into_iter().enumerate() {
        c.wait(BURST_WAIT + Duration::from_secs(10))
            .await
            .assert_passed(&format!(
                "the {BURST_CALLERS} callers on node {i}: each talks to an agent, then gets \
                 the BYE"
            ));
    }

    // Offers, phone by phone: never two at once on one phone.
    let mut offered_to: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut offers_per_agent: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, _, phone) in &phones {
        let events = dialog_events(&phone.messages());
        let overlaps = overlapping_offers(&events);
        assert!(
            overlaps.is_empty(),
            "{id}'s phone was offered a call while another was going (open calls, new \
             caller): {overlaps:?}"
        );
        for e in &events {
            if let Event::Offer { caller, .. } = e {
                offered_to.entry(caller.clone()).or_default().push(id);
                *offers_per_agent.entry(id).or_default() += 1;
            }
        }
    }
    // Each caller offered once, to one agent.
    let twice: Vec<_> = offered_to
        .iter()
        .filter(|(_, who)| who.len() != 1)
        .collect();
    assert!(
        twice.is_empty(),
        "callers offered more than once (caller, agents): {twice:?}"
    );
    let total = 2 * BURST_CALLERS as usize;
    assert_eq!(
        offered_to.len(),
        total,
        "one offer per caller: {offered_to:?}"
    );
    for prefix in BURST_PREFIXES {
        let n = offered_to.keys().filter(|c| c.starts_with(prefix)).count();
        assert_eq!(n, BURST_CALLERS as usize, "offers of {prefix}* callers");
    }

    // The records agree with the phones, read from every node.
    for (i, node) in all.iter().enumerate() {
        let recs = records(node, total).await;
        let by_ani: BTreeMap<String, String> = recs
            .iter()
            .filter_map(|r| {
                Some((
                    r["ani"].as_str()?.to_owned(),
                    r["agent_id"].as_str().unwrap_or("(none)").to_owned(),
                ))
            })
            .collect();
        assert_eq!(recs.len(), total, "node {i}: one record per call");
        for (caller, who) in &offered_to {
            assert_eq!(
                by_ani.get(caller).map(String::as_str),
                Some(who[0]),
                "node {i}: the record of {caller} names the agent whose phone got the offer"
            );
        }
        for (id, _, _) in &phones {
            let answered = by_ani.values().filter(|a| a == id).count();
            assert_eq!(
                answered,
                offers_per_agent.get(id).copied().unwrap_or(0),
                "node {i}: {id}'s offers equal its answered calls"
            );
        }
        for r in &recs {
            assert_eq!(r["end_reason"], "agent", "node {i}: {r:#}");
        }
    }
    eprintln!("offers per agent: {offers_per_agent:?}");

    // Calls crossed the nodes both ways (only meaningful with two nodes).
    if all.len() == 2 {
        for (from, prefix) in BURST_PREFIXES.iter().enumerate() {
            let crossed = offered_to.iter().any(|(caller, who)| {
                caller.starts_with(prefix)
                    && BURST_AGENTS
                        .iter()
                        .any(|(id, at)| *id == who[0] && *at != from)
            });
            assert!(
                crossed,
                "no caller on node {from} reached an agent registered with the other node: \
                 {offered_to:?}"
            );
        }
    }
    agreed_agents(&all, "every agent available after the burst", |v| {
        BURST_AGENTS
            .iter()
            .all(|(id, _)| state_of(v, id) == "available")
    })
    .await;
}

/// Test 3: both nodes' `GET /agents` show the same agents in the same states, whichever
/// node an agent registered with and whichever node's API changed the state: ana
/// registered with A and bob with B both available, cy logged out; ana made not ready
/// (with a reason) through B and bob through A; ana available again through A; ana busy
/// on a call from a caller on B; ana available again after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_nodes_show_the_same_agent_states() {
    let pg = store_cluster();
    let (a, b) = two_nodes(&pg, same_states_options()).await;
    same_states([&a, &b]).await;
}

/// The agents of the third test (wrap-up 1 s).
fn same_states_options() -> Options {
    Options::agents(&["ana", "bob", "cy"]).wrap_up("1s")
}

/// The third test on `nodes` ([A, B], or one node twice to check the harness).
async fn same_states(nodes: [&Server; 2]) {
    let [a, b] = nodes;
    let nodes = distinct(&nodes);
    let ana = agent::phone(
        a,
        "ana",
        "agent_answer_wait_bye.xml",
        1,
        Duration::ZERO,
        &[],
    );
    let bob = agent::phone(
        b,
        "bob",
        "agent_answer_wait_bye.xml",
        1,
        Duration::ZERO,
        &[],
    );
    agent::log_in(a, "ana", &ana).await;
    agent::log_in(b, "bob", &bob).await;
    let view = agreed_agents(&nodes, "ana and bob available, cy logged out", |v| {
        state_of(v, "ana") == "available"
            && state_of(v, "bob") == "available"
            && state_of(v, "cy") == "logged_out"
    })
    .await;
    assert_eq!(view.len(), 3, "{view:?}");

    let (status, body) = b.set_state("ana", "not_ready", Some("lunch")).await;
    assert_eq!(status, 200, "POST /agents/ana/state on node B: {body}");
    let (status, body) = a.set_state("bob", "not_ready", Some("training")).await;
    assert_eq!(status, 200, "POST /agents/bob/state on node A: {body}");
    let view = agreed_agents(&nodes, "ana and bob not ready", |v| {
        state_of(v, "ana") == "not_ready" && state_of(v, "bob") == "not_ready"
    })
    .await;
    let reasons: Vec<(&str, Option<&str>)> = view
        .iter()
        .map(|v| (v.id.as_str(), v.reason.as_deref()))
        .collect();
    assert_eq!(
        reasons[..2],
        [("ana", Some("lunch")), ("bob", Some("training"))],
        "{view:?}"
    );

    a.must_set_state("ana", "available").await;
    agreed_agents(&nodes, "ana available again", |v| {
        state_of(v, "ana") == "available"
    })
    .await;
    // A caller on B is offered to ana (registered with A); she answers and stays on the
    // call until the caller hangs up, 6 s after pressing 1.
    let caller = Sipp::new("caller_press1_hangup.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .pause(Duration::from_secs(6))
        .spawn("caller", Some(b.sip_addr()), b.dir());
    let invites = ana.wait_received("INVITE", 1, OFFER_WAIT).await;
    assert_eq!(header(&invites[0], "X-Ringdesk-Caller"), ROBERT_NORMAL);
    agreed_agents(&nodes, "ana busy on the call", |v| {
        state_of(v, "ana") == "busy" && state_of(v, "bob") == "not_ready"
    })
    .await;
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller on B talks to ana, then hangs up");
    ana.wait(END_WAIT)
        .await
        .assert_passed("ana's phone: answers, gets the BYE");
    agreed_agents(&nodes, "ana available after the call", |v| {
        state_of(v, "ana") == "available"
            && state_of(v, "bob") == "not_ready"
            && state_of(v, "cy") == "logged_out"
    })
    .await;
    assert!(
        bob.received("INVITE").is_empty(),
        "bob, not ready, was offered a call"
    );
}

/// A phone's trace as SIPp writes it (`-trace_msg`): `(received, message)` in order.
fn trace(messages: &[(bool, &str)]) -> String {
    let mut out = String::new();
    for (received, text) in messages {
        let what = if *received {
            "UDP message received [100] bytes :"
        } else {
            "UDP message sent (100 bytes):"
        };
        out.push_str(&format!(
            "----------------------------------------------- 2026-01-01\t00:00:00.000000\n\
             {what}\n\n{}\n\n",
            text.replace('\n', "\r\n")
        ));
    }
    out
}

/// The double-offer check itself can fail: an INVITE arriving while an earlier dialog is
/// still going is reported; one after the earlier dialog's BYE (or CANCEL) is not, and an
/// INVITE retransmission is no new offer.
#[test]
fn the_overlap_check_sees_a_second_offer_during_a_call() {
    let invite = |id: &str, caller: &str| {
        format!("INVITE sip:ana@127.0.0.1 SIP/2.0\nCall-ID: {id}\nX-Ringdesk-Caller: {caller}\n")
    };
    let bye = |id: &str| format!("BYE sip:x@127.0.0.1 SIP/2.0\nCall-ID: {id}\n");
    let cancel = |id: &str| format!("CANCEL sip:ana@127.0.0.1 SIP/2.0\nCall-ID: {id}\n");
    let (i1, i2, i3) = (invite("c1", "+1"), invite("c2", "+2"), invite("c3", "+3"));
    let sequential = trace(&[
        (true, &i1),
        (true, &i1),
        (false, &bye("c1")),
        (true, &i2),
        (true, &cancel("c2")),
        (true, &i3),
        (true, &bye("c3")),
    ]);
    let events = dialog_events(&sequential);
    assert_eq!(events.len(), 6, "{events:?}");
    assert!(overlapping_offers(&events).is_empty(), "{events:?}");
    let overlapping = trace(&[(true, &i1), (true, &i2), (false, &bye("c1"))]);
    assert_eq!(
        overlapping_offers(&dialog_events(&overlapping)),
        [(vec!["c1".to_owned()], "+2".to_owned())]
    );
}

/// Test 4: a node killed (`kill -9`) during calls: once its lease (2 s) runs out, the
/// surviving node releases what it held, once: the agent busy on its call goes through
/// wrap-up back to available, the agent registered with it is logged out, its caller
/// still waiting leaves the one queue, and both its calls are recorded as lost with it.
/// The survivor's own caller is then offered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_calls_and_agents_are_released_by_the_survivor() {
    let pg = store_cluster();
    let (a, b) = two_nodes(&pg, same_states_options()).await;
    let nodes = [&a, &b];
    // ana registers with B (she survives), bob with A (he goes with it), not ready.
    let ana = agent::phone(
        &b,
        "ana",
        "agent_answer_wait_bye.xml",
        2,
        Duration::ZERO,
        &[],
    );
    let bob = agent::phone(
        &a,
        "bob",
        "agent_answer_wait_bye.xml",
        1,
        Duration::ZERO,
        &[],
    );
    agent::log_in(&b, "ana", &ana).await;
    agent::log_in(&a, "bob", &bob).await;
    a.must_set_state("bob", "not_ready").await;
    agreed_agents(&nodes, "ana available, bob not ready", |v| {
        state_of(v, "ana") == "available" && state_of(v, "bob") == "not_ready"
    })
    .await;
    // A caller on A talks to ana; a second caller on A waits.
    let _talking = caller_until_bye(&a, "talking", ROBERT_NORMAL);
    ana.wait_received("INVITE", 1, OFFER_WAIT).await;
    agreed_agents(&nodes, "ana busy", |v| state_of(v, "ana") == "busy").await;
    let _waiting = caller_until_bye(&a, "waiting", MARY_NORMAL);
    queued_everywhere(&nodes, 1).await;

    a.signal("KILL");
    // B releases A's calls and agents once A's lease has run out.
    let view = agreed_agents(&[&b], "ana released, bob logged out", |v| {
        state_of(v, "ana") != "busy" && state_of(v, "bob") == "logged_out"
    })
    .await;
    assert!(
        matches!(state_of(&view, "ana"), "wrap_up" | "available"),
        "{view:?}"
    );
    queued_everywhere(&[&b], 0).await;
    // B recorded the two calls lost with A (A never wrote their records): the one ana
    // was talking on, and the one waiting.
    let lost = records(&b, 2).await;
    assert_eq!(lost.len(), 2, "{lost:#?}");
    for r in &lost {
        assert_eq!(r["end_reason"], "error", "{r:#}");
        assert!(
            r["end_detail"]
                .as_str()
                .is_some_and(|d| d.contains("lost with its node node-a")),
            "{r:#}"
        );
        assert_eq!(r["queue"], "support", "{r:#}");
    }
    let agents: BTreeSet<Option<&str>> = lost.iter().map(|r| r["agent_id"].as_str()).collect();
    assert_eq!(agents, BTreeSet::from([Some("ana"), None]), "{lost:#?}");
    // B's own caller is offered to ana as soon as her wrap-up ends.
    let _on_b = caller_until_bye(&b, "on-b", BRUNO_URGENT);
    let invites = ana.wait_received("INVITE", 2, OFFER_WAIT).await;
    assert_eq!(header(&invites[1], "X-Ringdesk-Caller"), BRUNO_URGENT);
}

/// Test 5: nodes A and B behind Kamailio (the shipped config), each listing Kamailio in
/// `[sip] proxies`. Agent ana's softphone registers through Kamailio, which relays the
/// REGISTER to one node with a Path. A caller on A, then a caller on B: each node rings
/// ana's phone through Kamailio (the INVITE comes with Kamailio's Record-Route and two
/// Vias), the node's ACK and ana's BYE follow that route, and both calls are recorded
/// with ana on either node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_registered_through_kamailio_is_rung_through_it_by_every_node() {
    let pg = store_cluster();
    let (a, b) = two_nodes(&pg, one_agent().proxy("127.0.0.1")).await;
    let kamailio =
        kamailio::Kamailio::start(&[a.sip_addr(), b.sip_addr()], &kamailio::Timers::default());
    let phone = agent::phone(
        &a,
        "ana",
        "agent_behind_proxy_answer_hangup.xml",
        2,
        Duration::from_millis(300),
        &[],
    );
    agent::log_in_through(&a, kamailio.sip_addr(), "ana", &phone).await;
    agreed_agents(&[&a, &b], "ana available", |v| {
        state_of(v, "ana") == "available"
    })
    .await;

    let callers = [(&a, ROBERT_NORMAL), (&b, MARY_NORMAL)];
    for (i, (node, number)) in callers.iter().enumerate() {
        let caller = caller_until_bye(node, &format!("caller-{i}"), number);
        let invites = phone.wait_received("INVITE", i + 1, OFFER_WAIT).await;
        let invite = &invites[i];
        assert_eq!(header(invite, "X-Ringdesk-Caller"), *number);
        let kamailio_port = format!(":{}", kamailio.sip_addr().port());
        assert!(
            header(invite, "Record-Route").contains(&kamailio_port),
            "node {i}'s INVITE to ana came through Kamailio ({kamailio_port}):\n{}",
            invite.text
        );
        let vias = invite
            .text
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("via:"))
            .count();
        assert_eq!(vias, 2, "the node's Via and Kamailio's:\n{}", invite.text);
        caller
            .wait(END_WAIT)
            .await
            .assert_passed(&format!("caller {i} talks to ana, then gets the BYE"));
        agreed_agents(&[&a, &b], "ana available again", |v| {
            state_of(v, "ana") == "available"
        })
        .await;
    }
    phone.wait(END_WAIT).await.assert_passed(&format!(
        "ana's phone behind Kamailio\n---- kamailio events ----\n{}",
        kamailio.events().join("\n")
    ));
    assert_eq!(
        kamailio
            .events()
            .iter()
            .filter(|e| e.contains("rings agent"))
            .count(),
        2,
        "Kamailio relayed one INVITE to ana per call: {:#?}",
        kamailio.events()
    );
    for node in [&a, &b] {
        for (_, number) in callers {
            let rec = node.interaction_of(number, STATE_WAIT).await;
            assert_eq!(rec["agent_id"], "ana", "{rec:#}");
        }
    }
}
