//! Digest nonces: issued with a keyed MAC, an issue time and a counter (no per-challenge
//! state), checked for authenticity and age, and guarded against replay by remembering the
//! last nonce count accepted per nonce (bounded). A nonce is never accepted twice: when the
//! table is full the oldest entry is forgotten and every nonce issued up to it (used or not)
//! becomes stale, so a forgotten nonce cannot come back. Sans-IO: the time is passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Most nonces remembered for replay protection; beyond it the oldest are forgotten (a
/// forgotten nonce, and any nonce issued before it, can no longer be used: it is answered
/// `stale=true`).
pub(crate) const MAX_TRACKED_NONCES: usize = 4096;

/// Length of a nonce: 16 hex digits of issue time, 8 of counter, 32 of MAC.
const NONCE_LEN: usize = 56;

/// What a presented nonce is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    /// Ours, young enough, not replayed.
    Fresh,
    /// Ours but too old or already used with this count: challenge again with `stale=true`.
    Stale,
    /// Not one of ours.
    Invalid,
}

/// Issues and checks nonces for one realm.
pub(crate) struct Nonces {
    key: [u8; 32],
    epoch: Instant,
    counter: u32,
    ttl: Duration,
    /// nonce → (issue order, last nonce count accepted; 0 for "used without qop").
    used: HashMap<String, (IssueOrder, u32)>,
    /// The newest issue order ever forgotten from `used`: a nonce issued at or before it
    /// and not in `used` may have been accepted already, so it is stale.
    forgotten: Option<IssueOrder>,
}

/// Where a nonce stands in issue order: (milliseconds since the epoch, counter).
type IssueOrder = (u64, u32);

impl Nonces {
    /// `key` must be random per process (it authenticates our nonces); `epoch` is any instant
    /// not later than the first `now` passed.
    pub(crate) fn new(key: [u8; 32], epoch: Instant, ttl: Duration) -> Nonces {
        Nonces {
            key,
            epoch,
            counter: 0,
            ttl,
            used: HashMap::new(),
            forgotten: None,
        }
    }

    fn mac(&self, payload: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(payload.as_bytes());
        let digest = hasher.finalize();
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// A new nonce issued at `now`.
    pub(crate) fn issue(&mut self, now: Instant) -> String {
        self.counter = self.counter.wrapping_add(1);
        let millis = u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX);
        let payload = format!("{millis:016x}{:08x}", self.counter);
        let mac = self.mac(&payload);
        payload + &mac
    }

    /// The issue order of an authentic nonce of ours.
    fn order_of(&self, nonce: &str) -> Option<IssueOrder> {
        if nonce.len() != NONCE_LEN || !nonce.is_ascii() {
            return None;
        }
        let (payload, mac) = nonce.split_at(24);
        let expected = self.mac(payload);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let millis = u64::from_str_radix(payload.get(..16)?, 16).ok()?;
        let counter = u32::from_str_radix(payload.get(16..)?, 16).ok()?;
        Some((millis, counter))
    }

    fn issued_at(&self, order: IssueOrder) -> Option<Instant> {
        self.epoch.checked_add(Duration::from_millis(order.0))
    }

    /// Check `nonce` presented with nonce count `nc` (`None` without qop) at `now`.
    pub(crate) fn check(&self, nonce: &str, nc: Option<u32>, now: Instant) -> NonceCheck {
        let Some(order) = self.order_of(nonce) else {
            return NonceCheck::Invalid;
        };
        let Some(issued) = self.issued_at(order) else {
            return NonceCheck::Invalid;
        };
        if now.saturating_duration_since(issued) > self.ttl {
            return NonceCheck::Stale;
        }
        match (self.used.get(nonce), nc) {
            (Some(&(_, last)), Some(nc)) if nc <= last => NonceCheck::Stale,
            (Some(_), None) => NonceCheck::Stale,
            (Some(_), Some(_)) => NonceCheck::Fresh,
            // Not remembered: fresh only if issued after everything forgotten.
            (None, _) if self.forgotten.is_some_and(|floor| order <= floor) => NonceCheck::Stale,
            (None, _) => NonceCheck::Fresh,
        }
    }

    /// Remember that `nonce` was accepted with count `nc`, so it cannot be replayed.
    pub(crate) fn mark_used(&mut self, nonce: &str, nc: Option<u32>, now: Instant) {
        let Some(order) = self.order_of(nonce) else {
            return;
        };
        if self.used.len() >= MAX_TRACKED_NONCES && !self.used.contains_key(nonce) {
            // Entries past their lifetime are stale by age anyway: drop them first.
            let (epoch, ttl) = (self.epoch, self.ttl);
            let alive = |order: &IssueOrder| {
                epoch
                    .checked_add(Duration::from_millis(order.0))
                    .is_some_and(|issued| now.saturating_duration_since(issued) <= ttl)
            };
            self.used.retain(|_, (order, _)| alive(order));
            if self.used.len() >= MAX_TRACKED_NONCES {
                if let Some((oldest, order)) = self
                    .used
                    .iter()
                    .min_by_key(|(_, (order, _))| *order)
                    .map(|(nonce, (order, _))| (nonce.clone(), *order))
                {
                    self.used.remove(&oldest);
                    self.forgotten = Some(self.forgotten.map_or(order, |f| f.max(order)));
                }
            }
        }
        self.used.insert(nonce.to_owned(), (order, nc.unwrap_or(0)));
    }
}

#[cfg(test)]
mod tests {
    //! Nonce authenticity, expiry and replay on virtual time.
    use super::*;

    fn nonces() -> (Nonces, Instant) {
        let t0 = Instant::now();
        (Nonces::new([7; 32], t0, Duration::from_secs(300)), t0)
    }

    #[test]
    fn issued_nonces_are_fresh_then_stale() {
        let (mut n, t0) = nonces();
        let a = n.issue(t0);
        let b = n.issue(t0);
        assert_ne!(a, b);
        assert_eq!(a.len(), NONCE_LEN);
        assert_eq!(
            n.check(&a, Some(1), t0 + Duration::from_secs(299)),
            NonceCheck::Fresh
        );
        assert_eq!(
            n.check(&a, Some(1), t0 + Duration::from_secs(301)),
            NonceCheck::Stale
        );
    }

    #[test]
    fn forged_or_foreign_nonces_are_invalid() {
        let (mut n, t0) = nonces();
        let good = n.issue(t0);
        let mut forged = good.clone();
        forged.replace_range(0..1, if good.starts_with('0') { "1" } else { "0" });
        assert_eq!(n.check(&forged, None, t0), NonceCheck::Invalid);
        let other = Nonces::new([8; 32], t0, Duration::from_secs(300)).issue(t0);
        assert_eq!(n.check(&other, None, t0), NonceCheck::Invalid);
        for junk in ["", "zz", &"é".repeat(28), &"0".repeat(NONCE_LEN)] {
            assert_eq!(n.check(junk, None, t0), NonceCheck::Invalid);
        }
    }

    #[test]
    fn replayed_counts_are_stale() {
        let (mut n, t0) = nonces();
        let a = n.issue(t0);
        n.mark_used(&a, Some(1), t0);
        assert_eq!(n.check(&a, Some(1), t0), NonceCheck::Stale);
        assert_eq!(n.check(&a, Some(2), t0), NonceCheck::Fresh);
        let b = n.issue(t0);
        n.mark_used(&b, None, t0);
        assert_eq!(n.check(&b, None, t0), NonceCheck::Stale);
    }

    #[test]
    fn replay_memory_is_bounded() {
        let (mut n, t0) = nonces();
        for _ in 0..MAX_TRACKED_NONCES + 10 {
            let nonce = n.issue(t0);
            n.mark_used(&nonce, Some(1), t0);
        }
        assert!(n.used.len() <= MAX_TRACKED_NONCES);
    }

    /// Decision 0003: a nonce is never accepted twice, even once the replay table has
    /// forgotten it (before the fix, an evicted nonce was fresh again).
    #[test]
    fn an_evicted_nonce_is_never_accepted_again() {
        let (mut n, t0) = nonces();
        let unused_old = n.issue(t0);
        let first = n.issue(t0);
        n.mark_used(&first, None, t0);
        for _ in 0..MAX_TRACKED_NONCES {
            let nonce = n.issue(t0);
            n.mark_used(&nonce, Some(1), t0);
        }
        assert!(!n.used.contains_key(&first), "the first nonce was evicted");
        assert_eq!(n.check(&first, None, t0), NonceCheck::Stale);
        assert_eq!(n.check(&first, Some(1), t0), NonceCheck::Stale);
        // Issued before the forgotten one: cannot be told from a used one, so stale too.
        assert_eq!(n.check(&unused_old, Some(1), t0), NonceCheck::Stale);
        // Nonces issued after it are unaffected.
        let young = n.issue(t0);
        assert_eq!(n.check(&young, Some(1), t0), NonceCheck::Fresh);
    }
}
