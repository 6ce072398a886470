//! The screen pops of calls in the shared queue, for agent desktops on other nodes than
//! the one holding the call: written when a call joins a queue, read by a desktop that is
//! shown an offer of a call it does not know. Opaque text here (the server's JSON),
//! bounded, and kept a day at most: each write deletes the rows older than that.

use super::DB_NOW_MS as DB_NOW;
use super::{prepared, Pg};
use crate::StoreError;

/// Longest body accepted, in bytes (a screen pop is a handful of bounded fields).
pub const MAX_BODY: usize = 16 * 1024;

/// How long a row is kept, in milliseconds (a day).
const KEEP_MS: i64 = 24 * 3600 * 1000;

/// Writes (or replaces) the screen pop of `call`; drops the rows older than a day.
pub(crate) async fn put(pg: &Pg, call: &str, body: &str) -> Result<(), StoreError> {
    if body.len() > MAX_BODY {
        return Err(StoreError::Settings(format!(
            "a screen pop of {} bytes is over the {MAX_BODY}-byte bound",
            body.len()
        )));
    }
    let op = "write a call's screen pop";
    let client = pg.client(op).await?;
    let upsert = prepared(
        pg,
        &client,
        &format!(
            "INSERT INTO desk_calls (call_id, at_ms, body) VALUES ($1, {DB_NOW}, $2)
             ON CONFLICT (call_id) DO UPDATE SET at_ms = EXCLUDED.at_ms, body = EXCLUDED.body"
        ),
        op,
    )
    .await?;
    client
        .execute(&upsert, &[&call, &body])
        .await
        .map_err(pg.err(op))?;
    let purge = prepared(
        pg,
        &client,
        &format!("DELETE FROM desk_calls WHERE at_ms < {DB_NOW} - $1"),
        op,
    )
    .await?;
    client
        .execute(&purge, &[&KEEP_MS])
        .await
        .map_err(pg.err(op))?;
    Ok(())
}

/// The screen pop of `call`, if a node wrote one in the last day.
pub(crate) async fn get(pg: &Pg, call: &str) -> Result<Option<String>, StoreError> {
    let op = "read a call's screen pop";
    let client = pg.client(op).await?;
    let stmt = prepared(
        pg,
        &client,
        &format!("SELECT body FROM desk_calls WHERE call_id = $1 AND at_ms >= {DB_NOW} - $2"),
        op,
    )
    .await?;
    let row = client
        .query_opt(&stmt, &[&call, &KEEP_MS])
        .await
        .map_err(pg.err(op))?;
    Ok(row.map(|r| r.get(0)))
}
