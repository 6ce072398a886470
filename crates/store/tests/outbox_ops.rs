//! Operator actions on the outbox without a worker: list, counts, retry, drop, purge, and
//! crash recovery of in-flight rows.

mod common;

use common::*;
use ringdesk_store::{OutboxFilter, OutboxState, Store, StoreError};

fn set_state(path: &std::path::Path, id: i64, state: &str) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute(
        "UPDATE outbox SET state = ?1 WHERE id = ?2",
        rusqlite::params![state, id],
    )
    .unwrap();
}

#[tokio::test]
async fn list_counts_retry_drop() {
    let (dir, store) = temp_store();
    let path = dir.path().join("ringdesk.db");
    let rec = store
        .record_call(
            call("c1", "+1", t0()),
            vec![note(1, "a"), note(1, "b"), note(2, "c")],
            t0(),
        )
        .await
        .unwrap();
    let [a, b, c] = rec.outbox_ids[..] else {
        panic!()
    };
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.backlog()), (3, 3));
    assert_eq!(counts.oldest_undelivered, Some(t0()));

    set_state(&path, a, "dead");
    set_state(&path, b, "in_flight");
    let dead = store
        .outbox_list(OutboxFilter {
            states: vec![OutboxState::Dead],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(dead.iter().map(|e| e.id).collect::<Vec<_>>(), [a]);
    let key1 = store
        .outbox_list(OutboxFilter {
            ordering_key: Some("ticket:1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(key1.iter().map(|e| e.id).collect::<Vec<_>>(), [a, b]);

    // In-flight items can be neither retried nor dropped.
    for result in [
        store.outbox_retry(b, at(1)).await,
        store.outbox_drop(b, at(1)).await,
    ] {
        assert!(
            matches!(
                result,
                Err(StoreError::WrongState {
                    state: "in_flight",
                    ..
                })
            ),
            "{result:?}"
        );
    }
    // Dead -> retry -> pending, due now, fresh budget.
    let e = store.outbox_retry(a, at(9)).await.unwrap();
    assert_eq!(
        (e.state, e.attempts, e.next_attempt_at),
        (OutboxState::Pending, 0, at(9))
    );
    // Drop, then retry revives it.
    assert_eq!(
        store.outbox_drop(c, at(10)).await.unwrap().state,
        OutboxState::Dropped
    );
    assert_eq!(
        store.outbox_drop(c, at(10)).await.unwrap().state,
        OutboxState::Dropped
    );
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!(
        (counts.pending, counts.in_flight, counts.dropped),
        (1, 1, 1)
    );
    assert_eq!(
        store.outbox_retry(c, at(11)).await.unwrap().state,
        OutboxState::Pending
    );
    assert!(matches!(
        store.outbox_retry(999, at(1)).await,
        Err(StoreError::NotFound { .. })
    ));

    // Delivered items are final; purge removes old delivered/dropped ones only.
    set_state(&path, c, "delivered");
    assert!(matches!(
        store.outbox_drop(c, at(12)).await,
        Err(StoreError::WrongState { .. })
    ));
    assert_eq!(store.outbox_purge(at(100)).await.unwrap(), 1);
    assert!(store.outbox_get(c).await.unwrap().is_none());
    assert!(store.outbox_get(a).await.unwrap().is_some());
}

#[tokio::test]
async fn recovery_turns_in_flight_into_uncertain_only() {
    let (dir, store) = temp_store();
    let path = dir.path().join("ringdesk.db");
    let rec = store
        .record_call(
            call("c1", "+1", t0()),
            vec![note(1, "a"), note(2, "b")],
            t0(),
        )
        .await
        .unwrap();
    set_state(&path, rec.outbox_ids[0], "in_flight");
    drop(store);
    // Opening alone (e.g. the CLI) leaves a live worker's in-flight rows alone.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.outbox_counts().await.unwrap().in_flight, 1);
    assert_eq!(store.outbox_recover_in_flight(at(5)).await.unwrap(), 1);
    let e = store.outbox_get(rec.outbox_ids[0]).await.unwrap().unwrap();
    assert_eq!(e.state, OutboxState::Uncertain);
    let other = store.outbox_get(rec.outbox_ids[1]).await.unwrap().unwrap();
    assert_eq!(other.state, OutboxState::Pending);
    // Retrying an uncertain item keeps it uncertain (it is still checked first).
    assert_eq!(
        store.outbox_retry(e.id, at(6)).await.unwrap().state,
        OutboxState::Uncertain
    );
}

#[tokio::test]
async fn json_output_redacts_header_values() {
    let (_dir, store) = temp_store();
    let rec = store
        .record_call(call("c1", "+1", t0()), vec![note(1, "a")], t0())
        .await
        .unwrap();
    let e = store.outbox_get(rec.outbox_ids[0]).await.unwrap().unwrap();
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains("s3cr3t"), "{json}");
    assert!(
        json.contains("X-Secret") && json.contains("<redacted>"),
        "{json}"
    );
    assert!(json.contains("\"state\":\"pending\""), "{json}");
    // The stored request itself is intact.
    assert_eq!(e.item.headers, note(1, "a").headers);
    assert!(!format!("{e:?}").contains("s3cr3t"));
}

#[tokio::test]
async fn an_item_added_to_a_call_joins_its_ticket_order_once() {
    let (_dir, store) = temp_store();
    // Added while the call is still in progress (no record yet), then recorded.
    let (early, fresh) = store.outbox_add("c1", note(1, "wrap"), t0()).await.unwrap();
    assert!(fresh);
    let (again, fresh) = store
        .outbox_add("c1", note(1, "wrap"), at(1))
        .await
        .unwrap();
    assert_eq!(
        (again, fresh),
        (early, false),
        "the same marker is one item"
    );
    store
        .record_call(call("c1", "+1", t0()), vec![note(1, "end")], at(2))
        .await
        .unwrap();
    let key1 = store
        .outbox_list(OutboxFilter {
            ordering_key: Some("ticket:1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(key1.len(), 2);
    assert_eq!(key1[0].id, early, "delivered in the order added");
    assert_eq!(store.outbox_counts().await.unwrap().pending, 2);
}
