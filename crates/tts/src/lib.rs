//! Text-to-speech for ringdesk: engines run as separate processes behind the
//! [`TtsEngine`] trait, and the [`PromptCache`] that makes each prompt cost one engine
//! run.
//!
//! - [`TtsRequest`]: validated text, language ([`Language`]), voice and rate.
//! - [`EspeakNg`]: the espeak-ng engine (GPL-3.0, so never linked: always a child process).
//! - [`PromptCache`]: memory (bounded LRU) and optional disk cache, single-flight.
//! - [`Audio`]: mono 16-bit PCM plus sample rate, what the media crate plays.
//! - [`parse_wav`]/[`encode_wav`]: the bounded WAV codec both use.

mod audio;
mod cache;
mod cache_key;
mod disk;
mod engine;
mod error;
mod espeak;
mod language;
mod memory;
mod process;
mod request;
mod wav;

pub use audio::Audio;
pub use cache::{CacheConfig, CacheStats, PrerenderReport, PromptCache};
pub use cache_key::CacheKey;
pub use engine::{CheckFuture, SynthFuture, TtsEngine};
pub use error::TtsError;
pub use espeak::{EspeakConfig, EspeakNg, ENGINE_NAME as ESPEAK_ENGINE_NAME, NORMAL_WPM};
pub use language::{Language, MAX_TAG_LEN};
pub use request::{TtsRequest, MAX_RATE, MAX_TEXT_BYTES, MAX_VOICE_LEN, MIN_RATE, NORMAL_RATE};
pub use wav::{encode_wav, parse_wav, WavError, MAX_SAMPLE_RATE};
