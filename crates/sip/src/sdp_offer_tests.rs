//! Unit tests for SDP offer parsing and codec selection.

use super::*;
use crate::sdes::SrtpPolicy;

fn sdp(media: &str) -> String {
    format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n{media}")
}

#[test]
fn prefers_the_offerers_order() {
    let offer = parse_offer(
        sdp("m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(offer.codec, Codec::Pcma);
    assert_eq!(offer.payload_type, 8);
    assert_eq!(offer.telephone_event_pt, Some(101));
    assert_eq!(offer.remote_addr, "192.0.2.1:4000".parse().unwrap());
    assert_eq!(offer.direction, Direction::SendRecv);

    let offer = parse_offer(sdp("m=audio 4000 RTP/AVP 0 8\r\n").as_bytes()).unwrap();
    assert_eq!(offer.codec, Codec::Pcmu);
    assert_eq!(offer.telephone_event_pt, None);
}

#[test]
fn skips_unsupported_codecs_before_g711() {
    let offer = parse_offer(
        sdp("m=audio 4000 RTP/AVP 18 9 96 8\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:18 G729/8000\r\n")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(offer.codec, Codec::Pcma);
}

#[test]
fn dynamic_payload_type_for_pcmu() {
    let offer = parse_offer(sdp("m=audio 4000 RTP/AVP 97\r\na=rtpmap:97 pcmu/8000\r\n").as_bytes())
        .unwrap();
    assert_eq!(offer.codec, Codec::Pcmu);
    assert_eq!(offer.payload_type, 97);
}

#[test]
fn rtpmap_overrides_static_meaning() {
    // PT 0 remapped to something else is not PCMU.
    let err = parse_offer(sdp("m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 G729/8000\r\n").as_bytes());
    assert_eq!(err, Err(SdpError::NoAcceptableCodec));
}

#[test]
fn only_g729_is_refused() {
    let err = parse_offer(sdp("m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n").as_bytes());
    assert_eq!(err, Err(SdpError::NoAcceptableCodec));
}

#[test]
fn pcmu_at_16khz_is_refused() {
    let err = parse_offer(sdp("m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 PCMU/16000\r\n").as_bytes());
    assert_eq!(err, Err(SdpError::NoAcceptableCodec));
}

#[test]
fn srtp_and_disabled_streams_are_skipped() {
    let body = sdp(
        "m=audio 4000 RTP/SAVP 0\r\nm=audio 0 RTP/AVP 0\r\nm=video 5000 RTP/AVP 96\r\nm=audio 6000 RTP/AVP 8\r\nc=IN IP4 198.51.100.7\r\n",
    );
    let offer = parse_offer(body.as_bytes()).unwrap();
    assert_eq!(offer.chosen_stream, 3);
    assert_eq!(offer.remote_addr, "198.51.100.7:6000".parse().unwrap());
    assert_eq!(offer.streams.len(), 4);
}

#[test]
fn telephone_event_needs_digits_0_to_15_at_8khz() {
    let partial = sdp(
        "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-9\r\n",
    );
    assert_eq!(
        parse_offer(partial.as_bytes()).unwrap().telephone_event_pt,
        None
    );
    let wideband = sdp("m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/48000\r\n");
    assert_eq!(
        parse_offer(wideband.as_bytes()).unwrap().telephone_event_pt,
        None
    );
    let split = sdp(
        "m=audio 4000 RTP/AVP 0 100\r\na=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-11,12,13-15\r\n",
    );
    assert_eq!(
        parse_offer(split.as_bytes()).unwrap().telephone_event_pt,
        Some(100)
    );
    let no_fmtp = sdp("m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n");
    assert_eq!(
        parse_offer(no_fmtp.as_bytes()).unwrap().telephone_event_pt,
        Some(96)
    );
}

#[test]
fn direction_and_hold() {
    let held = parse_offer(sdp("m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n").as_bytes()).unwrap();
    assert_eq!(held.direction, Direction::SendOnly);
    assert!(held.is_hold());
    let session_level = "v=0\r\nc=IN IP4 0.0.0.0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n";
    let offer = parse_offer(session_level.as_bytes()).unwrap();
    assert_eq!(offer.direction, Direction::Inactive);
    assert!(offer.is_hold());
    let active = parse_offer(sdp("m=audio 4000 RTP/AVP 0\r\n").as_bytes()).unwrap();
    assert!(!active.is_hold());
}

#[test]
fn ipv6_connection() {
    let body = "v=0\r\nc=IN IP6 2001:db8::1\r\nm=audio 4000 RTP/AVP 0\r\n";
    let offer = parse_offer(body.as_bytes()).unwrap();
    assert_eq!(offer.remote_addr, "[2001:db8::1]:4000".parse().unwrap());
}

#[test]
fn missing_or_bad_connection() {
    let none = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert_eq!(parse_offer(none.as_bytes()), Err(SdpError::NoConnection));
    let host = "v=0\r\nc=IN IP4 pbx.example.com\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert_eq!(parse_offer(host.as_bytes()), Err(SdpError::Malformed("c=")));
    let mismatch = "v=0\r\nc=IN IP6 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert_eq!(
        parse_offer(mismatch.as_bytes()),
        Err(SdpError::Malformed("c="))
    );
}

#[test]
fn hostile_input_is_an_error_not_a_panic() {
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"garbage".to_vec(),
        vec![0xff, 0xfe, 0x00],
        b"m=\r\n".to_vec(),
        b"m=audio\r\n".to_vec(),
        b"m=audio 99999 RTP/AVP 0\r\n".to_vec(),
        b"m=audio -1 RTP/AVP 0\r\n".to_vec(),
        b"c=IN\r\n".to_vec(),
        b"a=rtpmap:\r\na=fmtp:\r\na=rtpmap:999 x/y/z\r\nm=audio 1 RTP/AVP 300\r\n".to_vec(),
        "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 \u{1F600}/8000\r\n"
            .as_bytes()
            .to_vec(),
        vec![b'a'; MAX_SDP_BYTES + 1],
        "a=x\n".repeat(MAX_SDP_LINES + 1).into_bytes(),
        sdp(&"m=audio 0 RTP/AVP 0\r\n".repeat(MAX_MEDIA_LINES + 1)).into_bytes(),
        sdp(&format!(
            "m=audio 4000 RTP/AVP{}\r\n",
            " 0".repeat(MAX_FORMATS + 1)
        ))
        .into_bytes(),
    ];
    for case in cases {
        assert!(
            parse_offer(&case).is_err(),
            "accepted {:?}",
            String::from_utf8_lossy(&case)
        );
    }
}

#[test]
fn too_large_is_reported_as_such() {
    assert_eq!(
        parse_offer(&vec![b' '; MAX_SDP_BYTES + 1]),
        Err(SdpError::TooLarge)
    );
}

const KEYED: &str =
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";

#[test]
fn srtp_policy_decides_which_streams_count() {
    let savp = sdp(&format!("m=audio 4000 RTP/SAVP 0\r\n{KEYED}"));
    let offer = parse_offer_with(savp.as_bytes(), SrtpPolicy::Optional).unwrap();
    assert_eq!(offer.crypto.as_ref().map(|c| c.tag), Some(1));
    assert_eq!(
        parse_offer_with(savp.as_bytes(), SrtpPolicy::Required)
            .unwrap()
            .crypto,
        offer.crypto
    );
    assert_eq!(
        parse_offer_with(savp.as_bytes(), SrtpPolicy::Off),
        Err(SdpError::NoAcceptableCodec)
    );
    // Best-effort SRTP: keys on RTP/AVP are used unless SRTP is off.
    let avp_keyed = sdp(&format!("m=audio 4000 RTP/AVP 0\r\n{KEYED}"));
    assert!(parse_offer_with(avp_keyed.as_bytes(), SrtpPolicy::Optional)
        .unwrap()
        .crypto
        .is_some());
    assert!(parse_offer_with(avp_keyed.as_bytes(), SrtpPolicy::Off)
        .unwrap()
        .crypto
        .is_none());
    // Required: plain offers, and keys ringdesk refuses, are not enough.
    let plain = sdp("m=audio 4000 RTP/AVP 0\r\n");
    assert_eq!(
        parse_offer_with(plain.as_bytes(), SrtpPolicy::Required),
        Err(SdpError::EncryptionRequired)
    );
    let weak = sdp("m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP\r\n");
    assert_eq!(
        parse_offer_with(weak.as_bytes(), SrtpPolicy::Required),
        Err(SdpError::EncryptionRequired)
    );
    // A later keyed stream is chosen over an earlier plain one when SRTP is required.
    let both = sdp(&format!(
        "m=audio 4000 RTP/AVP 0\r\nm=audio 5000 RTP/SAVP 8\r\n{KEYED}"
    ));
    let offer = parse_offer_with(both.as_bytes(), SrtpPolicy::Required).unwrap();
    assert_eq!((offer.chosen_stream, offer.codec), (1, Codec::Pcma));
    // The first of many crypto lines that parses wins; a flood of them is bounded.
    let many = sdp(&format!(
        "m=audio 4000 RTP/SAVP 0\r\n{}{KEYED}",
        "a=crypto:9 NOPE inline:x\r\n".repeat(100)
    ));
    assert_eq!(
        parse_offer_with(many.as_bytes(), SrtpPolicy::Optional),
        Err(SdpError::NoAcceptableCodec)
    );
}
