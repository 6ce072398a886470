//! RTP parse/build round trips and malformed input.

use ringdesk_media::rtp::{seq_newer, ts_newer, RtpError, MAX_DATAGRAM};
use ringdesk_media::{RtpHeader, RtpPacket};

fn header() -> RtpHeader {
    RtpHeader {
        marker: true,
        payload_type: 101,
        sequence: 0xFFFF,
        timestamp: 0xDEAD_BEEF,
        ssrc: 0x0102_0304,
    }
}

#[test]
fn build_then_parse_round_trips() {
    for marker in [false, true] {
        for pt in [0u8, 8, 101, 127] {
            let h = RtpHeader {
                marker,
                payload_type: pt,
                ..header()
            };
            let mut buf = Vec::new();
            h.write(&[1, 2, 3, 4, 5], &mut buf);
            let p = RtpPacket::parse(&buf).unwrap();
            assert_eq!(p.header, h);
            assert_eq!(p.payload, &[1, 2, 3, 4, 5]);
        }
    }
}

#[test]
fn known_bytes_from_a_capture() {
    let bytes = [
        0x80, 0xe5, 0x1f, 0xdb, 0x00, 0x00, 0xa8, 0xc0, 0x0e, 0x05, 0x38, 0x4e, 0x05, 0x0a, 0x00,
        0x00,
    ];
    let p = RtpPacket::parse(&bytes).unwrap();
    assert!(p.header.marker);
    assert_eq!(p.header.payload_type, 101);
    assert_eq!(p.header.sequence, 0x1fdb);
    assert_eq!(p.header.timestamp, 0xa8c0);
    assert_eq!(p.header.ssrc, 0x0e05_384e);
    assert_eq!(p.payload, &[0x05, 0x0a, 0x00, 0x00]);
    assert_eq!(&p.header.to_bytes()[..], &bytes[..12]);
}

#[test]
fn csrcs_extension_and_padding_are_skipped() {
    let mut buf = vec![0xB2, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]; // P, X, CC=2
    buf.extend_from_slice(&[0xAA; 8]); // two CSRCs
    buf.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, 1, 2, 3, 4]); // 1-word extension
    buf.extend_from_slice(&[9, 9, 9]); // payload
    buf.extend_from_slice(&[0, 0, 3]); // 3 bytes of padding
    let p = RtpPacket::parse(&buf).unwrap();
    assert_eq!(p.payload, &[9, 9, 9]);
    assert_eq!(p.header.sequence, 1);
}

#[test]
fn malformed_packets_are_errors() {
    assert_eq!(RtpPacket::parse(&[]), Err(RtpError::Truncated));
    assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::Truncated));
    assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpError::BadVersion(1)));
    // RTCP sender report on the RTP port.
    assert_eq!(
        RtpPacket::parse(&[0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(RtpError::Rtcp)
    );
    // CSRC count beyond the buffer.
    assert_eq!(
        RtpPacket::parse(&[0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(RtpError::Truncated)
    );
    // Extension header announced but missing, and extension length beyond the buffer.
    assert_eq!(
        RtpPacket::parse(&[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(RtpError::Truncated)
    );
    let mut ext = vec![
        0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0xFF, 0xFF,
    ];
    assert_eq!(RtpPacket::parse(&ext), Err(RtpError::Truncated));
    ext[14] = 0;
    ext[15] = 0;
    assert!(RtpPacket::parse(&ext).is_ok());
    // Padding of zero, and padding longer than the payload.
    let mut pad = vec![0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding));
    pad[13] = 3;
    assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding));
    pad[13] = 2;
    assert_eq!(RtpPacket::parse(&pad).unwrap().payload, &[] as &[u8]);
    let huge = vec![0x80; MAX_DATAGRAM + 1];
    assert_eq!(RtpPacket::parse(&huge), Err(RtpError::TooLong));
}

#[test]
fn random_bytes_never_panic() {
    let mut state = 0x9E37_79B9u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Some(b) = buf.first_mut() {
            *b = (*b & 0x3F) | 0x80; // mostly version 2, to reach the deeper checks
        }
        if let Ok(p) = RtpPacket::parse(&buf) {
            assert!(p.payload.len() + 12 <= buf.len());
        }
    }
}

#[test]
fn serial_number_comparisons_wrap() {
    assert!(seq_newer(0, 0xFFFF));
    assert!(!seq_newer(0xFFFF, 0));
    assert!(!seq_newer(5, 5));
    assert!(ts_newer(10, 0xFFFF_FFF0));
    assert!(!ts_newer(0xFFFF_FFF0, 10));
}
