//! A speech request: the text, its language, an optional voice and a speaking rate,
//! validated and normalized once so that engines and the cache see the same thing.
//!
//! Normalization makes caller-derived text safe to hand to any engine: control
//! characters become spaces (a NUL could not even be passed as an argument), espeak's
//! `[[phoneme]]` escape is broken up, and the length is bounded.

use crate::error::TtsError;
use crate::language::Language;

/// Longest text accepted, in bytes (about four minutes of speech).
pub const MAX_TEXT_BYTES: usize = 4096;
/// Longest voice name accepted.
pub const MAX_VOICE_LEN: usize = 64;
/// Normal speaking rate in percent.
pub const NORMAL_RATE: u16 = 100;
/// Slowest accepted rate in percent of normal.
pub const MIN_RATE: u16 = 50;
/// Fastest accepted rate in percent of normal.
pub const MAX_RATE: u16 = 250;

/// What to say and how. Construct with [`TtsRequest::new`]; fields are read-only so an
/// invalid request cannot exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TtsRequest {
    text: String,
    language: Language,
    voice: Option<String>,
    rate_percent: u16,
}

impl TtsRequest {
    /// A request at normal rate with the language's default voice.
    ///
    /// Fails on empty or over-long text ([`MAX_TEXT_BYTES`], counted before
    /// normalization) and on a malformed language tag.
    pub fn new(text: &str, language: &str) -> Result<Self, TtsError> {
        Ok(Self {
            text: normalize_text(text)?,
            language: Language::parse(language)?,
            voice: None,
            rate_percent: NORMAL_RATE,
        })
    }

    /// Picks an engine-specific voice (e.g. `en-us+f3` for espeak-ng).
    ///
    /// Voice names are 1 to [`MAX_VOICE_LEN`] characters of `A-Z a-z 0-9 _ + - .` and
    /// must not start with `-`, so they can never be mistaken for an option.
    pub fn with_voice(mut self, voice: &str) -> Result<Self, TtsError> {
        let ok = !voice.is_empty()
            && voice.len() <= MAX_VOICE_LEN
            && !voice.starts_with('-')
            && voice
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
        if !ok {
            return Err(TtsError::InvalidVoice(
                voice.chars().take(MAX_VOICE_LEN + 5).collect(),
            ));
        }
        self.voice = Some(voice.to_owned());
        Ok(self)
    }

    /// Sets the speaking rate in percent of normal ([`MIN_RATE`]..=[`MAX_RATE`]).
    pub fn with_rate(mut self, rate_percent: u16) -> Result<Self, TtsError> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate_percent) {
            return Err(TtsError::InvalidRate {
                rate: rate_percent,
                min: MIN_RATE,
                max: MAX_RATE,
            });
        }
        self.rate_percent = rate_percent;
        Ok(self)
    }

    /// The same request (language, voice, rate) for another text, normalized and bounded
    /// like [`TtsRequest::new`]: how a prompt split into parts renders each part.
    pub fn with_text(&self, text: &str) -> Result<Self, TtsError> {
        Ok(Self {
            text: normalize_text(text)?,
            language: self.language.clone(),
            voice: self.voice.clone(),
            rate_percent: self.rate_percent,
        })
    }

    /// The normalized text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The language.
    pub fn language(&self) -> &Language {
        &self.language
    }

    /// The explicit voice, if any.
    pub fn voice(&self) -> Option<&str> {
        self.voice.as_deref()
    }

    /// The speaking rate in percent of normal.
    pub fn rate_percent(&self) -> u16 {
        self.rate_percent
    }
}

/// Bounds and cleans text: control characters to spaces, `[[` broken up, trimmed.
fn normalize_text(text: &str) -> Result<String, TtsError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(TtsError::TextTooLong {
            len: text.len(),
            max: MAX_TEXT_BYTES,
        });
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        // espeak-ng reads `[[...]]` as phoneme codes; keep caller text as plain words.
        if c == '[' && out.ends_with('[') {
            out.push(' ');
        }
        out.push(c);
    }
    let trimmed = out.trim();
    if trimmed.is_empty() {
        return Err(TtsError::EmptyText);
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_text() {
        let r = TtsRequest::new("\u{7}  Olá\u{0}mundo\r\n[[h@l'oU]] \u{9b}", "pt-BR").unwrap();
        assert_eq!(r.text(), "Olá mundo  [ [h@l'oU]]");
        assert_eq!(r.language().as_str(), "pt-BR");
        assert_eq!(r.rate_percent(), NORMAL_RATE);
        assert_eq!(r.voice(), None);
    }

    #[test]
    fn rejects_empty_and_long() {
        assert_eq!(
            TtsRequest::new(" \n\t\u{0}", "en-US"),
            Err(TtsError::EmptyText)
        );
        let long = "a".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            TtsRequest::new(&long, "en-US"),
            Err(TtsError::TextTooLong {
                len: MAX_TEXT_BYTES + 1,
                max: MAX_TEXT_BYTES
            })
        );
        assert!(TtsRequest::new(&"a".repeat(MAX_TEXT_BYTES), "en-US").is_ok());
    }

    #[test]
    fn voice_and_rate_are_checked() {
        let r = TtsRequest::new("hi", "en-US").unwrap();
        assert_eq!(
            r.clone().with_voice("en-us+f3").unwrap().voice(),
            Some("en-us+f3")
        );
        for bad in ["", "--help", "-w", "en us", "a/b", "x;y", &"v".repeat(65)] {
            assert!(matches!(
                r.clone().with_voice(bad),
                Err(TtsError::InvalidVoice(_))
            ));
        }
        assert_eq!(r.clone().with_rate(120).unwrap().rate_percent(), 120);
        assert!(matches!(
            r.clone().with_rate(49),
            Err(TtsError::InvalidRate { .. })
        ));
        assert!(matches!(
            r.with_rate(251),
            Err(TtsError::InvalidRate { .. })
        ));
    }

    #[test]
    fn another_text_keeps_language_voice_and_rate() {
        let r = TtsRequest::new("You are number 5", "pt_br")
            .unwrap()
            .with_voice("pt-br+f2")
            .unwrap()
            .with_rate(120)
            .unwrap();
        let part = r.with_text(" cinco\u{0} ").unwrap();
        assert_eq!(part.text(), "cinco");
        assert_eq!(part.language().as_str(), "pt-BR");
        assert_eq!(part.voice(), Some("pt-br+f2"));
        assert_eq!(part.rate_percent(), 120);
        assert_eq!(r.with_text("\n"), Err(TtsError::EmptyText));
    }
}
