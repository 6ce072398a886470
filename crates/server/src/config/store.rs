//! `[store]`: where call records and the outbox live.
//!
//! ```toml
//! [store]
//! path = "ringdesk.sqlite"       # SQLite, one node (the default)
//! # PostgreSQL, shared by every node of a cluster (docs/cluster.md):
//! # url = "postgres://ringdesk@127.0.0.1:5432/ringdesk"   # or url_env
//! # password_env = "RINGDESK_STORE_PASSWORD"              # or password
//! # node = "node-a"              # this node's name; default: <host name>:<SIP port>
//! # pool_size = 8
//! # lease = "10s"                # a stopped node's work is released after this
//! # ca_file = "/etc/ringdesk/pg-ca.pem"   # trust these for the server's certificate
//! # plaintext_network = false    # true: a server on another machine, unencrypted
//! ```
//!
//! A server on another machine is reached over TLS, its certificate verified (Mozilla's
//! roots, or `ca_file`); one on this machine in plaintext unless the URL says
//! `sslmode=require`.
//!
//! With a URL the SQLite file is not used. The URL and password are secrets: read from the
//! file or the environment, never logged; only `host:port/db` is shown.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use ringdesk_secret::Secret;
use ringdesk_store::PostgresOptions;
use serde::Deserialize;

/// Longest accepted URL or password.
const MAX_SECRET_LEN: usize = 1024;
/// Most pooled connections per node.
const MAX_POOL: usize = 64;

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite database (when no URL is given).
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// A PostgreSQL connection URL.
    #[serde(default)]
    pub url: Option<Secret>,
    /// The environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// This node's name among the nodes sharing the database.
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    #[serde(default = "default_lease", with = "humantime_serde")]
    pub lease: Duration,
    #[serde(default)]
    pub plaintext_network: bool,
    /// PEM certificates to trust for the server's TLS certificate (default: Mozilla's).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
            url: None,
            url_env: None,
            password: None,
            password_env: None,
            node: None,
            pool_size: default_pool_size(),
            lease: default_lease(),
            plaintext_network: false,
            ca_file: None,
        }
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from("ringdesk.sqlite")
}

fn default_pool_size() -> usize {
    8
}

fn default_lease() -> Duration {
    Duration::from_secs(10)
}

impl StoreConfig {
    /// True when a PostgreSQL URL is configured (inline or by variable).
    pub fn is_postgres(&self) -> bool {
        self.url.is_some() || self.url_env.is_some()
    }

    /// This node's name in a shared store: `[store] node`, else `<host name>:<SIP port>`.
    pub fn node_name(&self, sip_port: u16) -> String {
        match &self.node {
            Some(n) => n.clone(),
            None => format!("{}:{sip_port}", host_name()),
        }
    }

    /// The PostgreSQL options, or `None` for SQLite. `sip_port` makes the default node
    /// name (`<host name>:<SIP port>`: two nodes on one host differ by port).
    pub fn postgres(
        &self,
        sip_port: u16,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<PostgresOptions>> {
        if !self.is_postgres() {
            if self.password.is_some()
                || self.password_env.is_some()
                || self.node.is_some()
                || self.ca_file.is_some()
            {
                bail!(
                    "[store] password, node and ca_file apply only with a PostgreSQL url (or url_env)"
                );
            }
            return Ok(None);
        }
        let url = ringdesk_secret::from_config(
            self.url.as_ref(),
            self.url_env.as_deref(),
            env,
            MAX_SECRET_LEN,
        )
        .map_err(|e| anyhow!("[store] url: {e}"))?;
        let password = match (&self.password, &self.password_env) {
            (None, None) => None,
            (inline, var) => Some(
                ringdesk_secret::from_config(inline.as_ref(), var.as_deref(), env, MAX_SECRET_LEN)
                    .map_err(|e| anyhow!("[store] password: {e}"))?,
            ),
        };
        let node = self.node_name(sip_port);
        if !ringdesk_store::pg::valid_node_name(&node) {
            bail!(
                "[store] node = {node:?}: 1-64 letters, digits, '-', '_', '.' or ':' \
                 (set it when the host name has others)"
            );
        }
        if self.pool_size == 0 || self.pool_size > MAX_POOL {
            bail!("[store] pool_size must be 1 to {MAX_POOL}");
        }
        if self.lease < Duration::from_secs(1) || self.lease > Duration::from_secs(300) {
            bail!("[store] lease must be between 1s and 300s");
        }
        let mut opts = PostgresOptions::new(url.expose(), node);
        opts.password = password.map(|p| p.expose().to_owned());
        opts.pool_size = self.pool_size;
        opts.lease = self.lease;
        opts.plaintext_network = self.plaintext_network;
        opts.ca_file = self.ca_file.clone();
        Ok(Some(opts))
    }
}

/// This machine's name (`localhost` when it has none that fits a node name).
fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name = name.trim();
    if ringdesk_store::pg::valid_node_name(name) && name.len() <= 56 {
        name.to_owned()
    } else {
        "localhost".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> StoreConfig {
        toml::from_str(text).unwrap()
    }

    fn env(var: &str) -> Option<String> {
        (var == "PGURL").then(|| "postgres://ringdesk@127.0.0.1/r".to_owned())
    }

    #[test]
    fn sqlite_unless_a_url_is_given() {
        assert!(StoreConfig::default()
            .postgres(5060, &env)
            .unwrap()
            .is_none());
        let err = parse("password = \"x\"").postgres(5060, &env).unwrap_err();
        assert!(
            err.to_string().contains("only with a PostgreSQL url"),
            "{err}"
        );
    }

    #[test]
    fn the_url_comes_from_the_environment_and_the_node_defaults_to_host_and_port() {
        let opts = parse("url_env = \"PGURL\"")
            .postgres(5070, &env)
            .unwrap()
            .unwrap();
        assert!(opts.node.ends_with(":5070"), "{}", opts.node);
        assert_eq!(opts.lease, Duration::from_secs(10));
        let err = parse("url_env = \"UNSET_VAR\"")
            .postgres(5070, &env)
            .unwrap_err();
        assert!(err.to_string().contains("UNSET_VAR"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_without_showing_secrets() {
        let base = "url = \"postgres://u:hunter2@127.0.0.1/r\"\n";
        for (extra, says) in [
            ("node = \"a b\"", "node"),
            ("pool_size = 0", "pool_size"),
            ("lease = \"100ms\"", "lease"),
            ("url_env = \"PGURL\"", "not both"),
        ] {
            let err = parse(&format!("{base}{extra}"))
                .postgres(5060, &env)
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{extra}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
