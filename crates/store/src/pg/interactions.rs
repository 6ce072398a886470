//! Interaction records in PostgreSQL: the call and its durable requests written in one
//! transaction, read back by id or filter, purged by age. The checks, bounds and decoding
//! are SQLite's (`db_interactions.rs`); only the SQL's dialect differs.

use std::sync::OnceLock;

use jiff::Timestamp;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{outbox, Pg};
use crate::codec::{ms, opt_ms, secs_to_ms};
use crate::db_interactions::{prepare, Prepared, RawInteraction, COLUMNS};
use crate::{EndReason, Interaction, InteractionFilter, OutboxItem, Recorded, StoreError};

/// Columns written by [`record_call`], in bind order.
const WRITTEN: [&str; 24] = [
    "call_id",
    "ani",
    "dnis",
    "user_id",
    "ticket_id",
    "language",
    "menu_path",
    "queue",
    "priority",
    "arrived_at",
    "answered_at",
    "queued_at",
    "offered_at",
    "agent_answered_at",
    "ended_at",
    "wait_ms",
    "talk_ms",
    "agent_id",
    "agent_name",
    "end_reason",
    "end_detail",
    "flow_errors",
    "media",
    "updated_at",
];

/// Inserts a record unless one with its call id exists (then nothing changes).
fn insert_if_absent_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let values: Vec<String> = (1..=WRITTEN.len()).map(|n| format!("${n}")).collect();
        format!(
            "INSERT INTO interactions ({}) VALUES ({}) ON CONFLICT (call_id) DO NOTHING",
            WRITTEN.join(", "),
            values.join(", ")
        )
    })
}

fn upsert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let values: Vec<String> = (1..=WRITTEN.len()).map(|n| format!("${n}")).collect();
        let updates: Vec<String> = WRITTEN[1..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO interactions ({}) VALUES ({}) ON CONFLICT (call_id) DO UPDATE SET {}",
            WRITTEN.join(", "),
            values.join(", "),
            updates.join(", ")
        )
    })
}

/// Records a call and its items in one transaction (see [`crate::Store::record_call`]);
/// with `if_absent`, a record already there is kept as it is (and no item is added).
pub(crate) async fn record_call(
    pg: &Pg,
    interaction: Interaction,
    items: &[OutboxItem],
    now: Timestamp,
    if_absent: bool,
) -> Result<Recorded, StoreError> {
    let Prepared {
        i,
        menu_path,
        flow_errors,
        media,
    } = prepare(interaction, items)?;
    let priority = i.priority.map(i64::from);
    let end_reason = i.end_reason.map(EndReason::as_str);
    let (arrived, answered, queued) =
        (ms(i.arrived_at), opt_ms(i.answered_at), opt_ms(i.queued_at));
    let (offered, agent_answered, ended) = (
        opt_ms(i.offered_at),
        opt_ms(i.agent_answered_at),
        opt_ms(i.ended_at),
    );
    let (wait, talk, updated) = (
        secs_to_ms(i.wait_seconds),
        secs_to_ms(i.talk_seconds),
        ms(now),
    );
    let params: [&(dyn ToSql + Sync); WRITTEN.len()] = [
        &i.call_id,
        &i.ani,
        &i.dnis,
        &i.user_id,
        &i.ticket_id,
        &i.language,
        &menu_path,
        &i.queue,
        &priority,
        &arrived,
        &answered,
        &queued,
        &offered,
        &agent_answered,
        &ended,
        &wait,
        &talk,
        &i.agent_id,
        &i.agent_name,
        &end_reason,
        &i.end_detail,
        &flow_errors,
        &media,
        &updated,
    ];
    let mut client = pg.client("write interaction").await?;
    let tx = client
        .transaction()
        .await
        .map_err(pg.err("write interaction"))?;
    let sql = if if_absent {
        insert_if_absent_sql()
    } else {
        upsert_sql()
    };
    let stmt = super::prepared(pg, &tx, sql, "write interaction").await?;
    let written = tx
        .execute(&stmt, &params)
        .await
        .map_err(pg.err("write interaction"))?;
    let mut recorded = Recorded::default();
    if if_absent && written == 0 {
        return Ok(recorded);
    }
    for item in items {
        let (id, fresh) = outbox::insert(pg, &tx, Some(&i.call_id), item, now).await?;
        if !fresh {
            recorded.duplicates += 1;
        }
        recorded.outbox_ids.push(id);
    }
    if !items.is_empty() {
        outbox::notify(pg, &tx).await?;
    }
    tx.commit().await.map_err(pg.err("write interaction"))?;
    Ok(recorded)
}

/// One interaction by call id.
pub(crate) async fn get(pg: &Pg, call_id: &str) -> Result<Option<Interaction>, StoreError> {
    let client = pg.client("get interaction").await?;
    let sql = format!("SELECT {COLUMNS} FROM interactions WHERE call_id = $1");
    let row = client
        .query_opt(&sql, &[&call_id])
        .await
        .map_err(pg.err("get interaction"))?;
    row.map(|r| raw(&r).and_then(RawInteraction::decode))
        .transpose()
}

/// Interactions matching `f`, newest first.
pub(crate) async fn list(pg: &Pg, f: &InteractionFilter) -> Result<Vec<Interaction>, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut add = |clause: &str, value: Box<dyn ToSql + Sync + Send>| {
        args.push(value);
        clauses.push(format!("{clause} ${}", args.len()));
    };
    if let Some(since) = f.since {
        add("arrived_at >=", Box::new(ms(since)));
    }
    if let Some(until) = f.until {
        add("arrived_at <", Box::new(ms(until)));
    }
    if let Some(ani) = &f.ani {
        add("ani =", Box::new(ani.clone()));
    }
    if let Some(ticket) = &f.ticket_id {
        add("ticket_id =", Box::new(ticket.clone()));
    }
    if let Some(reason) = f.end_reason {
        add("end_reason =", Box::new(reason.as_str().to_owned()));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    args.push(Box::new(i64::from(f.effective_limit())));
    args.push(Box::new(i64::from(f.offset.unwrap_or(0))));
    let n = args.len();
    let sql = format!(
        "SELECT {COLUMNS} FROM interactions {where_sql}
         ORDER BY arrived_at DESC, call_id DESC LIMIT ${} OFFSET ${n}",
        n - 1
    );
    let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref() as _).collect();
    let client = pg.client("list interactions").await?;
    let rows = client
        .query(&sql, &refs)
        .await
        .map_err(pg.err("list interactions"))?;
    rows.iter()
        .map(|r| raw(r).and_then(RawInteraction::decode))
        .collect()
}

/// Deletes interactions that arrived before `before`. Returns how many.
pub(crate) async fn purge(pg: &Pg, before: Timestamp) -> Result<usize, StoreError> {
    let client = pg.client("purge interactions").await?;
    let n = client
        .execute(
            "DELETE FROM interactions WHERE arrived_at < $1",
            &[&ms(before)],
        )
        .await
        .map_err(pg.err("purge interactions"))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A row of [`COLUMNS`] as SQLite's decoder takes it.
fn raw(r: &Row) -> Result<RawInteraction, StoreError> {
    let get = |_: tokio_postgres::Error| StoreError::Corrupt {
        what: "interaction row",
    };
    Ok(RawInteraction {
        call_id: r.try_get(0).map_err(get)?,
        ani: r.try_get(1).map_err(get)?,
        dnis: r.try_get(2).map_err(get)?,
        user_id: r.try_get(3).map_err(get)?,
        ticket_id: r.try_get(4).map_err(get)?,
        language: r.try_get(5).map_err(get)?,
        menu_path: r.try_get(6).map_err(get)?,
        queue: r.try_get(7).map_err(get)?,
        priority: r.try_get(8).map_err(get)?,
        times: [
            r.try_get(9).map_err(get)?,
            r.try_get(10).map_err(get)?,
            r.try_get(11).map_err(get)?,
            r.try_get(12).map_err(get)?,
            r.try_get(13).map_err(get)?,
            r.try_get(14).map_err(get)?,
        ],
        wait_ms: r.try_get(15).map_err(get)?,
        talk_ms: r.try_get(16).map_err(get)?,
        agent_id: r.try_get(17).map_err(get)?,
        agent_name: r.try_get(18).map_err(get)?,
        end_reason: r.try_get(19).map_err(get)?,
        end_detail: r.try_get(20).map_err(get)?,
        flow_errors: r.try_get(21).map_err(get)?,
        media: r.try_get(22).map_err(get)?,
    })
}
