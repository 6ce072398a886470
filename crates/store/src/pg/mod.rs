//! The PostgreSQL backend: the same records and outbox as SQLite, in a database that several
//! ringdesk nodes share (decision 0017).
//!
//! A pool of connections (deadpool-postgres over tokio-postgres) serves reads and writes;
//! each write is one transaction. Schema migrations run at connect under an advisory lock,
//! so nodes starting together migrate once. Outbox workers on every node claim due items
//! with `FOR UPDATE SKIP LOCKED` and are woken across nodes by `LISTEN/NOTIFY`
//! (`listen.rs`); each running worker holds a node lease (`nodes.rs`), and a node whose lease
//! runs out has its in-flight items turned uncertain by another, once.
//!
//! TLS (`tls.rs`): a server on another machine is reached over TLS, its certificate
//! verified (Mozilla's roots, or `ca_file`) and its name checked; plaintext to it must be
//! asked for. A server on this machine (loopback, a Unix socket) is reached in plaintext
//! unless the URL says `sslmode=require`.

mod acd_log;
mod admin;
mod desk_calls;
mod interactions;
mod listen;
mod nodes;
mod outbox;
mod schema;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::sync::Notify;
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// The database's clock in Unix milliseconds, in SQL (leases, the queue's log, pops).
pub(crate) const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

pub(crate) use acd_log::{
    append as acd_append, db_now_ms, read_after as acd_read, CHANNEL as ACD_CHANNEL,
};
pub use acd_log::{
    node_gone_body, AcdLogRow, MAX_BODY as ACD_LOG_MAX_BODY, MAX_READ as ACD_LOG_MAX_READ,
};
pub use desk_calls::MAX_BODY as DESK_CALL_MAX_BODY;
pub use nodes::NodeRenewal;
pub use schema::PG_SCHEMA_VERSION;

// The operations `Store` dispatches here, by the names it uses.
pub(crate) use admin::{
    counts as outbox_counts, drop_item as outbox_drop, purge_older_than,
    purge_outbox as outbox_purge, purge_preview, retry as outbox_retry,
};
pub(crate) use desk_calls::{get as desk_call_get, put as desk_call_put};
pub(crate) use interactions::{
    get as get_interaction, list as list_interactions, purge as purge_interactions, record_call,
};
pub(crate) use nodes::{holds_lease, join, leave, renew};
pub(crate) use outbox::{list as outbox_list, pass, recover_own, CHANNEL as OUTBOX_CHANNEL};

/// One item by id.
pub(crate) async fn outbox_get(pg: &Pg, id: i64) -> Result<Option<crate::OutboxEntry>, StoreError> {
    outbox::get(pg, &pg.client("get outbox item").await?, id).await
}

/// Adds one item for `call_id` (see [`crate::Store::outbox_add`]) and wakes every node.
pub(crate) async fn outbox_add(
    pg: &Pg,
    call_id: &str,
    item: &crate::OutboxItem,
    now: jiff::Timestamp,
) -> Result<(i64, bool), StoreError> {
    crate::limits::check_item(item)?;
    let mut client = pg.client("insert outbox item").await?;
    let tx = client
        .transaction()
        .await
        .map_err(pg.err("insert outbox item"))?;
    let added = outbox::insert(pg, &tx, Some(call_id), item, now).await?;
    outbox::notify(pg, &tx).await?;
    tx.commit().await.map_err(pg.err("insert outbox item"))?;
    Ok(added)
}

/// How to reach and use a PostgreSQL store.
#[derive(Clone)]
pub struct PostgresOptions {
    /// A libpq connection URL (`postgres://user@host:port/db`) or key=value string. It may
    /// hold a password; it is never logged or shown in an error.
    pub url: String,
    /// The password, when not in the URL (from the environment, say).
    pub password: Option<String>,
    /// This node's name in the `nodes` table and on the items its worker claims.
    pub node: String,
    /// Most connections this process opens (the outbox listener has one more).
    pub pool_size: usize,
    /// Longest wait for a connection (connecting, or a free one from the pool).
    pub connect_timeout: Duration,
    /// How long a node's lease lasts without renewal (its worker renews every third).
    pub lease: Duration,
    /// Accept a server on another machine over an unencrypted connection.
    pub plaintext_network: bool,
    /// PEM certificates to trust for the server's TLS certificate instead of Mozilla's
    /// roots (a private CA, or the server's own self-signed certificate).
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &"***")
            .field("node", &self.node)
            .field("pool_size", &self.pool_size)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl PostgresOptions {
    /// Options with the defaults: pool of 8, 5 s to connect, a 10 s lease, local servers only.
    pub fn new(url: impl Into<String>, node: impl Into<String>) -> Self {
        PostgresOptions {
            url: url.into(),
            password: None,
            node: node.into(),
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            lease: Duration::from_secs(10),
            plaintext_network: false,
            ca_file: None,
        }
    }
}

/// The connected backend.
pub(crate) struct Pg {
    pool: Pool,
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// `host:port/db`, for messages.
    target: String,
    node: String,
    /// Random per process: tells this process's lease from another's under the same name.
    incarnation: String,
    lease: Duration,
    /// The `LISTEN` tasks, one per channel followed.
    listeners: std::sync::Mutex<Vec<(&'static str, tokio::task::JoinHandle<()>)>>,
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Ok(mut listeners) = self.listeners.lock() {
            for (_, task) in listeners.drain(..) {
                task.abort();
            }
        }
    }
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg")
            .field("target", &self.target)
            .field("node", &self.node)
            .finish()
    }
}

/// A node name as stored: 1 to 64 characters, letters, digits, `-`, `_`, `.`, `:`.
pub fn valid_node_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl Pg {
    /// Parses the settings, connects, and brings the schema up to date.
    pub(crate) async fn connect(opts: PostgresOptions) -> Result<Pg, StoreError> {
        if !valid_node_name(&opts.node) {
            return Err(StoreError::Settings(
                "the node name must be 1-64 letters, digits, '-', '_', '.' or ':'".into(),
            ));
        }
        let mut config: tokio_postgres::Config = opts.url.parse().map_err(|_| {
            StoreError::Settings(
                "the URL is not a PostgreSQL connection string (postgres://user@host:port/db)"
                    .into(),
            )
        })?;
        if let Some(password) = &opts.password {
            config.password(password.as_bytes());
        }
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        config.connect_timeout(opts.connect_timeout);
        config.application_name(format!("ringdesk {}", opts.node));
        let target = describe(&config);
        tls::choose_mode(&mut config, &opts.url, opts.plaintext_network)?;
        let tls = tls::connector(opts.ca_file.as_deref())?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(opts.pool_size.max(1))
            .wait_timeout(Some(opts.connect_timeout))
            .create_timeout(Some(opts.connect_timeout))
            .recycle_timeout(Some(opts.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Settings(format!("connection pool: {e}")))?;
        let pg = Pg {
            pool,
            config,
            tls,
            target,
            node: opts.node,
            incarnation: format!("{:016x}", rand::random::<u64>()),
            lease: opts.lease,
            listeners: std::sync::Mutex::new(Vec::new()),
        };
        let mut client = pg.client("connect").await?;
        schema::migrate(&mut client, &pg.target).await?;
        Ok(pg)
    }

    /// `host:port/db` (no user, no password).
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// This node's name.
    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    /// How long this node's lease lasts.
    pub(crate) fn lease(&self) -> Duration {
        self.lease
    }

    /// A pooled connection.
    pub(crate) async fn client(&self, op: &'static str) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Postgres {
            op,
            target: self.target.clone(),
            reason: match e {
                deadpool_postgres::PoolError::Backend(e) => crate::error::pg_reason(&e),
                deadpool_postgres::PoolError::Timeout(_) => {
                    "no connection within the connect timeout".to_owned()
                }
                other => other.to_string(),
            },
        })
    }

    /// Starts following `NOTIFY` on `channel` (once per channel): each wakes `changed`.
    pub(crate) fn listen(&self, channel: &'static str, changed: Arc<Notify>) {
        let Ok(mut listeners) = self.listeners.lock() else {
            return;
        };
        if listeners.iter().all(|(c, _)| *c != channel) {
            let task = tokio::spawn(listen::run(
                channel,
                self.config.clone(),
                self.tls.clone(),
                self.target.clone(),
                changed,
            ));
            listeners.push((channel, task));
        }
    }

    /// Wraps a client error of operation `op`.
    pub(crate) fn err(
        &self,
        op: &'static str,
    ) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
        StoreError::pg(op, &self.target)
    }
}

/// `sql` prepared on `c`'s connection, from its statement cache after the first time (a
/// statement is parsed and planned once per pooled connection, not at every call).
pub(crate) async fn prepared<C: deadpool_postgres::GenericClient>(
    pg: &Pg,
    c: &C,
    sql: &str,
    op: &'static str,
) -> Result<tokio_postgres::Statement, StoreError> {
    c.prepare_cached(sql).await.map_err(pg.err(op))
}

/// `host:port/db` of a connection config, for logs and errors.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_names_no_user_or_password() {
        let config: tokio_postgres::Config = "postgres://ringdesk:hunter2@10.0.0.5:6543/calls"
            .parse()
            .unwrap();
        assert_eq!(describe(&config), "10.0.0.5:6543/calls");
    }

    #[test]
    fn node_names_are_bounded_and_plain() {
        assert!(valid_node_name("node-a.example:5060"));
        assert!(!valid_node_name(""));
        assert!(!valid_node_name("a b"));
        assert!(!valid_node_name(&"x".repeat(65)));
    }

    #[tokio::test]
    async fn a_bad_url_is_a_settings_error_that_does_not_repeat_it() {
        let err = Pg::connect(PostgresOptions::new("postgres://u:pw@host:notaport/x", "n"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Settings(_)), "{err}");
        assert!(!err.to_string().contains("pw"), "{err}");
    }
}
