//! The PostgreSQL store against a real server (a private cluster per test, `common/pg.rs`):
//! the same records and outbox as SQLite, and what several nodes sharing it need: every
//! item delivered once and in order per key by workers on two nodes, other nodes woken by
//! NOTIFY, a stopped node's in-flight items released once, writes retried through a
//! server restart, migrations run once by nodes starting together.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::pg::{PgCluster, PASSWORD};
use common::{call, fast_config, note, FakeServer, Step};
use jiff::Timestamp;
use ringdesk_store::{
    BridgeMedia, InteractionFilter, OutboxFilter, OutboxState, OutboxWorker, PacketCounts,
    PostgresOptions, RecordRetry, Store, StoreError, PG_SCHEMA_VERSION,
};
use tokio::sync::oneshot;

fn options(pg: &PgCluster, db: &str, node: &str) -> PostgresOptions {
    let mut o = PostgresOptions::new(pg.url(db), node);
    o.password = Some(PASSWORD.into());
    o.lease = Duration::from_millis(900);
    o
}

async fn connect(pg: &PgCluster, db: &str, node: &str) -> Store {
    Store::connect_postgres(options(pg, db, node))
        .await
        .unwrap_or_else(|e| panic!("connect {node}: {e}\n{}", pg.log()))
}

fn cluster(db: &str) -> PgCluster {
    let pg = PgCluster::start();
    pg.create_db(db);
    pg
}

/// A worker for `store` until the returned sender is used or dropped.
fn worker(
    store: &Store,
    fake: &Arc<FakeServer>,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let w = OutboxWorker::new(store.clone(), Arc::clone(fake)).with_config(fast_config());
    let task = tokio::spawn(async move {
        w.run(async {
            let _ = stopped.await;
        })
        .await
        .expect("worker runs");
    });
    (stop, task)
}

async fn wait_delivered(store: &Store, n: u64, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let counts = store.outbox_counts().await.unwrap();
        if counts.delivered >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} deliveries not done in {within:?}: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_outbox_read_back_as_with_sqlite() {
    let pg = cluster("r");
    let store = connect(&pg, "r", "a").await;
    let now = Timestamp::now();
    let mut c = call("call-1", "+15551230001", now);
    c.ticket_id = Some("7".into());
    c.priority = Some(3);
    c.answered_at = Some(now);
    c.agent_answered_at = Some(now);
    c.ended_at = Some(now + Duration::from_secs(30));
    c.media = Some(BridgeMedia {
        caller_to_agent: PacketCounts {
            received: 1_650,
            relayed: 1_500,
            unknown_source: 150,
            ..Default::default()
        },
        agent_to_caller: PacketCounts {
            received: 1_500,
            relayed: 1_499,
            send_failed: 1,
            ..Default::default()
        },
    });
    let rec = store
        .record_call(c.clone(), vec![note(7, "m1"), note(7, "m2")], now)
        .await
        .unwrap();
    assert_eq!(rec.outbox_ids.len(), 2);
    assert_eq!(rec.duplicates, 0);
    // Recording again replaces the call and adds no item twice.
    let again = store
        .record_call(c.clone(), vec![note(7, "m1")], now)
        .await
        .unwrap();
    assert_eq!(again.duplicates, 1);
    assert_eq!(again.outbox_ids[0], rec.outbox_ids[0]);

    let got = store.get_interaction("call-1").await.unwrap().unwrap();
    assert_eq!(got.ani, "+15551230001");
    assert_eq!(got.priority, Some(3));
    assert_eq!(got.talk_seconds, Some(30.0));
    assert_eq!(got.media, c.media, "the bridge's counters read back");
    let listed = store
        .list_interactions(InteractionFilter {
            ticket_id: Some("7".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(store
        .list_interactions(InteractionFilter {
            ani: Some("+1000".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty());

    let pending = store
        .outbox_list(OutboxFilter {
            states: vec![OutboxState::Pending],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].item.headers, note(7, "m1").headers);
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.backlog()), (2, 2));

    // Operator actions keep SQLite's rules.
    let dropped = store.outbox_drop(rec.outbox_ids[1], now).await.unwrap();
    assert_eq!(dropped.state, OutboxState::Dropped);
    let retried = store.outbox_retry(rec.outbox_ids[1], now).await.unwrap();
    assert_eq!(retried.state, OutboxState::Pending);
    assert!(matches!(
        store.outbox_retry(999_999, now).await,
        Err(StoreError::NotFound { .. })
    ));

    // Retention keeps a call whose note is not delivered.
    let later = now + Duration::from_secs(3600);
    let preview = store.purge_preview(later).await.unwrap();
    assert_eq!((preview.interactions, preview.kept_undelivered), (0, 1));
    assert_eq!(store.purge_older_than(later).await.unwrap(), preview);
    assert!(store.get_interaction("call-1").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_deliver_every_item_once_in_order_per_ticket() {
    let pg = cluster("r");
    let a = connect(&pg, "r", "node-a").await;
    let b = connect(&pg, "r", "node-b").await;
    let fake = FakeServer::new(|_, _| Step::Apply(201));
    let (stop_a, task_a) = worker(&a, &fake);
    let (stop_b, task_b) = worker(&b, &fake);
    // 8 tickets, 6 notes each, recorded alternately through both nodes.
    let now = Timestamp::now();
    for n in 0..48u32 {
        let ticket = n % 8;
        let store = if n % 2 == 0 { &a } else { &b };
        store
            .record_call(
                call(&format!("c{n}"), "+15550001111", now),
                vec![note(ticket, &format!("t{ticket}-{n:02}"))],
                now,
            )
            .await
            .unwrap();
    }
    wait_delivered(&a, 48, Duration::from_secs(60)).await;
    let _ = (stop_a.send(()), stop_b.send(()));
    let _ = (task_a.await, task_b.await);

    let st = fake.state();
    assert_eq!(st.applied.len(), 48, "every note applied once");
    assert!(st.applied_count.values().all(|&n| n == 1), "no note twice");
    let mut per_ticket: HashMap<String, Vec<String>> = HashMap::new();
    for (key, marker) in &st.applied {
        per_ticket
            .entry(key.clone())
            .or_default()
            .push(marker.clone());
    }
    for (key, markers) in per_ticket {
        let mut sorted = markers.clone();
        sorted.sort();
        assert_eq!(markers, sorted, "{key}: delivered out of order");
    }
    let leases = pg.psql("r", "SELECT count(*) FROM nodes");
    assert_eq!(leases, "0", "clean stops give their leases up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_recorded_on_one_node_wakes_the_other_nodes_worker() {
    let pg = cluster("r");
    let a = connect(&pg, "r", "node-a").await;
    let b = connect(&pg, "r", "node-b").await;
    let fake = FakeServer::ok();
    // Only node b delivers, and it would look on its own only once a minute.
    let (stop, stopped) = oneshot::channel::<()>();
    let mut config = fast_config();
    config.idle_poll = Duration::from_secs(60);
    let w = OutboxWorker::new(b.clone(), Arc::clone(&fake)).with_config(config);
    let task = tokio::spawn(async move {
        w.run(async {
            let _ = stopped.await;
        })
        .await
        .unwrap()
    });
    // Let b's worker start listening and go idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let now = Timestamp::now();
    a.record_call(call("c1", "+15550002222", now), vec![note(1, "wake")], now)
        .await
        .unwrap();
    wait_delivered(&a, 1, Duration::from_secs(10)).await;
    let _ = stop.send(());
    let _ = task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_nodes_in_flight_note_is_released_once_and_checked_before_resending() {
    let pg = cluster("r");
    let a = connect(&pg, "r", "node-a").await;
    // Node a applies the note, then never answers: it is killed mid-request.
    let fake_a = FakeServer::new(|_, _| Step::ApplyThenHang);
    let (_stop_a, task_a) = worker(&a, &fake_a);
    let now = Timestamp::now();
    a.record_call(call("c1", "+15550003333", now), vec![note(4, "once")], now)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fake_a.state().applied.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "node a never sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // kill -9: the task goes, the lease is not given up.
    task_a.abort();
    let _ = task_a.await;
    assert_eq!(a.outbox_counts().await.unwrap().in_flight, 1);

    // Node b's helpdesk already has what node a sent.
    let b = connect(&pg, "r", "node-b").await;
    let fake_b = FakeServer::ok();
    fake_b.state().applied_count.insert("once".into(), 1);
    let (stop_b, task_b) = worker(&b, &fake_b);
    wait_delivered(&b, 1, Duration::from_secs(15)).await;
    let _ = stop_b.send(());
    let _ = task_b.await;
    let (checks, sent_again) = {
        let st = fake_b.state();
        (st.checks, st.attempts.len())
    };
    assert_eq!(checks, 1, "the uncertain note was checked");
    assert_eq!(sent_again, 0, "and not sent again");
    let entry = &b.outbox_list(OutboxFilter::default()).await.unwrap()[0];
    assert_eq!(entry.state, OutboxState::Delivered);
    assert_eq!(pg.psql("r", "SELECT count(*) FROM nodes"), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_while_the_server_restarts_is_kept() {
    let mut pg = cluster("r");
    let store = connect(&pg, "r", "a").await;
    let now = Timestamp::now();
    store
        .record_call(call("before", "+15550004444", now), vec![], now)
        .await
        .unwrap();
    pg.stop();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_call_retrying(
                    call("during", "+15550004444", now),
                    vec![note(9, "during")],
                    now,
                    RecordRetry {
                        attempts: 60,
                        first_backoff: Duration::from_millis(100),
                        max_backoff: Duration::from_millis(500),
                    },
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!writer.is_finished(), "the write waits for the server");
    assert!(store.write_stats().failures >= 1);
    pg.run();
    writer
        .await
        .unwrap()
        .expect("written once the server is back");
    for id in ["before", "during"] {
        assert!(store.get_interaction(id).await.unwrap().is_some(), "{id}");
    }
    assert_eq!(store.outbox_counts().await.unwrap().pending, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    let pg = cluster("r");
    let nodes = futures_util::future::join_all(
        (0..4).map(|n| Store::connect_postgres(options(&pg, "r", &format!("n{n}")))),
    )
    .await;
    for node in nodes {
        node.expect("every node connects");
    }
    assert_eq!(
        pg.psql("r", "SELECT count(*) FROM ringdesk_schema"),
        PG_SCHEMA_VERSION.to_string(),
        "one row per migration: each ran once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_error_that_does_not_show_it() {
    let pg = cluster("r");
    let mut o = options(&pg, "r", "a");
    o.password = Some("not-the-password-xyzzy".into());
    let err = Store::connect_postgres(o).await.unwrap_err().to_string();
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{}/r", pg.port())), "{err}");
    assert!(!err.contains("xyzzy"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_with_a_live_nodes_name_waits_for_its_lease() {
    let pg = cluster("r");
    let first = connect(&pg, "r", "same").await;
    let twin = connect(&pg, "r", "same").await;
    let now = Timestamp::now();
    assert!(!first.node_holds_lease().await.unwrap(), "not joined yet");
    assert_eq!(first.node_join(now).await.unwrap(), Some(0));
    assert_eq!(
        twin.node_join(now).await.unwrap(),
        None,
        "the name is in use"
    );
    // The shared queue's check: the first holds the lease, the twin does not.
    assert!(first.node_holds_lease().await.unwrap());
    assert!(!twin.node_holds_lease().await.unwrap());
    // The first stops renewing (killed): once its lease ran out the name is free again.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !first.node_holds_lease().await.unwrap(),
        "its lease ran out"
    );
    assert_eq!(twin.node_join(now).await.unwrap(), Some(0));
    assert!(twin.node_holds_lease().await.unwrap());
    // The first process, back, cannot renew the twin's lease.
    assert!(!first.node_renew(now).await.unwrap().was_alive);
    assert!(twin.node_renew(now).await.unwrap().was_alive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_verified_against_the_configured_certificate() {
    let pg = PgCluster::start_with_tls();
    pg.create_db("r");
    let url = format!(
        "postgres://ringdesk@localhost:{}/r?sslmode=require",
        pg.port()
    );
    let with = |ca: Option<std::path::PathBuf>| {
        let mut o = PostgresOptions::new(url.clone(), "a");
        o.password = Some(PASSWORD.into());
        o.ca_file = ca;
        o
    };
    // The server's self-signed certificate is no Mozilla root: refused.
    let err = Store::connect_postgres(with(None))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("certificate"), "{err}");
    // Trusted through ca_file: connected, and the session is encrypted.
    let store = Store::connect_postgres(with(Some(pg.certificate())))
        .await
        .expect("TLS with the server's certificate trusted");
    let now = Timestamp::now();
    store
        .record_call(call("tls", "+15550005555", now), vec![], now)
        .await
        .unwrap();
    let encrypted = pg.psql(
        "r",
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE ssl AND application_name = 'ringdesk a'",
    );
    assert_ne!(encrypted, "0", "the store's connections use TLS");
    // A server on this machine without sslmode: plaintext, even though it offers TLS
    // (with Debian's snakeoil certificate no client could verify it).
    let plain = Store::connect_postgres(options(&pg, "r", "b")).await;
    assert!(plain.is_ok(), "{:?}", plain.err());
    let plain_sessions = pg.psql(
        "r",
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE NOT ssl AND application_name = 'ringdesk b'",
    );
    assert_ne!(plain_sessions, "0");
}

/// The shared queue's log: appends from two nodes at once get one order with no gaps,
/// times that never go back, and a reader sees every row before the last it saw; a node
/// whose lease runs out is said gone once, by the renewal that reaps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_log_has_one_order_and_says_a_stopped_node_is_gone_once_and_pops_are_shared() {
    let pg = cluster("q");
    let a = connect(&pg, "q", "node-a").await;
    let b = connect(&pg, "q", "node-b").await;
    let write = |store: Store, who: &'static str| {
        tokio::spawn(async move {
            for i in 0..40 {
                let bodies = vec![format!("{who}-{i}"), format!("{who}-{i}-second")];
                store.acd_append(&bodies).await.unwrap();
            }
        })
    };
    let (ta, tb) = (write(a.clone(), "a"), write(b.clone(), "b"));
    ta.await.unwrap();
    tb.await.unwrap();
    let mut rows = Vec::new();
    loop {
        let after = rows.last().map_or(0, |r: &ringdesk_store::AcdLogRow| r.seq);
        let more = a.acd_read(after).await.unwrap();
        if more.is_empty() {
            break;
        }
        rows.extend(more);
    }
    assert_eq!(rows.len(), 160);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.seq, i as i64 + 1, "no gaps");
    }
    assert!(
        rows.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "time never goes back"
    );
    // Each append's two inputs are adjacent, each node's in its own order.
    for who in ["a", "b"] {
        let mine: Vec<&str> = rows
            .iter()
            .filter(|r| r.node == format!("node-{who}"))
            .map(|r| r.body.as_str())
            .collect();
        let expected: Vec<String> = (0..40)
            .flat_map(|i| [format!("{who}-{i}"), format!("{who}-{i}-second")])
            .collect();
        assert_eq!(mine, expected);
    }
    for pair in rows.chunks(2) {
        assert_eq!(format!("{}-second", pair[0].body), pair[1].body);
    }
    // A large input is refused, not written.
    assert!(a.acd_append(&["x".repeat(20_000)]).await.is_err());

    // A screen pop one node shares is read by the other, replaced by a later write;
    // an unknown call has none and an oversized pop is refused.
    a.desk_call_put("c1", r#"{"ani":"+1"}"#).await.unwrap();
    assert_eq!(
        b.desk_call_get("c1").await.unwrap().as_deref(),
        Some(r#"{"ani":"+1"}"#)
    );
    a.desk_call_put("c1", r#"{"ani":"+2"}"#).await.unwrap();
    assert_eq!(
        b.desk_call_get("c1").await.unwrap().as_deref(),
        Some(r#"{"ani":"+2"}"#)
    );
    assert_eq!(b.desk_call_get("c2").await.unwrap(), None);
    assert!(a
        .desk_call_put("c3", &"x".repeat(ringdesk_store::DESK_CALL_MAX_BODY + 1))
        .await
        .is_err());
    assert_eq!(b.desk_call_get("c3").await.unwrap(), None);

    // Node a joins and stops renewing; node b's renewals after its lease say it is gone, once.
    let now = Timestamp::now();
    assert_eq!(a.node_join(now).await.unwrap(), Some(0));
    assert_eq!(b.node_join(now).await.unwrap(), Some(0));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let renewal = b.node_renew(Timestamp::now()).await.unwrap();
    assert_eq!(renewal.released, [("node-a".to_string(), 0)]);
    assert!(b
        .node_renew(Timestamp::now())
        .await
        .unwrap()
        .released
        .is_empty());
    let gone: Vec<_> = b
        .acd_read(160)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.node, r.body))
        .collect();
    assert_eq!(
        gone,
        [(
            "node-b".to_string(),
            ringdesk_store::node_gone_body("node-a")
        )]
    );
}
