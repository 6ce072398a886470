//! SDES (RFC 4568): SRTP keys carried in the SDP `a=crypto` attribute, and the policy that
//! says whether a leg's media must, may or must not be encrypted. Pure and bounded: the
//! attribute comes from the network.
//!
//! Each side's `a=crypto` names the key *it* encrypts with, so a negotiated leg has two
//! keys: ours for what we send, the peer's for what we receive ([`SrtpKeys`]). Accepted:
//! `AES_CM_128_HMAC_SHA1_80` and `_32`, one `inline:` key of exactly 30 bytes, an optional
//! lifetime; refused: MKI, several keys, and every session parameter (they weaken or change
//! the protection: `UNENCRYPTED_SRTP`, `UNAUTHENTICATED_SRTP`, `KDR`...).

use base64::Engine as _;
use ringdesk_media::srtp::{SrtpKey, SrtpSuite, KEY_MATERIAL_LEN};

/// Longest `a=crypto` value read (a usual one is about 70 characters).
pub const MAX_CRYPTO_LEN: usize = 256;
/// Most `a=crypto` lines read per media section.
pub const MAX_CRYPTO_LINES: usize = 8;

/// Whether a leg's media is encrypted (SRTP with SDES keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum SrtpPolicy {
    /// Plain RTP only: `RTP/SAVP` offers are refused, keys offered on `RTP/AVP` ignored.
    Off,
    /// SRTP when the peer offers (or accepts) keys, plain RTP otherwise.
    #[default]
    Optional,
    /// SRTP or no call: an offer without acceptable keys gets `488`, an agent's answer
    /// without keys ends the leg.
    Required,
}

impl SrtpPolicy {
    /// The configuration word (`off`, `optional`, `required`).
    pub fn as_str(self) -> &'static str {
        match self {
            SrtpPolicy::Off => "off",
            SrtpPolicy::Optional => "optional",
            SrtpPolicy::Required => "required",
        }
    }
}

impl std::str::FromStr for SrtpPolicy {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "off" => Ok(SrtpPolicy::Off),
            "optional" => Ok(SrtpPolicy::Optional),
            "required" => Ok(SrtpPolicy::Required),
            _ => Err(()),
        }
    }
}

/// One `a=crypto` attribute: its tag, suite and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesCrypto {
    /// The tag that pairs an answer's attribute with the offer's (1 to 999999999).
    pub tag: u32,
    pub suite: SrtpSuite,
    pub key: SrtpKey,
}

/// The keys of a negotiated SRTP leg. `Debug` shows neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: SrtpSuite,
    /// Ours: what we send is encrypted with it (the key our SDP announced).
    pub send: SrtpKey,
    /// The peer's: what we receive is decrypted with it.
    pub receive: SrtpKey,
}

/// The SDP name of a suite.
pub fn suite_name(suite: SrtpSuite) -> &'static str {
    match suite {
        SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
        SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
    }
}

fn suite_of(name: &str) -> Option<SrtpSuite> {
    match name {
        "AES_CM_128_HMAC_SHA1_80" => Some(SrtpSuite::AesCm128HmacSha1_80),
        "AES_CM_128_HMAC_SHA1_32" => Some(SrtpSuite::AesCm128HmacSha1_32),
        _ => None,
    }
}

/// Reads the value of an `a=crypto:` attribute (without the `crypto:` prefix); `None` when
/// it is malformed or asks for anything ringdesk does not do.
pub fn parse_crypto(value: &str) -> Option<SdesCrypto> {
    if value.len() > MAX_CRYPTO_LEN {
        return None;
    }
    let mut parts = value.split_ascii_whitespace();
    let tag = parts.next()?;
    if tag.is_empty() || tag.len() > 9 || !tag.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tag: u32 = tag.parse().ok()?;
    let suite = suite_of(parts.next()?)?;
    let key_params = parts.next()?;
    // Session parameters change what is protected: none is accepted.
    if parts.next().is_some() || key_params.contains(';') {
        return None;
    }
    let inline = key_params.strip_prefix("inline:")?;
    let mut fields = inline.split('|');
    let material = fields.next()?;
    if let Some(lifetime) = fields.next() {
        if !valid_lifetime(lifetime) {
            return None;
        }
    }
    // A third field is an MKI: not supported.
    if fields.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(material)
        .ok()?;
    let key: [u8; KEY_MATERIAL_LEN] = bytes.try_into().ok()?;
    Some(SdesCrypto {
        tag,
        suite,
        key: SrtpKey(key),
    })
}

/// `2^31` style or a plain number; either must allow at least one packet.
fn valid_lifetime(lifetime: &str) -> bool {
    if let Some(exp) = lifetime.strip_prefix("2^") {
        return exp.parse::<u32>().is_ok_and(|e| (1..=48).contains(&e));
    }
    lifetime.len() <= 15 && lifetime.parse::<u64>().is_ok_and(|n| n > 0)
}

/// The `a=crypto:` line (with its CRLF) announcing `key` under `tag`.
pub fn crypto_line(tag: u32, suite: SrtpSuite, key: &SrtpKey) -> String {
    format!(
        "a=crypto:{tag} {} inline:{}\r\n",
        suite_name(suite),
        base64::engine::general_purpose::STANDARD.encode(key.0)
    )
}

/// A fresh random key for one leg.
pub fn random_key() -> SrtpKey {
    SrtpKey(rand::random())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_EXAMPLE: &str =
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20";

    #[test]
    fn reads_the_rfc_4568_example_and_writes_it_back() {
        let c = parse_crypto(RFC_EXAMPLE).unwrap();
        assert_eq!((c.tag, c.suite), (1, SrtpSuite::AesCm128HmacSha1_80));
        assert_eq!(
            crypto_line(c.tag, c.suite, &c.key),
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
        );
        let c = parse_crypto(
            "2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
        )
        .unwrap();
        assert_eq!((c.tag, c.suite), (2, SrtpSuite::AesCm128HmacSha1_32));
    }

    #[test]
    fn refuses_what_it_does_not_do() {
        for bad in [
            "",
            "1",
            "1 AES_CM_128_HMAC_SHA1_80",
            "x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "1234567890 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "1 AES_256_CM_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key",
            // Short, long or broken key material.
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0m",
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRPS1u",
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!QCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            // MKI, several keys, session parameters, a zero lifetime.
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR;inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP",
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR KDR=1",
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|0",
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^99",
        ] {
            assert_eq!(parse_crypto(bad), None, "{bad}");
        }
        let long = format!("{RFC_EXAMPLE}{}", " ".repeat(MAX_CRYPTO_LEN));
        assert_eq!(parse_crypto(&long), None);
    }

    #[test]
    fn keys_never_show_and_random_keys_differ() {
        let keys = SrtpKeys {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            send: random_key(),
            receive: random_key(),
        };
        assert_ne!(keys.send, keys.receive);
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&format!("{:?}", keys.send.0)), "{shown}");
        assert_eq!("required".parse(), Ok(SrtpPolicy::Required));
        assert_eq!("Required".parse::<SrtpPolicy>(), Err(()));
    }
}
