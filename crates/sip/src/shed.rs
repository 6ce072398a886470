//! The load-shedding switch: while it is on, every new INVITE is answered `503 Service
//! Unavailable` with `Retry-After`, before any call state is created. Calls already in
//! progress (and their in-dialog requests, BYE, CANCEL, re-INVITE) are never touched.
//!
//! The SIP adapter does not decide when to shed: whoever owns the switch (the runtime's
//! load governor) turns it on and off. The adapter only reads it, once per new INVITE.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
struct Inner {
    shedding: AtomicBool,
    refused: AtomicU64,
}

/// A shared on/off switch for refusing new calls, and a count of the calls it refused.
/// Clones share the same switch. Off by default.
#[derive(Debug, Clone, Default)]
pub struct ShedSwitch {
    inner: Arc<Inner>,
}

impl ShedSwitch {
    /// A switch that is off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turn shedding on (`true`: new INVITEs get `503`) or off.
    pub fn set(&self, shedding: bool) {
        self.inner.shedding.store(shedding, Ordering::Relaxed);
    }

    /// Whether new calls are being refused.
    pub fn is_shedding(&self) -> bool {
        self.inner.shedding.load(Ordering::Relaxed)
    }

    /// New INVITEs refused because of the switch since it was created.
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// Counts one refused INVITE.
    pub(crate) fn count_refused(&self) {
        self.inner.refused.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    //! The switch is shared by its clones and counts refusals.
    use super::*;

    #[test]
    fn clones_share_the_switch_and_the_count() {
        let a = ShedSwitch::new();
        let b = a.clone();
        assert!(!a.is_shedding() && !b.is_shedding());
        b.set(true);
        assert!(a.is_shedding());
        a.count_refused();
        a.count_refused();
        assert_eq!(b.refused(), 2);
        a.set(false);
        assert!(!b.is_shedding());
        assert_eq!(ShedSwitch::default().refused(), 0);
    }
}
