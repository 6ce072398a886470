//! Free loopback ports for the peers the tests start (SIPp needs numbers, not port 0).

use std::net::{TcpListener, UdpSocket};

/// A port free on 127.0.0.1 for both UDP and TCP at the time of the call.
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else { continue };
        if TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free loopback port found after 50 tries");
}

/// An even port `p` with `p + 1`, `p + 2` and `p + 3` free too (SIPp's media ports:
/// RTP/RTCP pairs for audio and for its echo or video ports).
pub fn free_rtp_port() -> u16 {
    for _ in 0..200 {
        let p = free_port();
        if !p.is_multiple_of(2) || p > 65_000 {
            continue;
        }
        let all_free = (0..4u16).all(|k| UdpSocket::bind(("127.0.0.1", p + k)).is_ok());
        if all_free {
            return p;
        }
    }
    panic!("no free RTP port block found after 200 tries");
}
