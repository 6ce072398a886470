//! SQL for retention: removing call records (and their finished outbox items) older than
//! a cutoff, without losing anything still to be delivered.
//!
//! A call whose outbox items still wait (pending, in flight, uncertain) or are dead (an
//! operator must retry or drop them) is kept whole: its record and every item. Older
//! delivered and dropped items are removed with their calls, and on their own once their
//! last change is older than the cutoff (their bodies hold the caller's number too).

use jiff::Timestamp;
use rusqlite::Connection;

use crate::codec::ms;
use crate::StoreError;

/// What a purge removed, or would remove (dry run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    /// Call records removed.
    pub interactions: usize,
    /// Delivered and dropped outbox items removed.
    pub outbox_items: usize,
    /// Calls older than the cutoff kept because an outbox item of theirs is not finished
    /// (pending, in flight, uncertain or dead).
    pub kept_undelivered: usize,
}

/// Outbox states that still need delivery or an operator's decision.
pub(crate) const UNFINISHED: &str = "('pending', 'in_flight', 'uncertain', 'dead')";

// The SQL below is shared with PostgreSQL (`pg/admin.rs`): `$1` is a positional parameter
// in both dialects.

/// Old interactions with no unfinished outbox item.
pub(crate) fn old_calls() -> String {
    format!(
        "SELECT call_id FROM interactions i WHERE i.arrived_at < $1 AND NOT EXISTS
           (SELECT 1 FROM outbox o WHERE o.call_id = i.call_id AND o.state IN {UNFINISHED})"
    )
}

/// Finished items of those calls, or finished items last changed before the cutoff.
pub(crate) fn old_items() -> String {
    format!(
        "SELECT id FROM outbox WHERE state IN ('delivered', 'dropped')
           AND (updated_at < $1 OR call_id IN ({}))",
        old_calls()
    )
}

/// Removes what [`preview`] counts, in the caller's transaction.
pub(crate) fn purge(conn: &Connection, before: Timestamp) -> Result<Purged, StoreError> {
    let kept = count_kept(conn, before)?;
    let outbox_items = conn
        .execute(
            &format!("DELETE FROM outbox WHERE id IN ({})", old_items()),
            [ms(before)],
        )
        .map_err(StoreError::sql("purge"))?;
    let interactions = conn
        .execute(
            &format!(
                "DELETE FROM interactions WHERE call_id IN ({})",
                old_calls()
            ),
            [ms(before)],
        )
        .map_err(StoreError::sql("purge"))?;
    Ok(Purged {
        interactions,
        outbox_items,
        kept_undelivered: kept,
    })
}

/// What [`purge`] would remove now (nothing is changed).
pub(crate) fn preview(conn: &Connection, before: Timestamp) -> Result<Purged, StoreError> {
    let count = |sql: String| -> Result<usize, StoreError> {
        conn.query_row(
            &format!("SELECT COUNT(*) FROM ({sql}) AS c"),
            [ms(before)],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| usize::try_from(n).unwrap_or(0))
        .map_err(StoreError::sql("purge preview"))
    };
    Ok(Purged {
        interactions: count(old_calls())?,
        outbox_items: count(old_items())?,
        kept_undelivered: count_kept(conn, before)?,
    })
}

/// How many old calls are kept because an item of theirs is unfinished.
pub(crate) fn kept_sql() -> String {
    format!(
        "SELECT COUNT(*) FROM interactions i WHERE i.arrived_at < $1 AND EXISTS
           (SELECT 1 FROM outbox o WHERE o.call_id = i.call_id AND o.state IN {UNFINISHED})"
    )
}

fn count_kept(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    conn.query_row(&kept_sql(), [ms(before)], |r| r.get::<_, i64>(0))
        .map(|n| usize::try_from(n).unwrap_or(0))
        .map_err(StoreError::sql("purge"))
}
