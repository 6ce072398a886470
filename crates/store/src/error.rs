//! The crate's error type: what can go wrong opening, migrating, reading and writing the store.
//!
//! Messages never contain request bodies, header values or other payload text, so they are
//! safe to log.

use thiserror::Error;

/// Everything the store can fail with.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database file could not be opened or configured.
    #[error("cannot open store at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    /// The database file could not be created (with owner-only permissions).
    #[error("cannot create store file {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file was written by a newer ringdesk (its schema version is unknown here).
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    /// A schema migration failed (the file is left at the previous version).
    #[error("migration {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    /// The database stayed locked longer than the busy timeout (another process holds it).
    #[error("store is busy (locked by another connection) during {op}")]
    Busy { op: &'static str },
    /// Any other SQLite failure.
    #[error("store {op} failed: {source}")]
    Sqlite {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be decoded (corrupt or hand-edited row).
    #[error("stored {what} is malformed")]
    Corrupt { what: &'static str },
    /// Input exceeds a size bound.
    #[error("{what} is too large ({size} > {max})")]
    TooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },
    /// Input is invalid (empty required field, bad value).
    #[error("invalid {what}: {reason}")]
    Invalid {
        what: &'static str,
        reason: &'static str,
    },
    /// No outbox item or interaction with that id.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The operation is not allowed in the item's current state (e.g. dropping an in-flight item).
    #[error("outbox item {id} is {state}; cannot {op}")]
    WrongState {
        id: i64,
        state: &'static str,
        op: &'static str,
    },
    /// A blocking task running the query was cancelled or panicked, or a lock was poisoned.
    #[error("store task failed: {0}")]
    Task(&'static str),
    /// The PostgreSQL URL or options are unusable (the reason never repeats the URL: it
    /// may hold a password).
    #[error("PostgreSQL store settings: {0}")]
    Settings(String),
    /// A PostgreSQL failure: no connection, a lost connection, or a statement refused.
    /// The reason is the server's error code and message, or the client's; never a
    /// parameter value or a password.
    #[error("store {op} failed (PostgreSQL {target}): {reason}")]
    Postgres {
        op: &'static str,
        target: String,
        reason: String,
    },
}

impl StoreError {
    /// Wraps a SQLite error, classifying lock timeouts as [`StoreError::Busy`].
    pub(crate) fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| {
            let busy = matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            );
            if busy {
                StoreError::Busy { op }
            } else {
                StoreError::Sqlite { op, source }
            }
        }
    }

    /// Wraps a PostgreSQL client error (see [`StoreError::Postgres`]).
    pub(crate) fn pg<'a>(
        op: &'static str,
        target: &'a str,
    ) -> impl FnOnce(tokio_postgres::Error) -> StoreError + 'a {
        move |e| StoreError::Postgres {
            op,
            target: target.to_owned(),
            reason: pg_reason(&e),
        }
    }

    /// True for lock timeouts (what the concurrency tests assert never happens).
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy { .. })
    }
}

/// What a PostgreSQL error says, safe to log: the SQLSTATE and the server's message, or
/// the client's own description (which names no parameter and no password).
pub(crate) fn pg_reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None if e.is_closed() => "the connection is closed".to_owned(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}
