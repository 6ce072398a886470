//! Operator actions and retention in PostgreSQL: retry, drop, counts, purges. The rules
//! (which states may be retried or dropped, what retention keeps) are SQLite's
//! (`db_outbox_admin.rs`, `db_retention.rs`), said again in this dialect.

use jiff::Timestamp;

use super::{outbox, Pg};
use crate::codec::{ms, opt_ts};
use crate::db_outbox::BLOCKING;
use crate::db_outbox_admin::{drop_changes, retry_to};
use crate::db_retention::{kept_sql, old_calls, old_items};
use crate::{OutboxCounts, OutboxEntry, OutboxState, Purged, StoreError};

/// Operator retry (the rule: `db_outbox_admin::retry_to`).
pub(crate) async fn retry(pg: &Pg, id: i64, now: Timestamp) -> Result<OutboxEntry, StoreError> {
    let entry = existing(pg, id, "retry outbox item").await?;
    let to = retry_to(id, entry.state)?;
    set_state(pg, id, entry.state, to, now, "retry").await
}

/// Operator drop (the rule: `db_outbox_admin::drop_changes`).
pub(crate) async fn drop_item(pg: &Pg, id: i64, now: Timestamp) -> Result<OutboxEntry, StoreError> {
    let entry = existing(pg, id, "drop outbox item").await?;
    if !drop_changes(id, entry.state)? {
        return Ok(entry);
    }
    set_state(pg, id, entry.state, OutboxState::Dropped, now, "drop").await
}

async fn existing(pg: &Pg, id: i64, op: &'static str) -> Result<OutboxEntry, StoreError> {
    outbox::get(pg, &pg.client(op).await?, id)
        .await?
        .ok_or(StoreError::NotFound {
            what: "outbox item",
        })
}

async fn set_state(
    pg: &Pg,
    id: i64,
    from: OutboxState,
    to: OutboxState,
    now: Timestamp,
    op: &'static str,
) -> Result<OutboxEntry, StoreError> {
    let reset = to != OutboxState::Dropped;
    let mut client = pg.client("change outbox state").await?;
    let tx = client
        .transaction()
        .await
        .map_err(pg.err("change outbox state"))?;
    let changed = tx
        .execute(
            "UPDATE outbox SET state = $1, updated_at = $2,
                 next_attempt_at = CASE WHEN $3 THEN $2 ELSE next_attempt_at END,
                 attempts = CASE WHEN $3 THEN 0 ELSE attempts END
             WHERE id = $4 AND state = $5",
            &[&to.as_str(), &ms(now), &reset, &id, &from.as_str()],
        )
        .await
        .map_err(pg.err("change outbox state"))?;
    if changed == 0 {
        // A worker moved it between our read and write (claimed it, say).
        return Err(StoreError::WrongState {
            id,
            state: OutboxState::InFlight.as_str(),
            op,
        });
    }
    if reset {
        outbox::notify(pg, &tx).await?;
    }
    let entry = outbox::get(pg, &tx, id).await?;
    tx.commit().await.map_err(pg.err("change outbox state"))?;
    entry.ok_or(StoreError::NotFound {
        what: "outbox item",
    })
}

/// Items per state and the oldest undelivered creation time.
pub(crate) async fn counts(pg: &Pg) -> Result<OutboxCounts, StoreError> {
    let client = pg.client("count outbox").await?;
    let rows = client
        .query("SELECT state, COUNT(*) FROM outbox GROUP BY state", &[])
        .await
        .map_err(pg.err("count outbox"))?;
    let mut counts = OutboxCounts::default();
    for row in rows {
        let state: String = row.get(0);
        let n: i64 = row.get(1);
        let state = OutboxState::parse(&state).ok_or(StoreError::Corrupt {
            what: "outbox state",
        })?;
        counts.add(state, u64::try_from(n).unwrap_or(0));
    }
    let oldest: Option<i64> = client
        .query_one(
            &format!("SELECT MIN(created_at) FROM outbox WHERE state IN {BLOCKING}"),
            &[],
        )
        .await
        .map_err(pg.err("count outbox"))?
        .get(0);
    counts.oldest_undelivered = opt_ts(oldest)?;
    Ok(counts)
}

/// Deletes delivered and dropped items last changed before `before`. Returns how many.
pub(crate) async fn purge_outbox(pg: &Pg, before: Timestamp) -> Result<usize, StoreError> {
    let client = pg.client("purge outbox").await?;
    let n = client
        .execute(
            "DELETE FROM outbox WHERE state IN ('delivered', 'dropped') AND updated_at < $1",
            &[&ms(before)],
        )
        .await
        .map_err(pg.err("purge outbox"))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// Retention (see [`crate::Store::purge_older_than`]), in one transaction.
pub(crate) async fn purge_older_than(pg: &Pg, before: Timestamp) -> Result<Purged, StoreError> {
    let before = ms(before);
    let mut client = pg.client("purge").await?;
    let tx = client.transaction().await.map_err(pg.err("purge"))?;
    let kept: i64 = tx
        .query_one(&kept_sql(), &[&before])
        .await
        .map_err(pg.err("purge"))?
        .get(0);
    let outbox_items = tx
        .execute(
            &format!("DELETE FROM outbox WHERE id IN ({})", old_items()),
            &[&before],
        )
        .await
        .map_err(pg.err("purge"))?;
    let interactions = tx
        .execute(
            &format!(
                "DELETE FROM interactions WHERE call_id IN ({})",
                old_calls()
            ),
            &[&before],
        )
        .await
        .map_err(pg.err("purge"))?;
    tx.commit().await.map_err(pg.err("purge"))?;
    Ok(Purged {
        interactions: usize::try_from(interactions).unwrap_or(usize::MAX),
        outbox_items: usize::try_from(outbox_items).unwrap_or(usize::MAX),
        kept_undelivered: count(kept),
    })
}

/// What [`purge_older_than`] would remove now.
pub(crate) async fn purge_preview(pg: &Pg, before: Timestamp) -> Result<Purged, StoreError> {
    let before = ms(before);
    let client = pg.client("purge preview").await?;
    let mut n = [0i64; 3];
    let queries = [
        format!("SELECT COUNT(*) FROM ({}) AS c", old_calls()),
        format!("SELECT COUNT(*) FROM ({}) AS c", old_items()),
        kept_sql(),
    ];
    for (slot, sql) in n.iter_mut().zip(&queries) {
        *slot = client
            .query_one(sql, &[&before])
            .await
            .map_err(pg.err("purge preview"))?
            .get(0);
    }
    Ok(Purged {
        interactions: count(n[0]),
        outbox_items: count(n[1]),
        kept_undelivered: count(n[2]),
    })
}
