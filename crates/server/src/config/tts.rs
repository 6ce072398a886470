//! `[tts]`: which speech engine speaks which language, and how each engine runs.
//!
//! ```toml
//! [tts]
//! default = "espeak-ng"              # engine for languages not listed below
//! [tts.engines.espeak-ng]            # an engine, by name; `kind` defaults to the name
//! timeout = "20s"
//! [tts.engines.piper]                # Piper's joe voice (en-US), warm worker processes
//! workers = 2
//! [tts.languages]
//! "en-US" = "piper"
//! "pt-BR" = "espeak-ng"
//! ```
//!
//! With no `[tts]` at all, espeak-ng (with its defaults) speaks every language. The
//! built-in espeak-ng needs no section unless its settings change; Piper is used once a
//! `[tts.engines.piper]` section (even an empty one) names it. A section named after its
//! kind needs no `kind`; any other name (e.g. a second Piper voice for one language)
//! does. Checked when the file
//! is read: unknown kinds, names no section defines, bad language tags and bad settings
//! are errors naming the `[tts]` table's line. The engines' kinds and settings are in
//! [`super::tts_engines`].

use super::tts_engines::{EngineKind, EngineSettings, EspeakSettings};
use ringdesk_tts::{Language, TtsEngine, TtsRouter};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The engine that speaks when nothing else is configured.
pub const DEFAULT_ENGINE: &str = "espeak-ng";
/// Longest engine name.
const MAX_ENGINE_NAME: usize = 64;

/// `[tts]`, checked: every name used is configured, every language tag is valid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawTtsConfig")]
pub struct TtsConfig {
    default: String,
    /// Engines by name, the built-in `espeak-ng` included.
    engines: BTreeMap<String, EngineSettings>,
    /// Language (canonical tag) → engine name, in tag order.
    languages: Vec<(Language, String)>,
}

impl Default for TtsConfig {
    fn default() -> Self {
        TtsConfig {
            default: DEFAULT_ENGINE.into(),
            engines: built_in(),
            languages: Vec::new(),
        }
    }
}

fn built_in() -> BTreeMap<String, EngineSettings> {
    BTreeMap::from([(
        DEFAULT_ENGINE.to_owned(),
        EngineSettings::EspeakNg(EspeakSettings::default()),
    )])
}

/// `[tts]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTtsConfig {
    #[serde(default = "default_engine")]
    default: String,
    #[serde(default)]
    engines: BTreeMap<String, RawEngine>,
    #[serde(default)]
    languages: BTreeMap<String, String>,
}

fn default_engine() -> String {
    DEFAULT_ENGINE.into()
}

/// `[tts.engines.<name>]` as written: its kind, and settings read once the kind is known.
#[derive(Deserialize)]
struct RawEngine {
    #[serde(default)]
    kind: Option<EngineKind>,
    #[serde(flatten)]
    settings: toml::Table,
}

/// What is wrong with `[tts]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtsConfigError {
    #[error("[tts.engines] {0:?}: an engine name is 1 to 64 letters, digits, `-` or `_`")]
    BadName(String),
    #[error(
        "[tts.engines.{name}]: unknown engine {name:?} (known: {known}); name the section \
         after an engine or set its kind",
        known = EngineKind::known()
    )]
    UnknownKind { name: String },
    #[error("[tts.engines.{name}] {message}")]
    Settings { name: String, message: String },
    #[error("[tts] default = {name:?}: no engine of that name (configured: {configured})")]
    UnknownDefault { name: String, configured: String },
    #[error("[tts.languages] {0:?}: not a language tag (BCP 47, such as \"pt-BR\" or \"en\")")]
    BadLanguage(String),
    #[error("[tts.languages] {0:?} and {1:?} are the same language")]
    SameLanguage(String, String),
    #[error(
        "[tts.languages] {tag:?} = {name:?}: no engine of that name (configured: \
         {configured}); add a [tts.engines.{name}] section"
    )]
    Unconfigured {
        tag: String,
        name: String,
        configured: String,
    },
}

impl TryFrom<RawTtsConfig> for TtsConfig {
    type Error = TtsConfigError;

    fn try_from(raw: RawTtsConfig) -> Result<Self, TtsConfigError> {
        let mut engines = built_in();
        for (name, section) in raw.engines {
            let ok_name = !name.is_empty()
                && name.len() <= MAX_ENGINE_NAME
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok_name {
                return Err(TtsConfigError::BadName(name));
            }
            let Some(kind) = section.kind.or_else(|| EngineKind::named(&name)) else {
                return Err(TtsConfigError::UnknownKind { name });
            };
            let settings =
                kind.settings(section.settings)
                    .map_err(|message| TtsConfigError::Settings {
                        name: name.clone(),
                        message,
                    })?;
            engines.insert(name, settings);
        }
        let configured = || {
            engines
                .keys()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !engines.contains_key(&raw.default) {
            return Err(TtsConfigError::UnknownDefault {
                name: raw.default,
                configured: configured(),
            });
        }
        let mut languages: BTreeMap<String, (String, Language, String)> = BTreeMap::new();
        for (tag, name) in raw.languages {
            let language =
                Language::parse(&tag).map_err(|_| TtsConfigError::BadLanguage(tag.clone()))?;
            if !engines.contains_key(&name) {
                return Err(TtsConfigError::Unconfigured {
                    tag,
                    name,
                    configured: configured(),
                });
            }
            let canonical = language.as_str().to_owned();
            if let Some((other, ..)) = languages.get(&canonical) {
                return Err(TtsConfigError::SameLanguage(other.clone(), tag));
            }
            languages.insert(canonical, (tag, language, name));
        }
        Ok(TtsConfig {
            default: raw.default,
            engines,
            languages: languages
                .into_values()
                .map(|(_, language, name)| (language, name))
                .collect(),
        })
    }
}

impl TtsConfig {
    /// The engine for languages with no entry of their own.
    pub fn default_engine(&self) -> &str {
        &self.default
    }

    /// Languages with an engine of their own, in tag order.
    pub fn languages(&self) -> impl Iterator<Item = (&Language, &str)> {
        self.languages.iter().map(|(l, n)| (l, n.as_str()))
    }

    /// The settings of the engine called `name`.
    pub fn engine(&self, name: &str) -> Option<&EngineSettings> {
        self.engines.get(name)
    }

    /// One line for the log: which engine speaks what.
    pub fn describe(&self) -> String {
        let name = |n: &str| match self.engine(n).map(EngineSettings::kind) {
            Some(kind) if kind.name() != n => format!("{n} ({})", kind.name()),
            _ => n.to_owned(),
        };
        let mut parts: Vec<String> = self
            .languages()
            .map(|(l, n)| format!("{l} → {}", name(n)))
            .collect();
        parts.push(format!("other languages → {}", name(self.default_engine())));
        parts.join(", ")
    }

    /// The engines the configuration uses behind one router, one instance per engine
    /// name however many languages it speaks (engines configured but not used are not
    /// built). Does no IO: `check` the router before use.
    pub fn router<'a>(&'a self) -> TtsRouter {
        let mut built: BTreeMap<&str, Arc<dyn TtsEngine>> = BTreeMap::new();
        let mut engine = |name: &'a str| {
            let engine = built.entry(name).or_insert_with(|| {
                // Every name was checked against `engines` when the file was read.
                self.engines.get(name).map_or_else(
                    || EngineSettings::EspeakNg(EspeakSettings::default()).engine(),
                    EngineSettings::engine,
                )
            });
            Arc::clone(engine)
        };
        let mut router = TtsRouter::new(engine(&self.default));
        for (language, name) in &self.languages {
            router = router.route(language, engine(name));
        }
        router
    }
}

#[cfg(test)]
mod tests;
