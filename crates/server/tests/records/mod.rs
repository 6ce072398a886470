//! Helpers of the `records_*` end-to-end tests: a Zendesk sandbox behind a scriptable gate
//! that logs every request with its times, the real `ringdesk` binary run as child
//! processes on a SQLite file in a temporary directory, and readers for what they leave
//! behind (interaction records, outbox entries, notes on tickets).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, unused_imports)]

pub mod bin;
pub mod gate;
pub mod notes;
pub mod serve;
#[path = "../support/serve_child.rs"]
pub mod serve_child;

pub use bin::{call, interaction, interactions, outbox, outbox_retry, CallBuilder, CallRun};
pub use gate::{Gate, Hit, PutRule};
pub use notes::{marker_in, notes_on, Note};
pub use serve::Serve;
