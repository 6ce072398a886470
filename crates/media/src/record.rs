//! Recording helpers for tests: rebuild what a listener heard from received RTP packets.
//!
//! Packets are placed by timestamp (gaps become silence, reordering is undone,
//! duplicates overwrite themselves), decoded to 16-bit PCM at 8 kHz, and can be written
//! as a WAV file. The recording length is bounded.

use crate::g711::Codec;
use crate::rtp::RtpPacket;
use crate::wav::write_pcm16_wav;
use crate::SAMPLE_RATE;

/// Default bound on a recording: 10 minutes at 8 kHz.
pub const DEFAULT_MAX_SAMPLES: usize = 10 * 60 * 8000;

/// Accumulates one received audio stream.
#[derive(Debug, Clone)]
pub struct Recorder {
    codec: Codec,
    first_timestamp: Option<u32>,
    samples: Vec<i16>,
    max_samples: usize,
    packets: usize,
}

impl Recorder {
    /// Record `codec` audio (other payload types are ignored).
    pub fn new(codec: Codec) -> Self {
        Self::with_limit(codec, DEFAULT_MAX_SAMPLES)
    }

    /// Record at most `max_samples` samples.
    pub fn with_limit(codec: Codec, max_samples: usize) -> Self {
        Recorder {
            codec,
            first_timestamp: None,
            samples: Vec::new(),
            max_samples,
            packets: 0,
        }
    }

    /// Add one datagram; returns true when it was audio of our codec and was placed.
    pub fn push_datagram(&mut self, datagram: &[u8]) -> bool {
        match RtpPacket::parse(datagram) {
            Ok(p) => self.push_packet(&p),
            Err(_) => false,
        }
    }

    /// Add one parsed packet; returns true when it was placed.
    pub fn push_packet(&mut self, packet: &RtpPacket<'_>) -> bool {
        if packet.header.payload_type != self.codec.payload_type() {
            return false;
        }
        let first = *self.first_timestamp.get_or_insert(packet.header.timestamp);
        let offset = packet.header.timestamp.wrapping_sub(first);
        if offset >= 0x8000_0000 {
            return false; // before the first packet
        }
        let start = offset as usize;
        let Some(end) = start.checked_add(packet.payload.len()) else {
            return false;
        };
        if end > self.max_samples {
            return false;
        }
        if self.samples.len() < end {
            self.samples.resize(end, 0);
        }
        if let Some(dst) = self.samples.get_mut(start..end) {
            for (d, &c) in dst.iter_mut().zip(packet.payload) {
                *d = self.codec.decode(c);
            }
        }
        self.packets += 1;
        true
    }

    /// Audio packets placed so far.
    pub fn packets(&self) -> usize {
        self.packets
    }

    /// The recording as 8 kHz 16-bit samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// The recording as a WAV file.
    pub fn to_wav(&self) -> Vec<u8> {
        write_pcm16_wav(&self.samples, SAMPLE_RATE)
    }
}
