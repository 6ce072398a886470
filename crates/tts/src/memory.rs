//! The in-memory half of the prompt cache: a map bounded by entry count and by audio
//! bytes, evicting the least recently used entry first.

use std::collections::HashMap;
use std::sync::Arc;

use crate::audio::Audio;
use crate::cache_key::CacheKey;

struct Entry {
    audio: Arc<Audio>,
    bytes: usize,
    last_used: u64,
}

/// Bounded LRU map from key to audio. Eviction scans all entries, which is fine for the
/// hundreds of prompts a deployment has.
pub(crate) struct MemoryCache {
    map: HashMap<CacheKey, Entry>,
    clock: u64,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl MemoryCache {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            map: HashMap::new(),
            clock: 0,
            bytes: 0,
            max_entries,
            max_bytes,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
    }

    /// The audio for `key`, marking it most recently used.
    pub(crate) fn get(&mut self, key: &CacheKey) -> Option<Arc<Audio>> {
        let now = self.tick();
        let entry = self.map.get_mut(key)?;
        entry.last_used = now;
        Some(Arc::clone(&entry.audio))
    }

    /// Stores `audio`, evicting old entries to stay within bounds. Audio larger than the
    /// whole byte budget is not stored.
    pub(crate) fn insert(&mut self, key: CacheKey, audio: Arc<Audio>) {
        let bytes = audio.byte_len();
        if self.max_entries == 0 || bytes > self.max_bytes {
            return;
        }
        let now = self.tick();
        if let Some(old) = self.map.insert(
            key,
            Entry {
                audio,
                bytes,
                last_used: now,
            },
        ) {
            self.bytes = self.bytes.saturating_sub(old.bytes);
        }
        self.bytes = self.bytes.saturating_add(bytes);
        while self.map.len() > self.max_entries || self.bytes > self.max_bytes {
            let oldest = self
                .map
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k);
            let Some(oldest) = oldest else { break };
            if let Some(e) = self.map.remove(&oldest) {
                self.bytes = self.bytes.saturating_sub(e.bytes);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::TtsRequest;

    fn key(n: usize) -> CacheKey {
        CacheKey::new("t", &TtsRequest::new(&format!("prompt {n}"), "en").unwrap())
    }

    fn audio(samples: usize) -> Arc<Audio> {
        Arc::new(Audio::new(vec![1; samples], 8000))
    }

    #[test]
    fn evicts_least_recently_used_by_count() {
        let mut m = MemoryCache::new(2, usize::MAX);
        m.insert(key(1), audio(1));
        m.insert(key(2), audio(1));
        assert!(m.get(&key(1)).is_some()); // 2 is now the oldest
        m.insert(key(3), audio(1));
        assert!(m.get(&key(2)).is_none());
        assert!(m.get(&key(1)).is_some());
        assert!(m.get(&key(3)).is_some());
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn evicts_by_bytes_and_skips_oversize() {
        let mut m = MemoryCache::new(100, 100); // 50 samples
        m.insert(key(1), audio(20));
        m.insert(key(2), audio(20));
        assert_eq!(m.bytes(), 80);
        m.insert(key(3), audio(20)); // 120 bytes: evict key 1
        assert_eq!(m.bytes(), 80);
        assert!(m.get(&key(1)).is_none());
        m.insert(key(4), audio(51)); // larger than the budget: not stored
        assert!(m.get(&key(4)).is_none());
        assert_eq!(m.len(), 2);
        m.insert(key(2), audio(10)); // replacing adjusts the byte count
        assert_eq!(m.bytes(), 60);
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let mut m = MemoryCache::new(0, 1000);
        m.insert(key(1), audio(1));
        assert_eq!(m.len(), 0);
    }
}
