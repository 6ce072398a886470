//! The espeak-ng engine, run as a separate process (espeak-ng is GPL-3.0; ringdesk never
//! links it, as FreeSWITCH's mod_tts_commandline does not).
//!
//! One synthesis is one `espeak-ng --stdout -b 1 -v <voice> -s <wpm> -- <text>` run: no
//! shell, the text is a single argument after `--` so it can never become an option,
//! the voice is validated by [`TtsRequest`], output is bounded and the run has a deadline.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::audio::Audio;
use crate::engine::{CheckFuture, SynthFuture, TtsEngine};
use crate::error::TtsError;
use crate::language::Language;
use crate::process::{self, Run};
use crate::request::{TtsRequest, NORMAL_RATE};
use crate::wav::parse_wav;

/// Engine name used in errors and cache identities.
pub const ENGINE_NAME: &str = "espeak-ng";
/// espeak-ng's normal speed in words per minute (its `-s` default).
pub const NORMAL_WPM: u32 = 175;
const NOT_FOUND_HINT: &str = "install the espeak-ng package";
const MAX_VERSION_OUTPUT: usize = 4096;

/// How to run espeak-ng.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspeakConfig {
    /// Program name (looked up on PATH) or path. Default `espeak-ng`.
    pub program: PathBuf,
    /// Deadline for one run; the process is killed when it passes. Default 20 s.
    pub timeout: Duration,
    /// Most WAV bytes accepted from one run. Default 32 MiB (about 12 minutes).
    pub max_output_bytes: usize,
    /// Most espeak-ng processes running at once; further requests wait their turn
    /// (the wait is not part of `timeout`). Default 4; 0 is treated as 1.
    pub max_concurrent: usize,
}

impl Default for EspeakConfig {
    fn default() -> Self {
        Self {
            program: PathBuf::from(ENGINE_NAME),
            timeout: Duration::from_secs(20),
            max_output_bytes: 32 << 20,
            max_concurrent: 4,
        }
    }
}

/// The espeak-ng engine. Cheap to share (`Arc`); each synthesis runs its own process.
#[derive(Debug)]
pub struct EspeakNg {
    config: EspeakConfig,
    version: OnceLock<String>,
    slots: Semaphore,
}

impl EspeakNg {
    /// An engine with the given configuration. Does no IO: call
    /// [`check`](TtsEngine::check) at startup (it also records the version that goes
    /// into cache keys).
    pub fn new(config: EspeakConfig) -> Self {
        let slots = Semaphore::new(config.max_concurrent.clamp(1, Semaphore::MAX_PERMITS));
        Self {
            config,
            version: OnceLock::new(),
            slots,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EspeakConfig {
        &self.config
    }

    /// The version found by the last successful `check`, if any.
    pub fn version(&self) -> Option<&str> {
        self.version.get().map(String::as_str)
    }

    /// The espeak-ng voice for a language: `en-US` → `en-us`, `pt-BR` → `pt-br`,
    /// `pt`/`pt-PT` → `pt`, `es-MX` → `es-419`, `fr` → `fr-fr`, `zh` → `cmn`; other
    /// languages use their primary subtag (espeak-ng rejects those it lacks).
    pub fn voice_for(language: &Language) -> String {
        let region = language.region().map(str::to_ascii_lowercase);
        let voice = match (language.primary(), region.as_deref()) {
            ("en", None | Some("us" | "ca")) => "en-us",
            ("en", Some("029")) => "en-029",
            ("en", Some(_)) => "en-gb",
            ("pt", Some("br")) => "pt-br",
            ("pt", _) => "pt",
            ("es", None | Some("es")) => "es",
            ("es", Some(_)) => "es-419",
            ("fr", Some("be")) => "fr-be",
            ("fr", Some("ch")) => "fr-ch",
            ("fr", _) => "fr-fr",
            ("zh", Some("hk" | "mo")) | ("yue", _) => "yue",
            ("zh" | "cmn", _) => "cmn",
            ("no" | "nb", _) => "nb",
            (primary, _) => primary,
        };
        voice.to_owned()
    }

    /// The full argument list for a request (the text is the last argument, after `--`).
    pub fn args(request: &TtsRequest) -> Vec<OsString> {
        let voice = request
            .voice()
            .map_or_else(|| Self::voice_for(request.language()), str::to_owned);
        let wpm = NORMAL_WPM * u32::from(request.rate_percent()) / u32::from(NORMAL_RATE);
        vec![
            "--stdout".into(),
            "-b".into(),
            "1".into(), // input is UTF-8
            "-v".into(),
            voice.into(),
            "-s".into(),
            wpm.to_string().into(),
            "--".into(),
            request.text().into(),
        ]
    }

    fn run(&self, args: Vec<OsString>, max_stdout: usize) -> Run<'_> {
        Run {
            engine: ENGINE_NAME,
            program: &self.config.program,
            args,
            timeout: self.config.timeout,
            max_stdout,
            not_found_hint: NOT_FOUND_HINT,
        }
    }

    async fn synthesize_inner(&self, request: &TtsRequest) -> Result<Audio, TtsError> {
        let run = self.run(Self::args(request), self.config.max_output_bytes);
        let wav = {
            // The semaphore is never closed, so acquiring only fails in theory.
            let _slot = self.slots.acquire().await.ok();
            process::run(run).await?
        };
        let audio = parse_wav(&wav).map_err(|error| TtsError::InvalidAudio {
            source_name: ENGINE_NAME.to_owned(),
            error,
        })?;
        tracing::debug!(
            language = %request.language(),
            chars = request.text().chars().count(),
            duration_ms = audio.duration().as_millis(),
            "espeak-ng synthesized"
        );
        Ok(audio)
    }

    async fn check_inner(&self) -> Result<(), TtsError> {
        let out = process::run(self.run(vec!["--version".into()], MAX_VERSION_OUTPUT)).await?;
        let version = parse_version(&String::from_utf8_lossy(&out)).ok_or_else(|| {
            TtsError::UnexpectedOutput {
                engine: ENGINE_NAME.to_owned(),
                message: "`--version` did not print an eSpeak NG version".to_owned(),
            }
        })?;
        // A real synthesis proves the voice data is installed too.
        let probe = TtsRequest::new("ok", "en-US")?;
        let audio = self.synthesize_inner(&probe).await?;
        if audio.samples.is_empty() {
            return Err(TtsError::UnexpectedOutput {
                engine: ENGINE_NAME.to_owned(),
                message: "test synthesis produced no audio".to_owned(),
            });
        }
        if self.version.set(version.clone()).is_err() && self.version() != Some(&version) {
            tracing::warn!(%version, "espeak-ng version changed since the last check");
        }
        tracing::info!(%version, program = %self.config.program.display(), "espeak-ng ready");
        Ok(())
    }
}

/// Extracts `1.51` from `eSpeak NG text-to-speech: 1.51  Data at: ...`.
fn parse_version(out: &str) -> Option<String> {
    let rest = out.split_once("text-to-speech:")?.1;
    let version = rest.split_whitespace().next()?;
    let ok = !version.is_empty()
        && version.len() <= 32
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
    ok.then(|| version.to_owned())
}

impl TtsEngine for EspeakNg {
    fn synthesize<'a>(&'a self, request: &'a TtsRequest) -> SynthFuture<'a> {
        Box::pin(self.synthesize_inner(request))
    }

    fn cache_identity(&self) -> String {
        match self.version() {
            Some(v) => format!("{ENGINE_NAME} {v}"),
            None => ENGINE_NAME.to_owned(),
        }
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(self.check_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(tag: &str) -> String {
        EspeakNg::voice_for(&Language::parse(tag).unwrap())
    }

    #[test]
    fn maps_languages_to_voices() {
        let cases = [
            ("en-US", "en-us"),
            ("en", "en-us"),
            ("en-GB", "en-gb"),
            ("en-AU", "en-gb"),
            ("pt-BR", "pt-br"),
            ("pt_br", "pt-br"),
            ("pt-PT", "pt"),
            ("pt", "pt"),
            ("es-MX", "es-419"),
            ("es-419", "es-419"),
            ("es-ES", "es"),
            ("fr-CA", "fr-fr"),
            ("fr-BE", "fr-be"),
            ("zh-Hans-CN", "cmn"),
            ("zh-HK", "yue"),
            ("de-DE", "de"),
            ("no", "nb"),
        ];
        for (tag, want) in cases {
            assert_eq!(voice(tag), want, "{tag}");
        }
    }

    #[test]
    fn text_is_the_last_argument_after_double_dash() {
        let r = TtsRequest::new("--help -w /tmp/x", "pt-BR")
            .unwrap()
            .with_rate(200)
            .unwrap();
        let args = EspeakNg::args(&r);
        let want: Vec<OsString> = [
            "--stdout",
            "-b",
            "1",
            "-v",
            "pt-br",
            "-s",
            "350",
            "--",
            "--help -w /tmp/x",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(args, want);
        let with_voice = EspeakNg::args(&r.with_voice("en-us+f3").unwrap());
        assert_eq!(with_voice.get(4), Some(&OsString::from("en-us+f3")));
    }

    #[test]
    fn version_parsing() {
        assert_eq!(
            parse_version("eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/x\n").as_deref(),
            Some("1.51")
        );
        assert_eq!(parse_version("Usage: something"), None);
        assert_eq!(parse_version("text-to-speech: $(rm)"), None);
    }

    #[test]
    fn identity_before_check_is_the_bare_name() {
        assert_eq!(
            EspeakNg::new(EspeakConfig::default()).cache_identity(),
            "espeak-ng"
        );
    }
}
