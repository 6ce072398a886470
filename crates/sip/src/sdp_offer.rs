//! SDP offer parsing and codec selection: a pure, bounded function from an offer body to a
//! [`MediaOffer`] ringdesk can answer, or an [`SdpError`] that means "488 Not Acceptable Here".
//!
//! Hand-written on purpose: ringdesk needs a small subset of SDP (one audio stream, G.711,
//! telephone-event), and a hand parser lets every size be bounded and every input handled
//! without panicking.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::media::{Codec, Direction, MediaOffer, OfferedStream};
use crate::sdes::{parse_crypto, SdesCrypto, SrtpPolicy, MAX_CRYPTO_LINES};

/// Largest SDP body accepted.
pub const MAX_SDP_BYTES: usize = 16 * 1024;
/// Most lines accepted in one SDP body.
pub const MAX_SDP_LINES: usize = 512;
/// Most m-lines accepted in one SDP body.
pub const MAX_MEDIA_LINES: usize = 16;
/// Most payload formats accepted on one m-line.
pub const MAX_FORMATS: usize = 64;

/// Why an offer cannot be answered. Every variant maps to `488 Not Acceptable Here`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The body is larger than [`MAX_SDP_BYTES`] or has too many lines, m-lines or formats.
    #[error("SDP offer too large")]
    TooLarge,
    /// The body is not UTF-8 text.
    #[error("SDP offer is not UTF-8 text")]
    NotText,
    /// A line ringdesk needs (m= or c=) is malformed.
    #[error("malformed SDP {0} line")]
    Malformed(&'static str),
    /// No usable connection address for the audio stream.
    #[error("SDP offer has no connection address for the audio stream")]
    NoConnection,
    /// No active RTP/AVP audio stream offers PCMU or PCMA at 8 kHz.
    #[error("SDP offer has no audio stream with PCMU or PCMA")]
    NoAcceptableCodec,
    /// SRTP is required and no usable audio stream carries keys ringdesk accepts.
    #[error("SDP offer has no SRTP keys ringdesk accepts, and SRTP is required")]
    EncryptionRequired,
}

#[derive(Default)]
struct MediaSection {
    media: String,
    port: u16,
    proto: String,
    formats: Vec<String>,
    connection: Option<IpAddr>,
    rtpmap: HashMap<u8, (String, u32)>,
    fmtp: HashMap<u8, String>,
    direction: Option<Direction>,
    ptime: Option<u32>,
    /// The first `a=crypto` attribute ringdesk accepts, and how many were seen.
    crypto: Option<SdesCrypto>,
    crypto_lines: usize,
}

/// Parse an SDP offer and choose the codec ringdesk will use, with SRTP optional (see
/// [`parse_offer_with`]).
pub fn parse_offer(body: &[u8]) -> Result<MediaOffer, SdpError> {
    parse_offer_with(body, SrtpPolicy::Optional)
}

/// Parse an SDP offer under an SRTP policy and choose the codec ringdesk will use.
///
/// Picks the first `audio` m-line with a non-zero port that offers PCMU or PCMA at
/// 8000 Hz, taking the first of the two in the offerer's order, whose profile and keys
/// the policy allows: `off` takes `RTP/AVP` streams and ignores keys; `optional` also
/// takes `RTP/SAVP` streams with an `a=crypto` ringdesk accepts (see [`crate::sdes`]),
/// and keys offered on `RTP/AVP` (best-effort SRTP) are used; `required` takes only
/// streams with such keys. The telephone-event payload type is kept when it is offered
/// at 8000 Hz with events 0-15 (an absent fmtp means 0-15, RFC 4733 section 7.1.1).
pub fn parse_offer_with(body: &[u8], policy: SrtpPolicy) -> Result<MediaOffer, SdpError> {
    if body.len() > MAX_SDP_BYTES {
        return Err(SdpError::TooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotText)?;
    let mut session_conn: Option<IpAddr> = None;
    let mut session_dir: Option<Direction> = None;
    let mut sections: Vec<MediaSection> = Vec::new();

    for (index, raw) in text.split('\n').enumerate() {
        if index >= MAX_SDP_LINES {
            return Err(SdpError::TooLarge);
        }
        let line = raw.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        let current = sections.last_mut();
        match (kind, current) {
            ("m", _) => {
                if sections.len() >= MAX_MEDIA_LINES {
                    return Err(SdpError::TooLarge);
                }
                sections.push(parse_m_line(value)?);
            }
            ("c", None) => session_conn = Some(parse_c_line(value)?),
            ("c", Some(section)) => section.connection = Some(parse_c_line(value)?),
            ("a", None) => {
                if let Some(dir) = Direction::from_attribute(value.trim()) {
                    session_dir = Some(dir);
                }
            }
            ("a", Some(section)) => apply_attribute(section, value.trim()),
            _ => {}
        }
    }

    let streams: Vec<OfferedStream> = sections
        .iter()
        .map(|s| OfferedStream {
            media: s.media.clone(),
            proto: s.proto.clone(),
            first_format: s.formats.first().cloned().unwrap_or_else(|| "0".to_owned()),
        })
        .collect();

    let mut refused_plain = false;
    for (index, section) in sections.iter().enumerate() {
        let savp = section.proto.eq_ignore_ascii_case("RTP/SAVP");
        if !section.media.eq_ignore_ascii_case("audio")
            || section.port == 0
            || !(savp || section.proto.eq_ignore_ascii_case("RTP/AVP"))
        {
            continue;
        }
        let crypto = match policy {
            SrtpPolicy::Off if savp => continue,
            SrtpPolicy::Off => None,
            SrtpPolicy::Optional | SrtpPolicy::Required => section.crypto.clone(),
        };
        let needs_keys = savp || policy == SrtpPolicy::Required;
        let Some((codec, payload_type)) = choose_codec(section) else {
            continue;
        };
        if needs_keys && crypto.is_none() {
            refused_plain = true;
            continue;
        }
        let ip = section
            .connection
            .or(session_conn)
            .ok_or(SdpError::NoConnection)?;
        return Ok(MediaOffer {
            remote_addr: SocketAddr::new(ip, section.port),
            codec,
            payload_type,
            telephone_event_pt: telephone_event(section),
            direction: section.direction.or(session_dir).unwrap_or_default(),
            ptime_ms: section.ptime,
            crypto,
            streams,
            chosen_stream: index,
        });
    }
    Err(if refused_plain && policy == SrtpPolicy::Required {
        SdpError::EncryptionRequired
    } else {
        SdpError::NoAcceptableCodec
    })
}

fn parse_m_line(value: &str) -> Result<MediaSection, SdpError> {
    let mut parts = value.split_ascii_whitespace();
    let media = parts.next().ok_or(SdpError::Malformed("m="))?;
    let port_field = parts.next().ok_or(SdpError::Malformed("m="))?;
    let proto = parts.next().ok_or(SdpError::Malformed("m="))?;
    let port_text = port_field.split('/').next().unwrap_or(port_field);
    let port: u16 = port_text.parse().map_err(|_| SdpError::Malformed("m="))?;
    let mut formats = Vec::new();
    for format in parts {
        if formats.len() >= MAX_FORMATS {
            return Err(SdpError::TooLarge);
        }
        formats.push(format.to_owned());
    }
    if media.len() > 32 || proto.len() > 32 || formats.iter().any(|f| f.len() > 32) {
        return Err(SdpError::Malformed("m="));
    }
    Ok(MediaSection {
        media: media.to_owned(),
        port,
        proto: proto.to_owned(),
        formats,
        ..MediaSection::default()
    })
}

fn parse_c_line(value: &str) -> Result<IpAddr, SdpError> {
    let mut parts = value.split_ascii_whitespace();
    let (Some(net), Some(addr_type), Some(addr)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(SdpError::Malformed("c="));
    };
    if net != "IN" {
        return Err(SdpError::Malformed("c="));
    }
    // Multicast addresses may carry /ttl and /count suffixes; unicast ones do not.
    let addr = addr.split('/').next().unwrap_or(addr);
    let ip: IpAddr = addr.parse().map_err(|_| SdpError::Malformed("c="))?;
    match (addr_type, ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Ok(ip),
        _ => Err(SdpError::Malformed("c=")),
    }
}

fn apply_attribute(section: &mut MediaSection, attr: &str) {
    if let Some(dir) = Direction::from_attribute(attr) {
        section.direction = Some(dir);
        return;
    }
    let Some((name, value)) = attr.split_once(':') else {
        return;
    };
    match name {
        "rtpmap" => {
            if let Some((pt, (encoding, rate))) = parse_rtpmap(value) {
                section.rtpmap.entry(pt).or_insert((encoding, rate));
            }
        }
        "fmtp" => {
            if let Some((pt, params)) = value.split_once(' ') {
                if let Ok(pt) = pt.trim().parse::<u8>() {
                    if params.len() <= 256 {
                        section.fmtp.entry(pt).or_insert(params.trim().to_owned());
                    }
                }
            }
        }
        "ptime" => section.ptime = value.trim().parse().ok(),
        "crypto" => {
            // Bounded: only the first few are read; the first acceptable one is used.
            section.crypto_lines += 1;
            if section.crypto.is_none() && section.crypto_lines <= MAX_CRYPTO_LINES {
                section.crypto = parse_crypto(value);
            }
        }
        _ => {}
    }
}

/// `<pt> <encoding>/<rate>[/<channels>]` → (pt, (encoding, rate)); channels other than 1 are
/// not usable for G.711 telephony, so such entries are dropped.
fn parse_rtpmap(value: &str) -> Option<(u8, (String, u32))> {
    let (pt, rest) = value.trim().split_once(' ')?;
    let pt: u8 = pt.parse().ok()?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?.trim();
    let rate: u32 = parts.next()?.trim().parse().ok()?;
    if let Some(channels) = parts.next() {
        if channels.trim() != "1" {
            return None;
        }
    }
    if encoding.len() > 32 || pt > 127 {
        return None;
    }
    Some((pt, (encoding.to_owned(), rate)))
}

fn choose_codec(section: &MediaSection) -> Option<(Codec, u8)> {
    section.formats.iter().find_map(|format| {
        let pt: u8 = format.parse().ok()?;
        let codec = match section.rtpmap.get(&pt) {
            Some((encoding, 8000)) if encoding.eq_ignore_ascii_case("PCMU") => Codec::Pcmu,
            Some((encoding, 8000)) if encoding.eq_ignore_ascii_case("PCMA") => Codec::Pcma,
            Some(_) => return None,
            None if pt == 0 => Codec::Pcmu,
            None if pt == 8 => Codec::Pcma,
            None => return None,
        };
        Some((codec, pt))
    })
}

fn telephone_event(section: &MediaSection) -> Option<u8> {
    section.formats.iter().find_map(|format| {
        let pt: u8 = format.parse().ok()?;
        let (encoding, rate) = section.rtpmap.get(&pt)?;
        if !encoding.eq_ignore_ascii_case("telephone-event") || *rate != 8000 {
            return None;
        }
        match section.fmtp.get(&pt) {
            None => Some(pt),
            Some(events) if covers_dtmf_digits(events) => Some(pt),
            Some(_) => None,
        }
    })
}

/// True when an RFC 4733 event list (`0-15`, `0-11,12-15,66`...) covers events 0 to 15.
fn covers_dtmf_digits(events: &str) -> bool {
    let mut covered = [false; 16];
    for item in events.split(',').take(64) {
        let item = item.trim();
        let (low, high) = match item.split_once('-') {
            Some((low, high)) => (low.trim().parse::<u16>(), high.trim().parse::<u16>()),
            None => (item.parse::<u16>(), item.parse::<u16>()),
        };
        let (Ok(low), Ok(high)) = (low, high) else {
            continue;
        };
        for (event, slot) in covered.iter_mut().enumerate() {
            let event = event as u16;
            if event >= low && event <= high {
                *slot = true;
            }
        }
    }
    covered.iter().all(|c| *c)
}

#[cfg(test)]
#[path = "sdp_offer_tests.rs"]
mod tests;
