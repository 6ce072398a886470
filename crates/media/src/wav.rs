//! A bounded RIFF/WAVE reader for audio files users provide, and a 16-bit PCM writer.
//!
//! Reads PCM integer (8-bit unsigned, 16/24/32-bit signed, any container), IEEE float
//! (32/64-bit), G.711 A-law (tag 6) and mu-law (tag 7), and WAVE_FORMAT_EXTENSIBLE
//! wrapping any of these; any channel count up to [`MAX_CHANNELS`] is mixed to mono.
//! Every size is checked against the buffer; a truncated data chunk is read as far as
//! it goes (streaming writers leave its size at 0 or 0xFFFFFFFF).

use thiserror::Error;

use crate::g711::{alaw_decode, ulaw_decode, Codec};

/// Largest file accepted.
pub const MAX_WAV_BYTES: usize = 512 * 1024 * 1024;
/// Longest audio accepted, in seconds.
pub const MAX_SECONDS: u64 = 30 * 60;
/// Most channels accepted.
pub const MAX_CHANNELS: u16 = 8;
/// Sample-rate range accepted.
pub const RATE_RANGE: std::ops::RangeInclusive<u32> = 1000..=192_000;
/// Most chunks walked before giving up.
const MAX_CHUNKS: usize = 1024;

const TAG_PCM: u16 = 1;
const TAG_FLOAT: u16 = 3;
const TAG_ALAW: u16 = 6;
const TAG_ULAW: u16 = 7;
const TAG_EXTENSIBLE: u16 = 0xFFFE;
/// Bytes 2..16 of every KSDATAFORMAT_SUBTYPE GUID for a WAVE format tag.
const SUBTYPE_SUFFIX: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Why a WAV file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WavError {
    /// Not a RIFF/WAVE file.
    #[error("not a RIFF/WAVE file")]
    NotWav,
    /// No `fmt ` chunk, or one too short.
    #[error("missing or short fmt chunk")]
    BadFmt,
    /// No `data` chunk.
    #[error("missing data chunk")]
    NoData,
    /// A format this reader does not decode.
    #[error("unsupported WAV format: tag {tag:#06x}, {bits} bits in {container} bytes")]
    Unsupported {
        /// Format tag (after unwrapping WAVE_FORMAT_EXTENSIBLE).
        tag: u16,
        /// Bits per sample.
        bits: u16,
        /// Bytes per sample container.
        container: u16,
    },
    /// Channel count zero or above [`MAX_CHANNELS`].
    #[error("unsupported channel count {0}")]
    Channels(u16),
    /// Sample rate outside [`RATE_RANGE`].
    #[error("unsupported sample rate {0}")]
    Rate(u32),
    /// Longer than [`MAX_SECONDS`] or [`MAX_WAV_BYTES`].
    #[error("audio too long")]
    TooLong,
}

/// Sample encoding of the data chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// Integer PCM in a container of 1-4 bytes (8-bit is unsigned).
    Int,
    /// IEEE float in 4 or 8 bytes.
    Float,
    /// G.711 code words.
    G711(Codec),
}

/// The format facts of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Sample encoding.
    pub format: SampleFormat,
    /// Channel count.
    pub channels: u16,
    /// Frames per second.
    pub sample_rate: u32,
    /// Bytes per sample container.
    pub container: u16,
}

/// A parsed WAV: its format and the (possibly truncated) sample bytes borrowed from input.
#[derive(Debug, Clone, Copy)]
pub struct Wav<'a> {
    /// Format.
    pub format: WavFormat,
    /// Whole frames of sample data.
    pub data: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

impl<'a> Wav<'a> {
    /// Parse the RIFF structure and validate the format.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WavError> {
        if bytes.len() > MAX_WAV_BYTES {
            return Err(WavError::TooLong);
        }
        if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
            return Err(WavError::NotWav);
        }
        let mut fmt = None;
        let mut data = None;
        let mut offset = 12usize;
        for _ in 0..MAX_CHUNKS {
            let Some(id) = bytes.get(offset..offset + 4) else {
                break;
            };
            let Some(size) = u32_at(bytes, offset + 4) else {
                break;
            };
            let body_start = offset + 8;
            let available = bytes.len().saturating_sub(body_start);
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            let body_len = size.min(available);
            let body = bytes.get(body_start..body_start + body_len).unwrap_or(&[]);
            match id {
                b"fmt " if fmt.is_none() => fmt = Some(body),
                b"data" if data.is_none() => data = Some(body),
                _ => {}
            }
            if size > available {
                break;
            }
            offset = body_start + size + (size & 1);
        }
        let format = parse_fmt(fmt.ok_or(WavError::BadFmt)?)?;
        let data = data.ok_or(WavError::NoData)?;
        let frame_len = usize::from(format.container) * usize::from(format.channels);
        let frames = data.len() / frame_len;
        if frames as u64 > u64::from(format.sample_rate) * MAX_SECONDS {
            return Err(WavError::TooLong);
        }
        let data = data.get(..frames * frame_len).unwrap_or(&[]);
        Ok(Wav { format, data })
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        let frame_len = usize::from(self.format.container) * usize::from(self.format.channels);
        self.data.len() / frame_len.max(1)
    }

    /// The samples mixed to mono, as floats in [-1, 1].
    pub fn to_mono_f32(&self) -> Vec<f32> {
        let channels = usize::from(self.format.channels.max(1));
        let container = usize::from(self.format.container.max(1));
        let scale = 1.0 / channels as f32;
        let fmt = self.format.format;
        self.data
            .chunks_exact(container * channels)
            .map(|frame| {
                frame
                    .chunks_exact(container)
                    .map(|s| sample_to_f32(fmt, s))
                    .sum::<f32>()
                    * scale
            })
            .collect()
    }
}

fn sample_to_f32(format: SampleFormat, s: &[u8]) -> f32 {
    match (format, s) {
        (SampleFormat::Int, [a]) => (f32::from(*a) - 128.0) / 128.0,
        (SampleFormat::Int, [a, b]) => f32::from(i16::from_le_bytes([*a, *b])) / 32768.0,
        (SampleFormat::Int, [a, b, c]) => {
            (i32::from_le_bytes([0, *a, *b, *c]) >> 8) as f32 / 8_388_608.0
        }
        (SampleFormat::Int, [a, b, c, d]) => {
            i32::from_le_bytes([*a, *b, *c, *d]) as f32 / 2_147_483_648.0
        }
        (SampleFormat::Float, [a, b, c, d]) => clean(f32::from_le_bytes([*a, *b, *c, *d])),
        (SampleFormat::Float, [a, b, c, d, e, f, g, h]) => {
            clean(f64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]) as f32)
        }
        (SampleFormat::G711(Codec::Pcma), [a]) => f32::from(alaw_decode(*a)) / 32768.0,
        (SampleFormat::G711(Codec::Pcmu), [a]) => f32::from(ulaw_decode(*a)) / 32768.0,
        _ => 0.0,
    }
}

/// Replace NaN/infinity by silence and clamp to [-1, 1].
fn clean(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

fn parse_fmt(fmt: &[u8]) -> Result<WavFormat, WavError> {
    let mut tag = u16_at(fmt, 0).ok_or(WavError::BadFmt)?;
    let channels = u16_at(fmt, 2).ok_or(WavError::BadFmt)?;
    let sample_rate = u32_at(fmt, 4).ok_or(WavError::BadFmt)?;
    let block_align = u16_at(fmt, 12).ok_or(WavError::BadFmt)?;
    let bits = u16_at(fmt, 14).ok_or(WavError::BadFmt)?;
    if tag == TAG_EXTENSIBLE {
        let sub = fmt.get(24..40).ok_or(WavError::BadFmt)?;
        if sub.get(2..) != Some(&SUBTYPE_SUFFIX[..]) {
            return Err(WavError::Unsupported {
                tag,
                bits,
                container: 0,
            });
        }
        tag = u16_at(sub, 0).ok_or(WavError::BadFmt)?;
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(WavError::Channels(channels));
    }
    if !RATE_RANGE.contains(&sample_rate) {
        return Err(WavError::Rate(sample_rate));
    }
    let container = if block_align != 0 && block_align % channels == 0 {
        block_align / channels
    } else {
        bits.div_ceil(8)
    };
    let unsupported = WavError::Unsupported {
        tag,
        bits,
        container,
    };
    if bits == 0 || bits > container.saturating_mul(8) {
        return Err(unsupported);
    }
    let format = match (tag, container) {
        (TAG_PCM, 1..=4) => SampleFormat::Int,
        (TAG_FLOAT, 4 | 8) => SampleFormat::Float,
        (TAG_ALAW, 1) => SampleFormat::G711(Codec::Pcma),
        (TAG_ULAW, 1) => SampleFormat::G711(Codec::Pcmu),
        _ => return Err(unsupported),
    };
    Ok(WavFormat {
        format,
        channels,
        sample_rate,
        container,
    })
}

/// Write 16-bit PCM mono samples as a WAV file.
pub fn write_pcm16_wav(samples: &[i16], sample_rate: u32) -> Vec<u8> {
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX - 36) & !1;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&TAG_PCM.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&sample_rate.saturating_mul(2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples.iter().take(data_len as usize / 2) {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}
