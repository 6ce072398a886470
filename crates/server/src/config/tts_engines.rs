//! The speech engines ringdesk can run (`kind` in `[tts.engines.<name>]`) and the
//! settings of each.
//!
//! Adding an engine: its module in `crates/tts` (implementing `TtsEngine`), a variant in
//! [`EngineKind`] and in [`EngineSettings`] with a settings struct like
//! [`EspeakSettings`], and the match arms the compiler then asks for in this file.

use ringdesk_tts::{EspeakConfig, EspeakNg, TtsEngine, ESPEAK_ENGINE_NAME};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A kind of speech engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EngineKind {
    /// espeak-ng, run as a child process (`crates/tts/src/espeak.rs`).
    #[serde(rename = "espeak-ng")]
    EspeakNg,
}

impl EngineKind {
    /// Every kind, for lookups by name and messages.
    pub const ALL: [EngineKind; 1] = [EngineKind::EspeakNg];

    /// The kind's name in the config file.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::EspeakNg => ESPEAK_ENGINE_NAME,
        }
    }

    /// The kind called `name`, if any.
    pub fn named(name: &str) -> Option<EngineKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Every kind's name, for messages: `"espeak-ng"`.
    pub fn known() -> String {
        Self::ALL
            .iter()
            .map(|k| format!("{:?}", k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Reads and checks this kind's settings from the rest of its section. The error
    /// says what is wrong, naming the setting.
    pub fn settings(self, table: toml::Table) -> Result<EngineSettings, String> {
        let settings = match self {
            EngineKind::EspeakNg => EngineSettings::EspeakNg(
                toml::Value::Table(table)
                    .try_into()
                    .map_err(|e: toml::de::Error| e.message().to_owned())?,
            ),
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// One configured engine: its kind and settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSettings {
    EspeakNg(EspeakSettings),
}

impl EngineSettings {
    /// The engine's kind.
    pub fn kind(&self) -> EngineKind {
        match self {
            EngineSettings::EspeakNg(_) => EngineKind::EspeakNg,
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            EngineSettings::EspeakNg(s) => s.validate(),
        }
    }

    /// The engine. Does no IO: run its `check` before use.
    pub fn engine(&self) -> Arc<dyn TtsEngine> {
        match self {
            EngineSettings::EspeakNg(s) => Arc::new(EspeakNg::new(s.engine_config())),
        }
    }
}

/// Longest accepted `timeout` for one prompt.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// Most engine processes at once that can be configured.
const MAX_CONCURRENT: usize = 256;
/// Smallest accepted `max_output_bytes` (about 1.5 s of espeak-ng's 22 kHz audio).
const MIN_OUTPUT_BYTES: usize = 64 << 10;
/// Largest accepted `max_output_bytes`.
const MAX_OUTPUT_BYTES: usize = 256 << 20;

/// `kind = "espeak-ng"`: how to run espeak-ng (the defaults are [`EspeakConfig`]'s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspeakSettings {
    /// Program name (looked up on PATH) or path.
    #[serde(default = "default_espeak_program")]
    pub program: PathBuf,
    /// Deadline for one prompt; the process is killed when it passes.
    #[serde(default = "default_espeak_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Most espeak-ng processes at once; further prompts wait their turn.
    #[serde(default = "default_espeak_max_concurrent")]
    pub max_concurrent: usize,
    /// Most WAV bytes accepted from one run.
    #[serde(default = "default_espeak_max_output_bytes")]
    pub max_output_bytes: usize,
}

fn default_espeak_program() -> PathBuf {
    EspeakConfig::default().program
}

fn default_espeak_timeout() -> Duration {
    EspeakConfig::default().timeout
}

fn default_espeak_max_concurrent() -> usize {
    EspeakConfig::default().max_concurrent
}

fn default_espeak_max_output_bytes() -> usize {
    EspeakConfig::default().max_output_bytes
}

impl Default for EspeakSettings {
    fn default() -> Self {
        let d = EspeakConfig::default();
        EspeakSettings {
            program: d.program,
            timeout: d.timeout,
            max_concurrent: d.max_concurrent,
            max_output_bytes: d.max_output_bytes,
        }
    }
}

impl EspeakSettings {
    fn validate(&self) -> Result<(), String> {
        if self.program.as_os_str().is_empty() {
            return Err("program is empty: a program name on PATH or a path".into());
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(format!(
                "timeout = {}: expected more than 0 and at most {}",
                humantime::format_duration(self.timeout),
                humantime::format_duration(MAX_TIMEOUT)
            ));
        }
        if !(1..=MAX_CONCURRENT).contains(&self.max_concurrent) {
            return Err(format!(
                "max_concurrent = {}: expected 1 to {MAX_CONCURRENT}",
                self.max_concurrent
            ));
        }
        if !(MIN_OUTPUT_BYTES..=MAX_OUTPUT_BYTES).contains(&self.max_output_bytes) {
            return Err(format!(
                "max_output_bytes = {}: expected {MIN_OUTPUT_BYTES} to {MAX_OUTPUT_BYTES}",
                self.max_output_bytes
            ));
        }
        Ok(())
    }

    fn engine_config(&self) -> EspeakConfig {
        EspeakConfig {
            program: self.program.clone(),
            timeout: self.timeout,
            max_output_bytes: self.max_output_bytes,
            max_concurrent: self.max_concurrent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn espeak(text: &str) -> Result<EngineSettings, String> {
        EngineKind::EspeakNg.settings(toml::from_str(text).unwrap())
    }

    #[test]
    fn espeak_settings_default_to_the_engines_own_and_map_onto_it() {
        let EngineSettings::EspeakNg(s) = espeak("").unwrap();
        assert_eq!(s, EspeakSettings::default());
        assert_eq!(s.engine_config(), EspeakConfig::default());
        let EngineSettings::EspeakNg(s) = espeak(
            "program = \"/opt/espeak/bin/espeak-ng\"\ntimeout = \"5s\"\nmax_concurrent = 2\n\
             max_output_bytes = 1048576\n",
        )
        .unwrap();
        assert_eq!(
            s.engine_config(),
            EspeakConfig {
                program: "/opt/espeak/bin/espeak-ng".into(),
                timeout: Duration::from_secs(5),
                max_output_bytes: 1 << 20,
                max_concurrent: 2,
            }
        );
        assert_eq!(EngineKind::named("espeak-ng"), Some(EngineKind::EspeakNg));
        assert_eq!(EngineKind::named("piper"), None);
    }

    #[test]
    fn bad_espeak_settings_are_named() {
        let err = |text: &str| espeak(text).unwrap_err();
        assert!(err("program = \"\"").starts_with("program is empty"));
        assert_eq!(
            err("timeout = \"0s\""),
            "timeout = 0s: expected more than 0 and at most 10m"
        );
        assert!(err("timeout = \"1h\"").starts_with("timeout = 1h:"));
        assert_eq!(
            err("max_concurrent = 0"),
            "max_concurrent = 0: expected 1 to 256"
        );
        assert!(err("max_output_bytes = 100").starts_with("max_output_bytes = 100:"));
        let e = err("timeout = 5");
        assert!(e.contains("duration"), "{e}");
        let e = err("voice = \"en-us+f3\"");
        assert!(e.contains("unknown field `voice`"), "{e}");
        let e = err("max_concurrent = -1");
        assert!(e.contains("-1"), "{e}");
    }
}
