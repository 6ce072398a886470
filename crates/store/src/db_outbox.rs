//! SQL for the outbox: insert, claim (mark in flight before sending), finish, recover after a
//! crash, and due-item selection in order per key. Operator actions are in `db_outbox_admin`.

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{named_params, params, params_from_iter, Connection, OptionalExtension, Row};

use crate::codec::{from_json, ms, opt_ts, to_json, truncate, ts};
use crate::limits::{MAX_ERROR_LEN, MAX_KEPT_RESPONSE};
use crate::{OutboxEntry, OutboxFilter, OutboxItem, OutboxState, StoreError};

const COLUMNS: &str = "id, call_id, ordering_key, connector, method, path, query, headers, body,
    marker, state, attempts, next_attempt_at, created_at, updated_at, delivered_at, last_status,
    last_error, last_response";

/// States that hold back later items of the same key, as an SQL list.
pub(crate) const BLOCKING: &str = "('pending', 'in_flight', 'uncertain')";

/// Appends one item (state pending, due at `now`). Returns its id and whether it is new: an
/// item whose marker is already stored is not added again (its existing id is returned).
pub(crate) fn insert(
    conn: &Connection,
    call_id: Option<&str>,
    item: &OutboxItem,
    now: Timestamp,
) -> Result<(i64, bool), StoreError> {
    let changed = conn
        .execute(
            "INSERT INTO outbox (call_id, ordering_key, connector, method, path, query, headers,
                body, marker, state, attempts, next_attempt_at, created_at, updated_at)
             VALUES (:call_id, :key, :connector, :method, :path, :query, :headers, :body, :marker,
                'pending', 0, :now, :created_at, :now)
             ON CONFLICT (marker) WHERE marker IS NOT NULL DO NOTHING",
            named_params! {
                ":call_id": call_id,
                ":key": item.ordering_key,
                ":connector": item.connector,
                ":method": item.method,
                ":path": item.path,
                ":query": to_json(&item.query, "query")?,
                ":headers": to_json(&item.headers, "headers")?,
                ":body": item.body,
                ":marker": item.marker,
                ":now": ms(now),
                ":created_at": ms(item.created_at),
            },
        )
        .map_err(StoreError::sql("insert outbox item"))?;
    if changed == 1 {
        return Ok((conn.last_insert_rowid(), true));
    }
    let existing = conn
        .query_row(
            "SELECT id FROM outbox WHERE marker = ?1",
            [&item.marker],
            |r| r.get(0),
        )
        .map_err(StoreError::sql("find duplicate outbox item"))?;
    Ok((existing, false))
}

/// One item by id.
pub(crate) fn get(conn: &Connection, id: i64) -> Result<Option<OutboxEntry>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1");
    conn.query_row(&sql, [id], RawEntry::from_row)
        .optional()
        .map_err(StoreError::sql("get outbox item"))?
        .map(RawEntry::decode)
        .transpose()
}

/// Items matching the filter, oldest first.
pub(crate) fn list(conn: &Connection, f: &OutboxFilter) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if !f.states.is_empty() {
        let marks = vec!["?"; f.states.len()].join(", ");
        clauses.push(format!("state IN ({marks})"));
        args.extend(f.states.iter().map(|s| Value::Text(s.as_str().to_owned())));
    }
    if let Some(key) = &f.ordering_key {
        clauses.push("ordering_key = ?".to_owned());
        args.push(Value::Text(key.clone()));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    args.push(Value::Integer(i64::from(f.effective_limit())));
    let sql = format!("SELECT {COLUMNS} FROM outbox {where_sql} ORDER BY id LIMIT ?");
    query_entries(conn, &sql, args, "list outbox")
}

/// The items the worker may start now: pending or uncertain, due, and first of their ordering
/// key among the items still to deliver. Oldest due first, at most `limit`.
pub(crate) fn due(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox o
         WHERE o.state IN ('pending', 'uncertain') AND o.next_attempt_at <= ?1
           AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.ordering_key = o.ordering_key
                           AND p.id < o.id AND p.state IN {BLOCKING})
         ORDER BY o.next_attempt_at, o.id LIMIT ?2"
    );
    query_entries(
        conn,
        &sql,
        vec![Value::Integer(ms(now)), Value::Integer(i64::from(limit))],
        "select due outbox items",
    )
}

/// When the earliest waiting head-of-key item becomes due (`None`: nothing waits).
pub(crate) fn next_due(conn: &Connection) -> Result<Option<Timestamp>, StoreError> {
    let sql = format!(
        "SELECT MIN(o.next_attempt_at) FROM outbox o
         WHERE o.state IN ('pending', 'uncertain')
           AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.ordering_key = o.ordering_key
                           AND p.id < o.id AND p.state IN {BLOCKING})"
    );
    let at: Option<i64> = conn
        .query_row(&sql, [], |r| r.get(0))
        .map_err(StoreError::sql("next due outbox item"))?;
    opt_ts(at)
}

/// Marks an item in flight (attempts + 1) if it is still in `expected` state; this is written
/// before anything is sent. Returns the claimed entry, or `None` if someone changed it.
pub(crate) fn claim(
    conn: &Connection,
    id: i64,
    expected: OutboxState,
    now: Timestamp,
) -> Result<Option<OutboxEntry>, StoreError> {
    let changed = conn
        .execute(
            "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, updated_at = ?1
             WHERE id = ?2 AND state = ?3",
            params![ms(now), id, expected.as_str()],
        )
        .map_err(StoreError::sql("claim outbox item"))?;
    if changed == 0 {
        return Ok(None);
    }
    get(conn, id)
}

/// The result of an attempt, as written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finish {
    pub state: OutboxState,
    pub next_attempt_at: Option<Timestamp>,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub response: Option<String>,
}

/// Writes an attempt's result; only applies to an item still in flight. Returns whether it did.
pub(crate) fn finish(
    conn: &Connection,
    id: i64,
    f: Finish,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let delivered_at = (f.state == OutboxState::Delivered).then(|| ms(now));
    let changed = conn
        .execute(
            "UPDATE outbox SET state = :state,
                 next_attempt_at = COALESCE(:next, next_attempt_at),
                 updated_at = :now, delivered_at = :delivered_at, last_status = :status,
                 last_error = :error, last_response = :response
             WHERE id = :id AND state = 'in_flight'",
            named_params! {
                ":state": f.state.as_str(),
                ":next": f.next_attempt_at.map(ms),
                ":now": ms(now),
                ":delivered_at": delivered_at,
                ":status": f.status,
                ":error": f.error.map(|e| truncate(e, MAX_ERROR_LEN)),
                ":response": f.response.map(|r| truncate(r, MAX_KEPT_RESPONSE)),
                ":id": id,
            },
        )
        .map_err(StoreError::sql("finish outbox item"))?;
    Ok(changed == 1)
}

/// After a crash: every in-flight item may or may not have been sent. Returns how many.
pub(crate) fn recover_in_flight(conn: &Connection, now: Timestamp) -> Result<usize, StoreError> {
    conn.execute(
        "UPDATE outbox SET state = 'uncertain', updated_at = ?1,
             last_error = 'interrupted while in flight'
         WHERE state = 'in_flight'",
        [ms(now)],
    )
    .map_err(StoreError::sql("recover in-flight outbox items"))
}

/// Pushes every waiting item of a connector to no earlier than `until` (a 429 Retry-After
/// applies to the whole account, not just the item that met it). Returns how many moved.
pub(crate) fn defer_connector(
    conn: &Connection,
    connector: &str,
    until: Timestamp,
) -> Result<usize, StoreError> {
    conn.execute(
        "UPDATE outbox SET next_attempt_at = ?1
         WHERE connector = ?2 AND state IN ('pending', 'uncertain') AND next_attempt_at < ?1",
        params![ms(until), connector],
    )
    .map_err(StoreError::sql("defer connector"))
}

fn query_entries(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
    op: &'static str,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut stmt = conn.prepare(sql).map_err(StoreError::sql(op))?;
    let rows = stmt
        .query_map(params_from_iter(args), RawEntry::from_row)
        .map_err(StoreError::sql(op))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(StoreError::sql(op))?.decode()?);
    }
    Ok(out)
}

/// Column values as read, before decoding.
struct RawEntry {
    id: i64,
    call_id: Option<String>,
    ordering_key: String,
    connector: String,
    method: String,
    path: String,
    query: String,
    headers: String,
    body: Option<String>,
    marker: Option<String>,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    created_at: i64,
    updated_at: i64,
    delivered_at: Option<i64>,
    last_status: Option<i64>,
    last_error: Option<String>,
    last_response: Option<String>,
}

impl RawEntry {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawEntry {
            id: r.get(0)?,
            call_id: r.get(1)?,
            ordering_key: r.get(2)?,
            connector: r.get(3)?,
            method: r.get(4)?,
            path: r.get(5)?,
            query: r.get(6)?,
            headers: r.get(7)?,
            body: r.get(8)?,
            marker: r.get(9)?,
            state: r.get(10)?,
            attempts: r.get(11)?,
            next_attempt_at: r.get(12)?,
            created_at: r.get(13)?,
            updated_at: r.get(14)?,
            delivered_at: r.get(15)?,
            last_status: r.get(16)?,
            last_error: r.get(17)?,
            last_response: r.get(18)?,
        })
    }

    fn decode(self) -> Result<OutboxEntry, StoreError> {
        let state = OutboxState::parse(&self.state).ok_or(StoreError::Corrupt {
            what: "outbox state",
        })?;
        let last_status = match self.last_status {
            None => None,
            Some(s) => Some(u16::try_from(s).map_err(|_| StoreError::Corrupt {
                what: "last_status",
            })?),
        };
        Ok(OutboxEntry {
            id: self.id,
            call_id: self.call_id,
            item: OutboxItem {
                ordering_key: self.ordering_key,
                connector: self.connector,
                method: self.method,
                path: self.path,
                query: from_json(&self.query, "query")?,
                headers: from_json(&self.headers, "headers")?,
                body: self.body,
                marker: self.marker,
                created_at: ts(self.created_at)?,
            },
            state,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            next_attempt_at: ts(self.next_attempt_at)?,
            updated_at: ts(self.updated_at)?,
            delivered_at: opt_ts(self.delivered_at)?,
            last_status,
            last_error: self.last_error,
            last_response: self.last_response,
        })
    }
}
