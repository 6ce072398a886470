//! The OAuth access-token cache as a pure state machine on passed-in time: when a token is
//! still good, when to refresh it, and dropping it after a 401.

use crate::secret::Secret;
use std::time::{Duration, Instant};

/// Lifetime assumed when the token endpoint gives no `expires_in`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// Longest refresh margin: a token is refreshed at most this long before it expires.
pub const MAX_MARGIN: Duration = Duration::from_secs(30);

/// A cached token and the generation that identifies it (for targeted invalidation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedToken {
    pub token: Secret,
    pub generation: u64,
}

/// Holds at most one token and knows when it must be refreshed.
#[derive(Debug, Default)]
pub struct TokenCache {
    current: Option<(CachedToken, Instant)>,
    generation: u64,
}

impl TokenCache {
    /// The cached token if it is still good at `now`.
    pub fn valid(&self, now: Instant) -> Option<CachedToken> {
        match &self.current {
            Some((token, refresh_at)) if now < *refresh_at => Some(token.clone()),
            _ => None,
        }
    }

    /// Cache a freshly fetched token. It is used until shortly before `expires_in`
    /// (a tenth of its lifetime, at most [`MAX_MARGIN`], earlier).
    pub fn store(
        &mut self,
        now: Instant,
        token: Secret,
        expires_in: Option<Duration>,
    ) -> CachedToken {
        let lifetime = expires_in.unwrap_or(DEFAULT_LIFETIME);
        let margin = (lifetime / 10).min(MAX_MARGIN);
        let refresh_at = now
            .checked_add(lifetime - margin)
            .or_else(|| now.checked_add(DEFAULT_LIFETIME))
            .unwrap_or(now);
        self.generation = self.generation.wrapping_add(1);
        let cached = CachedToken {
            token,
            generation: self.generation,
        };
        self.current = Some((cached.clone(), refresh_at));
        cached
    }

    /// Drop the token of `generation` (the server refused it). A newer token, fetched
    /// meanwhile by another request, is kept.
    pub fn invalidate(&mut self, generation: u64) {
        if matches!(&self.current, Some((t, _)) if t.generation == generation) {
            self.current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn empty_cache_has_nothing() {
        assert_eq!(TokenCache::default().valid(Instant::now()), None);
    }

    #[test]
    fn token_valid_until_margin_before_expiry() {
        let t0 = Instant::now();
        let mut c = TokenCache::default();
        c.store(t0, Secret::new("a"), Some(secs(3600)));
        // margin = min(360s, 30s) = 30s
        assert!(c.valid(t0).is_some());
        assert!(c.valid(t0 + secs(3569)).is_some());
        assert!(c.valid(t0 + secs(3570)).is_none());
        // short lifetime: margin is a tenth
        c.store(t0, Secret::new("b"), Some(secs(10)));
        assert!(c.valid(t0 + Duration::from_millis(8999)).is_some());
        assert!(c.valid(t0 + secs(9)).is_none());
    }

    #[test]
    fn zero_lifetime_is_never_valid() {
        let t0 = Instant::now();
        let mut c = TokenCache::default();
        c.store(t0, Secret::new("a"), Some(Duration::ZERO));
        assert!(c.valid(t0).is_none());
    }

    #[test]
    fn missing_expiry_uses_default_lifetime() {
        let t0 = Instant::now();
        let mut c = TokenCache::default();
        c.store(t0, Secret::new("a"), None);
        assert!(c
            .valid(t0 + DEFAULT_LIFETIME - MAX_MARGIN - secs(1))
            .is_some());
        assert!(c.valid(t0 + DEFAULT_LIFETIME).is_none());
    }

    #[test]
    fn huge_expiry_does_not_panic() {
        let t0 = Instant::now();
        let mut c = TokenCache::default();
        c.store(t0, Secret::new("a"), Some(Duration::MAX));
        assert!(c.valid(t0).is_some());
    }

    #[test]
    fn invalidate_only_the_refused_generation() {
        let t0 = Instant::now();
        let mut c = TokenCache::default();
        let old = c.store(t0, Secret::new("old"), Some(secs(3600)));
        let new = c.store(t0, Secret::new("new"), Some(secs(3600)));
        assert_ne!(old.generation, new.generation);
        c.invalidate(old.generation);
        assert_eq!(c.valid(t0).map(|t| t.token), Some(Secret::new("new")));
        c.invalidate(new.generation);
        assert_eq!(c.valid(t0), None);
    }
}
