//! Sans-IO core of one browser agent leg: ICE-lite, DTLS-SRTP and RTP over str0m.
//!
//! ringdesk calls the agent's browser (JsSIP answers): [`WebrtcLeg`] writes the SDP offer
//! for the INVITE, takes the browser's answer, and from then on turns UDP datagrams and
//! `now` into datagrams to send, decrypted audio for the bridge and connection events.
//! Nothing here opens a socket, reads a clock or spawns a thread (decision 0015).
//!
//! - [`leg`]: the leg itself over one str0m `Rtc` in RTP mode.
//! - [`output`]: what the leg hands back to the runtime.
//! - [`seq`]: 16-bit RTP sequence numbers extended for SRTP's rollover counter.
//! - [`error`]: the typed errors.

pub mod error;
pub mod leg;
pub mod output;
pub mod seq;

pub use error::WebrtcError;
pub use leg::{LegCounters, WebrtcLeg, MAX_DATAGRAM, MAX_PAYLOAD, MAX_SDP};
pub use output::Output;

/// PCMU's static RTP payload type, the one codec offered today.
pub const PT_PCMU: u8 = 0;
