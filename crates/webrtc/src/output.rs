//! What a browser leg hands back to the runtime, one item per `poll_output` call.

use std::net::SocketAddr;
use std::time::Instant;

/// One thing for the runtime to do or know. Poll until [`Output::Timeout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A UDP datagram to send from the leg's socket (STUN, DTLS, SRTP or SRTCP).
    Transmit {
        /// Where to send it.
        to: SocketAddr,
        /// The bytes, ready for the wire.
        data: Vec<u8>,
    },
    /// Decrypted audio from the browser, for the bridge.
    Rtp {
        /// The RTP payload type as the browser sent it.
        payload_type: u8,
        /// The RTP sequence number.
        sequence: u16,
        /// The RTP timestamp.
        timestamp: u32,
        /// The marker bit (start of a talkspurt).
        marker: bool,
        /// The payload, without RTP header.
        payload: Vec<u8>,
    },
    /// ICE and DTLS are done: audio can flow both ways.
    Connected,
    /// The browser is gone (ICE lost it, DTLS closed, or the leg was refused): tear down.
    Disconnected,
    /// Nothing more until this instant or the next datagram: call `handle_timeout` then.
    Timeout(Instant),
}
