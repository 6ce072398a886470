//! SDP answer building: a pure function from a parsed [`MediaOffer`] and our RTP address to
//! the [`MediaAnswer`] (negotiated values plus the SDP text for the 200 OK).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::media::{MediaAnswer, MediaOffer};
use crate::sdes::{crypto_line, SrtpKeys};
use ringdesk_media::srtp::SrtpKey;

/// Packetization time ringdesk always announces.
pub const PTIME_MS: u32 = 20;

/// The `o=` line identity of our side of a session: the id stays, the version grows with
/// every new answer in the same dialog (RFC 3264 section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdpOrigin {
    /// Session id (any number, fixed for the dialog).
    pub session_id: u64,
    /// Session version, incremented for each changed description.
    pub version: u64,
}

/// Build the answer to `offer`, receiving RTP at `local`.
///
/// The answer has one m-line per offered m-line; the chosen audio stream carries the chosen
/// codec and, when offered, telephone-event with the offerer's payload type; every other
/// stream is refused with port 0. When the offer's stream carries SRTP keys, the answer
/// keeps its profile and announces `key` (ours, for what we send) under the offer's tag.
pub fn build_answer(
    offer: &MediaOffer,
    local: SocketAddr,
    origin: SdpOrigin,
    key: &SrtpKey,
) -> MediaAnswer {
    let direction = offer.direction.answer();
    let addr_type = match local.ip() {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    let ip = local.ip();
    let mut sdp = String::with_capacity(512);
    // Writing into a String cannot fail; the results are ignored deliberately.
    let _ = write!(
        sdp,
        "v=0\r\no=ringdesk {} {} IN {addr_type} {ip}\r\ns=ringdesk\r\nc=IN {addr_type} {ip}\r\nt=0 0\r\n",
        origin.session_id, origin.version
    );
    for (index, stream) in offer.streams.iter().enumerate() {
        if index != offer.chosen_stream {
            let _ = write!(
                sdp,
                "m={} 0 {} {}\r\n",
                stream.media, stream.proto, stream.first_format
            );
            continue;
        }
        let _ = write!(
            sdp,
            "m=audio {} {} {}",
            local.port(),
            stream.proto,
            offer.payload_type
        );
        if let Some(te) = offer.telephone_event_pt {
            let _ = write!(sdp, " {te}");
        }
        let _ = write!(
            sdp,
            "\r\na=rtpmap:{} {}/8000\r\n",
            offer.payload_type,
            offer.codec.encoding_name()
        );
        if let Some(te) = offer.telephone_event_pt {
            let _ = write!(
                sdp,
                "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\n"
            );
        }
        let _ = write!(sdp, "a=ptime:{PTIME_MS}\r\na={}\r\n", direction.attribute());
        if let Some(crypto) = &offer.crypto {
            sdp.push_str(&crypto_line(crypto.tag, crypto.suite, key));
        }
    }
    MediaAnswer {
        local_addr: local,
        remote_addr: offer.remote_addr,
        codec: offer.codec,
        payload_type: offer.payload_type,
        telephone_event_pt: offer.telephone_event_pt,
        direction,
        ptime_ms: PTIME_MS,
        srtp: offer.crypto.as_ref().map(|crypto| SrtpKeys {
            suite: crypto.suite,
            send: key.clone(),
            receive: crypto.key.clone(),
        }),
        sdp,
    }
}

#[cfg(test)]
#[path = "sdp_answer_tests.rs"]
mod tests;
