//! HTTP digest authentication for SIP (RFC 3261 section 22, RFC 2617, RFC 7616, RFC 8760):
//! parsing an `Authorization` header value, building `WWW-Authenticate` challenges, and
//! computing and verifying responses (MD5 and SHA-256, `qop=auth` or none).
//!
//! Pure functions over strings: no SIP library type, no clock. Every input is bounded and
//! parsing never panics.

use md5::Md5;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Longest `Authorization` header value parsed (bytes).
pub const MAX_AUTHORIZATION_LEN: usize = 2048;
/// Most parameters read from one `Authorization` header.
const MAX_PARAMS: usize = 24;

/// A digest hash algorithm ringdesk accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `MD5` (RFC 2617), what nearly every SIP phone speaks.
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
}

impl DigestAlgorithm {
    /// The `algorithm=` token.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
        }
    }

    fn from_name(name: &str) -> Option<DigestAlgorithm> {
        if name.eq_ignore_ascii_case("MD5") {
            Some(DigestAlgorithm::Md5)
        } else if name.eq_ignore_ascii_case("SHA-256") {
            Some(DigestAlgorithm::Sha256)
        } else {
            None
        }
    }

    fn hash(self, input: &str) -> String {
        match self {
            DigestAlgorithm::Md5 => hex(&Md5::digest(input.as_bytes())),
            DigestAlgorithm::Sha256 => hex(&Sha256::digest(input.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Why an `Authorization` header value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Longer than [`MAX_AUTHORIZATION_LEN`] or too many parameters.
    #[error("authorization header too large")]
    TooLarge,
    /// Not the `Digest` scheme.
    #[error("authorization scheme is not Digest")]
    NotDigest,
    /// A parameter is malformed or a required one is missing.
    #[error("malformed digest authorization ({0})")]
    Malformed(&'static str),
    /// An algorithm other than MD5 and SHA-256.
    #[error("unsupported digest algorithm")]
    UnsupportedAlgorithm,
}

/// The fields of a digest `Authorization` header ringdesk uses.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestAuthorization {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri` (the digest-uri exactly as the client sent it).
    pub uri: String,
    /// `response` (hex).
    pub response: String,
    /// `algorithm` (MD5 when absent).
    pub algorithm: DigestAlgorithm,
    /// `qop=auth` with its `nc` (parsed from hex) and `cnonce`; `None` for RFC 2069 style.
    pub qop: Option<(u32, String)>,
}

impl std::fmt::Debug for DigestAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The response is derived from the password: keep it out of logs.
        f.debug_struct("DigestAuthorization")
            .field("username", &self.username)
            .field("realm", &self.realm)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Split `key=value, key="quoted, value"` into pairs, bounded.
fn params(input: &str) -> Result<Vec<(String, String)>, DigestError> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        if out.len() >= MAX_PARAMS {
            return Err(DigestError::TooLarge);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',') {
            key.push(c);
        }
        if chars.next() != Some('=') {
            return Err(DigestError::Malformed("parameter without value"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(DigestError::Malformed("unterminated quoted value"));
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        if value.chars().any(char::is_control) {
            return Err(DigestError::Malformed("control character"));
        }
        out.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// Parse a digest `Authorization` (or `Proxy-Authorization`) header value.
pub fn parse_authorization(value: &str) -> Result<DigestAuthorization, DigestError> {
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(DigestError::TooLarge);
    }
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::NotDigest);
    }
    let pairs = params(rest)?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let required = |name: &'static str| get(name).ok_or(DigestError::Malformed(name));
    let algorithm = match get("algorithm") {
        None => DigestAlgorithm::Md5,
        Some(name) => DigestAlgorithm::from_name(name).ok_or(DigestError::UnsupportedAlgorithm)?,
    };
    let qop = match get("qop") {
        None => None,
        Some(qop) if qop.eq_ignore_ascii_case("auth") => {
            let nc = u32::from_str_radix(required("nc")?, 16)
                .map_err(|_| DigestError::Malformed("nc"))?;
            Some((nc, required("cnonce")?.to_owned()))
        }
        Some(_) => return Err(DigestError::Malformed("qop")),
    };
    Ok(DigestAuthorization {
        username: required("username")?.to_owned(),
        realm: required("realm")?.to_owned(),
        nonce: required("nonce")?.to_owned(),
        uri: required("uri")?.to_owned(),
        response: required("response")?.to_ascii_lowercase(),
        algorithm,
        qop,
    })
}

/// The response a client holding `password` computes for this authorization's fields.
pub fn expected_response(auth: &DigestAuthorization, method: &str, password: &str) -> String {
    let alg = auth.algorithm;
    let ha1 = alg.hash(&format!("{}:{}:{password}", auth.username, auth.realm));
    let ha2 = alg.hash(&format!("{method}:{}", auth.uri));
    match &auth.qop {
        Some((nc, cnonce)) => alg.hash(&format!(
            "{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}",
            auth.nonce
        )),
        None => alg.hash(&format!("{ha1}:{}:{ha2}", auth.nonce)),
    }
}

/// True when `auth.response` is what `password` gives, compared in constant time.
pub fn verify(auth: &DigestAuthorization, method: &str, password: &str) -> bool {
    let expected = expected_response(auth, method, password);
    expected.as_bytes().ct_eq(auth.response.as_bytes()).into()
}

/// A `WWW-Authenticate` header value challenging with `algorithm` and `qop="auth"`.
pub fn challenge(realm: &str, nonce: &str, algorithm: DigestAlgorithm, stale: bool) -> String {
    let mut value = format!(
        "Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
        algorithm.name()
    );
    if stale {
        value.push_str(", stale=true");
    }
    value
}

#[cfg(test)]
#[path = "digest_tests.rs"]
mod tests;
