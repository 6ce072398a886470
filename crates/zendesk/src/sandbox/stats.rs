//! Request counters of the sandbox, for tests and `GET /__sandbox/stats`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// All API requests (admin endpoints excluded).
    pub total: u64,
    /// By endpoint, e.g. `GET /api/v2/search.json`, `PUT /api/v2/tickets/{id}.json`.
    pub by_endpoint: BTreeMap<String, u64>,
    /// By response status.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests answered by an injected error.
    pub faulted: u64,
    /// Requests that hung.
    pub hung: u64,
    /// Requests refused 401.
    pub unauthorized: u64,
    /// Creations answered from a known `Idempotency-Key` (nothing created again).
    #[serde(default)]
    pub idempotent_replays: u64,
}

impl Stats {
    /// Count a request to `endpoint`.
    pub fn request(&mut self, endpoint: &str) {
        self.total += 1;
        *self.by_endpoint.entry(endpoint.to_owned()).or_default() += 1;
    }

    /// Count a response status.
    pub fn status(&mut self, status: u16) {
        *self.by_status.entry(status).or_default() += 1;
    }

    /// Requests to one endpoint.
    pub fn endpoint(&self, endpoint: &str) -> u64 {
        self.by_endpoint.get(endpoint).copied().unwrap_or(0)
    }
}
