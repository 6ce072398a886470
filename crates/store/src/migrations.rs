//! Embedded schema migrations, applied in order at open and tracked with `PRAGMA user_version`.
//!
//! Each migration runs in its own IMMEDIATE transaction together with the version bump, so a
//! failure leaves the file at the previous version. Never edit a shipped migration: add one.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// The migrations, in order; version N is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_interactions.sql"),
    include_str!("../migrations/0002_outbox.sql"),
    include_str!("../migrations/0003_outbox_waiting.sql"),
    include_str!("../migrations/0004_outbox_resume.sql"),
    include_str!("../migrations/0005_interaction_media.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The file's current schema version.
pub(crate) fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(StoreError::sql("read schema version"))
}

/// Brings the schema up to [`SCHEMA_VERSION`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings the schema up to `target` (tests use this to build an older file).
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), StoreError> {
    let found = current_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= found || version > target {
            continue;
        }
        let fail = |source| StoreError::Migration { version, source };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Re-check under the write lock: another process may have migrated meanwhile.
        let now_at: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        if now_at >= version {
            continue;
        }
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(version, "store schema migrated");
    }
    Ok(())
}
