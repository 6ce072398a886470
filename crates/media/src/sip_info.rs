//! DTMF carried in SIP INFO bodies: `application/dtmf-relay` (`Signal=5\r\nDuration=160`)
//! and `application/dtmf` (`5`). Bounded and panic-free on any input.

use std::time::Duration;

use thiserror::Error;

use crate::dtmf::DtmfDigit;

/// Largest body accepted.
pub const MAX_BODY: usize = 1024;
/// Longest duration reported (longer values are clamped).
const MAX_DURATION_MS: u64 = 60_000;

/// A key press read from a SIP INFO body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoDtmf {
    /// The key.
    pub digit: DtmfDigit,
    /// The duration, when the body carries a valid one.
    pub duration: Option<Duration>,
}

/// Why a SIP INFO body yields no digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SipInfoError {
    /// Not a DTMF content type.
    #[error("not a DTMF content type")]
    UnsupportedContentType,
    /// Body larger than [`MAX_BODY`].
    #[error("body larger than {MAX_BODY} bytes")]
    TooLarge,
    /// Body is not text.
    #[error("body is not UTF-8 text")]
    NotText,
    /// No `Signal=` line (dtmf-relay) or empty body (dtmf).
    #[error("no DTMF signal in body")]
    MissingSignal,
    /// The signal is not a DTMF key.
    #[error("signal is not a DTMF key")]
    InvalidSignal,
}

/// Parse a SIP INFO body given its `Content-Type` header value (parameters allowed).
pub fn parse_info(content_type: &str, body: &[u8]) -> Result<InfoDtmf, SipInfoError> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/dtmf-relay" => parse_dtmf_relay(body),
        "application/dtmf" => parse_dtmf(body).map(|digit| InfoDtmf {
            digit,
            duration: None,
        }),
        _ => Err(SipInfoError::UnsupportedContentType),
    }
}

/// Parse an `application/dtmf-relay` body (`Signal=` and optional `Duration=` in ms).
pub fn parse_dtmf_relay(body: &[u8]) -> Result<InfoDtmf, SipInfoError> {
    let text = body_text(body)?;
    let mut signal = None;
    let mut duration = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        if key.eq_ignore_ascii_case("signal") && signal.is_none() {
            signal = Some(parse_signal(value)?);
        } else if key.eq_ignore_ascii_case("duration") && duration.is_none() {
            duration = value
                .parse::<u64>()
                .ok()
                .filter(|&ms| ms > 0)
                .map(|ms| Duration::from_millis(ms.min(MAX_DURATION_MS)));
        }
    }
    let digit = signal.ok_or(SipInfoError::MissingSignal)?;
    Ok(InfoDtmf { digit, duration })
}

/// Parse an `application/dtmf` body: one key, as a character or an event code.
pub fn parse_dtmf(body: &[u8]) -> Result<DtmfDigit, SipInfoError> {
    let value = body_text(body)?.trim();
    if value.is_empty() {
        return Err(SipInfoError::MissingSignal);
    }
    parse_signal(value)
}

fn body_text(body: &[u8]) -> Result<&str, SipInfoError> {
    if body.len() > MAX_BODY {
        return Err(SipInfoError::TooLarge);
    }
    std::str::from_utf8(body).map_err(|_| SipInfoError::NotText)
}

/// A key as `5`, `*`, `#`, `A`-`D`, or a numeric event code `10` (`*`) / `11` (`#`).
fn parse_signal(value: &str) -> Result<DtmfDigit, SipInfoError> {
    let mut chars = value.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return DtmfDigit::from_char(c).ok_or(SipInfoError::InvalidSignal);
    }
    if value.len() <= 3 && value.bytes().all(|b| b.is_ascii_digit()) {
        let code: u8 = value.parse().map_err(|_| SipInfoError::InvalidSignal)?;
        return DtmfDigit::from_event_code(code).ok_or(SipInfoError::InvalidSignal);
    }
    Err(SipInfoError::InvalidSignal)
}
