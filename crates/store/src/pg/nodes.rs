//! Node leases: a running worker's node holds a row in `nodes` and renews it; when a node
//! stops renewing (killed, cut off), the first other node to see its lease run out removes
//! the row and, in the same transaction, turns the items it held in flight into uncertain
//! ones (checked with the helpdesk before they are sent again), and tells the shared queue
//! the node is gone (its calls end, its agents are released). The row's removal is what
//! makes each release happen once. Lease times are the database's clock.

use super::DB_NOW_MS as DB_NOW;
use std::time::Duration;

use jiff::Timestamp;

use super::Pg;
use crate::codec::ms;
use crate::StoreError;

/// What a renewal found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeRenewal {
    /// False when this process no longer held its lease: another node took it for dead
    /// (whatever it held in flight was released; the lease is taken again if the name is
    /// free), or another process runs under the same name.
    pub was_alive: bool,
    /// Nodes whose lease ran out, released by this renewal, each with how many in-flight
    /// items became uncertain.
    pub released: Vec<(String, usize)>,
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Takes this node's lease, unless a live process holds it under the same name
/// (`Ok(None)`: two nodes were given one name, or this node restarted within its lease;
/// try again later). Then makes the items its previous run left in flight uncertain and
/// returns how many.
pub(crate) async fn join(pg: &Pg, now: Timestamp) -> Result<Option<usize>, StoreError> {
    let client = pg.client("join the cluster").await?;
    let taken = client
        .execute(
            &format!(
                "INSERT INTO nodes (node, incarnation, started_at, renewed_at, lease_until)
                 VALUES ($1, $3, {DB_NOW}, {DB_NOW}, {DB_NOW} + $2)
                 ON CONFLICT (node) DO UPDATE SET incarnation = excluded.incarnation,
                     started_at = excluded.started_at, renewed_at = excluded.renewed_at,
                     lease_until = excluded.lease_until
                 WHERE nodes.lease_until < {DB_NOW}"
            ),
            &[&pg.node(), &lease_ms(pg.lease), &pg.incarnation],
        )
        .await
        .map_err(pg.err("join the cluster"))?;
    drop(client);
    if taken == 0 {
        return Ok(None);
    }
    super::outbox::recover_own(pg, now).await.map(Some)
}

/// Renews this node's lease and releases nodes whose lease ran out.
pub(crate) async fn renew(pg: &Pg, now: Timestamp) -> Result<NodeRenewal, StoreError> {
    let mut client = pg.client("renew the node lease").await?;
    let tx = client
        .transaction()
        .await
        .map_err(pg.err("renew the node lease"))?;
    let renewed = tx
        .execute(
            &format!(
                "UPDATE nodes SET renewed_at = {DB_NOW}, lease_until = {DB_NOW} + $2
                 WHERE node = $1 AND incarnation = $3"
            ),
            &[&pg.node(), &lease_ms(pg.lease), &pg.incarnation],
        )
        .await
        .map_err(pg.err("renew the node lease"))?;
    if renewed == 0 {
        tx.execute(
            &format!(
                "INSERT INTO nodes (node, incarnation, started_at, renewed_at, lease_until)
                 VALUES ($1, $3, {DB_NOW}, {DB_NOW}, {DB_NOW} + $2)
                 ON CONFLICT (node) DO NOTHING"
            ),
            &[&pg.node(), &lease_ms(pg.lease), &pg.incarnation],
        )
        .await
        .map_err(pg.err("renew the node lease"))?;
    }
    let dead = tx
        .query(
            &format!(
                "DELETE FROM nodes WHERE lease_until < {DB_NOW} AND node <> $1 RETURNING node"
            ),
            &[&pg.node()],
        )
        .await
        .map_err(pg.err("release stopped nodes"))?;
    let mut released = Vec::with_capacity(dead.len());
    for row in dead {
        let node: String = row.get(0);
        let items = tx
            .execute(
                "UPDATE outbox SET state = 'uncertain', updated_at = $1, claimed_by = NULL,
                     last_error = 'its node stopped while it was in flight'
                 WHERE state = 'in_flight' AND claimed_by = $2",
                &[&ms(now), &node],
            )
            .await
            .map_err(pg.err("release stopped nodes"))?;
        super::acd_log::append_node_gone(&tx, pg, &node).await?;
        released.push((node, usize::try_from(items).unwrap_or(usize::MAX)));
    }
    tx.commit().await.map_err(pg.err("renew the node lease"))?;
    Ok(NodeRenewal {
        was_alive: renewed == 1,
        released,
    })
}

/// Whether this process holds its node's lease now (joined, and not run out).
pub(crate) async fn holds_lease(pg: &Pg) -> Result<bool, StoreError> {
    let client = pg.client("check the node lease").await?;
    let row = client
        .query_opt(
            &format!(
                "SELECT 1 FROM nodes
                 WHERE node = $1 AND incarnation = $2 AND lease_until >= {DB_NOW}"
            ),
            &[&pg.node(), &pg.incarnation],
        )
        .await
        .map_err(pg.err("check the node lease"))?;
    Ok(row.is_some())
}

/// Gives the lease up (a clean stop): the row goes; items are finished by then.
pub(crate) async fn leave(pg: &Pg) -> Result<(), StoreError> {
    let client = pg.client("leave the cluster").await?;
    client
        .execute(
            "DELETE FROM nodes WHERE node = $1 AND incarnation = $2",
            &[&pg.node(), &pg.incarnation],
        )
        .await
        .map_err(pg.err("leave the cluster"))?;
    Ok(())
}
