//! Opening the configured store for `serve` and the record commands: SQLite at `[store]
//! path`, or PostgreSQL when `[store]` has a URL (its errors name `host:port/db`, never the
//! URL or password).

use anyhow::{anyhow, Result};
use ringdesk_store::Store;

use crate::config::{process_env, Config};

/// Opens (creating or migrating) the store `config` names.
pub async fn open(config: &Config) -> Result<Store> {
    match config
        .store
        .postgres(config.sip.listen.port(), &process_env)?
    {
        Some(opts) => Store::connect_postgres(opts)
            .await
            .map_err(|e| anyhow!("cannot open the store: {e}")),
        None => {
            let path = &config.store.path;
            Store::open(path).map_err(|e| anyhow!("cannot open the store {}: {e}", path.display()))
        }
    }
}
