//! Typed errors of a browser leg. None carries key material or packet contents.

use thiserror::Error;

/// What went wrong with a browser leg's signalling, input or output.
#[derive(Debug, Error)]
pub enum WebrtcError {
    /// The local address cannot be an ICE host candidate (unspecified, multicast...).
    #[error("local address {0} cannot be a host candidate")]
    BadLocalAddress(std::net::SocketAddr),
    /// The crypto provider could not make a DTLS certificate.
    #[error("no DTLS certificate could be generated")]
    NoCertificate,
    /// `offer` was called twice, or `accept_answer` without a pending offer.
    #[error("signalling out of order: {0}")]
    OutOfOrder(&'static str),
    /// The SDP answer is longer than [`crate::MAX_SDP`].
    #[error("SDP answer of {0} bytes is too long")]
    SdpTooLong(usize),
    /// The SDP answer does not parse.
    #[error("SDP answer does not parse: {0}")]
    SdpParse(String),
    /// The SDP answer parses but str0m refuses it (no audio, wrong m-lines, both ICE-lite...).
    #[error("SDP answer refused: {0}")]
    SdpRefused(String),
    /// A datagram longer than [`crate::MAX_DATAGRAM`].
    #[error("datagram of {0} bytes is too long")]
    DatagramTooLong(usize),
    /// A datagram that is neither STUN, DTLS nor (S)RTP/RTCP.
    #[error("datagram is not STUN, DTLS or RTP")]
    Malformed,
    /// A datagram from a source this leg does not know and without its ICE credentials.
    #[error("datagram from a foreign source")]
    Foreign,
    /// str0m refused an input or failed to produce output.
    #[error("webrtc: {0}")]
    Rtc(String),
    /// Audio was handed over before the leg was connected or after it closed.
    #[error("leg not connected")]
    NotConnected,
    /// A payload type the answer did not accept.
    #[error("payload type {0} not negotiated")]
    PayloadType(u8),
    /// An audio payload longer than [`crate::MAX_PAYLOAD`].
    #[error("RTP payload of {0} bytes is too long")]
    PayloadTooLong(usize),

    #[error("the WebRTC stack failed inside this leg; the leg is over")]
    Broken,
}

impl From<str0m::RtcError> for WebrtcError {
    fn from(e: str0m::RtcError) -> Self {
        WebrtcError::Rtc(e.to_string())
    }
}
