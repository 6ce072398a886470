//! PostgreSQL schema migrations: applied in order at connect, in one transaction under an
//! advisory lock (nodes starting together migrate once), tracked in `ringdesk_schema`.
//! Never edit a shipped migration: add one.

use deadpool_postgres::Object;

use crate::StoreError;

/// The migrations, in order; version N is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_schema.sql"),
    include_str!("../../migrations/postgres/0002_interaction_media.sql"),
    include_str!("../../migrations/postgres/0003_acd_log.sql"),
    include_str!("../../migrations/postgres/0004_desk_calls.sql"),
];

/// The PostgreSQL schema version this build writes.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Advisory lock key held while migrating ("ringdesk" in ASCII, as a number).
const LOCK_KEY: i64 = 0x7269_6e67_6465_736b;

/// Brings the schema up to [`PG_SCHEMA_VERSION`].
pub(crate) async fn migrate(client: &mut Object, target: &str) -> Result<(), StoreError> {
    let err = |op| move |e| StoreError::pg(op, target)(e);
    let tx = client.transaction().await.map_err(err("begin migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(err("lock for migration"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ringdesk_schema (
             version BIGINT NOT NULL, migrated_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(err("create schema table"))?;
    let found: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM ringdesk_schema", &[])
        .await
        .map_err(err("read schema version"))?
        .get(0);
    if found > PG_SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: PG_SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= found {
            continue;
        }
        tx.batch_execute(sql).await.map_err(err("migrate"))?;
        tx.execute(
            "INSERT INTO ringdesk_schema (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(err("record schema version"))?;
        tracing::info!(version, "PostgreSQL store schema migrated");
    }
    tx.commit().await.map_err(err("commit migration"))
}
