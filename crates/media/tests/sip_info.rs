//! SIP INFO DTMF bodies: both content types, real-world variants, hostile input.

use std::time::Duration;

use ringdesk_media::sip_info::{parse_dtmf, parse_dtmf_relay, parse_info, SipInfoError, MAX_BODY};

#[test]
fn dtmf_relay_with_duration() {
    let d = parse_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n").unwrap();
    assert_eq!(d.digit.as_char(), '5');
    assert_eq!(d.duration, Some(Duration::from_millis(160)));
}

#[test]
fn dtmf_relay_variants() {
    let cases: &[(&[u8], char, Option<u64>)] = &[
        (b"Signal=*\r\nDuration=250", '*', Some(250)),
        (b"Signal=#\nDuration=100\n", '#', Some(100)),
        (b"signal = 9 \r\nduration= 80", '9', Some(80)),
        (b"Signal=11\r\nDuration=160", '#', Some(160)),
        (b"Signal=10", '*', None),
        (b"Signal=a\r\nDuration=abc", 'A', None),
        (b"Duration=160\r\nSignal=0", '0', Some(160)),
        (
            b"junk line\r\nSignal=3\r\nDuration=99999999999",
            '3',
            Some(60_000),
        ),
    ];
    for (body, digit, ms) in cases {
        let d = parse_dtmf_relay(body).unwrap_or_else(|e| panic!("{body:?}: {e}"));
        assert_eq!(d.digit.as_char(), *digit, "{body:?}");
        assert_eq!(d.duration, ms.map(Duration::from_millis), "{body:?}");
    }
}

#[test]
fn dtmf_relay_errors() {
    assert_eq!(
        parse_dtmf_relay(b"Duration=160"),
        Err(SipInfoError::MissingSignal)
    );
    assert_eq!(parse_dtmf_relay(b""), Err(SipInfoError::MissingSignal));
    assert_eq!(
        parse_dtmf_relay(b"Signal=16"),
        Err(SipInfoError::InvalidSignal)
    );
    assert_eq!(
        parse_dtmf_relay(b"Signal=55"),
        Err(SipInfoError::InvalidSignal)
    );
    assert_eq!(
        parse_dtmf_relay(b"Signal="),
        Err(SipInfoError::InvalidSignal)
    );
    assert_eq!(parse_dtmf_relay(b"Signal=\xff"), Err(SipInfoError::NotText));
    assert_eq!(
        parse_dtmf_relay(b"Signal=12345678901234567890"),
        Err(SipInfoError::InvalidSignal)
    );
    let big = vec![b'a'; MAX_BODY + 1];
    assert_eq!(parse_dtmf_relay(&big), Err(SipInfoError::TooLarge));
}

#[test]
fn application_dtmf_bodies() {
    let d = parse_info("application/dtmf", b"5").unwrap();
    assert_eq!(d.digit.as_char(), '5');
    assert_eq!(d.duration, None);
    assert_eq!(parse_dtmf(b"  #\r\n").unwrap().as_char(), '#');
    assert_eq!(parse_dtmf(b"11").unwrap().as_char(), '#');
    assert_eq!(parse_dtmf(b""), Err(SipInfoError::MissingSignal));
    assert_eq!(parse_dtmf(b"55"), Err(SipInfoError::InvalidSignal));
    assert_eq!(parse_dtmf(b"x"), Err(SipInfoError::InvalidSignal));
}

#[test]
fn content_type_matching() {
    assert!(parse_info("Application/DTMF-Relay; charset=utf-8", b"Signal=1").is_ok());
    assert!(parse_info("  application/dtmf  ", b"1").is_ok());
    assert_eq!(
        parse_info("application/sdp", b"Signal=1"),
        Err(SipInfoError::UnsupportedContentType)
    );
    assert_eq!(
        parse_info("", b"1"),
        Err(SipInfoError::UnsupportedContentType)
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A deterministic pseudo-random sweep (the fuzz target does the open-ended version).
    let mut state = 0x1234_5678u32;
    for len in 0..300usize {
        let body: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                b"Signal=Duration\r\n0123456789*#=\xff"[(state % 29) as usize]
            })
            .collect();
        let _ = parse_info("application/dtmf-relay", &body);
        let _ = parse_info("application/dtmf", &body);
    }
}
