//! Credentials: the workspace's one `Secret` type (Debug and Display print `***`).

pub use ringdesk_secret::Secret;
