//! SQL for operator actions on the outbox: retry, drop, counts and purge.

use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::codec::{ms, opt_ts};
use crate::db_outbox::{get, BLOCKING};
use crate::{OutboxCounts, OutboxEntry, OutboxState, StoreError};

/// What an operator's retry of an item in `state` makes it: dead, dropped or pending →
/// pending (due now, fresh attempt budget); uncertain stays uncertain (still checked before
/// sending); in flight and delivered cannot be retried. The rule of both backends.
pub(crate) fn retry_to(id: i64, state: OutboxState) -> Result<OutboxState, StoreError> {
    match state {
        OutboxState::Dead | OutboxState::Dropped | OutboxState::Pending => Ok(OutboxState::Pending),
        OutboxState::Uncertain => Ok(OutboxState::Uncertain),
        other => Err(StoreError::WrongState {
            id,
            state: other.as_str(),
            op: "retry",
        }),
    }
}

/// Whether an operator's drop of an item in `state` changes it (`Ok(false)`: already
/// dropped); pending, uncertain and dead may be dropped, in flight and delivered not. The
/// rule of both backends.
pub(crate) fn drop_changes(id: i64, state: OutboxState) -> Result<bool, StoreError> {
    match state {
        OutboxState::Pending | OutboxState::Uncertain | OutboxState::Dead => Ok(true),
        OutboxState::Dropped => Ok(false),
        other => Err(StoreError::WrongState {
            id,
            state: other.as_str(),
            op: "drop",
        }),
    }
}

/// Operator retry (see [`retry_to`]).
pub(crate) fn retry(conn: &Connection, id: i64, now: Timestamp) -> Result<OutboxEntry, StoreError> {
    let entry = get(conn, id)?.ok_or(StoreError::NotFound {
        what: "outbox item",
    })?;
    let new_state = retry_to(id, entry.state)?;
    set_state(conn, id, entry.state, new_state, now, "retry")
}

/// Operator drop: a pending, uncertain or dead item will never be delivered.
pub(crate) fn drop_item(
    conn: &Connection,
    id: i64,
    now: Timestamp,
) -> Result<OutboxEntry, StoreError> {
    let entry = get(conn, id)?.ok_or(StoreError::NotFound {
        what: "outbox item",
    })?;
    if !drop_changes(id, entry.state)? {
        return Ok(entry);
    }
    set_state(conn, id, entry.state, OutboxState::Dropped, now, "drop")
}

fn set_state(
    conn: &Connection,
    id: i64,
    from: OutboxState,
    to: OutboxState,
    now: Timestamp,
    op: &'static str,
) -> Result<OutboxEntry, StoreError> {
    let reset = to != OutboxState::Dropped;
    let changed = conn
        .execute(
            "UPDATE outbox SET state = ?1, updated_at = ?2,
                 next_attempt_at = CASE WHEN ?3 THEN ?2 ELSE next_attempt_at END,
                 attempts = CASE WHEN ?3 THEN 0 ELSE attempts END
             WHERE id = ?4 AND state = ?5",
            params![to.as_str(), ms(now), reset, id, from.as_str()],
        )
        .map_err(StoreError::sql("change outbox state"))?;
    if changed == 0 {
        // The worker moved it between our read and write (e.g. claimed it).
        return Err(StoreError::WrongState {
            id,
            state: OutboxState::InFlight.as_str(),
            op,
        });
    }
    get(conn, id)?.ok_or(StoreError::NotFound {
        what: "outbox item",
    })
}

/// Items per state and the oldest undelivered creation time.
pub(crate) fn counts(conn: &Connection) -> Result<OutboxCounts, StoreError> {
    let mut counts = OutboxCounts::default();
    let mut stmt = conn
        .prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        .map_err(StoreError::sql("count outbox"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(StoreError::sql("count outbox"))?;
    for row in rows {
        let (state, n) = row.map_err(StoreError::sql("count outbox"))?;
        let state = OutboxState::parse(&state).ok_or(StoreError::Corrupt {
            what: "outbox state",
        })?;
        counts.add(state, u64::try_from(n).unwrap_or(0));
    }
    let oldest: Option<i64> = conn
        .query_row(
            &format!("SELECT MIN(created_at) FROM outbox WHERE state IN {BLOCKING}"),
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::sql("count outbox"))?;
    counts.oldest_undelivered = opt_ts(oldest)?;
    Ok(counts)
}

/// Deletes delivered and dropped items last updated before `before`. Returns how many.
pub(crate) fn purge(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    conn.execute(
        "DELETE FROM outbox WHERE state IN ('delivered', 'dropped') AND updated_at < ?1",
        [ms(before)],
    )
    .map_err(StoreError::sql("purge outbox"))
}
