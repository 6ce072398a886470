//! Interactions and the record-call transaction: migrations, atomicity, dedupe, filters, bounds.

mod common;

use common::*;
use ringdesk_store::{
    BridgeMedia, EndReason, FlowErrorRecord, InteractionFilter, MenuStep, OutboxFilter,
    OutboxState, PacketCounts, Store, StoreError, SCHEMA_VERSION,
};

fn user_version(path: &std::path::Path) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn fresh_file_is_migrated_and_reopen_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    store
        .record_call(call("c1", "+551100", t0()), vec![note(1, "m1")], t0())
        .await
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    assert_eq!(
        store.get_interaction("c1").await.unwrap().unwrap().ani,
        "+551100"
    );
    assert_eq!(store.outbox_counts().await.unwrap().pending, 1);
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn older_schema_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // A version-1 file as an earlier build would have left it.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../migrations/0001_interactions.sql"))
            .unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute(
            "INSERT INTO interactions (call_id, ani, dnis, arrived_at, updated_at) VALUES ('old', '1', '2', 0, 0)",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    assert!(store.get_interaction("old").await.unwrap().is_some());
    store
        .record_call(call("new", "+1", t0()), vec![note(1, "m")], t0())
        .await
        .unwrap();
    assert_eq!(store.outbox_counts().await.unwrap().pending, 1);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(Store::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(c);
    match Store::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn full_record_round_trips() {
    let (_dir, store) = temp_store();
    let mut i = call("c-full", "+5511999", at(0));
    i.user_id = Some("u42".into());
    i.ticket_id = Some("123".into());
    i.language = Some("pt-BR".into());
    i.menu_path = vec![MenuStep {
        key: "1".into(),
        node: "queue".into(),
    }];
    i.queue = Some("support".into());
    i.priority = Some(2);
    i.answered_at = Some(at(1));
    i.queued_at = Some(at(10));
    i.offered_at = Some(at(40));
    i.agent_answered_at = Some(at(45));
    i.ended_at = Some(at(345));
    i.agent_id = Some("a1".into());
    i.agent_name = Some("Ana".into());
    i.end_reason = Some(EndReason::Agent);
    i.end_detail = Some("BYE".into());
    i.flow_errors = vec![FlowErrorRecord {
        node: "lookup".into(),
        message: "HTTP 500".into(),
    }];
    i.media = Some(BridgeMedia {
        caller_to_agent: PacketCounts {
            received: 15_010,
            relayed: 14_850,
            unknown_source: 150,
            learning: 3,
            malformed: 1,
            not_negotiated: 2,
            event_refused: 4,
            ..Default::default()
        },
        agent_to_caller: PacketCounts {
            received: 15_000,
            relayed: 14_990,
            no_destination: 5,
            srtp_failed: 3,
            send_failed: 2,
            ..Default::default()
        },
    });
    store.record_call(i.clone(), vec![], at(345)).await.unwrap();
    let got = store.get_interaction("c-full").await.unwrap().unwrap();
    assert_eq!(got.wait_seconds, Some(35.0));
    assert_eq!(got.talk_seconds, Some(300.0));
    let mut expected = i;
    expected.wait_seconds = Some(35.0);
    expected.talk_seconds = Some(300.0);
    assert_eq!(got, expected);
    assert!(store.get_interaction("missing").await.unwrap().is_none());
    // JSON output for the CLI.
    let json = serde_json::to_value(&got).unwrap();
    assert_eq!(json["end_reason"], "agent");
    assert_eq!(json["media"]["caller_to_agent"]["unknown_source"], 150);
    assert_eq!(json["media"]["agent_to_caller"]["send_failed"], 2);
    // A call never bridged has no media counters, and says so.
    store
        .record_call(call("c-unbridged", "+1", at(0)), vec![], at(1))
        .await
        .unwrap();
    let got = store.get_interaction("c-unbridged").await.unwrap().unwrap();
    assert_eq!(got.media, None);
    assert!(serde_json::to_value(&got).unwrap()["media"].is_null());
}

#[tokio::test]
async fn failure_inside_the_transaction_rolls_back_both() {
    let (dir, store) = temp_store();
    // Make the database itself reject the second outbox row, after the interaction was written.
    let raw = rusqlite::Connection::open(dir.path().join("ringdesk.db")).unwrap();
    raw.execute_batch(
        "CREATE TRIGGER boom BEFORE INSERT ON outbox WHEN NEW.path = '/boom'
         BEGIN SELECT RAISE(ABORT, 'boom'); END;",
    )
    .unwrap();
    let mut bad = note(2, "m2");
    bad.path = "/boom".into();
    let err = store
        .record_call(call("c1", "+1", t0()), vec![note(1, "m1"), bad], t0())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err:?}");
    assert!(store.get_interaction("c1").await.unwrap().is_none());
    assert_eq!(store.outbox_counts().await.unwrap(), Default::default());
    // Without the fault, the same call records fine.
    raw.execute_batch("DROP TRIGGER boom").unwrap();
    store
        .record_call(call("c1", "+1", t0()), vec![note(1, "m1")], t0())
        .await
        .unwrap();
    assert!(store.get_interaction("c1").await.unwrap().is_some());
}

#[tokio::test]
async fn invalid_items_write_nothing_and_errors_hide_payloads() {
    let (_dir, store) = temp_store();
    let mut big = note(1, "m1");
    big.body = Some("x".repeat(ringdesk_store::limits::MAX_BODY_LEN + 1));
    let err = store
        .record_call(call("c1", "+1", t0()), vec![big], t0())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { what: "body", .. }),
        "{err:?}"
    );
    let mut empty_key = note(1, "m1");
    empty_key.ordering_key.clear();
    let err = store
        .record_call(call("c1", "+1", t0()), vec![empty_key], t0())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Invalid {
            what: "ordering_key",
            ..
        }
    ));
    assert!(store.get_interaction("c1").await.unwrap().is_none());
    // Debug of an item never shows header values or the body.
    let dbg = format!("{:?}", note(1, "m1"));
    assert!(
        !dbg.contains("s3cr3t") && !dbg.contains("call ended"),
        "{dbg}"
    );
    assert!(dbg.contains("X-Secret"));
}

#[tokio::test]
async fn long_fields_are_truncated_not_lost() {
    let (_dir, store) = temp_store();
    let mut i = call("c1", &"9".repeat(5000), t0());
    i.menu_path = (0..1000)
        .map(|n| MenuStep {
            key: "1".into(),
            node: format!("n{n}"),
        })
        .collect();
    i.end_detail = Some("é".repeat(3000));
    store.record_call(i, vec![], t0()).await.unwrap();
    let got = store.get_interaction("c1").await.unwrap().unwrap();
    assert_eq!(got.ani.len(), ringdesk_store::limits::MAX_FIELD_LEN);
    assert_eq!(got.menu_path.len(), ringdesk_store::limits::MAX_MENU_STEPS);
    assert!(got.end_detail.unwrap().len() <= ringdesk_store::limits::MAX_FIELD_LEN);
}

#[tokio::test]
async fn rerecording_replaces_the_call_and_dedupes_markers() {
    let (_dir, store) = temp_store();
    let first = store
        .record_call(call("c1", "+1", t0()), vec![note(1, "m1")], t0())
        .await
        .unwrap();
    assert_eq!(first.duplicates, 0);
    let mut ended = call("c1", "+1", t0());
    ended.end_reason = Some(EndReason::Caller);
    let second = store
        .record_call(ended, vec![note(1, "m1"), note(1, "m2")], at(5))
        .await
        .unwrap();
    assert_eq!(second.duplicates, 1);
    assert_eq!(second.outbox_ids[0], first.outbox_ids[0]);
    assert_ne!(second.outbox_ids[1], first.outbox_ids[0]);
    let got = store.get_interaction("c1").await.unwrap().unwrap();
    assert_eq!(got.end_reason, Some(EndReason::Caller));
    let all = store.outbox_list(OutboxFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all
        .iter()
        .all(|e| e.call_id.as_deref() == Some("c1") && e.state == OutboxState::Pending));
}

#[tokio::test]
async fn filters_select_by_time_ani_ticket_and_outcome() {
    let (_dir, store) = temp_store();
    for n in 0..10u32 {
        let mut i = call(
            &format!("c{n}"),
            if n % 2 == 0 { "+100" } else { "+200" },
            at(i64::from(n) * 60),
        );
        i.ticket_id = Some(format!("{}", n % 3));
        i.end_reason = Some(if n < 4 {
            EndReason::NoAgent
        } else {
            EndReason::Caller
        });
        store.record_call(i, vec![], at(1000)).await.unwrap();
    }
    let ids =
        |v: Vec<ringdesk_store::Interaction>| v.into_iter().map(|i| i.call_id).collect::<Vec<_>>();
    let all = store
        .list_interactions(InteractionFilter::default())
        .await
        .unwrap();
    assert_eq!(ids(all)[..3], ["c9", "c8", "c7"], "newest first");
    let f = InteractionFilter {
        since: Some(at(120)),
        until: Some(at(300)),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_interactions(f).await.unwrap()),
        ["c4", "c3", "c2"]
    );
    let f = InteractionFilter {
        ani: Some("+200".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_interactions(f).await.unwrap()),
        ["c9", "c7", "c5", "c3", "c1"]
    );
    let f = InteractionFilter {
        ticket_id: Some("0".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_interactions(f).await.unwrap()),
        ["c9", "c6", "c3", "c0"]
    );
    let f = InteractionFilter {
        end_reason: Some(EndReason::NoAgent),
        ani: Some("+100".into()),
        ..Default::default()
    };
    assert_eq!(ids(store.list_interactions(f).await.unwrap()), ["c2", "c0"]);
    let f = InteractionFilter {
        limit: Some(2),
        offset: Some(1),
        ..Default::default()
    };
    assert_eq!(ids(store.list_interactions(f).await.unwrap()), ["c8", "c7"]);
    let f = InteractionFilter {
        ani: Some("' OR 1=1 --".into()),
        ..Default::default()
    };
    assert!(store.list_interactions(f).await.unwrap().is_empty());
}

#[tokio::test]
async fn purge_removes_old_interactions_only() {
    let (_dir, store) = temp_store();
    for n in 0..5 {
        store
            .record_call(call(&format!("c{n}"), "+1", at(n * 100)), vec![], at(1000))
            .await
            .unwrap();
    }
    assert_eq!(store.purge_interactions(at(250)).await.unwrap(), 3);
    let left = store
        .list_interactions(InteractionFilter::default())
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|i| i.call_id.as_str()).collect::<Vec<_>>(),
        ["c4", "c3"]
    );
}
