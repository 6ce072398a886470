//! Cluster end-to-end tests: two `ringdesk serve` nodes behind Kamailio running the shipped `deploy/kamailio/kamailio.cfg`
//! (`cluster/kamailio.rs`), with SIPp callers sent to Kamailio. Covers the spread of
//! calls over the nodes with every in-dialog request through Kamailio (Record-Route),
//! a node killed with `kill -9` seen dead by the OPTIONS probes and given no new calls,
//! a call sent to a dead node before any probe noticed it failed over to the other, a
//! node that stopped answering taken back once it answers again, and CANCEL, OPTIONS
//! and REGISTER relayed by Kamailio. With one PostgreSQL store (a private cluster per test,
//! `store/tests/common/pg.rs`): every call's record read from either node and from the
//! CLI, one note per call, and the notes a killed node held in flight sent once by the
//! other node after its lease ran out; PostgreSQL stopped during a call on hold: the
//! music goes on, and the record and note are written once it is back.

mod voice;
use voice::ports;

#[path = "cluster/kamailio.rs"]
mod kamailio;

/// A private PostgreSQL cluster (the store crate's test harness).
#[path = "../../store/tests/common/pg.rs"]
mod pg;

/// The `[store]` of a node on the test cluster's database.
#[path = "cluster/store.rs"]
mod store;

use kamailio::{Kamailio, Timers};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use store::shared_store;
use voice::listening::Listening;
use voice::server::{Options, Server};
use voice::sipp::Sipp;

/// The called number of the flow that says hello and hangs up (`cluster/hello_then_bye.yaml`).
const HELLO: &str = "hello";
/// How long the records of finished calls may take to show in `GET /interactions`.
const RECORD_WAIT: Duration = Duration::from_secs(15);

fn hello_flow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/hello_then_bye.yaml")
}

/// A ringdesk node: the default flow for any number, the hello flow for [`HELLO`].
async fn start_node() -> Server {
    Server::start(Options {
        routes: vec![(HELLO.into(), hello_flow())],
        ..Options::default()
    })
    .await
}

/// Two nodes, started together.
async fn start_nodes() -> (Server, Server) {
    tokio::join!(start_node(), start_node())
}

/// Timers for a test: probes every second, one failed probe marks a node dead, one
/// answered probe brings it back; the shipped 2 s for a silent node.
fn fast_probes() -> Timers {
    Timers {
        ping_interval_s: 1,
        probing_threshold: 1,
        inactive_threshold: 1,
        ..Timers::default()
    }
}

/// How one test call ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hangup {
    /// The caller hangs up after a second (the default flow is still greeting).
    Caller,
    /// The node hangs up (the hello flow).
    Node,
}

/// One SIPp call to Kamailio; panics with SIPp's report unless it passed. Returns how
/// long the call took.
async fn call(kamailio: &Kamailio, caller: &str, hangup: Hangup) -> Duration {
    let sipp = match hangup {
        Hangup::Caller => Sipp::new("routed_media_then_bye.xml", "support")
            .caller(caller)
            .pause(Duration::from_secs(1)),
        Hangup::Node => Sipp::new("routed_expect_bye.xml", HELLO).caller(caller),
    };
    let start = Instant::now();
    let run = sipp.run(kamailio.sip_addr(), kamailio.dir()).await;
    let took = start.elapsed();
    assert!(
        run.success,
        "SIPp call ({hangup:?} hangs up) through Kamailio failed:\n{}\n---- kamailio events ----\n{}",
        run.report(),
        kamailio.events().join("\n")
    );
    took
}

/// A node's call records (`GET /interactions`).
async fn records(node: &Server) -> Vec<serde_json::Value> {
    let resp = node
        .http()
        .get(node.admin_url("/interactions"))
        .send()
        .await
        .expect("GET /interactions");
    assert!(
        resp.status().is_success(),
        "GET /interactions: {}",
        resp.status()
    );
    resp.json().await.expect("records as JSON")
}

/// Waits until the nodes' record counts add up to `total`; returns the counts.
async fn records_adding_up(nodes: &[&Server], total: usize) -> Vec<usize> {
    let deadline = Instant::now() + RECORD_WAIT;
    loop {
        let mut counts = Vec::new();
        for node in nodes {
            counts.push(records(node).await.len());
        }
        if counts.iter().sum::<usize>() >= total || Instant::now() >= deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Kamailio's event lines that say `what` about the node at `node`.
fn events_about(kamailio: &Kamailio, what: &str, node: SocketAddr) -> Vec<String> {
    kamailio
        .events()
        .into_iter()
        .filter(|e| e.contains(what) && e.contains(&node.to_string()))
        .collect()
}

/// Six calls through Kamailio land on both nodes, round-robin, and all pass: half hung
/// up by the caller (ACK and BYE follow the recorded route through Kamailio), half by
/// the node (its BYE goes back through Kamailio too, not straight to the caller).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_through_kamailio_are_spread_over_two_nodes() {
    let (a, b) = start_nodes().await;
    let kamailio = Kamailio::start(&[a.sip_addr(), b.sip_addr()], &Timers::default());
    const CALLS: usize = 6;
    let kinds: Vec<Hangup> = (0..CALLS)
        .map(|i| {
            if (i / 2) % 2 == 0 {
                Hangup::Caller
            } else {
                Hangup::Node
            }
        })
        .collect();
    for (i, kind) in kinds.iter().enumerate() {
        call(&kamailio, &format!("+1555000{i:04}"), *kind).await;
    }
    let counts = records_adding_up(&[&a, &b], CALLS).await;
    assert_eq!(
        counts.iter().sum::<usize>(),
        CALLS,
        "every call has one record on one node: {counts:?}"
    );
    assert!(
        counts.iter().all(|&n| n >= 1),
        "each node answered at least one call: {counts:?}"
    );
    assert!(
        counts[0].abs_diff(counts[1]) <= 1,
        "round-robin spreads calls evenly: {counts:?}"
    );

    // Every dialog's later requests passed through Kamailio (Record-Route honoured by
    // SIPp and by ringdesk): the callers' ACKs and BYEs, and the nodes' own BYEs.
    let events = kamailio.events();
    let in_dialog = |method: &str, from_node: bool| {
        events
            .iter()
            .filter(|e| e.starts_with(&format!("in-dialog {method} from ")))
            .filter(|e| {
                let from = e.split(' ').nth(3).unwrap_or_default();
                let is_node = from == a.sip_addr().to_string() || from == b.sip_addr().to_string();
                is_node == from_node
            })
            .count()
    };
    let by_node = kinds.iter().filter(|k| **k == Hangup::Node).count();
    assert_eq!(
        in_dialog("ACK", false),
        CALLS,
        "one ACK per call through Kamailio:\n{}",
        events.join("\n")
    );
    assert_eq!(
        in_dialog("BYE", false),
        CALLS - by_node,
        "the callers' BYEs through Kamailio:\n{}",
        events.join("\n")
    );
    assert_eq!(
        in_dialog("BYE", true),
        by_node,
        "the nodes' BYEs through Kamailio:\n{}",
        events.join("\n")
    );
    for node in [&a, &b] {
        assert!(
            events_about(&kamailio, "node down", node.sip_addr()).is_empty(),
            "no node was seen down:\n{}",
            events.join("\n")
        );
    }
}

/// `kill -9` of one node: Kamailio's OPTIONS probes see it dead within the probe
/// interval plus one silent-node timeout, and from then on every call goes to the
/// survivor at once (no call waits for the dead node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_gets_no_new_calls_after_the_probe_interval() {
    let (mut a, b) = start_nodes().await;
    let timers = fast_probes();
    let kamailio = Kamailio::start(&[a.sip_addr(), b.sip_addr()], &timers);
    // Both nodes take calls first.
    call(&kamailio, "+15550001001", Hangup::Node).await;
    call(&kamailio, "+15550001002", Hangup::Node).await;
    assert_eq!(records_adding_up(&[&a, &b], 2).await, vec![1, 1]);

    a.kill_9().await;
    let down = format!("node down: sip:{}", a.sip_addr());
    let bound = Duration::from_secs(u64::from(timers.ping_interval_s * timers.probing_threshold))
        + timers.fr_timer
        + Duration::from_secs(1);
    let seen = kamailio.wait_event(&down, bound).await;
    let seen = seen.unwrap_or_else(|| {
        panic!(
            "Kamailio did not see the killed node down within {bound:?}:\n{}",
            kamailio.events().join("\n")
        )
    });
    eprintln!("killed node seen down by the probes after {seen:?}");
    let events_at_down = kamailio.events().len();

    // No call waits for the dead node: the events below show none was sent to it (the
    // durations are printed for comparison with the failover test; not asserted, as a
    // loaded machine may slow any call).
    const CALLS: usize = 4;
    let mut took = Vec::new();
    for i in 0..CALLS {
        took.push(call(&kamailio, &format!("+1555000200{i}"), Hangup::Node).await);
    }
    eprintln!("call durations once the dead node was seen down: {took:?}");
    let survivor = records_adding_up(&[&b], 1 + CALLS).await;
    assert_eq!(
        survivor,
        vec![1 + CALLS],
        "the survivor took every new call"
    );
    let later = &kamailio.events()[events_at_down..];
    let dead = a.sip_addr().to_string();
    assert!(
        later.iter().all(|e| !e.contains(&dead)),
        "no call was sent to the dead node once it was seen down:\n{}",
        later.join("\n")
    );
}

/// With no probes at all, a call sent to a node killed with `kill -9` fails over to the
/// other node after the silent-node timeout (failure_route), the dead node is marked
/// inactive, and the calls after it go to the survivor at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_sent_to_a_dead_node_fails_over_to_the_survivor() {
    let (mut a, b) = start_nodes().await;
    let timers = Timers {
        ping_interval_s: 0,
        ..Timers::default()
    };
    let kamailio = Kamailio::start(&[a.sip_addr(), b.sip_addr()], &timers);
    a.kill_9().await;

    // Round-robin: one of the first two calls is sent to the dead node.
    const CALLS: usize = 4;
    let mut took = Vec::new();
    for i in 0..CALLS {
        took.push(call(&kamailio, &format!("+1555000300{i}"), Hangup::Node).await);
    }
    eprintln!("call durations after the kill: {took:?}");
    let failed_over = events_about(&kamailio, "failed", a.sip_addr());
    assert_eq!(
        failed_over.len(),
        1,
        "exactly one call met the dead node (then it was skipped):\n{}",
        kamailio.events().join("\n")
    );
    // The call that met the dead node was one of the first two (round-robin), and it
    // waited the silent-node timeout before failing over.
    let calls: Vec<String> = kamailio
        .events()
        .iter()
        .filter(|e| e.contains(" from "))
        .filter_map(|e| {
            e.strip_prefix("call ")?
                .split(' ')
                .next()
                .map(str::to_owned)
        })
        .collect();
    let failed_call = failed_over[0]
        .split_once(" failed ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .unwrap_or_default();
    let index = calls.iter().position(|c| c == failed_call);
    assert!(
        index.is_some_and(|i| i < 2),
        "the failed-over call {failed_call:?} was one of the first two: {calls:?}"
    );
    let index = index.unwrap_or_default();
    assert!(
        took[index] >= timers.fr_timer,
        "the failed-over call waited FR_TIMER first: {took:?}"
    );
    assert!(
        kamailio
            .events()
            .iter()
            .any(|e| e.contains("failed over to node") && e.contains(&b.sip_addr().to_string())),
        "Kamailio logged the failover to the survivor:\n{}",
        kamailio.events().join("\n")
    );
    assert_eq!(
        records_adding_up(&[&b], CALLS).await,
        vec![CALLS],
        "the survivor answered every call"
    );
}

/// The rest of the proxy's duties: a caller's CANCEL reaches the node that rings (200
/// for the CANCEL, 487 for the INVITE), OPTIONS to Kamailio itself are answered, and a
/// REGISTER reaches a node's registrar (its digest challenge, 401, comes back through Kamailio).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_the_node_and_register_reaches_its_registrar() {
    let node = Server::start(Options {
        answer_delay: Some("2s".into()),
        ..Options::default()
    })
    .await;
    let kamailio = Kamailio::start(&[node.sip_addr()], &Timers::default());
    let run = Sipp::new("proxied_cancel.xml", "support")
        .caller("+15550004001")
        .run(kamailio.sip_addr(), kamailio.dir())
        .await;
    assert!(
        run.success,
        "CANCEL through Kamailio:\n{}\n---- kamailio events ----\n{}",
        run.report(),
        kamailio.events().join("\n")
    );
    let wait = Duration::from_secs(3);
    let own = format!("sip:{}", kamailio.sip_addr());
    let options = kamailio.request("OPTIONS", &own, wait);
    assert!(
        options
            .as_deref()
            .is_some_and(|s| s.starts_with("SIP/2.0 200")),
        "OPTIONS to Kamailio: {options:?}"
    );
    let aor = format!("sip:ana@{}", kamailio.sip_addr());
    let register = kamailio.request("REGISTER", &aor, wait);
    assert!(
        register
            .as_deref()
            .is_some_and(|s| s.starts_with("SIP/2.0 401")),
        "REGISTER through Kamailio: {register:?}"
    );
    // The node saw the cancelled call end before its answer: a record, never answered.
    records_adding_up(&[&node], 1).await;
    let list = records(&node).await;
    assert_eq!(list.len(), 1, "one record of the cancelled call: {list:#?}");
    assert!(
        list[0]["answered_at"].is_null(),
        "the cancelled call was never answered: {:#?}",
        list[0]
    );
}

/// A node that stops answering (SIGSTOP: its sockets stay open, nothing answers) is
/// seen down by the probes and skipped; once it answers again (SIGCONT) one answered
/// probe brings it back and it takes calls again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_answers_again_gets_calls_again() {
    let (a, b) = start_nodes().await;
    let timers = fast_probes();
    let kamailio = Kamailio::start(&[a.sip_addr(), b.sip_addr()], &timers);
    let bound = Duration::from_secs(u64::from(timers.ping_interval_s * timers.probing_threshold))
        + timers.fr_timer
        + Duration::from_secs(1);

    a.signal("STOP");
    let down = format!("node down: sip:{}", a.sip_addr());
    let seen = kamailio.wait_event(&down, bound).await;
    assert!(
        seen.is_some(),
        "the silent node was not seen down within {bound:?}:\n{}",
        kamailio.events().join("\n")
    );
    for i in 0..2 {
        call(&kamailio, &format!("+1555000500{i}"), Hangup::Node).await;
    }
    // (The stopped node's admin API would not answer either: count on the survivor.)
    assert_eq!(records_adding_up(&[&b], 2).await, vec![2]);

    a.signal("CONT");
    let up = format!("node up: sip:{}", a.sip_addr());
    let back = Duration::from_secs(u64::from(
        timers.ping_interval_s * timers.inactive_threshold,
    )) + Duration::from_secs(1);
    let seen = kamailio.wait_event(&up, back + bound).await;
    let seen = seen.unwrap_or_else(|| {
        panic!(
            "the node answering again was not seen up:\n{}",
            kamailio.events().join("\n")
        )
    });
    eprintln!("node seen up {seen:?} after SIGCONT");
    for i in 0..4 {
        call(&kamailio, &format!("+1555000600{i}"), Hangup::Node).await;
    }
    let counts = records_adding_up(&[&a, &b], 6).await;
    assert!(
        counts[0] >= 1,
        "the node back in service took calls again: {counts:?}"
    );
    assert_eq!(
        counts.iter().sum::<usize>(),
        6,
        "one record per call: {counts:?}"
    );
}

/// A node on the shared store, using `zendesk` (another node's sandbox) when given.
async fn pg_node(pg: &pg::PgCluster, node: &str, zendesk: Option<String>) -> Server {
    Server::start(Options {
        store: Some(shared_store(pg, node)),
        zendesk_url: zendesk,
        ..Options::default()
    })
    .await
}

/// Demo customers with an unsolved ticket (crates/zendesk/data/README.md): caller, ticket.
const CUSTOMERS: [(&str, u64); 4] = [
    ("+12125550107", 10),
    ("+13125550109", 13),
    ("+16175550110", 14),
    ("+15125550112", 17),
];

/// The call records `ringdesk interactions list --json` prints for `config`.
fn cli_records(config: &Path) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ringdesk"))
        .args(["interactions", "list", "--json", "--config"])
        .arg(config)
        .output()
        .expect("run ringdesk interactions list");
    assert!(
        out.status.success(),
        "ringdesk interactions list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON list of records")
}

/// Waits until `node` reads `n` records; returns what it read.
async fn wait_records(node: &Server, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + RECORD_WAIT;
    loop {
        let got = records(node).await;
        if got.len() >= n || Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two nodes on one PostgreSQL store behind Kamailio: calls spread over both are all
/// read from either node's API and from the CLI, and each known caller's ticket gets
/// exactly one note, whichever node's worker sent it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_both_nodes_are_recorded_once_in_the_shared_store() {
    let pg = pg::PgCluster::start();
    pg.create_db("r");
    let a = pg_node(&pg, "node-a", None).await;
    let b = pg_node(&pg, "node-b", Some(a.sandbox().base_url())).await;
    let kamailio = Kamailio::start(&[a.sip_addr(), b.sip_addr()], &Timers::default());
    for (caller, _) in CUSTOMERS {
        call(&kamailio, caller, Hangup::Caller).await;
    }
    for node in [&a, &b] {
        let seen = wait_records(node, CUSTOMERS.len()).await;
        assert_eq!(
            seen.len(),
            CUSTOMERS.len(),
            "every call read from each node"
        );
    }
    let answered_by: Vec<String> = pg
        .psql("r", "SELECT DISTINCT node FROM nodes ORDER BY node")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(answered_by, ["node-a", "node-b"], "both nodes hold a lease");
    let cli = cli_records(&a.dir().join("ringdesk.toml"));
    assert_eq!(cli.len(), CUSTOMERS.len(), "the CLI reads the shared store");
    for (caller, ticket) in CUSTOMERS {
        assert!(
            cli.iter().any(|r| r["ani"] == caller),
            "{caller} recorded: {cli:?}"
        );
        let notes = a.new_comments(ticket, 1, RECORD_WAIT).await;
        assert_eq!(notes.len(), 1, "one note on ticket {ticket}: {notes:?}");
    }
    // Spread: Kamailio sent calls to each node.
    let spread = kamailio
        .events()
        .iter()
        .filter(|e| e.starts_with("call ") && e.contains(&a.sip_addr().to_string()))
        .count();
    assert!(
        (1..CUSTOMERS.len()).contains(&spread),
        "Kamailio sent some calls to each node:\n{}",
        kamailio.events().join("\n")
    );
}

/// A node is killed while the helpdesk hangs on its notes (they are in flight, claimed
/// by it). Once its lease runs out the other node takes them for uncertain, asks the
/// helpdesk whether they arrived, and sends each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_a_killed_node_held_are_sent_once_by_the_other() {
    let pg = pg::PgCluster::start();
    pg.create_db("r");
    let mut a = pg_node(&pg, "node-a", None).await;
    let hang = ringdesk_zendesk::sandbox::Faults {
        hang: Some(ringdesk_zendesk::sandbox::HangFault { count: None }),
        method: Some("PUT".into()),
        ..Default::default()
    };
    a.sandbox().state().set_faults(hang).expect("a valid fault");
    for (caller, _) in CUSTOMERS {
        let run = Sipp::new("sipp_media_then_bye.xml", "support")
            .caller(caller)
            .pause(Duration::from_secs(1))
            .run(a.sip_addr(), a.dir())
            .await;
        run.assert_passed("a call to node a");
    }
    let held = "SELECT count(*) FROM outbox WHERE state = 'in_flight' AND claimed_by = 'node-a'";
    let deadline = Instant::now() + RECORD_WAIT;
    while pg.psql("r", held) != CUSTOMERS.len().to_string() {
        assert!(
            Instant::now() < deadline,
            "node a never held every note: {}",
            pg.psql("r", "SELECT state, claimed_by FROM outbox")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.kill_9().await;
    a.sandbox().state().clear_faults();
    let b = pg_node(&pg, "node-b", Some(a.sandbox().base_url())).await;
    for (_, ticket) in CUSTOMERS {
        let notes = a.new_comments(ticket, 1, Duration::from_secs(30)).await;
        assert_eq!(notes.len(), 1, "one note on ticket {ticket}: {notes:?}");
    }
    let states = pg.psql("r", "SELECT state, count(*) FROM outbox GROUP BY state");
    assert_eq!(states, format!("delivered|{}", CUSTOMERS.len()));
    // Nothing more arrives later (no second copy from a late retry).
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (_, ticket) in CUSTOMERS {
        assert_eq!(a.new_comments(ticket, 2, Duration::ZERO).await.len(), 1);
    }
    assert!(
        b.log().contains("released what it held"),
        "node b says it released node a's work"
    );
}

/// PostgreSQL stops while a caller waits on hold, and comes back: the caller hears the
/// music without a gap throughout (media never waits for the store), and once the
/// server is back the call's record and its note are written (the record write retried,
/// the outbox worker resumed); nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_during_a_call_is_not_heard_and_loses_nothing() {
    let mut pg = pg::PgCluster::start();
    pg.create_db("r");
    let node = pg_node(&pg, "node-a", None).await;
    let (caller, ticket) = voice::demo::MICHAEL;
    let mut call = Listening::call(
        &node,
        "own_media_then_bye.xml",
        caller,
        Duration::from_secs(30),
    )
    .await;
    let short = Duration::from_millis(120);
    call.press_at(Duration::from_millis(12_500), '1', short)
        .await;
    let second = call
        .press_at(Duration::from_millis(19_500), '1', short)
        .await;
    // Waiting in the queue with music: the store goes away until 3 s after the hang-up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::block_in_place(|| pg.stop());
    let outage = Instant::now();
    let heard = call.hang_up().await;
    let frames = voice::audio::frame_rms(&heard.pcm(ringdesk_media::Codec::Pcmu));
    let (from, to) = (heard.frame_at(second) + 75, frames.len().saturating_sub(25));
    assert!(
        to > from + 8 * voice::FRAMES_PER_SECOND,
        "at least 8 s of queue time heard"
    );
    let gap = voice::audio::longest_gap(&frames, from..to);
    assert!(
        gap < 15,
        "no pause longer than 300 ms in the music while the store was down: {} ms",
        gap * 20
    );
    let down = node
        .http()
        .get(node.admin_url("/interactions"))
        .send()
        .await
        .expect("GET /interactions while the store is down");
    assert!(
        down.status().is_server_error(),
        "the API says the store is unavailable: {}",
        down.status()
    );
    // The call ended (its record is being retried); the store comes back a little later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    tokio::task::block_in_place(|| pg.run());
    eprintln!("the store was down for {:?}", outage.elapsed());
    let seen = wait_records(&node, 1).await;
    assert_eq!(
        seen.len(),
        1,
        "the call's record, written once the store is back"
    );
    assert_eq!(seen[0]["ani"], caller);
    let notes = node.new_comments(ticket, 1, Duration::from_secs(30)).await;
    assert_eq!(notes.len(), 1, "one note on ticket {ticket}: {notes:?}");
    let metrics = node.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ringdesk_records_write_failures_total") && !l.ends_with(" 0")),
        "the failed record writes are counted:\n{metrics}"
    );
}
