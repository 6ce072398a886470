//! The RTP stream ringdesk sent to a test-owned endpoint, checked packet by packet
//! (payload type, sequence, timestamp, SSRC, marker) and measured (arrival jitter), then
//! decoded to PCM frames for the audio checks.

use super::audio;
use super::rtp::Arrival;
use ringdesk_media::{Codec, RtpPacket};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Longest gap between two packets accepted on these shared, noisy machines.
pub const MAX_GAP: Duration = Duration::from_millis(200);
/// Most packets, per thousand, accepted within 1 ms of the previous one (bursts: the
/// pacer sends up to 3 packets at once after a stall, and these machines are shared).
pub const MAX_BURSTS_PER_MILLE: usize = 10;

/// One parsed packet.
#[derive(Debug, Clone)]
pub struct Packet {
    pub at: Instant,
    pub payload_type: u8,
    pub marker: bool,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

/// Inter-arrival measures.
#[derive(Debug, Clone, Copy)]
pub struct Jitter {
    /// Largest gap between consecutive packets.
    pub max_gap: Duration,
    /// Packets arriving within 1 ms of the previous one.
    pub bursts: usize,
    /// 99th percentile of |gap - 20 ms|.
    pub p99_deviation: Duration,
    /// Mean of |gap - 20 ms|.
    pub mean_deviation: Duration,
}

/// The stream from ringdesk's RTP socket.
#[derive(Debug, Clone)]
pub struct Heard {
    pub from: SocketAddr,
    pub packets: Vec<Packet>,
    /// Datagrams from elsewhere or that did not parse.
    pub ignored: usize,
}

impl Heard {
    /// Parses the datagrams that came from `from` (ringdesk's RTP address).
    pub fn new(arrivals: &[Arrival], from: SocketAddr) -> Heard {
        let mut packets = Vec::with_capacity(arrivals.len());
        let mut ignored = 0;
        for a in arrivals {
            match RtpPacket::parse(&a.data) {
                Ok(p) if a.from == from => packets.push(Packet {
                    at: a.at,
                    payload_type: p.header.payload_type,
                    marker: p.header.marker,
                    sequence: p.header.sequence,
                    timestamp: p.header.timestamp,
                    ssrc: p.header.ssrc,
                    payload: p.payload.to_vec(),
                }),
                _ => ignored += 1,
            }
        }
        Heard {
            from,
            packets,
            ignored,
        }
    }

    /// Every RTP header rule of a continuous G.711 stream (timestamps advance 160 per
    /// 20 ms slot; see [`Heard::timestamp_jumps`] for skipped slots); the first broken rule.
    pub fn check_stream(&self, payload_type: u8) -> Result<(), String> {
        let first = self.packets.first().ok_or("no RTP packet received")?;
        if !first.marker {
            return Err("the first packet lacks the marker bit".into());
        }
        for (i, p) in self.packets.iter().enumerate() {
            if p.payload_type != payload_type {
                return Err(format!(
                    "packet {i}: payload type {} instead of the negotiated {payload_type}",
                    p.payload_type
                ));
            }
            if p.ssrc != first.ssrc {
                return Err(format!(
                    "packet {i}: SSRC {:#x} changed from {:#x}",
                    p.ssrc, first.ssrc
                ));
            }
            if p.payload.len() != audio::FRAME {
                return Err(format!(
                    "packet {i}: {} payload bytes instead of 160 (20 ms)",
                    p.payload.len()
                ));
            }
        }
        for (i, w) in self.packets.windows(2).enumerate() {
            let (a, b) = (&w[0], &w[1]);
            if b.sequence != a.sequence.wrapping_add(1) {
                return Err(format!(
                    "packet {}: sequence {} after {} (not +1)",
                    i + 1,
                    b.sequence,
                    a.sequence
                ));
            }
            let step = b.timestamp.wrapping_sub(a.timestamp);
            if step == 0 || !step.is_multiple_of(160) || step > 160 * 50 {
                return Err(format!(
                    "packet {}: timestamp {} after {} (not a step of 160 per 20 ms slot)",
                    i + 1,
                    b.timestamp,
                    a.timestamp
                ));
            }
        }
        Ok(())
    }

    /// Packets whose timestamp advanced by more than one 20 ms slot (index, slots): the
    /// pacer skips the slots it missed after a stall instead of bursting them (its design).
    pub fn timestamp_jumps(&self) -> Vec<(usize, u32)> {
        self.packets
            .windows(2)
            .enumerate()
            .filter_map(|(i, w)| {
                let step = w[1].timestamp.wrapping_sub(w[0].timestamp);
                (step != 160).then_some((i + 1, step / 160))
            })
            .collect()
    }

    /// Inter-arrival measures of the packets.
    pub fn jitter(&self) -> Jitter {
        let gaps: Vec<Duration> = self
            .packets
            .windows(2)
            .map(|w| w[1].at.saturating_duration_since(w[0].at))
            .collect();
        let nominal = Duration::from_millis(20);
        let mut deviations: Vec<Duration> = gaps.iter().map(|g| g.abs_diff(nominal)).collect();
        deviations.sort();
        let p99 = deviations
            .get((deviations.len() * 99 / 100).min(deviations.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default();
        let mean = if deviations.is_empty() {
            Duration::ZERO
        } else {
            deviations.iter().sum::<Duration>() / deviations.len() as u32
        };
        Jitter {
            max_gap: gaps.iter().copied().max().unwrap_or_default(),
            bursts: gaps
                .iter()
                .filter(|g| **g < Duration::from_millis(1))
                .count(),
            p99_deviation: p99,
            mean_deviation: mean,
        }
    }

    /// The audio as PCM, one packet after the other.
    pub fn pcm(&self, codec: Codec) -> Vec<i16> {
        audio::decode(codec, self.packets.iter().map(|p| p.payload.as_slice()))
    }

    /// Index of the first packet that arrived at or after `t` (the frame heard then).
    pub fn frame_at(&self, t: Instant) -> usize {
        self.packets.partition_point(|p| p.at < t)
    }
}
