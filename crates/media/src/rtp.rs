//! RTP packets (RFC 3550): a bounded, allocation-free parser and a writer.
//!
//! Parsing borrows the payload from the datagram and never panics: every length is
//! checked against the buffer (CSRC list, header extension, padding).

use thiserror::Error;

/// Size of the fixed RTP header.
pub const HEADER_LEN: usize = 12;
/// Largest datagram the parser accepts (bigger ones are not RTP we could have negotiated).
pub const MAX_DATAGRAM: usize = 1500;

/// Why a datagram is not an acceptable RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RtpError {
    /// Shorter than the headers it announces.
    #[error("datagram too short for its RTP headers")]
    Truncated,
    /// Longer than [`MAX_DATAGRAM`].
    #[error("datagram longer than {MAX_DATAGRAM} bytes")]
    TooLong,
    /// The version field is not 2.
    #[error("RTP version {0} is not 2")]
    BadVersion(u8),
    /// The padding count is zero or larger than the payload.
    #[error("invalid RTP padding")]
    BadPadding,
    /// A multiplexed RTCP packet (payload type byte 192..=223), not RTP.
    #[error("RTCP packet on the RTP port")]
    Rtcp,
}

/// The fixed-header fields that matter to a G.711 voice stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit (talkspurt start for audio, event start for RFC 4733).
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp (8 kHz clock for G.711 and telephone-event).
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
}

/// A parsed packet: its header and the payload borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The fixed header.
    pub header: RtpHeader,
    /// Payload without CSRCs, extension or padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parse one datagram.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() > MAX_DATAGRAM {
            return Err(RtpError::TooLong);
        }
        let fixed: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(RtpError::Truncated)?;
        let [b0, b1, s0, s1, t0, t1, t2, t3, c0, c1, c2, c3] = *fixed;
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        if (192..=223).contains(&b1) {
            return Err(RtpError::Rtcp);
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = usize::from(b0 & 0x0F);
        let mut offset = HEADER_LEN + 4 * csrc_count;
        if has_extension {
            let ext = buf.get(offset..offset + 4).ok_or(RtpError::Truncated)?;
            let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            offset += 4 + 4 * words;
        }
        let mut end = buf.len();
        if offset > end {
            return Err(RtpError::Truncated);
        }
        if has_padding {
            let pad = usize::from(*buf.last().ok_or(RtpError::Truncated)?);
            if pad == 0 || pad > end - offset {
                return Err(RtpError::BadPadding);
            }
            end -= pad;
        }
        let payload = buf.get(offset..end).ok_or(RtpError::Truncated)?;
        Ok(RtpPacket {
            header: RtpHeader {
                marker: b1 & 0x80 != 0,
                payload_type: b1 & 0x7F,
                sequence: u16::from_be_bytes([s0, s1]),
                timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
                ssrc: u32::from_be_bytes([c0, c1, c2, c3]),
            },
            payload,
        })
    }
}

impl RtpHeader {
    /// The 12 header bytes (version 2, no padding, extension or CSRCs).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = 0x80;
        out[1] = (u8::from(self.marker) << 7) | (self.payload_type & 0x7F);
        out[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        out
    }

    /// Append header and payload to `out`.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
        out.extend_from_slice(payload);
    }
}

/// `a` is newer than `b` in RFC 1982 serial-number arithmetic on 16 bits.
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// `a` is newer than `b` in serial-number arithmetic on 32 bits (timestamps).
pub fn ts_newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}
