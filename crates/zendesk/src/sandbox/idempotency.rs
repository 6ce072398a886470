//! Zendesk's `Idempotency-Key`, as the sandbox honours it on ticket and user creation: the
//! first request with a key is served and its response kept for [`KEY_TTL`] (two hours,
//! as on Zendesk); the same key with the same request gets that response again
//! (`x-idempotency-lookup: hit`) and creates nothing; the same key with a different
//! request is refused with 400 `IdempotentRequestError`. Only successful responses are
//! kept, so a failed request may be retried with its key.
//!
//! Bounded: at most [`MAX_KEYS`] keys (expired ones are dropped first, then the oldest)
//! and keys of at most [`MAX_KEY_LEN`] visible ASCII characters.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

/// How long a key is remembered (Zendesk: 2 hours).
pub const KEY_TTL: Duration = Duration::from_secs(2 * 3600);
/// Most keys remembered at once.
pub const MAX_KEYS: usize = 10_000;
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// Identifies a request's content: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    method.hash(&mut h);
    path.hash(&mut h);
    body.hash(&mut h);
    h.finish()
}

/// True for a key Zendesk would take: 1 to [`MAX_KEY_LEN`] visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A kept response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub status: u16,
    pub body: Vec<u8>,
}

/// What a key says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Never seen (or expired): serve the request.
    Miss,
    /// Seen with the same request: answer this, create nothing.
    Hit(Kept),
    /// Seen with a different request: refuse.
    Mismatch,
}

#[derive(Debug)]
struct Entry {
    fingerprint: u64,
    kept: Kept,
    at: Instant,
}

/// The remembered keys.
#[derive(Debug, Default)]
pub struct Idempotency {
    entries: HashMap<String, Entry>,
}

impl Idempotency {
    /// What `key` says about a request with `fingerprint` at `now`.
    pub fn lookup(&mut self, key: &str, fingerprint: u64, now: Instant) -> Lookup {
        match self.entries.get(key) {
            Some(e) if now.saturating_duration_since(e.at) >= KEY_TTL => {
                self.entries.remove(key);
                Lookup::Miss
            }
            Some(e) if e.fingerprint == fingerprint => Lookup::Hit(e.kept.clone()),
            Some(_) => Lookup::Mismatch,
            None => Lookup::Miss,
        }
    }

    /// Keeps the response to the first request with `key`.
    pub fn remember(&mut self, key: &str, fingerprint: u64, kept: Kept, now: Instant) {
        if self.entries.len() >= MAX_KEYS {
            self.entries
                .retain(|_, e| now.saturating_duration_since(e.at) < KEY_TTL);
        }
        if self.entries.len() >= MAX_KEYS {
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.at)
                .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(
            key.to_owned(),
            Entry {
                fingerprint,
                kept,
                at: now,
            },
        );
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(n: u8) -> Kept {
        Kept {
            status: 201,
            body: vec![n],
        }
    }

    #[test]
    fn same_key_same_request_replays_different_request_is_refused_expiry_forgets() {
        let mut ids = Idempotency::default();
        let t = Instant::now();
        let a = fingerprint("POST", "/api/v2/tickets.json", b"{}");
        let b = fingerprint("POST", "/api/v2/tickets.json", b"{\"x\":1}");
        assert_eq!(ids.lookup("k", a, t), Lookup::Miss);
        ids.remember("k", a, kept(1), t);
        assert_eq!(
            ids.lookup("k", a, t + Duration::from_secs(60)),
            Lookup::Hit(kept(1))
        );
        assert_eq!(ids.lookup("k", b, t), Lookup::Mismatch);
        assert_eq!(ids.lookup("k", a, t + KEY_TTL), Lookup::Miss);
        assert!(ids.is_empty());
    }

    #[test]
    fn bounded_in_keys_and_key_length() {
        let mut ids = Idempotency::default();
        let t = Instant::now();
        for i in 0..MAX_KEYS + 5 {
            ids.remember(
                &format!("k{i}"),
                1,
                kept(0),
                t + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(ids.len(), MAX_KEYS);
        assert_eq!(
            ids.lookup("k0", 1, t),
            Lookup::Miss,
            "the oldest went first"
        );
        assert!(valid_key("ringdesk-abc-1"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"x".repeat(MAX_KEY_LEN + 1)));
    }
}
