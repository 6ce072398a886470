//! What the SIP server's defences refused, for metrics: requests over a rate limit, source
//! bans, stream connections refused, account lockouts, registrations with a contact host
//! the agent may not use.
//!
//! [`SipCounters`] is a shared handle like [`crate::ShedSwitch`]: whoever serves metrics
//! keeps a clone (it may exist before the server is bound), the server keeps it current.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::flood::FloodCounts;

/// Counts since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecurityCounts {
    /// Requests and datagrams dropped: over a per-source rate limit, or from a banned source.
    pub requests_refused: u64,
    /// Sources banned for going over a rate limit.
    pub bans: u64,
    /// Stream (TCP) connections refused: banned source, or a connection cap reached.
    pub connections_refused: u64,
    /// Agent accounts locked after failed REGISTERs.
    pub lockouts: u64,
    /// REGISTERs refused because a contact pointed at a host the agent may not use.
    pub contacts_refused: u64,
}

#[derive(Debug, Default)]
struct Inner {
    requests_refused: AtomicU64,
    bans: AtomicU64,
    connections_refused: AtomicU64,
    lockouts: AtomicU64,
    contacts_refused: AtomicU64,
}

/// A shared, always current view of [`SecurityCounts`]. Clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct SipCounters {
    inner: Arc<Inner>,
}

impl SipCounters {
    /// Counters at zero.
    pub fn new() -> SipCounters {
        SipCounters::default()
    }

    /// The counts now.
    pub fn snapshot(&self) -> SecurityCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SecurityCounts {
            requests_refused: load(&self.inner.requests_refused),
            bans: load(&self.inner.bans),
            connections_refused: load(&self.inner.connections_refused),
            lockouts: load(&self.inner.lockouts),
            contacts_refused: load(&self.inner.contacts_refused),
        }
    }

    /// Publish the flood guard's counts (taken under its lock, so they only grow).
    pub(crate) fn set_flood(&self, counts: FloodCounts) {
        let inner = &self.inner;
        inner
            .requests_refused
            .store(counts.requests_refused, Ordering::Relaxed);
        inner.bans.store(counts.bans, Ordering::Relaxed);
        inner
            .connections_refused
            .store(counts.connections_refused, Ordering::Relaxed);
    }

    /// Publish the registrar's counts (taken under its lock).
    pub(crate) fn set_registrar(&self, lockouts: u64, contacts_refused: u64) {
        self.inner.lockouts.store(lockouts, Ordering::Relaxed);
        self.inner
            .contacts_refused
            .store(contacts_refused, Ordering::Relaxed);
    }
}
