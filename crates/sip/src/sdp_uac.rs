//! SDP for calls ringdesk places (to agents): a pure offer builder (G.711 in the caller's
//! order of preference, telephone-event 101, ptime 20) and the reading of the agent's
//! answer into [`AgentMedia`].

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::media::{Codec, Direction};
use crate::sdes::{crypto_line, SrtpKeys, SrtpPolicy};
use crate::sdp_answer::{SdpOrigin, PTIME_MS};
use crate::sdp_offer::{parse_offer_with, SdpError};
use ringdesk_media::srtp::{SrtpKey, SrtpSuite};

/// The tag of the one `a=crypto` ringdesk offers.
const OFFER_CRYPTO_TAG: u32 = 1;
/// The suite ringdesk offers (the one every SDES implementation has).
const OFFER_SUITE: SrtpSuite = SrtpSuite::AesCm128HmacSha1_80;

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
    /// The SRTP keys, when the agent accepted encryption.
    pub srtp: Option<SrtpKeys>,
}

/// How ringdesk offers SRTP to an agent: the policy, and our key for what we send.
#[derive(Debug, Clone)]
pub struct OfferSrtp {
    pub policy: SrtpPolicy,
    pub key: SrtpKey,
}

/// Build an SDP offer receiving RTP at `local` with `codecs` in order of preference
/// (PCMU then PCMA when empty; duplicates dropped) plus telephone-event 0-15 on payload
/// type [`OFFER_TELEPHONE_EVENT_PT`]. With SRTP `required` the stream is `RTP/SAVP` with
/// our key; `optional` offers the key on `RTP/AVP` (best-effort SRTP: a phone that does
/// not know `a=crypto` ignores it and answers in the clear); `off` offers no key.
pub fn build_offer(
    local: SocketAddr,
    codecs: &[Codec],
    origin: SdpOrigin,
    srtp: &OfferSrtp,
) -> String {
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
        "v=0\r\no=ringdesk {} {} IN {addr_type} {ip}\r\ns=ringdesk\r\nc=IN {addr_type} {ip}\r\nt=0 0\r\nm=audio {} {}",
        origin.session_id,
        origin.version,
        local.port(),
        if srtp.policy == SrtpPolicy::Required {
            "RTP/SAVP"
        } else {
            "RTP/AVP"
        }
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
    if srtp.policy != SrtpPolicy::Off {
        sdp.push_str(&crypto_line(OFFER_CRYPTO_TAG, OFFER_SUITE, &srtp.key));
    }
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
    /// The agent's key does not answer ours (another tag or suite).
    #[error("agent answered with SRTP keys that do not match the offer")]
    CryptoMismatch,
}

/// Read the agent's SDP answer to an offer made with `offered` codecs (empty: PCMU, PCMA)
/// and `srtp` (the same value the offer was built with).
pub fn parse_answer(
    body: &[u8],
    offered: &[Codec],
    srtp: &OfferSrtp,
) -> Result<AgentMedia, AnswerError> {
    let answer = parse_offer_with(body, srtp.policy)?;
    let was_offered = offered.is_empty() || offered.contains(&answer.codec);
    if !was_offered {
        return Err(AnswerError::NotOffered);
    }
    let keys = match answer.crypto {
        None => None,
        Some(c) if c.tag == OFFER_CRYPTO_TAG && c.suite == OFFER_SUITE => Some(SrtpKeys {
            suite: c.suite,
            send: srtp.key.clone(),
            receive: c.key,
        }),
        Some(_) => return Err(AnswerError::CryptoMismatch),
    };
    Ok(AgentMedia {
        remote_addr: answer.remote_addr,
        codec: answer.codec,
        payload_type: answer.payload_type,
        telephone_event_pt: answer.telephone_event_pt,
        direction: answer.direction,
        srtp: keys,
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

    fn plain() -> OfferSrtp {
        OfferSrtp {
            policy: SrtpPolicy::Off,
            key: SrtpKey([7; 30]),
        }
    }

    fn srtp(policy: SrtpPolicy) -> OfferSrtp {
        OfferSrtp {
            policy,
            key: SrtpKey([7; 30]),
        }
    }

    #[test]
    fn default_offer_lists_pcmu_pcma_and_events() {
        let sdp = build_offer("127.0.0.1:40000".parse().unwrap(), &[], ORIGIN, &plain());
        assert_eq!(
            sdp,
            "v=0\r\no=ringdesk 7 1 IN IP4 127.0.0.1\r\ns=ringdesk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
        );
        // Our own offer parses as an offer of PCMU with events.
        let parsed = crate::sdp_offer::parse_offer(sdp.as_bytes()).unwrap();
        assert_eq!(parsed.codec, Codec::Pcmu);
        assert_eq!(parsed.telephone_event_pt, Some(101));
    }

    #[test]
    fn preference_order_and_ipv6() {
        let sdp = build_offer(
            "[::1]:4000".parse().unwrap(),
            &[Codec::Pcma, Codec::Pcma, Codec::Pcmu],
            ORIGIN,
            &plain(),
        );
        assert!(sdp.contains("c=IN IP6 ::1\r\n"));
        assert!(sdp.contains("m=audio 4000 RTP/AVP 8 0 101\r\n"));
        let only = build_offer(
            "127.0.0.1:4000".parse().unwrap(),
            &[Codec::Pcma],
            ORIGIN,
            &plain(),
        );
        assert!(only.contains("RTP/AVP 8 101\r\n"));
        assert!(!only.contains("PCMU"));
    }

    #[test]
    fn answer_is_read() {
        let answer = b"v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
            m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";
        let media = parse_answer(answer, &[Codec::Pcmu, Codec::Pcma], &plain()).unwrap();
        assert_eq!(media.remote_addr, "10.0.0.9:6000".parse().unwrap());
        assert_eq!(media.codec, Codec::Pcma);
        assert_eq!(media.payload_type, 8);
        assert_eq!(media.telephone_event_pt, Some(101));
        assert_eq!(media.direction, Direction::SendRecv);
        assert_eq!(
            parse_answer(answer, &[Codec::Pcmu], &plain()),
            Err(AnswerError::NotOffered)
        );
    }

    #[test]
    fn unusable_answers_are_errors() {
        assert!(parse_answer(b"", &[], &plain()).is_err());
        assert!(parse_answer(
            b"v=0\r\nm=audio 6000 RTP/AVP 18\r\nc=IN IP4 1.2.3.4\r\n",
            &[],
            &plain()
        )
        .is_err());
        assert!(parse_answer(&[0xff; 64], &[], &plain()).is_err());
    }

    const AGENT_KEY: &str = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";

    fn agent_answer(proto: &str, crypto: &str) -> Vec<u8> {
        format!(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
             m=audio 6000 {proto} 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{crypto}"
        )
        .into_bytes()
    }

    #[test]
    fn srtp_offers_follow_the_policy_and_answers_must_match() {
        let local = "127.0.0.1:4000".parse().unwrap();
        let required = build_offer(local, &[], ORIGIN, &srtp(SrtpPolicy::Required));
        assert!(
            required.contains("m=audio 4000 RTP/SAVP 0 8 101\r\n"),
            "{required}"
        );
        assert!(required.ends_with(&crypto_line(1, OFFER_SUITE, &SrtpKey([7; 30]))));
        let optional = build_offer(local, &[], ORIGIN, &srtp(SrtpPolicy::Optional));
        assert!(
            optional.contains("m=audio 4000 RTP/AVP 0 8 101\r\n"),
            "{optional}"
        );
        assert!(optional.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
        assert!(!build_offer(local, &[], ORIGIN, &plain()).contains("crypto"));

        let keyed = format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{AGENT_KEY}\r\n");
        let media = parse_answer(
            &agent_answer("RTP/SAVP", &keyed),
            &[],
            &srtp(SrtpPolicy::Required),
        )
        .unwrap();
        let keys = media.srtp.expect("keys");
        assert_eq!(
            keys.send,
            SrtpKey([7; 30]),
            "we send with the key we offered"
        );
        assert_ne!(keys.receive, keys.send);
        // Optional: a plain answer is a plain leg; a keyed one is encrypted.
        let media = parse_answer(
            &agent_answer("RTP/AVP", ""),
            &[],
            &srtp(SrtpPolicy::Optional),
        )
        .unwrap();
        assert_eq!(media.srtp, None);
        let media = parse_answer(
            &agent_answer("RTP/AVP", &keyed),
            &[],
            &srtp(SrtpPolicy::Optional),
        )
        .unwrap();
        assert!(media.srtp.is_some());
        // Required: a plain answer, or keys for another tag or suite, end the leg.
        assert_eq!(
            parse_answer(
                &agent_answer("RTP/AVP", ""),
                &[],
                &srtp(SrtpPolicy::Required)
            ),
            Err(AnswerError::Sdp(SdpError::EncryptionRequired))
        );
        let other_tag = format!("a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{AGENT_KEY}\r\n");
        assert_eq!(
            parse_answer(
                &agent_answer("RTP/SAVP", &other_tag),
                &[],
                &srtp(SrtpPolicy::Required)
            ),
            Err(AnswerError::CryptoMismatch)
        );
    }
}
