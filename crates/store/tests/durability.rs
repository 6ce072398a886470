//! Durability and concurrency on real time: a crash while items are in flight (the store is
//! dropped mid-send, then reopened), and many writers recording calls while the worker drains.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ringdesk_store::{
    InteractionFilter, OutboxItem, OutboxState, OutboxWorker, Store, WorkerConfig,
};
use tokio::sync::oneshot;

fn real_config() -> WorkerConfig {
    WorkerConfig {
        idle_poll: Duration::from_millis(200),
        ..fast_config()
    }
}

fn spawn_worker(
    store: &Store,
    fake: &Arc<FakeServer>,
    config: WorkerConfig,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = oneshot::channel::<()>();
    let worker = OutboxWorker::new(store.clone(), Arc::clone(fake)).with_config(config);
    let handle = tokio::spawn(async move {
        worker
            .run(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (tx, handle)
}

#[tokio::test]
async fn crash_while_in_flight_then_reopen_does_not_write_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ringdesk.db");
    let store = Store::open(&path).unwrap();
    let mut unmarked: OutboxItem = note(4, "x");
    unmarked.marker = None;
    store
        .record_call(
            call("c1", "+1", t0()),
            vec![note(1, "a"), note(2, "b"), note(3, "c"), unmarked],
            t0(),
        )
        .await
        .unwrap();
    // The server applies each request and then never answers.
    let fake = FakeServer::new(|_, _| Step::ApplyThenHang);
    let (_tx, handle) = spawn_worker(&store, &fake, real_config());
    while fake.state().applied.len() < 4 {
        fake.applied_signal.notified().await;
    }
    // "kill -9": the worker dies mid-send, its store goes away.
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
    drop(store);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.outbox_counts().await.unwrap().in_flight, 4);
    fake.set_script(|_, _| Step::Apply(201));
    let worker = spawn_worker(&store, &fake, real_config());
    wait_for(&store, "all delivered", |c| c.delivered == 4).await;
    let _ = worker.0.send(());
    worker.1.await.unwrap();

    {
        let st = fake.state();
        for m in ["a", "b", "c"] {
            assert_eq!(
                st.applied_count.get(m),
                Some(&1),
                "marker {m} written twice"
            );
        }
        // Without a marker nothing can be checked: at-least-once, so it is sent again.
        assert_eq!(st.applied_count.get(""), Some(&2));
        assert_eq!(st.checks, 4);
    }
    let all = store.outbox_list(Default::default()).await.unwrap();
    assert!(all.iter().all(|e| e.state == OutboxState::Delivered));
    assert_eq!(
        all[0].last_error.as_deref(),
        Some("found already delivered; not sent again")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_while_the_worker_drains() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ringdesk.db");
    let store = Store::open(&path).unwrap();
    // A second, independent handle (separate connections, as another process would have).
    let other = Store::open(&path).unwrap();
    let fake = FakeServer::ok();
    let worker = spawn_worker(
        &store,
        &fake,
        WorkerConfig {
            max_concurrency: 8,
            ..real_config()
        },
    );

    const WRITERS: u32 = 5;
    const PER_WRITER: u32 = 100;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let s = if w == 0 { other.clone() } else { store.clone() };
        tasks.push(tokio::spawn(async move {
            for n in 0..PER_WRITER {
                let id = w * PER_WRITER + n;
                let mut i = call(&format!("c{id}"), "+1", at(i64::from(id)));
                i.ticket_id = Some(format!("{}", id % 17));
                s.record_call(i, vec![note(id % 17, &format!("m{id}"))], at(i64::from(id)))
                    .await
                    .map_err(|e| (id, e))?;
                if n % 20 == 0 {
                    // Operators and metrics read meanwhile.
                    s.outbox_counts().await.map_err(|e| (id, e))?;
                    s.list_interactions(InteractionFilter::default())
                        .await
                        .map_err(|e| (id, e))?;
                }
            }
            Ok::<(), (u32, ringdesk_store::StoreError)>(())
        }));
    }
    for t in tasks {
        if let Err((id, e)) = t.await.unwrap() {
            panic!("record {id} failed (busy: {}): {e}", is_busy(&e));
        }
    }
    let total = u64::from(WRITERS * PER_WRITER);
    wait_for(&store, "all delivered", |c| c.delivered == total).await;
    let _ = worker.0.send(());
    worker.1.await.unwrap();

    let counts = store.outbox_counts().await.unwrap();
    assert_eq!(
        (counts.delivered, counts.backlog(), counts.dead),
        (total, 0, 0)
    );
    let listed = store
        .list_interactions(InteractionFilter {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len() as u64, total);
    {
        let st = fake.state();
        assert_eq!(st.applied.len() as u64, total);
        assert!(st.applied_count.values().all(|n| *n == 1));
    }
    // Per ticket, notes were applied in recording order (outbox id order).
    for ticket in 0..17u32 {
        let entries = store
            .outbox_list(ringdesk_store::OutboxFilter {
                ordering_key: Some(format!("ticket:{ticket}")),
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        let order_by_id: Vec<String> = entries
            .iter()
            .filter_map(|e| e.item.marker.clone())
            .collect();
        let applied: Vec<String> = fake
            .state()
            .applied
            .iter()
            .filter(|(k, _)| *k == format!("ticket:{ticket}"))
            .map(|(_, m)| m.clone())
            .collect();
        assert_eq!(applied, order_by_id, "ticket {ticket}");
    }
}
