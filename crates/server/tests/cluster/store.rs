//! The `[store]` section of a node sharing a test PostgreSQL cluster's database (used by
//! `cluster.rs` and `cluster_queue.rs`, which both include `pg.rs` as their `pg` module).

use super::pg;

/// The `[store]` body of a node named `node` sharing the test cluster's database `r` (a
/// 2 s lease).
pub fn shared_store(pg: &pg::PgCluster, node: &str) -> String {
    format!(
        "url = {:?}\npassword = {:?}\nnode = {node:?}\nlease = \"2s\"\n",
        pg.url("r"),
        pg::PASSWORD
    )
}
