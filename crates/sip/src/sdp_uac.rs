//! SDP for calls ringdesk places (to agents): a pure offer builder (G.711 in the caller's
//! order of preference, telephone-event 101, ptime 20) and the reading of the agent's
//! answer into [`AgentMedia`].

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::media::{Codec, Direction};
use crate::sdp_answer::{SdpOrigin, PTIME_MS};
use crate::sdp_offer::{parse_offer, SdpError};

/// The telephone-event (RFC 4733) payload type ringdesk offers.
pub const OFFER_TELEPHONE_EVENT_PT: u8 = 101;

/// The media an agent's phone answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMedia {
    /// Where to send RTP to the agent.
    pub remote_addr: SocketAddr,
    /// The codec the agent chose (one ringdesk offered).
    pub codec: Codec,
    /// Its payload type (static: 0 or 8).
    pub payload_type: u8,
    /// The telephone-event payload type, when the agent accepted it.
    pub telephone_event_pt: Option<u8>,
    /// The agent's direction.
    pub direction: Direction,
}

/// Build an SDP offer receiving RTP at `local` with `codecs` in order of preference
/// (PCMU then PCMA when empty; duplicates dropped) plus telephone-event 0-15 on payload
/// type [`OFFER_TELEPHONE_EVENT_PT`].
pub fn build_offer(local: SocketAddr, codecs: &[Codec], origin: SdpOrigin) -> String {
    let mut chosen: Vec<Codec> = Vec::with_capacity(2);
    for codec in codecs {
        if !chosen.contains(codec) {
            chosen.push(*codec);
        }
    }
    if chosen.is_empty() {
        chosen = vec![Codec::Pcmu, Codec::Pcma];
    }
    let addr_type = match local.ip() {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    let ip = local.ip();
    let te = OFFER_TELEPHONE_EVENT_PT;
    let mut sdp = String::with_capacity(384);
    // Writing into a String cannot fail; the results are ignored deliberately.
    let _ = write!(
        sdp,
        "v=0\r\no=ringdesk {} {} IN {addr_type} {ip}\r\ns=ringdesk\r\nc=IN {addr_type} {ip}\r\nt=0 0\r\nm=audio {} RTP/AVP",
        origin.session_id,
        origin.version,
        local.port()
    );
    for codec in &chosen {
        let _ = write!(sdp, " {}", codec.static_payload_type());
    }
    let _ = write!(sdp, " {te}\r\n");
    for codec in &chosen {
        let _ = write!(
            sdp,
            "a=rtpmap:{} {}/8000\r\n",
            codec.static_payload_type(),
            codec.encoding_name()
        );
    }
    let _ = write!(
        sdp,
        "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\na=ptime:{PTIME_MS}\r\na=sendrecv\r\n"
    );
    sdp
}

/// Why an agent's answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The SDP itself is unusable.
    #[error("agent answer: {0}")]
    Sdp(#[from] SdpError),
    /// The agent chose a codec ringdesk did not offer.
    #[error("agent answered with a codec that was not offered")]
    NotOffered,
}

/// Read the agent's SDP answer to an offer made with `offered` codecs (empty: PCMU, PCMA).
pub fn parse_answer(body: &[u8], offered: &[Codec]) -> Result<AgentMedia, AnswerError> {
    let answer = parse_offer(body)?;
    let was_offered = offered.is_empty() || offered.contains(&answer.codec);
    if !was_offered {
        return Err(AnswerError::NotOffered);
    }
    Ok(AgentMedia {
        remote_addr: answer.remote_addr,
        codec: answer.codec,
        payload_type: answer.payload_type,
        telephone_event_pt: answer.telephone_event_pt,
        direction: answer.direction,
    })
}

#[cfg(test)]
mod tests {
    //! Offer text and answer reading.
    use super::*;

    const ORIGIN: SdpOrigin = SdpOrigin {
        session_id: 7,
        version: 1,
    };

    #[test]
    fn default_offer_lists_pcmu_pcma_and_events() {
        let sdp = build_offer("127.0.0.1:40000".parse().unwrap(), &[], ORIGIN);
        assert_eq!(
            sdp,
            "v=0\r\no=ringdesk 7 1 IN IP4 127.0.0.1\r\ns=ringdesk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
        );
        // Our own offer parses as an offer of PCMU with events.
        let parsed = parse_offer(sdp.as_bytes()).unwrap();
        assert_eq!(parsed.codec, Codec::Pcmu);
        assert_eq!(parsed.telephone_event_pt, Some(101));
    }

    #[test]
    fn preference_order_and_ipv6() {
        let sdp = build_offer(
            "[::1]:4000".parse().unwrap(),
            &[Codec::Pcma, Codec::Pcma, Codec::Pcmu],
            ORIGIN,
        );
        assert!(sdp.contains("c=IN IP6 ::1\r\n"));
        assert!(sdp.contains("m=audio 4000 RTP/AVP 8 0 101\r\n"));
        let only = build_offer("127.0.0.1:4000".parse().unwrap(), &[Codec::Pcma], ORIGIN);
        assert!(only.contains("RTP/AVP 8 101\r\n"));
        assert!(!only.contains("PCMU"));
    }

    #[test]
    fn answer_is_read() {
        let answer = b"v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
            m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";
        let media = parse_answer(answer, &[Codec::Pcmu, Codec::Pcma]).unwrap();
        assert_eq!(media.remote_addr, "10.0.0.9:6000".parse().unwrap());
        assert_eq!(media.codec, Codec::Pcma);
        assert_eq!(media.payload_type, 8);
        assert_eq!(media.telephone_event_pt, Some(101));
        assert_eq!(media.direction, Direction::SendRecv);
        assert_eq!(
            parse_answer(answer, &[Codec::Pcmu]),
            Err(AnswerError::NotOffered)
        );
    }

    #[test]
    fn unusable_answers_are_errors() {
        assert!(parse_answer(b"", &[]).is_err());
        assert!(parse_answer(
            b"v=0\r\nm=audio 6000 RTP/AVP 18\r\nc=IN IP4 1.2.3.4\r\n",
            &[]
        )
        .is_err());
        assert!(parse_answer(&[0xff; 64], &[]).is_err());
    }
}
