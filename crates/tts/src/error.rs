//! The crate's error type: every way a speech request can fail, cheap to clone so one
//! failed synthesis can be handed to every caller that was waiting for it.
//!
//! Messages never contain the text being spoken (it may carry customer data), only
//! sizes, tags, paths and the engine's own (bounded) diagnostics.

use std::time::Duration;

use crate::wav::WavError;

/// Why a speech request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtsError {
    /// The text was empty (or only whitespace and control characters).
    #[error("text to speak is empty")]
    EmptyText,
    /// The text is longer than the engine-neutral limit.
    #[error("text to speak is too long: {len} bytes (max {max})")]
    TextTooLong {
        /// Length of the text in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The language tag is not a well-formed BCP 47 tag.
    #[error("invalid language tag {0:?}")]
    InvalidLanguage(String),
    /// The voice name has characters or a length the engines do not accept.
    #[error("invalid voice name {0:?}")]
    InvalidVoice(String),
    /// The speaking rate is outside the supported range.
    #[error("speaking rate {rate}% is out of range ({min}%..={max}%)")]
    InvalidRate {
        /// The requested rate in percent of normal speed.
        rate: u16,
        /// Lowest accepted rate.
        min: u16,
        /// Highest accepted rate.
        max: u16,
    },
    /// The engine's program is not installed (or not at the configured path).
    #[error("{engine} not found {location}: {hint}")]
    EngineNotFound {
        /// Engine name, e.g. `espeak-ng`.
        engine: String,
        /// Where it was looked for, e.g. `on PATH` or `at /opt/x`.
        location: String,
        /// What to do about it.
        hint: String,
    },
    /// The engine's program exists but could not be started.
    #[error("could not start {engine}: {message}")]
    Spawn {
        /// Engine name.
        engine: String,
        /// The operating system's reason.
        message: String,
    },
    /// The engine did not finish in time and was killed.
    #[error("{engine} did not finish within {after:?} and was killed")]
    Timeout {
        /// Engine name.
        engine: String,
        /// The time limit that was exceeded.
        after: Duration,
    },
    /// The engine exited unsuccessfully.
    #[error("{engine} failed ({status}): {stderr}")]
    EngineFailed {
        /// Engine name.
        engine: String,
        /// Exit status as text.
        status: String,
        /// The start of what the engine wrote to stderr (bounded, sanitized).
        stderr: String,
    },
    /// The engine wrote more audio than allowed; it was killed.
    #[error("{engine} produced more than {max} bytes of output and was killed")]
    OutputTooLarge {
        /// Engine name.
        engine: String,
        /// The limit in bytes.
        max: usize,
    },
    /// Reading or writing the engine's pipes failed.
    #[error("I/O error talking to {engine}: {message}")]
    Io {
        /// Engine name.
        engine: String,
        /// The operating system's reason.
        message: String,
    },
    /// The engine's output (or a cached file) is not a WAV file we can read.
    #[error("unreadable audio from {source_name}: {error}")]
    InvalidAudio {
        /// Engine name or cache file path.
        source_name: String,
        /// What is wrong with it.
        error: WavError,
    },
    /// The engine is installed but cannot speak as configured (e.g. its voice model is
    /// missing or corrupt, or a Python package is missing).
    #[error("{engine} cannot speak: {message}")]
    Unavailable {
        /// Engine name.
        engine: String,
        /// What is wrong and what to do about it.
        message: String,
    },
    /// The engine's output does not look like what the engine promised.
    #[error("unexpected output from {engine}: {message}")]
    UnexpectedOutput {
        /// Engine name.
        engine: String,
        /// What was unexpected.
        message: String,
    },
}
