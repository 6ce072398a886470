//! Free loopback ports for the peers the tests start (SIPp needs numbers, not port 0).
//!
//! The numbers come from below the kernel's ephemeral range (`ip_local_port_range`, 32768
//! and up on Linux), walked by one counter per process: a port the kernel hands to a
//! socket bound to port 0 (ringdesk's RTP legs, a client's source port) can never be one
//! a test chose a moment earlier and has not bound yet, and two tests running at once
//! never pick the same number. Each number is still checked by binding it.

use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

/// The ports handed out: `[FIRST, FIRST + SPAN)`.
const FIRST: u32 = 20_000;
const SPAN: u32 = 12_000;

/// Offset of the next port in the span; starts at a place that depends on the process so
/// that test binaries run one after the other do not retry the same numbers first.
static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);

/// The next `n` consecutive numbers from the span (never wrapping inside the block).
fn take(n: u32) -> u16 {
    let _ = NEXT.compare_exchange(
        u32::MAX,
        (std::process::id().wrapping_mul(2_654_435_761) % SPAN) & !3,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    loop {
        let offset = NEXT.fetch_add(n, Ordering::Relaxed) % SPAN;
        if offset + n <= SPAN {
            return (FIRST + offset) as u16;
        }
    }
}

/// A port free on 127.0.0.1 for both UDP and TCP at the time of the call.
pub fn free_port() -> u16 {
    for _ in 0..500 {
        let port = take(1);
        if UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
    panic!("no free loopback port found after 500 tries");
}

/// An even port `p` with `p + 1`, `p + 2` and `p + 3` free too (SIPp's media ports:
/// RTP/RTCP pairs for audio and for its echo or video ports).
pub fn free_rtp_port() -> u16 {
    for _ in 0..500 {
        // Five numbers hold an even block of four wherever the counter stands.
        let first = take(5);
        let p = first + first % 2;
        let all_free = (0..4u16).all(|k| UdpSocket::bind(("127.0.0.1", p + k)).is_ok());
        if all_free {
            return p;
        }
    }
    panic!("no free RTP port block found after 500 tries");
}
