//! Shared helpers of the end-to-end tests: an in-process Zendesk sandbox whose every
//! request is recorded, the real `ringdesk` binary run as a child process against it, and
//! its `--json` transcript parsed into typed views for assertions.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, unused_imports)]

pub mod run;
pub mod sandbox;
pub mod transcript;

pub use run::{call, check, CallBuilder, CallOutcome, CheckOutcome};
pub use sandbox::{Recorded, Sandbox};
pub use transcript::{Http, Play, QueueDecision, Transcript};

/// Names of every demo end-user, with their user id (to prove nothing personal leaks).
pub fn demo_customer_names() -> Vec<(u64, String)> {
    let data = ringdesk_zendesk::sandbox::DataSet::demo().expect("demo data loads");
    data.users
        .values()
        .filter(|u| u.role == ringdesk_zendesk::types::Role::EndUser)
        .map(|u| (u.id, u.name.clone()))
        .collect()
}
