//! Prompt cache keys: a SHA-256 over everything that changes the audio (engine identity,
//! language, voice, rate, text), each field length-prefixed so no two different requests
//! can collide by shifting bytes between fields.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::request::TtsRequest;

/// Bumped whenever the key layout or the stored audio format changes.
const KEY_VERSION: &[u8] = b"ringdesk-tts-key/1";

/// The cache key of one request under one engine.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// Computes the key of `request` as synthesized by the engine `engine_identity`.
    pub fn new(engine_identity: &str, request: &TtsRequest) -> Self {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_le_bytes());
            h.update(bytes);
        };
        field(KEY_VERSION);
        field(engine_identity.as_bytes());
        field(request.language().as_str().as_bytes());
        match request.voice() {
            Some(v) => {
                field(b"voice");
                field(v.as_bytes());
            }
            None => field(b"default-voice"),
        }
        field(&request.rate_percent().to_le_bytes());
        field(request.text().as_bytes());
        Self(h.finalize().into())
    }

    /// Lowercase hex, 64 characters (also the on-disk file stem).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CacheKey({})",
            self.to_hex().get(..16).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str, lang: &str) -> TtsRequest {
        TtsRequest::new(text, lang).unwrap()
    }

    #[test]
    fn every_input_changes_the_key() {
        let base = req("Hello", "en-US");
        let k = CacheKey::new("espeak-ng 1.51", &base);
        assert_eq!(k, CacheKey::new("espeak-ng 1.51", &base.clone()));
        assert_eq!(k.to_hex().len(), 64);
        let variants = [
            CacheKey::new("espeak-ng 1.52", &base),
            CacheKey::new("espeak-ng 1.51", &req("Hello!", "en-US")),
            CacheKey::new("espeak-ng 1.51", &req("Hello", "en-GB")),
            CacheKey::new("espeak-ng 1.51", &base.clone().with_voice("en-us").unwrap()),
            CacheKey::new(
                "espeak-ng 1.51",
                &base.clone().with_voice("en-us+f3").unwrap(),
            ),
            CacheKey::new("espeak-ng 1.51", &base.clone().with_rate(101).unwrap()),
        ];
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(*v, k, "variant {i}");
            for (j, w) in variants.iter().enumerate().skip(i + 1) {
                assert_ne!(v, w, "variants {i} and {j}");
            }
        }
    }

    #[test]
    fn equivalent_spellings_share_a_key() {
        let a = CacheKey::new("e", &req("  Hello\n", "pt_br"));
        let b = CacheKey::new("e", &req("Hello", "pt-BR"));
        assert_eq!(a, b);
    }

    #[test]
    fn fields_cannot_shift_into_each_other() {
        let a = CacheKey::new("ab", &req("c", "en"));
        let b = CacheKey::new("a", &req("bc", "en"));
        assert_ne!(a, b);
    }
}
