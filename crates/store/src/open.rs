//! Opening SQLite connections with ringdesk's settings: WAL, busy timeout, durability level.
//!
//! Durability: `synchronous=FULL` (the default) fsyncs the WAL at every commit, so a recorded
//! call and its outbox items survive a power loss as well as a `kill -9`. `NORMAL` is faster
//! (fsync only at checkpoints) and still survives a process crash, but the last commits can be
//! lost if the machine loses power. Calls end at human rates, so FULL's fsync per commit is cheap.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: survives process crash and power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives process crash; power loss may lose the last commits.
    Normal,
}

/// Options for [`crate::Store::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    pub durability: Durability,
    /// How long a statement waits for another process's lock before failing with `Busy`.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens (creating if needed) a connection configured for the store; `read_only` sets
/// `query_only` so a bug cannot write through the reader.
pub(crate) fn open_connection(
    path: &Path,
    opts: &StoreOptions,
    read_only: bool,
) -> Result<Connection, StoreError> {
    let fail = |source| StoreError::Open {
        path: path.display().to_string(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
    conn.busy_timeout(opts.busy_timeout).map_err(fail)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "store: WAL journal mode not available");
    }
    let sync = match opts.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(fail)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(fail)?;
    if read_only {
        conn.pragma_update(None, "query_only", true).map_err(fail)?;
    }
    Ok(conn)
}
