//! The outbox worker against a fake in-process server, on virtual time (tokio paused clock):
//! outage and recovery, order per key, independence of keys, 429 Retry-After, dead letters
//! and operator retry, uncertain outcomes and the already-delivered check, prompt wake-up.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ringdesk_store::{
    DeliveryOutcome, OutboxFilter, OutboxState, OutboxWorker, Store, TokioClock, WorkerConfig,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

fn start(
    store: &Store,
    fake: &Arc<FakeServer>,
    config: WorkerConfig,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (tx, rx) = oneshot::channel::<()>();
    let worker = OutboxWorker::new(store.clone(), Arc::clone(fake))
        .with_config(config)
        .with_clock(TokioClock::new(t0()));
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

async fn stop(worker: (oneshot::Sender<()>, JoinHandle<()>)) {
    let _ = worker.0.send(());
    worker.1.await.unwrap();
}

/// Records `calls` calls, each with notes on ticket `n % keys`. Returns markers per key in
/// recording order.
async fn record_many(
    store: &Store,
    calls: u32,
    notes_per_call: u32,
    keys: u32,
) -> Vec<Vec<String>> {
    let mut per_key = vec![Vec::new(); keys as usize];
    for n in 0..calls {
        let ticket = n % keys;
        let items: Vec<_> = (0..notes_per_call)
            .map(|k| note(ticket, &format!("m{n}-{k}")))
            .collect();
        for it in &items {
            per_key[ticket as usize].push(it.marker.clone().unwrap());
        }
        store
            .record_call(call(&format!("c{n}"), "+1", t0()), items, t0())
            .await
            .unwrap();
    }
    per_key
}

fn assert_exactly_once_in_order(fake: &FakeServer, per_key: &[Vec<String>]) {
    let st = fake.state();
    for (ticket, markers) in per_key.iter().enumerate() {
        let key = format!("ticket:{ticket}");
        let applied: Vec<&String> = st
            .applied
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, m)| m)
            .collect();
        assert_eq!(
            applied,
            markers.iter().collect::<Vec<_>>(),
            "order for {key}"
        );
        // Attempts of a key never go back to an earlier item: N+1 waits for N.
        let ids: Vec<i64> = st
            .attempts
            .iter()
            .filter(|(k, _, _)| *k == key)
            .map(|(_, id, _)| *id)
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] <= w[1]),
            "{key} attempts out of order: {ids:?}"
        );
    }
    assert!(
        st.applied_count.values().all(|n| *n == 1),
        "double delivery: {:?}",
        st.applied_count
    );
}

#[tokio::test(start_paused = true)]
async fn outage_then_recovery_delivers_each_once_in_order() {
    let (_dir, store) = temp_store();
    let t_start = Instant::now();
    let back_at = t_start + Duration::from_secs(30);
    let fake = FakeServer::new(move |_, now| {
        if now < back_at {
            Step::Reject(DeliveryOutcome::ConnectFailed {
                message: "connection refused".into(),
            })
        } else {
            Step::Apply(201)
        }
    });
    let per_key = record_many(&store, 10, 2, 5).await;
    let worker = start(&store, &fake, fast_config());
    wait_for(&store, "all delivered", |c| c.delivered == 20).await;
    stop(worker).await;
    assert_exactly_once_in_order(&fake, &per_key);
    {
        let st = fake.state();
        assert!(st.attempts.len() > 20, "retries happened during the outage");
        // Only the 5 heads of key were tried during the outage.
        let during: std::collections::HashSet<i64> = st
            .attempts
            .iter()
            .filter(|(_, _, t)| *t < back_at)
            .map(|(_, id, _)| *id)
            .collect();
        assert_eq!(during.len(), 5, "{during:?}");
    }
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.backlog(), counts.dead), (0, 0));
    assert_eq!(counts.oldest_undelivered, None);
}

#[tokio::test(start_paused = true)]
async fn a_stuck_key_does_not_hold_back_others() {
    let (_dir, store) = temp_store();
    let fake = FakeServer::new(|e, _| {
        if e.item.ordering_key == "ticket:0" {
            Step::Reject(DeliveryOutcome::Response {
                status: 503,
                retry_after: None,
                body: String::new(),
            })
        } else {
            Step::Apply(200)
        }
    });
    record_many(&store, 8, 1, 4).await; // keys 0..3, two items each
    let worker = start(&store, &fake, fast_config());
    wait_for(&store, "other keys delivered", |c| c.delivered == 6).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    stop(worker).await;
    let stuck = store
        .outbox_list(OutboxFilter {
            ordering_key: Some("ticket:0".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stuck[0].state, OutboxState::Pending);
    assert!(stuck[0].attempts > 3);
    assert_eq!(stuck[0].last_status, Some(503));
    assert_eq!(
        stuck[1].attempts, 0,
        "second item of the stuck key never tried"
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limit_storm_respects_retry_after_for_the_whole_connector() {
    let (_dir, store) = temp_store();
    let rejected = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let r = Arc::clone(&rejected);
    let fake = FakeServer::new(move |_, now| {
        let mut r = r.lock().unwrap();
        if r.len() < 12 {
            r.push(now);
            Step::Reject(DeliveryOutcome::Response {
                status: 429,
                retry_after: Some(Duration::from_secs(2)),
                body: "{\"error\":\"TooManyRequests\"}".into(),
            })
        } else {
            Step::Apply(201)
        }
    });
    let per_key = record_many(&store, 12, 1, 6).await;
    let worker = start(&store, &fake, fast_config());
    wait_for(&store, "all delivered", |c| c.delivered == 12).await;
    stop(worker).await;
    assert_exactly_once_in_order(&fake, &per_key);
    let rejected = rejected.lock().unwrap().clone();
    let st = fake.state();
    for t429 in &rejected {
        for (_, id, started) in &st.attempts {
            assert!(
                *started <= *t429 || *started >= *t429 + Duration::from_secs(2),
                "item {id} started {:?} after a 429 that asked for 2 s",
                *started - *t429
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_go_dead_with_the_response_and_retry_revives_them() {
    let (_dir, store) = temp_store();
    let fake = FakeServer::new(|e, _| match e.item.marker.as_deref() {
        Some("unauth") => Step::Reject(DeliveryOutcome::Response {
            status: 401,
            retry_after: None,
            body: "{\"error\":\"Couldn't authenticate you\"}".into(),
        }),
        Some("gone") => Step::Reject(DeliveryOutcome::Response {
            status: 404,
            retry_after: None,
            body: "{\"error\":\"RecordNotFound\"}".into(),
        }),
        _ => Step::Apply(201),
    });
    let rec = store
        .record_call(
            call("c1", "+1", t0()),
            vec![note(7, "unauth"), note(7, "after"), note(8, "gone")],
            t0(),
        )
        .await
        .unwrap();
    let worker = start(&store, &fake, fast_config());
    wait_for(&store, "settled", |c| c.dead == 2 && c.delivered == 1).await;
    let dead = store.outbox_get(rec.outbox_ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (dead.state, dead.attempts, dead.last_status),
        (OutboxState::Dead, 1, Some(401))
    );
    assert_eq!(
        dead.last_response.as_deref(),
        Some("{\"error\":\"Couldn't authenticate you\"}")
    );
    let gone = store.outbox_get(rec.outbox_ids[2]).await.unwrap().unwrap();
    assert_eq!(
        (gone.state, gone.last_status),
        (OutboxState::Dead, Some(404))
    );
    assert!(gone.last_response.unwrap().contains("RecordNotFound"));

    // The operator fixes the credentials and retries: the worker wakes and delivers.
    fake.set_script(|_, _| Step::Apply(201));
    store.outbox_retry(dead.id, t0()).await.unwrap();
    wait_for(&store, "retried", |c| c.delivered == 2 && c.dead == 1).await;
    stop(worker).await;
    let st = fake.state();
    assert_eq!(st.applied_count.get("unauth"), Some(&1));
    assert_eq!(st.applied_count.get("after"), Some(&1));
    assert_eq!(st.applied_count.get("gone"), None);
}

#[tokio::test(start_paused = true)]
async fn uncertain_outcomes_are_checked_before_resending() {
    let (_dir, store) = temp_store();
    let mut seen_timeout = false;
    let mut seen_500 = false;
    let fake = FakeServer::new(move |e, _| match e.item.marker.as_deref() {
        // Applied, but the answer was lost: must not be sent again.
        Some("applied-then-timeout") if !seen_timeout => {
            seen_timeout = true;
            Step::ApplyThenTimeout
        }
        // Not applied, 500: the check says no, so it is sent again.
        Some("not-applied-500") if !seen_500 => {
            seen_500 = true;
            Step::Reject(DeliveryOutcome::Response {
                status: 500,
                retry_after: None,
                body: String::new(),
            })
        }
        _ => Step::Apply(201),
    });
    store
        .record_call(
            call("c1", "+1", t0()),
            vec![
                note(1, "applied-then-timeout"),
                note(1, "next"),
                note(2, "not-applied-500"),
            ],
            t0(),
        )
        .await
        .unwrap();
    let worker = start(&store, &fake, fast_config());
    wait_for(&store, "all delivered", |c| c.delivered == 3).await;
    stop(worker).await;
    let st = fake.state();
    assert_eq!(st.applied_count.get("applied-then-timeout"), Some(&1));
    assert_eq!(st.applied_count.get("not-applied-500"), Some(&1));
    assert_eq!(st.applied_count.get("next"), Some(&1));
    assert_eq!(st.checks, 2);
    let order: Vec<&str> = st
        .applied
        .iter()
        .map(|(_, m)| m.as_str())
        .filter(|m| *m != "not-applied-500")
        .collect();
    assert_eq!(order, ["applied-then-timeout", "next"]);
}

#[tokio::test(start_paused = true)]
async fn recording_wakes_an_idle_worker_promptly() {
    let (_dir, store) = temp_store();
    let fake = FakeServer::ok();
    let config = WorkerConfig {
        idle_poll: Duration::from_secs(3600),
        ..fast_config()
    };
    let worker = start(&store, &fake, config);
    // Let the worker go idle (nothing to do: it sleeps up to an hour).
    tokio::time::sleep(Duration::from_secs(10)).await;
    let recorded_at = Instant::now();
    store
        .record_call(call("c1", "+1", t0()), vec![note(1, "m")], t0())
        .await
        .unwrap();
    wait_for(&store, "delivered", |c| c.delivered == 1).await;
    assert!(
        recorded_at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        recorded_at.elapsed()
    );
    stop(worker).await;
}

#[tokio::test(start_paused = true)]
async fn attempt_budget_and_hung_deliverer_timeout() {
    let (_dir, store) = temp_store();
    let fake = FakeServer::new(|_, _| {
        Step::Reject(DeliveryOutcome::ConnectFailed {
            message: "down".into(),
        })
    });
    let mut config = fast_config();
    config.policy.max_attempts = Some(3);
    let rec = store
        .record_call(call("c1", "+1", t0()), vec![note(1, "m")], t0())
        .await
        .unwrap();
    let worker = start(&store, &fake, config);
    wait_for(&store, "dead", |c| c.dead == 1).await;
    let e = store.outbox_get(rec.outbox_ids[0]).await.unwrap().unwrap();
    assert_eq!(e.attempts, 3);
    assert_eq!(e.last_error.as_deref(), Some("connect: down"));
    // A deliverer that never answers is cut by the attempt timeout and treated as uncertain.
    fake.set_script(|_, _| Step::ApplyThenHang);
    store.outbox_retry(e.id, t0()).await.unwrap();
    wait_for(&store, "uncertain", |c| c.uncertain == 1).await;
    fake.set_script(|_, _| Step::Apply(201));
    wait_for(&store, "delivered after check", |c| c.delivered == 1).await;
    stop(worker).await;
    assert_eq!(fake.state().applied_count.get("m"), Some(&1));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_deliverer_leaves_the_item_uncertain_not_stuck() {
    let (_dir, store) = temp_store();
    let mut first = true;
    let fake = FakeServer::new(move |_, _| {
        if std::mem::take(&mut first) {
            Step::Panic
        } else {
            Step::Apply(201)
        }
    });
    store
        .record_call(
            call("c1", "+1", t0()),
            vec![note(1, "p"), note(1, "q")],
            t0(),
        )
        .await
        .unwrap();
    let worker = start(&store, &fake, fast_config());
    wait_for(&store, "delivered", |c| c.delivered == 2).await;
    stop(worker).await;
    let st = fake.state();
    assert_eq!(
        st.checks, 1,
        "the panicked attempt was checked before resending"
    );
    assert_eq!(
        st.applied
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>(),
        ["p", "q"]
    );
}

/// The rest of a call's handler kept for later (its request is the lookup that failed).
fn deferred_rest(call_id: &str) -> ringdesk_store::OutboxItem {
    ringdesk_store::OutboxItem {
        ordering_key: format!("call:{call_id}"),
        connector: "zendesk".into(),
        method: "GET".into(),
        path: "/api/v2/search.json".into(),
        query: vec![("query".into(), "role:end-user phone:15135557611".into())],
        headers: vec![],
        body: None,
        marker: Some(format!("{call_id}-1")),
        created_at: t0(),
        resume: Some("{\"v\":1}".into()),
    }
}

#[tokio::test(start_paused = true)]
async fn a_resumed_run_is_retried_through_the_outage_and_its_items_are_added_once() {
    let (_dir, store) = temp_store();
    let back_at = Instant::now() + Duration::from_secs(20);
    let fake = FakeServer::new(
        move |entry, now| match (&entry.item.resume, now < back_at) {
            (Some(_), true) => Step::Reject(DeliveryOutcome::Response {
                status: 503,
                retry_after: None,
                body: "down".into(),
            }),
            // Back: the run found ticket 7 and recorded the note, and another that an
            // earlier run of it had recorded already.
            (Some(_), false) => Step::Resumed(vec![note(7, "c1-1-1"), note(8, "c1-1-2")]),
            (None, _) => Step::Apply(201),
        },
    );
    store
        .record_call(call("c1", "+1", t0()), vec![deferred_rest("c1")], t0())
        .await
        .unwrap();
    store
        .record_call(call("c0", "+1", t0()), vec![note(8, "c1-1-2")], t0())
        .await
        .unwrap();
    let worker = start(&store, &fake, fast_config());
    wait_for(&store, "the rest and its notes delivered", |c| {
        c.delivered == 3 && c.backlog() == 0
    })
    .await;
    stop(worker).await;
    {
        let st = fake.state();
        let tries = st
            .attempts
            .iter()
            .filter(|(k, _, _)| k == "call:c1")
            .count();
        assert!(tries > 1, "the run was retried while the service was down");
        assert_eq!(st.applied_count.get("c1-1-1"), Some(&1));
        assert_eq!(st.applied_count.get("c1-1-2"), Some(&1), "added once");
    }
    let all = store.outbox_list(OutboxFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    let rest = all.iter().find(|e| e.item.resume.is_some()).unwrap();
    assert_eq!(rest.state, OutboxState::Delivered);
    let note = all
        .iter()
        .find(|e| e.item.marker.as_deref() == Some("c1-1-1"))
        .unwrap();
    assert_eq!(
        note.call_id.as_deref(),
        Some("c1"),
        "the note keeps its call"
    );
    assert_eq!(note.item.ordering_key, "ticket:7");
}

#[tokio::test(start_paused = true)]
async fn a_resumed_run_that_records_an_invalid_item_is_a_dead_letter_adding_nothing() {
    let (_dir, store) = temp_store();
    let mut bad = note(7, "c2-1-1");
    bad.method = String::new();
    let fake = FakeServer::new(move |entry, _| match entry.item.resume {
        Some(_) => Step::Resumed(vec![note(7, "c2-1-2"), bad.clone()]),
        None => Step::Apply(201),
    });
    store
        .record_call(call("c2", "+1", t0()), vec![deferred_rest("c2")], t0())
        .await
        .unwrap();
    let worker = start(&store, &fake, fast_config());
    wait_for(&store, "the rest dead", |c| c.dead == 1).await;
    stop(worker).await;
    let all = store.outbox_list(OutboxFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1, "nothing added: {all:?}");
    assert!(
        all[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("invalid item")),
        "{all:?}"
    );
    assert!(fake.state().applied.is_empty());
}
