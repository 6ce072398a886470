//! Digest nonces: issued with a keyed MAC and an issue time (no per-challenge state), checked
//! for authenticity and age, and guarded against replay by remembering the last nonce count
//! accepted per nonce (bounded). Sans-IO: the time is passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Most nonces remembered for replay protection; beyond it the oldest are forgotten (a
/// forgotten nonce can no longer be used: it is answered `stale=true`).
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
    /// nonce → (issue time, last nonce count accepted; 0 for "used without qop").
    used: HashMap<String, (Instant, u32)>,
}

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

    fn issued_at(&self, nonce: &str) -> Option<Instant> {
        if nonce.len() != NONCE_LEN || !nonce.is_ascii() {
            return None;
        }
        let (payload, mac) = nonce.split_at(24);
        let expected = self.mac(payload);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let millis = u64::from_str_radix(payload.get(..16)?, 16).ok()?;
        self.epoch.checked_add(Duration::from_millis(millis))
    }

    /// Check `nonce` presented with nonce count `nc` (`None` without qop) at `now`.
    pub(crate) fn check(&self, nonce: &str, nc: Option<u32>, now: Instant) -> NonceCheck {
        let Some(issued) = self.issued_at(nonce) else {
            return NonceCheck::Invalid;
        };
        if now.saturating_duration_since(issued) > self.ttl {
            return NonceCheck::Stale;
        }
        match (self.used.get(nonce), nc) {
            (Some(&(_, last)), Some(nc)) if nc <= last => NonceCheck::Stale,
            (Some(_), None) => NonceCheck::Stale,
            _ => NonceCheck::Fresh,
        }
    }

    /// Remember that `nonce` was accepted with count `nc`, so it cannot be replayed.
    pub(crate) fn mark_used(&mut self, nonce: &str, nc: Option<u32>, now: Instant) {
        let Some(issued) = self.issued_at(nonce) else {
            return;
        };
        if self.used.len() >= MAX_TRACKED_NONCES && !self.used.contains_key(nonce) {
            let ttl = self.ttl;
            self.used
                .retain(|_, (issued, _)| now.saturating_duration_since(*issued) <= ttl);
            if self.used.len() >= MAX_TRACKED_NONCES {
                if let Some(oldest) = self
                    .used
                    .iter()
                    .min_by_key(|(_, (issued, _))| *issued)
                    .map(|(nonce, _)| nonce.clone())
                {
                    self.used.remove(&oldest);
                }
            }
        }
        self.used
            .insert(nonce.to_owned(), (issued, nc.unwrap_or(0)));
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
}
