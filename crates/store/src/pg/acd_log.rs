//! The shared queue's log (decision 0019): the routing core's inputs in the one order every
//! node applies them in. An append takes the head row's lock, so `seq` is given out in
//! commit order and a reader that saw `seq` N has seen every row before it; `at_ms` is the
//! database's clock, never going back. Each append wakes every node (`NOTIFY ringdesk_acd`).
//! The rows are opaque text here: what they mean is the server's business.

use super::DB_NOW_MS as DB_NOW;
use super::{prepared, Pg};
use crate::StoreError;

/// The channel every node's queue follows.
pub(crate) const CHANNEL: &str = "ringdesk_acd";

/// Longest body accepted, in bytes (an input names a call, an agent, a queue and a few
/// bounded fields: far less).
pub const MAX_BODY: usize = 16 * 1024;

/// Most rows one read returns.
pub const MAX_READ: i64 = 2_000;

/// One input of the shared queue, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdLogRow {
    /// Its place in the order (from 1, no gaps).
    pub seq: i64,
    /// When it was appended: the database's clock in Unix milliseconds, never less than
    /// the row before's.
    pub at_ms: i64,
    /// The node that appended it.
    pub node: String,
    /// The input (the server's JSON).
    pub body: String,
}

/// Appends `bodies` in order, in one transaction, as this node; returns their rows.
pub(crate) async fn append(pg: &Pg, bodies: &[String]) -> Result<Vec<AcdLogRow>, StoreError> {
    if let Some(big) = bodies.iter().find(|b| b.len() > MAX_BODY) {
        return Err(StoreError::Settings(format!(
            "a queue input of {} bytes is over the {MAX_BODY}-byte bound",
            big.len()
        )));
    }
    let op = "append to the shared queue's log";
    let mut client = pg.client(op).await?;
    let tx = client.transaction().await.map_err(pg.err(op))?;
    let head = prepared(
        pg,
        &tx,
        &format!(
            "UPDATE acd_log_head SET seq = seq + $1, at_ms = GREATEST(at_ms, {DB_NOW})
             WHERE id = 1 RETURNING seq, at_ms"
        ),
        op,
    )
    .await?;
    let n = i64::try_from(bodies.len()).unwrap_or(i64::MAX);
    let row = tx.query_one(&head, &[&n]).await.map_err(pg.err(op))?;
    let (last, at_ms): (i64, i64) = (row.get(0), row.get(1));
    let insert = prepared(
        pg,
        &tx,
        "INSERT INTO acd_log (seq, at_ms, node, body) VALUES ($1, $2, $3, $4)",
        op,
    )
    .await?;
    let mut rows = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.iter().enumerate() {
        let seq = last - n + 1 + i64::try_from(i).unwrap_or(0);
        tx.execute(&insert, &[&seq, &at_ms, &pg.node(), body])
            .await
            .map_err(pg.err(op))?;
        rows.push(AcdLogRow {
            seq,
            at_ms,
            node: pg.node().to_owned(),
            body: body.clone(),
        });
    }
    let notify = prepared(pg, &tx, "SELECT pg_notify($1, '')", op).await?;
    tx.execute(&notify, &[&CHANNEL]).await.map_err(pg.err(op))?;
    tx.commit().await.map_err(pg.err(op))?;
    Ok(rows)
}

/// Rows after `seq`, in order, at most [`MAX_READ`].
pub(crate) async fn read_after(pg: &Pg, seq: i64) -> Result<Vec<AcdLogRow>, StoreError> {
    let op = "read the shared queue's log";
    let client = pg.client(op).await?;
    let stmt = prepared(
        pg,
        &client,
        "SELECT seq, at_ms, node, body FROM acd_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        op,
    )
    .await?;
    let rows = client
        .query(&stmt, &[&seq, &MAX_READ])
        .await
        .map_err(pg.err(op))?;
    Ok(rows
        .into_iter()
        .map(|r| AcdLogRow {
            seq: r.get(0),
            at_ms: r.get(1),
            node: r.get(2),
            body: r.get(3),
        })
        .collect())
}

/// The database's clock, in Unix milliseconds.
pub(crate) async fn db_now_ms(pg: &Pg) -> Result<i64, StoreError> {
    let op = "read the database's clock";
    let client = pg.client(op).await?;
    let row = client
        .query_one(&format!("SELECT {DB_NOW}"), &[])
        .await
        .map_err(pg.err(op))?;
    Ok(row.get(0))
}

/// Appends, inside the transaction `tx` (a lease renewal), that `node` is gone: every
/// node's queue then ends what that node held. Returns the row's `seq`.
pub(crate) async fn append_node_gone(
    tx: &deadpool_postgres::Transaction<'_>,
    pg: &Pg,
    node: &str,
) -> Result<i64, StoreError> {
    let op = "tell the shared queue a node is gone";
    let body = node_gone_body(node);
    let row = tx
        .query_one(
            &format!(
                "UPDATE acd_log_head SET seq = seq + 1, at_ms = GREATEST(at_ms, {DB_NOW})
                 WHERE id = 1 RETURNING seq, at_ms"
            ),
            &[],
        )
        .await
        .map_err(pg.err(op))?;
    let (seq, at_ms): (i64, i64) = (row.get(0), row.get(1));
    tx.execute(
        "INSERT INTO acd_log (seq, at_ms, node, body) VALUES ($1, $2, $3, $4)",
        &[&seq, &at_ms, &pg.node(), &body],
    )
    .await
    .map_err(pg.err(op))?;
    tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])
        .await
        .map_err(pg.err(op))?;
    Ok(seq)
}

/// The log body saying `node` is gone (its calls ended, its agents' registrations with it
/// lapsed): `{"kind":"node_gone","node":…}`, the shape the server's queue reads.
pub fn node_gone_body(node: &str) -> String {
    serde_json::json!({ "kind": "node_gone", "node": node }).to_string()
}
