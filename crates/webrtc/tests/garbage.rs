//! Garbage SDP answers and datagrams are errors, counted, never panics.

use std::net::SocketAddr;
use std::time::Instant;

use ringdesk_webrtc::{WebrtcError, WebrtcLeg, MAX_SDP};

fn leg_addr() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

/// Deterministic xorshift bytes: the same garbage on every run.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn garbage_answers_are_errors() {
    let now = Instant::now();

    let mut leg = WebrtcLeg::new(leg_addr(), now).unwrap();
    assert!(matches!(
        leg.accept_answer("v=0\r\n"),
        Err(WebrtcError::OutOfOrder(_))
    ));

    let mut leg = WebrtcLeg::new(leg_addr(), now).unwrap();
    leg.offer().unwrap();
    let huge = "v=0\r\n".to_string() + &"a=x\r\n".repeat(MAX_SDP / 5 + 1);
    assert!(matches!(
        leg.accept_answer(&huge),
        Err(WebrtcError::SdpTooLong(_))
    ));

    let mut leg = WebrtcLeg::new(leg_addr(), now).unwrap();
    leg.offer().unwrap();
    assert!(matches!(
        leg.accept_answer("not sdp at all \u{0}\u{7f}"),
        Err(WebrtcError::SdpParse(_))
    ));
    // The offer is spent: a second answer is out of order, not a panic.
    assert!(matches!(
        leg.accept_answer("v=0\r\n"),
        Err(WebrtcError::OutOfOrder(_))
    ));

    // Random text and truncated real-looking answers.
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut offer_leg = WebrtcLeg::new(leg_addr(), now).unwrap();
    let offer = offer_leg.offer().unwrap();
    for i in 0..200 {
        let mut leg = WebrtcLeg::new(leg_addr(), now).unwrap();
        leg.offer().unwrap();
        let text = if i % 2 == 0 {
            let len = (noise.next() % 3000) as usize;
            String::from_utf8_lossy(&noise.bytes(len)).into_owned()
        } else {
            // Our own offer, cut anywhere, is never a valid answer.
            let mut cut = (noise.next() as usize) % offer.len();
            while !offer.is_char_boundary(cut) {
                cut -= 1;
            }
            offer[..cut].to_string()
        };
        assert!(leg.accept_answer(&text).is_err(), "accepted {text:?}");
    }
}

#[test]
fn garbage_datagrams_are_errors() {
    let now = Instant::now();
    let mut leg = WebrtcLeg::new(leg_addr(), now).unwrap();
    leg.offer().unwrap();
    let from: SocketAddr = "127.0.0.9:9999".parse().unwrap();

    assert!(matches!(
        leg.handle_datagram(now, from, leg_addr(), &[0x80; 3000]),
        Err(WebrtcError::DatagramTooLong(3000))
    ));
    assert!(leg.handle_datagram(now, from, leg_addr(), &[]).is_err());

    let mut noise = Noise(0xDEAD_BEEF_CAFE_F00D);
    // First bytes in each RFC 7983 range (STUN, DTLS, RTP/RTCP) and outside them.
    let firsts = [0u8, 1, 3, 20, 22, 23, 63, 64, 128, 144, 191, 200, 255];
    let mut n = 0u64;
    for i in 0..3000 {
        let len = (noise.next() % 1500) as usize;
        let mut data = noise.bytes(len);
        if let Some(b) = data.first_mut() {
            *b = firsts[i % firsts.len()];
        }
        if i % 3 == 0 && data.len() >= 8 {
            // STUN's magic cookie, so the parser goes further.
            data[4..8].copy_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        }
        let _ = leg.handle_datagram(now, from, leg_addr(), &data);
        n += 1;
    }
    let c = leg.counters();
    assert_eq!(c.datagrams, n + 2);
    assert_eq!(c.rejected, c.datagrams, "{c:?}");
    assert_eq!(c.rtp_in, 0);
}
