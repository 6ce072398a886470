//! Text-to-speech for ringdesk: engines run as separate processes behind the
//! [`TtsEngine`] trait, and the [`PromptCache`] that makes each prompt cost one engine
//! run.
//!
//! - [`TtsRequest`]: validated text, language ([`Language`]), voice and rate.
//! - [`EspeakNg`]: the espeak-ng engine (GPL-3.0, so never linked: always a child process).
//! - [`Piper`]: Piper's neural voices (GPL-3.0 too: a small pool of warm worker
//!   processes, each with its voice loaded once).
//! - [`TtsRouter`]: an engine that speaks each language with the engine chosen for it.
//! - [`PromptCache`]: memory (bounded LRU) and optional disk cache, single-flight.
//! - [`split_numbers`]/[`number_parts`]: prompts split at their numbers, spoken from a
//!   small cached vocabulary of number words (en, pt-BR).
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
mod numbers;
mod parts;
mod piper;
mod process;
mod request;
mod router;
mod wav;

pub use audio::Audio;
pub use cache::{CacheConfig, CacheStats, PrerenderReport, PromptCache};
pub use cache_key::CacheKey;
pub use engine::{CheckFuture, SynthFuture, TtsEngine};
pub use error::TtsError;
pub use espeak::{EspeakConfig, EspeakNg, ENGINE_NAME as ESPEAK_ENGINE_NAME, NORMAL_WPM};
pub use language::{Language, MAX_TAG_LEN};
pub use numbers::{number_parts, speaks_numbers, MAX_NUMBER};
pub use parts::{split_numbers, trim_part, Part, MAX_NUMBERS, PART_LEAD, PART_SILENCE, PART_TAIL};
pub use piper::{
    Piper, PiperConfig, DEFAULT_PYTHON as PIPER_DEFAULT_PYTHON, ENGINE_NAME as PIPER_ENGINE_NAME,
};
pub use request::{TtsRequest, MAX_RATE, MAX_TEXT_BYTES, MAX_VOICE_LEN, MIN_RATE, NORMAL_RATE};
pub use router::TtsRouter;
pub use wav::{encode_wav, parse_wav, WavError, MAX_SAMPLE_RATE};
