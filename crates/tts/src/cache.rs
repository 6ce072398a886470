//! The prompt cache: answers a speech request from memory, then from the optional disk
//! directory, and only then by running the engine, once per key however many callers
//! ask at the same time (single-flight).
//!
//! Waiting callers share one synthesis through a per-key `OnceCell`; if the caller that
//! is synthesizing is cancelled, its engine run is dropped (the process killed) and the
//! next waiter takes over. Failures are returned to everyone waiting and not cached.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

use crate::audio::Audio;
use crate::cache_key::CacheKey;
use crate::disk::DiskCache;
use crate::engine::TtsEngine;
use crate::error::TtsError;
use crate::memory::MemoryCache;
use crate::request::TtsRequest;

/// Limits and location of the prompt cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most prompts kept in memory. Default 512.
    pub max_entries: usize,
    /// Most bytes of samples kept in memory. Default 64 MiB.
    pub max_bytes: usize,
    /// Directory for `<key>.wav` files that survive restarts; `None` for memory only.
    pub disk_dir: Option<PathBuf>,
    /// Largest cache file read back from disk. Default 64 MiB.
    pub max_file_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 512,
            max_bytes: 64 << 20,
            disk_dir: None,
            max_file_bytes: 64 << 20,
        }
    }
}

/// Counters describing what the cache has done (for metrics and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Requests answered from memory.
    pub memory_hits: u64,
    /// Requests answered from the disk directory.
    pub disk_hits: u64,
    /// Engine runs started (one per key however many callers waited).
    pub syntheses: u64,
    /// Engine runs that failed.
    pub failures: u64,
    /// Prompts currently in memory.
    pub entries: usize,
    /// Bytes of samples currently in memory.
    pub bytes: usize,
    /// Keys with a synthesis (or disk read) under way.
    pub in_flight: usize,
}

/// Result of [`PromptCache::prerender`].
#[derive(Debug, Default)]
pub struct PrerenderReport {
    /// How many prompts are now cached.
    pub ready: usize,
    /// Index in the input list and error of each prompt that failed.
    pub failed: Vec<(usize, TtsError)>,
}

type Flight = Arc<OnceCell<Result<Arc<Audio>, TtsError>>>;

struct State {
    memory: MemoryCache,
    in_flight: HashMap<CacheKey, Flight>,
}

#[derive(Default)]
struct Counters {
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    syntheses: AtomicU64,
    failures: AtomicU64,
}

/// A bounded, single-flight cache of synthesized prompts in front of one engine.
pub struct PromptCache {
    engine: Arc<dyn TtsEngine>,
    disk: Option<DiskCache>,
    state: Mutex<State>,
    counters: Counters,
}

impl std::fmt::Debug for PromptCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptCache")
            .field("engine", &self.engine.cache_identity())
            .field("disk", &self.disk)
            .field("stats", &self.stats())
            .finish()
    }
}

impl PromptCache {
    /// A cache in front of `engine`. Does no IO (the disk directory is created on the
    /// first write). Run `engine.check()` first: it fixes the engine identity that goes
    /// into every key.
    pub fn new(engine: Arc<dyn TtsEngine>, config: CacheConfig) -> Self {
        Self {
            engine,
            disk: config
                .disk_dir
                .map(|dir| DiskCache::new(dir, config.max_file_bytes)),
            state: Mutex::new(State {
                memory: MemoryCache::new(config.max_entries, config.max_bytes),
                in_flight: HashMap::new(),
            }),
            counters: Counters::default(),
        }
    }

    /// The engine behind the cache.
    pub fn engine(&self) -> &Arc<dyn TtsEngine> {
        &self.engine
    }

    /// The key `request` is cached under with the current engine.
    pub fn key(&self, request: &TtsRequest) -> CacheKey {
        CacheKey::new(&self.engine.cache_identity_for(request.language()), request)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is a
        // single insert or remove.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The audio for `request`: from memory, from disk, or synthesized (once per key
    /// across concurrent callers). Cancel-safe.
    pub async fn get(&self, request: &TtsRequest) -> Result<Arc<Audio>, TtsError> {
        let key = self.key(request);
        let guard = {
            let mut state = self.lock();
            if let Some(audio) = state.memory.get(&key) {
                self.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(audio);
            }
            FlightGuard {
                cache: self,
                key,
                flight: Arc::clone(state.in_flight.entry(key).or_default()),
            }
        };
        let result = guard
            .flight
            .get_or_init(|| self.load_or_synthesize(key, request))
            .await
            .clone();
        if let Ok(audio) = &result {
            self.lock().memory.insert(key, Arc::clone(audio));
        }
        // Dropping the guard (here, or on cancellation) retires the flight.
        drop(guard);
        result
    }

    async fn load_or_synthesize(
        &self,
        key: CacheKey,
        request: &TtsRequest,
    ) -> Result<Arc<Audio>, TtsError> {
        if let Some(disk) = &self.disk {
            if let Some(audio) = disk.load(&key).await {
                self.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Arc::new(audio));
            }
        }
        self.counters.syntheses.fetch_add(1, Ordering::Relaxed);
        let audio = match self.engine.synthesize(request).await {
            Ok(audio) => Arc::new(audio),
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(key = ?key, language = %request.language(), error = %e, "speech synthesis failed");
                return Err(e);
            }
        };
        if let Some(disk) = &self.disk {
            if let Err(e) = disk.store(&key, &audio).await {
                // The prompt still plays; it just is not kept across restarts.
                tracing::warn!(path = %disk.path(&key).display(), error = %e, "cannot write prompt cache file");
            }
        }
        Ok(audio)
    }

    /// Renders static prompts ahead of time (e.g. when a flow is loaded), one after the
    /// other, so the first caller does not wait for the engine.
    pub async fn prerender(&self, requests: &[TtsRequest]) -> PrerenderReport {
        let mut report = PrerenderReport::default();
        for (i, request) in requests.iter().enumerate() {
            match self.get(request).await {
                Ok(_) => report.ready += 1,
                Err(e) => report.failed.push((i, e)),
            }
        }
        report
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        let (entries, bytes, in_flight) = {
            let state = self.lock();
            (
                state.memory.len(),
                state.memory.bytes(),
                state.in_flight.len(),
            )
        };
        CacheStats {
            memory_hits: self.counters.memory_hits.load(Ordering::Relaxed),
            disk_hits: self.counters.disk_hits.load(Ordering::Relaxed),
            syntheses: self.counters.syntheses.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
            entries,
            bytes,
            in_flight,
        }
    }
}

/// Retires a key's flight when its caller finishes or is cancelled: removed once it has
/// a result (already in memory, or an error that must not be cached), or when no other
/// caller is waiting on it; otherwise a waiter takes the synthesis over.
struct FlightGuard<'a> {
    cache: &'a PromptCache,
    key: CacheKey,
    flight: Flight,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.cache.lock();
        let Some(current) = state.in_flight.get(&self.key) else {
            return;
        };
        if !Arc::ptr_eq(current, &self.flight) {
            return;
        }
        // Under the lock only the map and guards hold the Arc: 2 means "just us".
        if self.flight.initialized() || Arc::strong_count(&self.flight) <= 2 {
            state.in_flight.remove(&self.key);
        }
    }
}
