//! Test helpers shared by the integration tests: a run-counting engine wrapper, a fake
//! engine on (virtual) tokio time, and a real espeak-ng engine.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ringdesk_tts::{
    Audio, CheckFuture, EspeakConfig, EspeakNg, Language, SynthFuture, TtsEngine, TtsError,
    TtsRequest,
};

/// Wraps an engine and counts `synthesize` calls (for espeak-ng: process runs).
pub struct Counting {
    pub inner: Arc<dyn TtsEngine>,
    pub runs: AtomicUsize,
}

impl Counting {
    pub fn new(inner: Arc<dyn TtsEngine>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            runs: AtomicUsize::new(0),
        })
    }

    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

impl TtsEngine for Counting {
    fn synthesize<'a>(&'a self, request: &'a TtsRequest) -> SynthFuture<'a> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.synthesize(request)
    }
    fn cache_identity(&self) -> String {
        self.inner.cache_identity()
    }
    fn cache_identity_for(&self, language: &Language) -> String {
        self.inner.cache_identity_for(language)
    }
    fn check(&self) -> CheckFuture<'_> {
        self.inner.check()
    }
}

/// A fake engine: waits `delay` (tokio time), then returns the text's bytes as samples,
/// or fails while `failures_left` is positive.
pub struct Fake {
    pub delay: Duration,
    pub failures_left: AtomicUsize,
}

impl Fake {
    pub fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            failures_left: AtomicUsize::new(0),
        })
    }
}

impl TtsEngine for Fake {
    fn synthesize<'a>(&'a self, request: &'a TtsRequest) -> SynthFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let fail = self
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if fail {
                return Err(TtsError::EngineFailed {
                    engine: "fake".into(),
                    status: "exit status: 1".into(),
                    stderr: "injected".into(),
                });
            }
            let samples = request.text().bytes().map(i16::from).collect();
            Ok(Audio::new(samples, 8000))
        })
    }
    fn cache_identity(&self) -> String {
        "fake 1".into()
    }
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

/// The real espeak-ng from PATH, with a generous timeout for a loaded CI machine.
pub fn espeak() -> EspeakNg {
    EspeakNg::new(EspeakConfig {
        timeout: Duration::from_secs(60),
        ..EspeakConfig::default()
    })
}

pub fn request(text: &str, lang: &str) -> TtsRequest {
    TtsRequest::new(text, lang).expect("valid test request")
}

/// The Python with piper-tts and the joe voice: `.venv/piper` at the repository's root
/// (what `./scripts/test` and `./scripts/demo` install), or `RINGDESK_PIPER_PYTHON`.
pub fn piper_python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("RINGDESK_PIPER_PYTHON") {
        return p.into();
    }
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/piper/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/test (it installs Piper) or set RINGDESK_PIPER_PYTHON",
        python.display()
    );
    python
}

/// A real Piper engine with the joe voice (the default model), one worker.
pub fn piper() -> ringdesk_tts::Piper {
    ringdesk_tts::Piper::new(ringdesk_tts::PiperConfig {
        python: piper_python(),
        workers: 1,
        ..ringdesk_tts::PiperConfig::default()
    })
}
