//! The outbox in PostgreSQL: insert (with the wake-up every node's worker hears), read, and
//! the worker's pass, where due items are claimed with `FOR UPDATE SKIP LOCKED` so that
//! workers on several nodes never take the same item and an ordering key never has two
//! items in flight. Decoding and the per-key rule are SQLite's (`db_outbox.rs`).

use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::Pg;
use crate::codec::{ms, to_json, truncate};
use crate::db_outbox::{Outcome, Pass, RawEntry, BLOCKING, COLUMNS};
use crate::limits::{MAX_ERROR_LEN, MAX_KEPT_RESPONSE};
use crate::{OutboxEntry, OutboxFilter, OutboxItem, OutboxState, StoreError};

/// The channel every node's worker listens on.
pub(crate) const CHANNEL: &str = "ringdesk_outbox";

/// Wakes every node's worker when the transaction commits.
pub(crate) async fn notify<C: GenericClient>(pg: &Pg, c: &C) -> Result<(), StoreError> {
    let stmt = super::prepared(pg, c, "SELECT pg_notify($1, '')", "notify outbox workers").await?;
    c.execute(&stmt, &[&CHANNEL])
        .await
        .map_err(pg.err("notify outbox workers"))?;
    Ok(())
}

/// Appends one item (pending, due now). Returns its id and whether it is new: an item
/// whose marker is stored already is not added twice.
pub(crate) async fn insert<C: GenericClient>(
    pg: &Pg,
    c: &C,
    call_id: Option<&str>,
    item: &OutboxItem,
    now: Timestamp,
) -> Result<(i64, bool), StoreError> {
    let query = to_json(&item.query, "query")?;
    let headers = to_json(&item.headers, "headers")?;
    let (now_ms, created) = (ms(now), ms(item.created_at));
    let stmt = super::prepared(
        pg,
        c,
        "INSERT INTO outbox (call_id, ordering_key, connector, method, path, query, headers,
                body, marker, state, attempts, next_attempt_at, created_at, updated_at, resume)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11, $10, $12)
             ON CONFLICT (marker) WHERE marker IS NOT NULL DO NOTHING
             RETURNING id",
        "insert outbox item",
    )
    .await?;
    let row = c
        .query_opt(
            &stmt,
            &[
                &call_id,
                &item.ordering_key,
                &item.connector,
                &item.method,
                &item.path,
                &query,
                &headers,
                &item.body,
                &item.marker,
                &now_ms,
                &created,
                &item.resume,
            ],
        )
        .await
        .map_err(pg.err("insert outbox item"))?;
    if let Some(row) = row {
        return Ok((row.get(0), true));
    }
    let stmt = super::prepared(
        pg,
        c,
        "SELECT id FROM outbox WHERE marker = $1",
        "find duplicate outbox item",
    )
    .await?;
    let existing = c
        .query_one(&stmt, &[&item.marker])
        .await
        .map_err(pg.err("find duplicate outbox item"))?;
    Ok((existing.get(0), false))
}

/// One item by id.
pub(crate) async fn get<C: GenericClient>(
    pg: &Pg,
    c: &C,
    id: i64,
) -> Result<Option<OutboxEntry>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
    let stmt = super::prepared(pg, c, &sql, "get outbox item").await?;
    let row = c
        .query_opt(&stmt, &[&id])
        .await
        .map_err(pg.err("get outbox item"))?;
    row.map(|r| raw(&r).and_then(RawEntry::decode)).transpose()
}

/// Items matching the filter, oldest first.
pub(crate) async fn list(pg: &Pg, f: &OutboxFilter) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    if !f.states.is_empty() {
        let states: Vec<String> = f.states.iter().map(|s| s.as_str().to_owned()).collect();
        args.push(Box::new(states));
        clauses.push(format!("state = ANY(${})", args.len()));
    }
    if let Some(key) = &f.ordering_key {
        args.push(Box::new(key.clone()));
        clauses.push(format!("ordering_key = ${}", args.len()));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    args.push(Box::new(i64::from(f.effective_limit())));
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox {where_sql} ORDER BY id LIMIT ${}",
        args.len()
    );
    let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref() as _).collect();
    let client = pg.client("list outbox").await?;
    let rows = client
        .query(&sql, &refs)
        .await
        .map_err(pg.err("list outbox"))?;
    rows.iter()
        .map(|r| raw(r).and_then(RawEntry::decode))
        .collect()
}

/// No earlier item of `o`'s key still waits.
fn head_of_key() -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM outbox p
                     WHERE p.ordering_key = o.ordering_key
                       AND p.id < o.id AND p.state IN {BLOCKING})"
    )
}

/// The worker's round, in one transaction: results written back (only for items this
/// node still holds), up to `free` due items claimed for this node, the next due time.
pub(crate) async fn pass(
    pg: &Pg,
    outcomes: Vec<Outcome>,
    free: u32,
    now: Timestamp,
) -> Result<Pass, StoreError> {
    let mut client = pg.client("outbox pass").await?;
    let tx = client.transaction().await.map_err(pg.err("outbox pass"))?;
    let now_ms = ms(now);
    let mut pass = Pass::default();
    let mut spawned = false;
    for o in outcomes {
        let f = o.finish;
        let delivered_at = (f.state == OutboxState::Delivered).then_some(now_ms);
        let next = f.next_attempt_at.map(ms);
        let status = f.status.map(i64::from);
        let error = f.error.map(|e| truncate(e, MAX_ERROR_LEN));
        let response = f.response.map(|r| truncate(r, MAX_KEPT_RESPONSE));
        let stmt = super::prepared(
            pg,
            &tx,
            "UPDATE outbox SET state = $1, next_attempt_at = COALESCE($2, next_attempt_at),
                 updated_at = $3, delivered_at = $4, last_status = $5, last_error = $6,
                 last_response = $7, claimed_by = NULL
             WHERE id = $8 AND state = 'in_flight' AND claimed_by = $9",
            "finish outbox item",
        )
        .await?;
        let changed = tx
            .execute(
                &stmt,
                &[
                    &f.state.as_str(),
                    &next,
                    &now_ms,
                    &delivered_at,
                    &status,
                    &error,
                    &response,
                    &o.id,
                    &pg.node(),
                ],
            )
            .await
            .map_err(pg.err("finish outbox item"))?;
        let stored = changed == 1;
        if stored {
            for item in &o.spawn {
                insert(pg, &tx, o.call_id.as_deref(), item, now).await?;
                spawned = true;
            }
        }
        pass.finished.push(stored);
        if let Some((connector, until)) = o.defer {
            defer_connector(pg, &tx, &connector, until).await?;
        }
    }
    if spawned {
        notify(pg, &tx).await?;
    }
    if free > 0 {
        let sql = format!(
            "WITH due AS (
                 SELECT o.id, o.state AS was FROM outbox o
                 WHERE o.state IN ('pending', 'uncertain') AND o.next_attempt_at <= $1
                   AND {}
                 ORDER BY o.next_attempt_at, o.id LIMIT $2
                 FOR UPDATE SKIP LOCKED)
             UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, updated_at = $1,
                 claimed_by = $3
             FROM due WHERE outbox.id = due.id
             RETURNING {}, due.was",
            head_of_key(),
            prefixed(COLUMNS, "outbox.")
        );
        let stmt = super::prepared(pg, &tx, &sql, "claim outbox items").await?;
        let rows = tx
            .query(&stmt, &[&now_ms, &i64::from(free), &pg.node()])
            .await
            .map_err(pg.err("claim outbox items"))?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let was: String = row.get(20);
            claimed.push((raw(row)?.decode()?, was == "uncertain"));
        }
        // RETURNING gives no order: keep the due order (oldest due first).
        claimed.sort_by_key(|(e, _)| (e.next_attempt_at, e.id));
        pass.claimed = claimed;
        if pass.claimed.len() < usize::try_from(free).unwrap_or(usize::MAX) {
            let sql = format!(
                "SELECT MIN(o.next_attempt_at) FROM outbox o
                 WHERE o.state IN ('pending', 'uncertain') AND {}",
                head_of_key()
            );
            let stmt = super::prepared(pg, &tx, &sql, "next due outbox item").await?;
            let at: Option<i64> = tx
                .query_one(&stmt, &[])
                .await
                .map_err(pg.err("next due outbox item"))?
                .get(0);
            pass.next_due = crate::codec::opt_ts(at)?;
        }
    }
    tx.commit().await.map_err(pg.err("outbox pass"))?;
    Ok(pass)
}

/// `a, b` → `p.a, p.b` (RETURNING after UPDATE … FROM names the updated table's columns).
fn prefixed(columns: &str, prefix: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{prefix}{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Pushes the connector's waiting items to no earlier than `until` (Retry-After speaks for
/// the account). Items another node is claiming right now are skipped, not waited for.
async fn defer_connector<C: GenericClient>(
    pg: &Pg,
    c: &C,
    connector: &str,
    until: Timestamp,
) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE outbox SET next_attempt_at = $1 WHERE id IN (
             SELECT id FROM outbox WHERE connector = $2 AND state IN ('pending', 'uncertain')
               AND next_attempt_at < $1 FOR UPDATE SKIP LOCKED)",
        &[&ms(until), &connector],
    )
    .await
    .map_err(pg.err("defer connector"))
}

/// This node's items left in flight by its previous run become uncertain (checked before
/// they are sent again). Returns how many.
pub(crate) async fn recover_own(pg: &Pg, now: Timestamp) -> Result<usize, StoreError> {
    let client = pg.client("recover in-flight outbox items").await?;
    let n = client
        .execute(
            "UPDATE outbox SET state = 'uncertain', updated_at = $1, claimed_by = NULL,
                 last_error = 'interrupted while in flight'
             WHERE state = 'in_flight' AND claimed_by = $2",
            &[&ms(now), &pg.node()],
        )
        .await
        .map_err(pg.err("recover in-flight outbox items"))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A row of [`COLUMNS`] as SQLite's decoder takes it.
pub(crate) fn raw(r: &Row) -> Result<RawEntry, StoreError> {
    let bad = |_: tokio_postgres::Error| StoreError::Corrupt { what: "outbox row" };
    Ok(RawEntry {
        id: r.try_get(0).map_err(bad)?,
        call_id: r.try_get(1).map_err(bad)?,
        ordering_key: r.try_get(2).map_err(bad)?,
        connector: r.try_get(3).map_err(bad)?,
        method: r.try_get(4).map_err(bad)?,
        path: r.try_get(5).map_err(bad)?,
        query: r.try_get(6).map_err(bad)?,
        headers: r.try_get(7).map_err(bad)?,
        body: r.try_get(8).map_err(bad)?,
        marker: r.try_get(9).map_err(bad)?,
        state: r.try_get(10).map_err(bad)?,
        attempts: r.try_get(11).map_err(bad)?,
        next_attempt_at: r.try_get(12).map_err(bad)?,
        created_at: r.try_get(13).map_err(bad)?,
        updated_at: r.try_get(14).map_err(bad)?,
        delivered_at: r.try_get(15).map_err(bad)?,
        last_status: r.try_get(16).map_err(bad)?,
        last_error: r.try_get(17).map_err(bad)?,
        last_response: r.try_get(18).map_err(bad)?,
        resume: r.try_get(19).map_err(bad)?,
    })
}
