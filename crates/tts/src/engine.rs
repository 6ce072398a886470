//! The engine trait: what every speech engine (espeak-ng today; Piper or a cloud TTS
//! later) provides to the prompt cache and the runtime. The [`TtsRouter`](crate::TtsRouter)
//! implements it too, picking an engine per language.
//!
//! Methods return boxed futures so engines can be used as `Arc<dyn TtsEngine>` and run
//! on the tokio runtime without blocking a worker thread.

use std::future::Future;
use std::pin::Pin;

use crate::audio::Audio;
use crate::error::TtsError;
use crate::language::Language;
use crate::request::TtsRequest;

/// The future returned by [`TtsEngine::synthesize`].
pub type SynthFuture<'a> = Pin<Box<dyn Future<Output = Result<Audio, TtsError>> + Send + 'a>>;
/// The future returned by [`TtsEngine::check`].
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), TtsError>> + Send + 'a>>;

/// A text-to-speech engine.
pub trait TtsEngine: Send + Sync {
    /// Turns a request into mono 16-bit PCM. Must be cancel-safe: dropping the future
    /// stops (kills) any work it started.
    fn synthesize<'a>(&'a self, request: &'a TtsRequest) -> SynthFuture<'a>;

    /// Engine name and version, e.g. `espeak-ng 1.51`: part of every cache key, so a
    /// different engine or version never serves another's audio.
    fn cache_identity(&self) -> String;

    /// The identity that goes into the cache keys of requests in `language`: the same as
    /// [`cache_identity`](Self::cache_identity) unless the engine speaks languages with
    /// different engines (the [`TtsRouter`](crate::TtsRouter)). An engine that wraps
    /// another must forward both.
    fn cache_identity_for(&self, language: &Language) -> String {
        let _ = language;
        self.cache_identity()
    }

    /// Startup check: is the engine installed and able to speak? Gives a clear,
    /// actionable error (e.g. which package to install) when not.
    fn check(&self) -> CheckFuture<'_>;
}
