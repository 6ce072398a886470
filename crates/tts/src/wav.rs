//! Reading and writing 16-bit PCM WAV (RIFF) data, by hand and bounded.
//!
//! Engines that stream WAV to a pipe cannot seek back to fix the header, so the RIFF and
//! `data` sizes are often bogus (`0`, `0xFFFFFFFF`, or espeak-ng's `0x7FFFF000`). The
//! reader therefore treats a `data` size of zero or one that runs past the end of the
//! input as "the rest of the input". It never panics and never allocates more than the
//! input it was given.

use crate::audio::Audio;

/// Largest sample rate accepted from a WAV header.
pub const MAX_SAMPLE_RATE: u32 = 192_000;

/// What is wrong with a WAV file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WavError {
    /// Input shorter than a RIFF header, or empty.
    #[error("not a WAV file: {0}")]
    NotWav(&'static str),
    /// A chunk header or `fmt ` body is cut off.
    #[error("truncated {0} chunk")]
    Truncated(&'static str),
    /// The `data` chunk came before any `fmt ` chunk, or there is no `data` chunk.
    #[error("missing {0} chunk")]
    Missing(&'static str),
    /// A format this reader does not handle (only PCM, 16 bit, 1 or 2 channels).
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
}

/// The subset of the `fmt ` chunk we need.
#[derive(Debug, Clone, Copy)]
struct Format {
    channels: u16,
    sample_rate: u32,
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn parse_fmt(body: &[u8]) -> Result<Format, WavError> {
    let tag = u16_at(body, 0).ok_or(WavError::Truncated("fmt "))?;
    let channels = u16_at(body, 2).ok_or(WavError::Truncated("fmt "))?;
    let sample_rate = u32_at(body, 4).ok_or(WavError::Truncated("fmt "))?;
    let bits = u16_at(body, 14).ok_or(WavError::Truncated("fmt "))?;
    if tag != 1 {
        return Err(WavError::Unsupported(format!(
            "format tag {tag} (want 1, PCM)"
        )));
    }
    if bits != 16 {
        return Err(WavError::Unsupported(format!(
            "{bits} bits per sample (want 16)"
        )));
    }
    if channels != 1 && channels != 2 {
        return Err(WavError::Unsupported(format!(
            "{channels} channels (want 1 or 2)"
        )));
    }
    if sample_rate == 0 || sample_rate > MAX_SAMPLE_RATE {
        return Err(WavError::Unsupported(format!("sample rate {sample_rate}")));
    }
    Ok(Format {
        channels,
        sample_rate,
    })
}

fn decode_samples(data: &[u8], format: Format) -> Vec<i16> {
    let frame = 2 * usize::from(format.channels);
    data.chunks_exact(frame)
        .map(|f| {
            let mut sum: i32 = 0;
            for s in f.chunks_exact(2) {
                sum += i32::from(i16::from_le_bytes([s[0], s[1]]));
            }
            // Mono: the sample itself; stereo: the mean of both channels (fits in i16).
            let mean = sum / i32::from(format.channels);
            i16::try_from(mean).unwrap_or(if mean < 0 { i16::MIN } else { i16::MAX })
        })
        .collect()
}

/// Parses a 16-bit PCM WAV file (mono, or stereo downmixed to mono).
///
/// Tolerates the bogus sizes written by streaming encoders; a trailing partial frame is
/// dropped.
pub fn parse_wav(bytes: &[u8]) -> Result<Audio, WavError> {
    if bytes.len() < 12 {
        return Err(WavError::NotWav("shorter than a RIFF header"));
    }
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(WavError::NotWav("no RIFF/WAVE signature"));
    }
    let mut at = 12usize;
    let mut format: Option<Format> = None;
    while at < bytes.len() {
        let id = bytes
            .get(at..at + 4)
            .ok_or(WavError::Truncated("chunk header"))?;
        let size = u32_at(bytes, at + 4).ok_or(WavError::Truncated("chunk header"))?;
        let body_start = at + 8;
        let remaining = bytes.len() - body_start;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if id == b"data" {
            let format = format.ok_or(WavError::Missing("fmt "))?;
            let len = if size == 0 || size > remaining {
                remaining
            } else {
                size
            };
            let data = bytes.get(body_start..body_start + len).unwrap_or_default();
            return Ok(Audio::new(decode_samples(data, format), format.sample_rate));
        }
        if size > remaining {
            return Err(WavError::Truncated(if id == b"fmt " {
                "fmt "
            } else {
                "chunk"
            }));
        }
        let body = bytes
            .get(body_start..body_start + size)
            .ok_or(WavError::Truncated("chunk"))?;
        if id == b"fmt " {
            format = Some(parse_fmt(body)?);
        }
        // Chunks are padded to an even length.
        at = body_start.saturating_add(size).saturating_add(size & 1);
    }
    Err(WavError::Missing("data"))
}

/// Encodes mono 16-bit PCM as a canonical 44-byte-header WAV file.
///
/// Sizes saturate at `u32::MAX`; callers bound audio far below that.
pub fn encode_wav(audio: &Audio) -> Vec<u8> {
    let data_len = audio.samples.len().saturating_mul(2);
    let data_len32 = u32::try_from(data_len).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(44 + data_len);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&data_len32.saturating_add(36).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&audio.sample_rate.to_le_bytes());
    out.extend_from_slice(&audio.sample_rate.saturating_mul(2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len32.to_le_bytes());
    for s in &audio.samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(data_size: u32, channels: u16) -> Vec<u8> {
        let mut v = encode_wav(&Audio::new(vec![], 22050));
        v[22..24].copy_from_slice(&channels.to_le_bytes());
        v[40..44].copy_from_slice(&data_size.to_le_bytes());
        v
    }

    #[test]
    fn round_trip() {
        let audio = Audio::new(vec![0, 1, -1, i16::MAX, i16::MIN, 1234], 8000);
        let parsed = parse_wav(&encode_wav(&audio)).unwrap();
        assert_eq!(parsed, audio);
    }

    #[test]
    fn streamed_sizes_mean_rest_of_input() {
        for bogus in [0u32, 0xFFFF_FFFF, 0x7FFF_F000] {
            let mut v = header(bogus, 1);
            v.extend_from_slice(&[1, 0, 2, 0, 3]); // two samples and a stray byte
            let a = parse_wav(&v).unwrap();
            assert_eq!(a.samples, vec![1, 2], "size {bogus:#x}");
            assert_eq!(a.sample_rate, 22050);
        }
    }

    #[test]
    fn honest_size_stops_at_data_end() {
        let mut v = header(2, 1);
        v.extend_from_slice(&[5, 0, 9, 9, 9, 9]);
        assert_eq!(parse_wav(&v).unwrap().samples, vec![5]);
    }

    #[test]
    fn stereo_is_downmixed() {
        let mut v = header(0, 2);
        v.extend_from_slice(&100i16.to_le_bytes());
        v.extend_from_slice(&300i16.to_le_bytes());
        assert_eq!(parse_wav(&v).unwrap().samples, vec![200]);
    }

    #[test]
    fn skips_unknown_chunks_with_padding() {
        let base = encode_wav(&Audio::new(vec![7, 8], 16000));
        let mut v = base[..36].to_vec();
        v.extend_from_slice(b"LIST");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&[1, 2, 3, 0]); // odd size plus pad byte
        v.extend_from_slice(&base[36..]);
        assert_eq!(parse_wav(&v).unwrap().samples, vec![7, 8]);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let good = encode_wav(&Audio::new(vec![1, 2, 3], 8000));
        for cut in 0..good.len() {
            let _ = parse_wav(&good[..cut]);
        }
        assert!(matches!(
            parse_wav(b"Usage: espeak-ng"),
            Err(WavError::NotWav(_))
        ));
        let mut no_fmt = b"RIFF\0\0\0\0WAVEdata\0\0\0\0".to_vec();
        no_fmt.extend_from_slice(&[0, 0]);
        assert_eq!(parse_wav(&no_fmt), Err(WavError::Missing("fmt ")));
        let mut eight_bit = good.clone();
        eight_bit[34] = 8;
        assert!(matches!(
            parse_wav(&eight_bit),
            Err(WavError::Unsupported(_))
        ));
        let mut huge_chunk = good[..36].to_vec();
        huge_chunk.extend_from_slice(b"junk\xff\xff\xff\xff");
        assert_eq!(parse_wav(&huge_chunk), Err(WavError::Truncated("chunk")));
        let mut zero_rate = good;
        zero_rate[24..28].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            parse_wav(&zero_rate),
            Err(WavError::Unsupported(_))
        ));
    }
}
