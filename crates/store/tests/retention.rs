//! Retention and file privacy: purging old call records never takes an outbox item still
//! to deliver, and the database files are readable by their owner only.

mod common;

use common::*;
use ringdesk_store::{InteractionFilter, OutboxFilter, OutboxState, Purged, Store};

async fn ids(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = store
        .list_interactions(InteractionFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.call_id)
        .collect();
    v.sort();
    v
}

async fn item_states(store: &Store) -> Vec<(String, OutboxState)> {
    store
        .outbox_list(OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.item.marker.unwrap_or_default(), e.state))
        .collect()
}

#[tokio::test]
async fn purge_removes_old_calls_and_their_delivered_notes_but_keeps_undelivered_ones() {
    let (_dir, store) = temp_store();
    // Old calls: one without a note, one whose note is finished (dropped, final like
    // delivered), one whose note is still pending, one whose note is dead (an operator
    // must decide). A recent call.
    store
        .record_call(call("old-bare", "+1", at(0)), vec![], at(0))
        .await
        .unwrap();
    let delivered = store
        .record_call(
            call("old-done", "+2", at(10)),
            vec![note(1, "m-done")],
            at(10),
        )
        .await
        .unwrap();
    store
        .record_call(
            call("old-wait", "+3", at(20)),
            vec![note(2, "m-wait")],
            at(20),
        )
        .await
        .unwrap();
    let dead = store
        .record_call(
            call("old-dead", "+4", at(30)),
            vec![note(3, "m-dead")],
            at(30),
        )
        .await
        .unwrap();
    store
        .record_call(call("new", "+5", at(1000)), vec![], at(1000))
        .await
        .unwrap();
    // One dropped by an operator; one dead-lettered (the state the worker writes).
    store
        .outbox_drop(delivered.outbox_ids[0], at(40))
        .await
        .unwrap();
    {
        let c = rusqlite::Connection::open(store.path().unwrap()).unwrap();
        c.execute(
            "UPDATE outbox SET state = 'dead' WHERE id = ?1",
            [dead.outbox_ids[0]],
        )
        .unwrap();
    }

    let cutoff = at(500);
    let expected = Purged {
        interactions: 2,
        outbox_items: 1,
        kept_undelivered: 2,
    };
    // A dry run counts and changes nothing.
    assert_eq!(store.purge_preview(cutoff).await.unwrap(), expected);
    assert_eq!(ids(&store).await.len(), 5);
    assert_eq!(store.purge_older_than(cutoff).await.unwrap(), expected);
    assert_eq!(ids(&store).await, ["new", "old-dead", "old-wait"]);
    assert_eq!(
        item_states(&store).await,
        [
            ("m-wait".to_string(), OutboxState::Pending),
            ("m-dead".to_string(), OutboxState::Dead),
        ]
    );
    // Nothing more to do; the pending note can still be delivered later.
    assert_eq!(
        store.purge_older_than(cutoff).await.unwrap(),
        Purged {
            kept_undelivered: 2,
            ..Purged::default()
        }
    );
    assert_eq!(store.outbox_counts().await.unwrap().pending, 1);
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_wal_files_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let store = Store::open(&path).unwrap();
    store
        .record_call(
            call("c1", "+5511987650101", at(0)),
            vec![note(1, "m1")],
            at(0),
        )
        .await
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        assert!(p.exists(), "{}", p.display());
        assert_eq!(mode(&p), 0o600, "{} is {:o}", p.display(), mode(&p));
    }
    assert!(ringdesk_store::files_readable_by_others(&path).is_empty());
    drop(store);
    // An existing file others may read is reported (and left to the operator); SQLite
    // gives the -wal and -shm files it creates the database's mode, so they are too.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _store = Store::open(&path).unwrap();
    let open = ringdesk_store::files_readable_by_others(&path);
    assert_eq!(open.first(), Some(&(path.clone(), 0o644)), "{open:?}");
    assert!(open.iter().all(|(_, m)| *m == 0o644), "{open:?}");
    assert_eq!(mode(&path), 0o644, "not changed behind the operator's back");
}
