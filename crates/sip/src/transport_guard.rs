//! The flood guard at the transport: rsipstack's whitelist hook asks it about every UDP
//! datagram (dropped while its source is banned) and every new stream connection (refused
//! while the source is banned or a connection cap is reached), before anything is parsed.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use rsipstack::transport::transport_layer::TransportLayerInner;
use rsipstack::transport::TransportWhitelist;

use crate::flood::{FloodGuard, Verdict};

/// The flood guard shared by the transport hook and the request task.
pub(crate) type SharedGuard = Arc<Mutex<FloodGuard>>;

/// Lock the guard (a panic elsewhere leaves it usable: its state is always consistent).
pub(crate) fn lock(guard: &Mutex<FloodGuard>) -> MutexGuard<'_, FloodGuard> {
    guard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The whitelist installed on the transport layer.
pub(crate) struct TransportGuard {
    pub(crate) guard: SharedGuard,
    /// Where the guard's counts are published for metrics.
    pub(crate) counters: crate::counts::SipCounters,
    /// The transport layer, to count its open stream connections (weak: the layer owns
    /// this hook).
    pub(crate) layer: Weak<TransportLayerInner>,
}

#[async_trait::async_trait]
impl TransportWhitelist for TransportGuard {
    async fn allow(&self, ip: IpAddr) -> bool {
        let mut guard = lock(&self.guard);
        let verdict = guard.check_source(ip, Instant::now());
        if verdict == Verdict::Drop {
            self.counters.set_flood(guard.counts());
        }
        verdict == Verdict::Accept
    }

    async fn allow_connection(&self, ip: IpAddr) -> bool {
        let (total, from_ip) = self
            .layer
            .upgrade()
            .map_or((0, 0), |layer| layer.stream_connections(ip));
        let mut guard = lock(&self.guard);
        let verdict = guard.admit_connection(ip, total, from_ip, Instant::now());
        if verdict == Verdict::Drop {
            self.counters.set_flood(guard.counts());
        }
        verdict == Verdict::Accept
    }
}
