//! SQL for the outbox: insert, claim (mark in flight before sending), finish, recover after a
//! crash, and due-item selection in order per key. Operator actions are in `db_outbox_admin`.

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{named_params, params, params_from_iter, Connection, OptionalExtension, Row};

use crate::codec::{from_json, ms, opt_ts, to_json, truncate, ts};
use crate::limits::{MAX_ERROR_LEN, MAX_KEPT_RESPONSE};
use crate::{OutboxEntry, OutboxFilter, OutboxItem, OutboxState, StoreError};

pub(crate) const COLUMNS: &str =
    "id, call_id, ordering_key, connector, method, path, query, headers, body,
    marker, state, attempts, next_attempt_at, created_at, updated_at, delivered_at, last_status,
    last_error, last_response, resume";

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
    let query = to_json(&item.query, "query")?;
    let headers = to_json(&item.headers, "headers")?;
    let changed = conn
        .prepare_cached(
            "INSERT INTO outbox (call_id, ordering_key, connector, method, path, query, headers,
                body, marker, state, attempts, next_attempt_at, created_at, updated_at, resume)
             VALUES (:call_id, :key, :connector, :method, :path, :query, :headers, :body, :marker,
                'pending', 0, :now, :created_at, :now, :resume)
             ON CONFLICT (marker) WHERE marker IS NOT NULL DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(named_params! {
                ":call_id": call_id,
                ":key": item.ordering_key,
                ":connector": item.connector,
                ":method": item.method,
                ":path": item.path,
                ":query": query,
                ":headers": headers,
                ":body": item.body,
                ":marker": item.marker,
                ":now": ms(now),
                ":created_at": ms(item.created_at),
                ":resume": item.resume,
            })
        })
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
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row([id], RawEntry::from_row))
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
/// key among the items still to deliver. Oldest due first, at most `limit`. The "earlier item
/// of the key still waiting?" probe reads the `outbox_waiting` partial index (waiting items
/// only); forced, so a plan that walks the key's delivered history can never come back.
pub(crate) fn due(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<OutboxEntry>, StoreError> {
    query_entries(
        conn,
        &due_sql(),
        vec![Value::Integer(ms(now)), Value::Integer(i64::from(limit))],
        "select due outbox items",
    )
}

/// No earlier item of `o`'s key still waits (SQL condition shared by [`due`], [`next_due`]).
fn head_of_key() -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM outbox p INDEXED BY outbox_waiting
                     WHERE p.ordering_key = o.ordering_key
                       AND p.id < o.id AND p.state IN {BLOCKING})"
    )
}

fn due_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM outbox o
         WHERE o.state IN ('pending', 'uncertain') AND o.next_attempt_at <= ?1
           AND {}
         ORDER BY o.next_attempt_at, o.id LIMIT ?2",
        head_of_key()
    )
}

fn next_due_sql() -> String {
    format!(
        "SELECT MIN(o.next_attempt_at) FROM outbox o
         WHERE o.state IN ('pending', 'uncertain') AND {}",
        head_of_key()
    )
}

/// When the earliest waiting head-of-key item becomes due (`None`: nothing waits).
pub(crate) fn next_due(conn: &Connection) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = conn
        .prepare_cached(&next_due_sql())
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
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
        .prepare_cached(
            "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, updated_at = ?1
             WHERE id = ?2 AND state = ?3",
        )
        .and_then(|mut stmt| stmt.execute(params![ms(now), id, expected.as_str()]))
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
        .prepare_cached(
            "UPDATE outbox SET state = :state,
                 next_attempt_at = COALESCE(:next, next_attempt_at),
                 updated_at = :now, delivered_at = :delivered_at, last_status = :status,
                 last_error = :error, last_response = :response
             WHERE id = :id AND state = 'in_flight'",
        )
        .and_then(|mut stmt| {
            stmt.execute(named_params! {
                ":state": f.state.as_str(),
                ":next": f.next_attempt_at.map(ms),
                ":now": ms(now),
                ":delivered_at": delivered_at,
                ":status": f.status,
                ":error": f.error.map(|e| truncate(e, MAX_ERROR_LEN)),
                ":response": f.response.map(|r| truncate(r, MAX_KEPT_RESPONSE)),
                ":id": id,
            })
        })
        .map_err(StoreError::sql("finish outbox item"))?;
    Ok(changed == 1)
}

/// An attempt's result to write back, and for a Retry-After the connector to hold until then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub id: i64,
    pub finish: Finish,
    pub defer: Option<(String, Timestamp)>,
    /// New items the attempt produced (a resumed flow run), added when the result is
    /// stored, under `call_id`.
    pub spawn: Vec<OutboxItem>,
    pub call_id: Option<String>,
}

/// What one worker pass did.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    /// Per outcome, in order: whether it was stored (false: the item changed meanwhile).
    pub finished: Vec<bool>,
    /// Items claimed (now in flight), each with whether it was uncertain (check first).
    pub claimed: Vec<(OutboxEntry, bool)>,
    /// When the next waiting head-of-key item is due, if slots are left for it.
    pub next_due: Option<Timestamp>,
}

/// The worker's one visit to the database per round, in one transaction: write back the
/// finished attempts, claim up to `free` due items (marked in flight before anything is
/// sent), and find when the next one is due.
pub(crate) fn pass(
    conn: &Connection,
    outcomes: Vec<Outcome>,
    free: u32,
    now: Timestamp,
) -> Result<Pass, StoreError> {
    let mut pass = Pass::default();
    for o in outcomes {
        let stored = finish(conn, o.id, o.finish, now)?;
        if stored {
            for item in &o.spawn {
                insert(conn, o.call_id.as_deref(), item, now)?;
            }
        }
        pass.finished.push(stored);
        if let Some((connector, until)) = o.defer {
            // Retry-After speaks for the whole account: hold the connector's other items too.
            defer_connector(conn, &connector, until)?;
        }
    }
    if free == 0 {
        return Ok(pass);
    }
    for entry in due(conn, now, free)? {
        let was_uncertain = entry.state == OutboxState::Uncertain;
        if let Some(claimed) = claim(conn, entry.id, entry.state, now)? {
            pass.claimed.push((claimed, was_uncertain));
        }
    }
    if pass.claimed.len() < usize::try_from(free).unwrap_or(usize::MAX) {
        pass.next_due = next_due(conn)?;
    }
    Ok(pass)
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
    let mut stmt = conn.prepare_cached(sql).map_err(StoreError::sql(op))?;
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
pub(crate) struct RawEntry {
    pub(crate) id: i64,
    pub(crate) call_id: Option<String>,
    pub(crate) ordering_key: String,
    pub(crate) connector: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: String,
    pub(crate) body: Option<String>,
    pub(crate) marker: Option<String>,
    pub(crate) state: String,
    pub(crate) attempts: i64,
    pub(crate) next_attempt_at: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) delivered_at: Option<i64>,
    pub(crate) last_status: Option<i64>,
    pub(crate) last_error: Option<String>,
    pub(crate) last_response: Option<String>,
    pub(crate) resume: Option<String>,
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
            resume: r.get(19)?,
        })
    }

    pub(crate) fn decode(self) -> Result<OutboxEntry, StoreError> {
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
                resume: self.resume,
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

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    fn item(key: &str, marker: String) -> OutboxItem {
        OutboxItem {
            ordering_key: key.into(),
            connector: "zendesk".into(),
            method: "PUT".into(),
            path: "/api/v2/tickets/1.json".into(),
            query: vec![],
            headers: vec![],
            body: Some("{}".into()),
            marker: Some(marker),
            created_at: t(0),
            resume: None,
        }
    }

    /// A busy ticket: `history` delivered items, then one in flight and 50 waiting behind
    /// it; a quiet ticket with one pending item (the only one that may start).
    fn busy_ticket(history: usize) -> (Connection, i64) {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        let mut n = 0;
        let mut add = |conn: &Connection, key: &str, state: &str| {
            n += 1;
            let (id, _) = insert(conn, None, &item(key, format!("m{n}")), t(n)).unwrap();
            conn.execute(
                "UPDATE outbox SET state = ?1 WHERE id = ?2",
                params![state, id],
            )
            .unwrap();
            id
        };
        for _ in 0..history {
            add(&conn, "ticket:busy", "delivered");
        }
        add(&conn, "ticket:busy", "in_flight");
        for _ in 0..50 {
            add(&conn, "ticket:busy", "pending");
        }
        let quiet = add(&conn, "ticket:quiet", "pending");
        (conn, quiet)
    }

    /// Rows returned and SQLite virtual-machine steps (a count of work, not a time).
    fn run(conn: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> (Vec<i64>, i32) {
        let mut stmt = conn.prepare(sql).unwrap();
        let rows: Vec<i64> = stmt
            .query_map(args, |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (rows, stmt.get_status(StatementStatus::VmStep))
    }

    #[test]
    fn due_selection_work_does_not_grow_with_delivered_history() {
        let mut steps = Vec::new();
        for history in [0, 3000] {
            let (conn, quiet) = busy_ticket(history);
            let due = due(&conn, t(1_000_000), 8).unwrap();
            assert_eq!(due.iter().map(|e| e.id).collect::<Vec<_>>(), [quiet]);
            assert_eq!(
                next_due(&conn).unwrap(),
                Some(t(i64::try_from(history).unwrap() + 52))
            );
            let now = ms(t(1_000_000));
            let (ids, due_steps) = run(&conn, &due_sql(), &[&now, &8]);
            assert_eq!(ids, [quiet]);
            let (_, next_steps) = run(&conn, &next_due_sql(), &[]);
            steps.push((due_steps, next_steps));
        }
        let [(due0, next0), (due_h, next_h)] = steps[..] else {
            panic!("two runs")
        };
        // Before the waiting-items index, every waiting item's "earlier item of my key?"
        // probe walked the key's delivered history: 50 x 3000 rows here.
        assert!(
            due_h <= due0 * 2,
            "due: {due0} steps without history, {due_h} with"
        );
        assert!(
            next_h <= next0 * 2,
            "next_due: {next0} steps without history, {next_h} with"
        );
    }
}
