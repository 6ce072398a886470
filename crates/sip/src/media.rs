//! Media description types shared by the SDP offer/answer code and the public API.
//!
//! These are plain values: no SIP or SDP library type appears here, so the media core and
//! the call runtime can depend on them without knowing how signalling is done.

use std::net::SocketAddr;

use crate::sdes::{SdesCrypto, SrtpKeys};

/// An audio codec ringdesk can send and receive (G.711 at 8 kHz).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 mu-law (static payload type 0).
    Pcmu,
    /// G.711 A-law (static payload type 8).
    Pcma,
}

impl Codec {
    /// The SDP encoding name (`PCMU` / `PCMA`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The static RTP payload type of this codec (RFC 3551).
    pub fn static_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }
}

/// Media direction of a stream (RFC 3264 / RFC 4566 `a=sendrecv` etc.), seen from the side
/// that wrote the description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Both directions (the default when no attribute is present).
    #[default]
    SendRecv,
    /// The writer only sends (the other side is put on hold).
    SendOnly,
    /// The writer only receives.
    RecvOnly,
    /// No media in either direction.
    Inactive,
}

impl Direction {
    /// The direction the answerer must use for an offer with this direction.
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    /// The SDP attribute name (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub(crate) fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// One offered m-line, kept so the answer can list the same number of m-lines
/// (RFC 3264 section 6: streams we refuse are answered with port 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfferedStream {
    pub(crate) media: String,
    pub(crate) proto: String,
    pub(crate) first_format: String,
}

/// What the remote side offered, reduced to the audio stream ringdesk will use.
///
/// Produced by [`crate::parse_offer`], which already chose the codec: an offer that yields a
/// `MediaOffer` can be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaOffer {
    /// Where the remote side wants to receive RTP (connection address and m-line port).
    /// An unspecified address (`0.0.0.0`) is the old RFC 2543 way of putting a call on hold.
    pub remote_addr: SocketAddr,
    /// The codec ringdesk will use: the first PCMU or PCMA in the offerer's order.
    pub codec: Codec,
    /// The payload type the offerer uses for that codec.
    pub payload_type: u8,
    /// The offerer's telephone-event (RFC 4733) payload type, when it offers events 0-15.
    pub telephone_event_pt: Option<u8>,
    /// The offerer's direction for the audio stream.
    pub direction: Direction,
    /// The offerer's `a=ptime`, if any.
    pub ptime_ms: Option<u32>,
    /// The offerer's SRTP key for the chosen stream (SDES), when the call is to be
    /// encrypted.
    pub crypto: Option<SdesCrypto>,
    pub(crate) streams: Vec<OfferedStream>,
    pub(crate) chosen_stream: usize,
}

impl MediaOffer {
    /// True when the offer puts ringdesk on hold (`sendonly`/`inactive`, or a `0.0.0.0`
    /// connection address).
    pub fn is_hold(&self) -> bool {
        matches!(self.direction, Direction::SendOnly | Direction::Inactive)
            || self.remote_addr.ip().is_unspecified()
    }
}

/// The negotiated media of a call, as ringdesk answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaAnswer {
    /// Our RTP address as written in the answer.
    pub local_addr: SocketAddr,
    /// Where to send RTP (from the offer).
    pub remote_addr: SocketAddr,
    /// The codec both sides use.
    pub codec: Codec,
    /// Its payload type (the offerer's).
    pub payload_type: u8,
    /// The telephone-event payload type (the offerer's), if events were negotiated.
    pub telephone_event_pt: Option<u8>,
    /// Our direction (the answer to the offer's direction).
    pub direction: Direction,
    /// Packetization time we announce (always 20 ms).
    pub ptime_ms: u32,
    /// The SRTP keys, when the media is encrypted.
    pub srtp: Option<SrtpKeys>,
    /// The SDP text sent in the 200 OK.
    pub sdp: String,
}
