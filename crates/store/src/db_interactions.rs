//! SQL for interactions: the record-call transaction (interaction + outbox items), list, show.

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{named_params, params_from_iter, Connection, OptionalExtension, Row};

use crate::codec::{from_json, ms, ms_to_secs, opt_ms, opt_ts, secs_to_ms, to_json, ts};
use crate::limits::{bound_interaction, check_items};
use crate::{db_outbox, EndReason, Interaction, InteractionFilter, OutboxItem, StoreError};

/// What [`record_call`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recorded {
    /// Ids of the outbox items, in the order given (an item whose marker was already recorded
    /// gets the existing item's id).
    pub outbox_ids: Vec<i64>,
    /// How many items were already recorded (same marker) and were not added again.
    pub duplicates: usize,
}

/// Upserts the interaction and appends its outbox items. The caller runs it in one
/// transaction (a savepoint of a group commit): either everything is written or nothing is.
pub(crate) fn record_call(
    conn: &Connection,
    interaction: Interaction,
    items: &[OutboxItem],
    now: Timestamp,
) -> Result<Recorded, StoreError> {
    let Prepared {
        i,
        menu_path,
        flow_errors,
        media,
    } = prepare(interaction, items)?;

    conn.prepare_cached(UPSERT)
        .and_then(|mut stmt| {
            stmt.execute(named_params! {
            ":call_id": i.call_id,
            ":ani": i.ani,
            ":dnis": i.dnis,
            ":user_id": i.user_id,
            ":ticket_id": i.ticket_id,
            ":language": i.language,
            ":menu_path": menu_path,
            ":queue": i.queue,
            ":priority": i.priority,
            ":arrived_at": ms(i.arrived_at),
            ":answered_at": opt_ms(i.answered_at),
            ":queued_at": opt_ms(i.queued_at),
            ":offered_at": opt_ms(i.offered_at),
            ":agent_answered_at": opt_ms(i.agent_answered_at),
            ":ended_at": opt_ms(i.ended_at),
            ":wait_ms": secs_to_ms(i.wait_seconds),
            ":talk_ms": secs_to_ms(i.talk_seconds),
            ":agent_id": i.agent_id,
            ":agent_name": i.agent_name,
            ":end_reason": i.end_reason.map(EndReason::as_str),
            ":end_detail": i.end_detail,
            ":flow_errors": flow_errors,
            ":media": media,
            ":updated_at": ms(now),
            })
        })
        .map_err(StoreError::sql("write interaction"))?;
    let mut recorded = Recorded::default();
    for item in items {
        let (id, fresh) = db_outbox::insert(conn, Some(&i.call_id), item, now)?;
        if !fresh {
            recorded.duplicates += 1;
        }
        recorded.outbox_ids.push(id);
    }
    Ok(recorded)
}

/// An interaction as stored, checked and bounded, with its derived wait and talk times
/// and its JSON columns; both backends write this.
pub(crate) struct Prepared {
    pub(crate) i: Interaction,
    pub(crate) menu_path: String,
    pub(crate) flow_errors: String,
    /// The bridge's packet counters (`None`: never bridged).
    pub(crate) media: Option<String>,
}

/// Checks, bounds and encodes an interaction and its items for writing.
pub(crate) fn prepare(
    interaction: Interaction,
    items: &[OutboxItem],
) -> Result<Prepared, StoreError> {
    let mut i = bound_interaction(interaction)?;
    check_items(items)?;
    if i.wait_seconds.is_none() {
        i.wait_seconds = i.derived_wait_seconds();
    }
    if i.talk_seconds.is_none() {
        i.talk_seconds = i.derived_talk_seconds();
    }
    let menu_path = to_json(&i.menu_path, "menu_path")?;
    let flow_errors = to_json(&i.flow_errors, "flow_errors")?;
    let media = i.media.as_ref().map(|m| to_json(m, "media")).transpose()?;
    Ok(Prepared {
        i,
        menu_path,
        flow_errors,
        media,
    })
}

const UPSERT: &str = "INSERT INTO interactions (call_id, ani, dnis, user_id, ticket_id, language,
    menu_path, queue, priority, arrived_at, answered_at, queued_at, offered_at, agent_answered_at,
    ended_at, wait_ms, talk_ms, agent_id, agent_name, end_reason, end_detail, flow_errors, media,
    updated_at)
  VALUES (:call_id, :ani, :dnis, :user_id, :ticket_id, :language, :menu_path, :queue, :priority,
    :arrived_at, :answered_at, :queued_at, :offered_at, :agent_answered_at, :ended_at, :wait_ms,
    :talk_ms, :agent_id, :agent_name, :end_reason, :end_detail, :flow_errors, :media, :updated_at)
  ON CONFLICT (call_id) DO UPDATE SET ani = excluded.ani, dnis = excluded.dnis,
    user_id = excluded.user_id, ticket_id = excluded.ticket_id, language = excluded.language,
    menu_path = excluded.menu_path, queue = excluded.queue, priority = excluded.priority,
    arrived_at = excluded.arrived_at, answered_at = excluded.answered_at,
    queued_at = excluded.queued_at, offered_at = excluded.offered_at,
    agent_answered_at = excluded.agent_answered_at, ended_at = excluded.ended_at,
    wait_ms = excluded.wait_ms, talk_ms = excluded.talk_ms, agent_id = excluded.agent_id,
    agent_name = excluded.agent_name, end_reason = excluded.end_reason,
    end_detail = excluded.end_detail, flow_errors = excluded.flow_errors, media = excluded.media,
    updated_at = excluded.updated_at";

pub(crate) const COLUMNS: &str =
    "call_id, ani, dnis, user_id, ticket_id, language, menu_path, queue,
    priority, arrived_at, answered_at, queued_at, offered_at, agent_answered_at, ended_at,
    wait_ms, talk_ms, agent_id, agent_name, end_reason, end_detail, flow_errors, media";

/// One interaction by call id.
pub(crate) fn get(conn: &Connection, call_id: &str) -> Result<Option<Interaction>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM interactions WHERE call_id = ?1");
    let raw = conn
        .query_row(&sql, [call_id], RawInteraction::from_row)
        .optional()
        .map_err(StoreError::sql("get interaction"))?;
    raw.map(RawInteraction::decode).transpose()
}

/// Interactions matching the filter, newest first.
pub(crate) fn list(
    conn: &Connection,
    f: &InteractionFilter,
) -> Result<Vec<Interaction>, StoreError> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(since) = f.since {
        clauses.push("arrived_at >= ?");
        args.push(Value::Integer(ms(since)));
    }
    if let Some(until) = f.until {
        clauses.push("arrived_at < ?");
        args.push(Value::Integer(ms(until)));
    }
    if let Some(ani) = &f.ani {
        clauses.push("ani = ?");
        args.push(Value::Text(ani.clone()));
    }
    if let Some(ticket) = &f.ticket_id {
        clauses.push("ticket_id = ?");
        args.push(Value::Text(ticket.clone()));
    }
    if let Some(reason) = f.end_reason {
        clauses.push("end_reason = ?");
        args.push(Value::Text(reason.as_str().to_owned()));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    args.push(Value::Integer(i64::from(f.effective_limit())));
    args.push(Value::Integer(i64::from(f.offset.unwrap_or(0))));
    let sql = format!(
        "SELECT {COLUMNS} FROM interactions {where_sql}
         ORDER BY arrived_at DESC, call_id DESC LIMIT ? OFFSET ?"
    );
    let mut stmt = conn
        .prepare(&sql)
        .map_err(StoreError::sql("list interactions"))?;
    let rows = stmt
        .query_map(params_from_iter(args), RawInteraction::from_row)
        .map_err(StoreError::sql("list interactions"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(
            row.map_err(StoreError::sql("list interactions"))?
                .decode()?,
        );
    }
    Ok(out)
}

/// Deletes interactions that arrived before `before`. Returns how many.
pub(crate) fn purge(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    conn.execute(
        "DELETE FROM interactions WHERE arrived_at < ?1",
        [ms(before)],
    )
    .map_err(StoreError::sql("purge interactions"))
}

/// Column values as read, before decoding (decoding can fail without a rusqlite error type).
pub(crate) struct RawInteraction {
    pub(crate) call_id: String,
    pub(crate) ani: String,
    pub(crate) dnis: String,
    pub(crate) user_id: Option<String>,
    pub(crate) ticket_id: Option<String>,
    pub(crate) language: Option<String>,
    pub(crate) menu_path: String,
    pub(crate) queue: Option<String>,
    pub(crate) priority: Option<i64>,
    pub(crate) times: [Option<i64>; 6],
    pub(crate) wait_ms: Option<i64>,
    pub(crate) talk_ms: Option<i64>,
    pub(crate) agent_id: Option<String>,
    pub(crate) agent_name: Option<String>,
    pub(crate) end_reason: Option<String>,
    pub(crate) end_detail: Option<String>,
    pub(crate) flow_errors: String,
    pub(crate) media: Option<String>,
}

impl RawInteraction {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawInteraction {
            call_id: r.get(0)?,
            ani: r.get(1)?,
            dnis: r.get(2)?,
            user_id: r.get(3)?,
            ticket_id: r.get(4)?,
            language: r.get(5)?,
            menu_path: r.get(6)?,
            queue: r.get(7)?,
            priority: r.get(8)?,
            times: [
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
                r.get(13)?,
                r.get(14)?,
            ],
            wait_ms: r.get(15)?,
            talk_ms: r.get(16)?,
            agent_id: r.get(17)?,
            agent_name: r.get(18)?,
            end_reason: r.get(19)?,
            end_detail: r.get(20)?,
            flow_errors: r.get(21)?,
            media: r.get(22)?,
        })
    }

    pub(crate) fn decode(self) -> Result<Interaction, StoreError> {
        let [arrived, answered, queued, offered, agent_answered, ended] = self.times;
        let end_reason = match self.end_reason.as_deref() {
            None => None,
            Some(s) => Some(EndReason::parse(s).ok_or(StoreError::Corrupt { what: "end_reason" })?),
        };
        let priority = match self.priority {
            None => None,
            Some(p) => Some(u8::try_from(p).map_err(|_| StoreError::Corrupt { what: "priority" })?),
        };
        Ok(Interaction {
            call_id: self.call_id,
            ani: self.ani,
            dnis: self.dnis,
            user_id: self.user_id,
            ticket_id: self.ticket_id,
            language: self.language,
            menu_path: from_json(&self.menu_path, "menu_path")?,
            queue: self.queue,
            priority,
            arrived_at: ts(arrived.ok_or(StoreError::Corrupt { what: "arrived_at" })?)?,
            answered_at: opt_ts(answered)?,
            queued_at: opt_ts(queued)?,
            offered_at: opt_ts(offered)?,
            agent_answered_at: opt_ts(agent_answered)?,
            ended_at: opt_ts(ended)?,
            wait_seconds: ms_to_secs(self.wait_ms),
            talk_seconds: ms_to_secs(self.talk_ms),
            agent_id: self.agent_id,
            agent_name: self.agent_name,
            end_reason,
            end_detail: self.end_detail,
            flow_errors: from_json(&self.flow_errors, "flow_errors")?,
            media: self
                .media
                .as_deref()
                .map(|m| from_json(m, "media"))
                .transpose()?,
        })
    }
}
