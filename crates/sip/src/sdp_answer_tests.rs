//! Unit tests for SDP answer building (checked by parsing the answer back).

use super::*;
use crate::media::{Codec, Direction};
use crate::sdp_offer::parse_offer;
use ringdesk_media::srtp::SrtpKey;

const ORIGIN: SdpOrigin = SdpOrigin {
    session_id: 42,
    version: 7,
};

const KEY: SrtpKey = SrtpKey([9; 30]);

fn offer(media: &str) -> MediaOffer {
    let body =
        format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n{media}");
    parse_offer(body.as_bytes()).unwrap()
}

#[test]
fn answer_echoes_codec_and_telephone_event_pt() {
    let offer = offer(
        "m=audio 4000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n",
    );
    let local: SocketAddr = "203.0.113.5:30000".parse().unwrap();
    let answer = build_answer(&offer, local, ORIGIN, &KEY);
    assert_eq!(answer.codec, Codec::Pcma);
    assert_eq!(answer.telephone_event_pt, Some(96));
    assert_eq!(answer.remote_addr, "192.0.2.1:4000".parse().unwrap());
    assert!(
        answer.sdp.contains("m=audio 30000 RTP/AVP 8 96\r\n"),
        "{}",
        answer.sdp
    );
    assert!(answer
        .sdp
        .contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n"));
    assert!(answer.sdp.contains("a=ptime:20\r\n"));
    assert!(answer
        .sdp
        .contains("o=ringdesk 42 7 IN IP4 203.0.113.5\r\n"));
    assert!(answer.sdp.contains("c=IN IP4 203.0.113.5\r\n"));

    // The answer is itself a description our parser accepts, with the same choices.
    let back = parse_offer(answer.sdp.as_bytes()).unwrap();
    assert_eq!(back.codec, Codec::Pcma);
    assert_eq!(back.remote_addr, local);
    assert_eq!(back.telephone_event_pt, Some(96));
}

#[test]
fn answer_without_telephone_event() {
    let answer = build_answer(
        &offer("m=audio 4000 RTP/AVP 0\r\n"),
        "10.0.0.1:5000".parse().unwrap(),
        ORIGIN,
        &KEY,
    );
    assert!(answer.sdp.contains("m=audio 5000 RTP/AVP 0\r\n"));
    assert!(!answer.sdp.contains("telephone-event"));
    assert_eq!(answer.telephone_event_pt, None);
}

#[test]
fn answer_direction_mirrors_offer() {
    let cases = [
        ("a=sendonly", Direction::RecvOnly),
        ("a=recvonly", Direction::SendOnly),
        ("a=inactive", Direction::Inactive),
        ("a=sendrecv", Direction::SendRecv),
    ];
    for (attr, expected) in cases {
        let answer = build_answer(
            &offer(&format!("m=audio 4000 RTP/AVP 0\r\n{attr}\r\n")),
            "10.0.0.1:5000".parse().unwrap(),
            ORIGIN,
            &KEY,
        );
        assert_eq!(answer.direction, expected);
        assert!(answer
            .sdp
            .contains(&format!("a={}\r\n", expected.attribute())));
    }
}

#[test]
fn refused_streams_get_port_zero_in_order() {
    let answer = build_answer(
        &offer("m=video 5000 RTP/AVP 96\r\nm=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 8\r\n"),
        "10.0.0.1:6000".parse().unwrap(),
        ORIGIN,
        &KEY,
    );
    let m_lines: Vec<&str> = answer.sdp.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        vec![
            "m=video 0 RTP/AVP 96",
            "m=audio 6000 RTP/AVP 0",
            "m=audio 0 RTP/AVP 8"
        ]
    );
}

#[test]
fn ipv6_answer() {
    let answer = build_answer(
        &offer("m=audio 4000 RTP/AVP 0\r\n"),
        "[2001:db8::2]:7000".parse().unwrap(),
        ORIGIN,
        &KEY,
    );
    assert!(answer.sdp.contains("c=IN IP6 2001:db8::2\r\n"));
}

#[test]
fn srtp_offers_get_our_key_under_their_tag_and_profile() {
    let theirs = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
    for proto in ["RTP/SAVP", "RTP/AVP"] {
        let offer = offer(&format!(
            "m=audio 4000 {proto} 0\r\na=crypto:3 AES_CM_128_HMAC_SHA1_32 {theirs}\r\n"
        ));
        let answer = build_answer(&offer, "10.0.0.1:5000".parse().unwrap(), ORIGIN, &KEY);
        assert!(
            answer.sdp.contains(&format!("m=audio 5000 {proto} 0\r\n")),
            "{}",
            answer.sdp
        );
        assert!(answer.sdp.contains(&crate::sdes::crypto_line(
            3,
            ringdesk_media::srtp::SrtpSuite::AesCm128HmacSha1_32,
            &KEY
        )));
        let keys = answer.srtp.expect("an encrypted leg");
        assert_eq!(keys.send, KEY);
        assert_eq!(Some(keys.receive), offer.crypto.map(|c| c.key));
        // The answer, read back as the peer would, carries our key.
        let back = parse_offer(answer.sdp.as_bytes()).unwrap();
        assert_eq!(back.crypto.map(|c| c.key), Some(KEY));
    }
    let plain = build_answer(
        &offer("m=audio 4000 RTP/AVP 0\r\n"),
        "10.0.0.1:5000".parse().unwrap(),
        ORIGIN,
        &KEY,
    );
    assert_eq!(plain.srtp, None);
    assert!(!plain.sdp.contains("crypto"));
}
