//! Test tones and finding them again: a sine wave to send as G.711, and the decoded audio
//! a test endpoint received, cut in 100 ms blocks and checked with the Goertzel detector of
//! `ringdesk_media::analysis`.

use super::rtp::Arrival;
use ringdesk_media::analysis::tone_ratio;
use ringdesk_media::{Codec, RtpPacket};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Sample rate of G.711.
pub const RATE: u32 = 8000;
/// Peak amplitude of the test tones (about -10 dBFS).
pub const AMPLITUDE: f64 = 10_000.0;
/// Samples per analysed block (100 ms).
pub const BLOCK: usize = 800;
/// A block "has" a tone when at least this share of its energy is at the frequency.
pub const MIN_RATIO: f64 = 0.6;

/// `length` of a `freq` Hz sine at `amplitude`, 8 kHz.
pub fn sine(freq: f64, amplitude: f64, length: Duration) -> Vec<i16> {
    let n = (length.as_secs_f64() * f64::from(RATE)) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
        })
        .collect()
}

/// The audio in `arrivals` sent by `from` in `codec` (its static payload type) at or after
/// `since`, decoded in arrival order. Telephone events and other payload types are skipped.
pub fn audio_from(
    arrivals: &[Arrival],
    from: SocketAddr,
    codec: Codec,
    since: Option<Instant>,
) -> Vec<i16> {
    let mut out = Vec::new();
    for a in arrivals {
        if a.from != from || since.is_some_and(|s| a.at < s) {
            continue;
        }
        let Ok(p) = RtpPacket::parse(&a.data) else {
            continue;
        };
        if p.header.payload_type == codec.payload_type() {
            codec.decode_into(p.payload, &mut out);
        }
    }
    out
}

/// How many 100 ms blocks of `samples` carry a `freq` Hz tone.
pub fn blocks_with(samples: &[i16], freq: f64) -> usize {
    samples
        .chunks_exact(BLOCK)
        .filter(|b| tone_ratio(b, RATE, freq) >= MIN_RATIO)
        .count()
}

/// Payload types of the datagrams from `from` (for failure reports).
pub fn payload_types(arrivals: &[Arrival], from: SocketAddr) -> Vec<u8> {
    let mut pts: Vec<u8> = arrivals
        .iter()
        .filter(|a| a.from == from)
        .filter_map(|a| {
            RtpPacket::parse(&a.data)
                .ok()
                .map(|p| p.header.payload_type)
        })
        .collect();
    pts.dedup();
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sine_is_found_at_its_frequency_only() {
        let s = sine(1000.0, AMPLITUDE, Duration::from_millis(500));
        assert_eq!(s.len(), 4000);
        assert_eq!(blocks_with(&s, 1000.0), 5);
        assert_eq!(blocks_with(&s, 600.0), 0);
        // Through G.711 both ways the tone stays.
        let mut ulaw = Vec::new();
        Codec::Pcmu.encode_into(&s, &mut ulaw);
        let mut back = Vec::new();
        Codec::Pcmu.decode_into(&ulaw, &mut back);
        assert_eq!(blocks_with(&back, 1000.0), 5);
        assert_eq!(blocks_with(&vec![0; 4000], 1000.0), 0);
    }
}
