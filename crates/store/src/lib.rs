//! Storage for ringdesk, in SQLite (one node, the default) or PostgreSQL (several nodes): interaction records, the durable outbox and its worker,
//! and embedded schema migrations.
//!
//! The runtime opens a [`Store`] at startup, records each call with
//! [`Store::record_call`] (the interaction and its durable HTTP requests in one
//! transaction), and runs one [`OutboxWorker`] with its own [`Deliverer`]. The CLI and admin
//! API use the list/show/retry/drop/counts methods. No rusqlite type appears in this API, so
//! another backend can be added behind the same types.

mod attempt;
mod codec;
mod commit;
mod db_interactions;
mod db_outbox;
mod db_outbox_admin;
mod db_retention;
mod deliver;
mod error;
mod interaction;
mod lease;
pub mod limits;
mod migrations;
mod open;
mod outbox;
mod perms;
pub mod pg;
mod policy;
mod record_retry;
mod store;
mod worker;
mod worker_lock;

pub use db_interactions::Recorded;
pub use db_retention::Purged;
pub use deliver::{CheckError, Clock, Deliverer, SystemClock, TokioClock};
pub use error::StoreError;
pub use interaction::{
    BridgeMedia, EndReason, FlowErrorRecord, Interaction, InteractionFilter, MenuStep, PacketCounts,
};
pub use migrations::SCHEMA_VERSION;
pub use open::{Durability, StoreOptions};
pub use outbox::{OutboxCounts, OutboxEntry, OutboxFilter, OutboxItem, OutboxState};
pub use perms::too_open as files_readable_by_others;
pub use pg::{
    node_gone_body, AcdLogRow, NodeRenewal, PostgresOptions, ACD_LOG_MAX_BODY, ACD_LOG_MAX_READ,
    DESK_CALL_MAX_BODY, PG_SCHEMA_VERSION,
};
pub use policy::{classify_status, Decision, DeliveryOutcome, RetryPolicy, StatusClass};
pub use record_retry::{RecordRetry, WriteStats};
pub use store::Store;
pub use worker::{OutboxWorker, WorkerConfig};
