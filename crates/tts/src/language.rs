//! BCP 47 language tags (`en-US`, `pt-BR`, `es-419`...): checked for shape and put in
//! canonical case, so `pt_br` and `pt-BR` mean (and cache as) the same thing.
//!
//! Only the syntax is checked here; each engine maps tags to its own voices.

use std::fmt;
use std::str::FromStr;

use crate::error::TtsError;

/// Longest tag accepted (longer ones are never needed for speech).
pub const MAX_TAG_LEN: usize = 35;

/// A well-formed BCP 47 language tag in canonical case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language {
    tag: String,
}

impl Language {
    /// Parses a tag such as `en-US`, `pt_br` or `zh-Hant-TW`.
    ///
    /// Accepts `_` as a separator; rejects empty subtags, non-alphanumeric characters
    /// and tags longer than [`MAX_TAG_LEN`].
    pub fn parse(tag: &str) -> Result<Self, TtsError> {
        let invalid = || TtsError::InvalidLanguage(tag.chars().take(MAX_TAG_LEN + 5).collect());
        if tag.is_empty() || tag.len() > MAX_TAG_LEN {
            return Err(invalid());
        }
        let mut out = String::with_capacity(tag.len());
        for (i, sub) in tag.split(['-', '_']).enumerate() {
            if sub.is_empty() || sub.len() > 8 || !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(invalid());
            }
            if i == 0 {
                if !(2..=3).contains(&sub.len()) || !sub.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(invalid());
                }
                out.push_str(&sub.to_ascii_lowercase());
                continue;
            }
            out.push('-');
            let alpha = sub.bytes().all(|b| b.is_ascii_alphabetic());
            match sub.len() {
                2 if alpha => out.push_str(&sub.to_ascii_uppercase()),
                4 if alpha => {
                    let lower = sub.to_ascii_lowercase();
                    let (first, rest) = lower.split_at(1);
                    out.push_str(&first.to_ascii_uppercase());
                    out.push_str(rest);
                }
                _ => out.push_str(&sub.to_ascii_lowercase()),
            }
        }
        Ok(Self { tag: out })
    }

    /// The canonical tag, e.g. `pt-BR`.
    pub fn as_str(&self) -> &str {
        &self.tag
    }

    /// The primary language subtag, e.g. `pt`.
    pub fn primary(&self) -> &str {
        self.tag.split('-').next().unwrap_or_default()
    }

    /// The region subtag (two letters or three digits), e.g. `BR` or `419`.
    pub fn region(&self) -> Option<&str> {
        self.tag.split('-').skip(1).find(|s| {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()))
                || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    /// The script subtag, e.g. `Hant`.
    pub fn script(&self) -> Option<&str> {
        self.tag
            .split('-')
            .skip(1)
            .find(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphabetic()))
    }
}

impl FromStr for Language {
    type Err = TtsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_case() {
        let l = Language::parse("pt_br").unwrap();
        assert_eq!(l.as_str(), "pt-BR");
        assert_eq!(l.primary(), "pt");
        assert_eq!(l.region(), Some("BR"));
        let l = Language::parse("ZH-hant-tw").unwrap();
        assert_eq!(l.to_string(), "zh-Hant-TW");
        assert_eq!(l.script(), Some("Hant"));
        assert_eq!(l.region(), Some("TW"));
        assert_eq!(Language::parse("es-419").unwrap().region(), Some("419"));
        assert_eq!(Language::parse("en").unwrap().region(), None);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "e",
            "english",
            "en-",
            "-en",
            "en--US",
            "en US",
            "en-US;rm",
            "--help",
            "1en",
            "en-abcdefghi",
            "pt-BR\n",
            "ação",
        ] {
            assert!(
                matches!(Language::parse(bad), Err(TtsError::InvalidLanguage(_))),
                "{bad:?}"
            );
        }
        assert!(Language::parse(&"en-x".repeat(20)).is_err());
    }
}
