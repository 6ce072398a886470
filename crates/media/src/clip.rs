//! Clips: audio converted once to 8 kHz mono G.711 frames, shared by every call.
//!
//! A [`Clip`] holds both laws (PCMU and PCMA) so a stream of either codec plays it
//! without per-packet transcoding; cloning is an `Arc` bump, never a copy.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::g711::{alaw_to_ulaw, ulaw_to_alaw, Codec};
use crate::resample::resample;
use crate::wav::{SampleFormat, Wav, WavError, MAX_SECONDS};
use crate::{SAMPLES_PER_FRAME, SAMPLE_RATE};

/// Bytes (= samples) in one 20 ms G.711 frame.
pub const FRAME_LEN: usize = SAMPLES_PER_FRAME as usize;

/// Why a clip cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClipError {
    /// The WAV file is unusable.
    #[error(transparent)]
    Wav(#[from] WavError),
    /// The PCM sample rate is outside the supported range.
    #[error("unsupported sample rate {0}")]
    Rate(u32),
    /// Longer than the supported maximum.
    #[error("audio too long")]
    TooLong,
}

#[derive(Debug)]
struct ClipData {
    pcmu: Box<[u8]>,
    pcma: Box<[u8]>,
}

/// Audio ready to play: whole 160-byte G.711 frames in both laws (the last frame is
/// padded with silence).
#[derive(Debug, Clone)]
pub struct Clip(Arc<ClipData>);

impl Clip {
    /// Decode a WAV file of any common format, mix to mono, resample to 8 kHz and encode.
    ///
    /// 8 kHz mono G.711 files are taken as they are (bit-exact for their own law).
    pub fn from_wav(bytes: &[u8]) -> Result<Clip, ClipError> {
        let wav = Wav::parse(bytes)?;
        let fmt = wav.format;
        if let SampleFormat::G711(codec) = fmt.format {
            if fmt.channels == 1 && fmt.sample_rate == SAMPLE_RATE {
                return Ok(Clip::from_g711(codec, wav.data));
            }
        }
        let mono = wav.to_mono_f32();
        Ok(Clip::from_f32(&mono, fmt.sample_rate))
    }

    /// Encode linear 16-bit mono PCM at `sample_rate` Hz (for example TTS output).
    pub fn from_pcm(samples: &[i16], sample_rate: u32) -> Result<Clip, ClipError> {
        if !crate::wav::RATE_RANGE.contains(&sample_rate) {
            return Err(ClipError::Rate(sample_rate));
        }
        if samples.len() as u64 > u64::from(sample_rate) * MAX_SECONDS {
            return Err(ClipError::TooLong);
        }
        if sample_rate == SAMPLE_RATE {
            return Ok(Clip::from_pcm_8k(samples));
        }
        let floats: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
        Ok(Clip::from_f32(&floats, sample_rate))
    }

    /// Wrap G.711 code words at 8 kHz mono (the other law is transcoded once).
    pub fn from_g711(codec: Codec, payload: &[u8]) -> Clip {
        let padded = pad(payload, codec.silence());
        let other: Box<[u8]> = match codec {
            Codec::Pcmu => padded.iter().map(|&c| ulaw_to_alaw(c)).collect(),
            Codec::Pcma => padded.iter().map(|&c| alaw_to_ulaw(c)).collect(),
        };
        let (pcmu, pcma) = match codec {
            Codec::Pcmu => (padded, other),
            Codec::Pcma => (other, padded),
        };
        Clip(Arc::new(ClipData { pcmu, pcma }))
    }

    /// `duration` of digital silence (rounded up to whole frames).
    pub fn silence(duration: Duration) -> Clip {
        let samples = duration.as_millis().min(u128::from(MAX_SECONDS) * 1000) as usize * 8;
        Clip::from_pcm_8k(&vec![0i16; samples])
    }

    fn from_pcm_8k(samples: &[i16]) -> Clip {
        let pcmu: Vec<u8> = samples.iter().map(|&s| Codec::Pcmu.encode(s)).collect();
        let pcma: Vec<u8> = samples.iter().map(|&s| Codec::Pcma.encode(s)).collect();
        Clip(Arc::new(ClipData {
            pcmu: pad(&pcmu, Codec::Pcmu.silence()),
            pcma: pad(&pcma, Codec::Pcma.silence()),
        }))
    }

    fn from_f32(samples: &[f32], sample_rate: u32) -> Clip {
        let at_8k = resample(samples, sample_rate, SAMPLE_RATE);
        let pcm: Vec<i16> = at_8k
            .iter()
            .map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect();
        Clip::from_pcm_8k(&pcm)
    }

    /// Number of 20 ms frames.
    pub fn frame_count(&self) -> usize {
        self.0.pcmu.len() / FRAME_LEN
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.frame_count() as u64 * 20)
    }

    /// Frame `index` (160 bytes) in `codec`, if it exists.
    pub fn frame(&self, codec: Codec, index: usize) -> Option<&[u8]> {
        let all = match codec {
            Codec::Pcmu => &self.0.pcmu,
            Codec::Pcma => &self.0.pcma,
        };
        let start = index.checked_mul(FRAME_LEN)?;
        all.get(start..start + FRAME_LEN)
    }

    /// All code words in `codec`.
    pub fn payload(&self, codec: Codec) -> &[u8] {
        match codec {
            Codec::Pcmu => &self.0.pcmu,
            Codec::Pcma => &self.0.pcma,
        }
    }

    /// Decoded linear samples (8 kHz mono), e.g. for checks in tests.
    pub fn to_pcm(&self, codec: Codec) -> Vec<i16> {
        self.payload(codec)
            .iter()
            .map(|&c| codec.decode(c))
            .collect()
    }

    /// True when both handles share the same audio.
    pub fn ptr_eq(&self, other: &Clip) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Copy `codes` and pad with `silence` to a whole number of frames.
fn pad(codes: &[u8], silence: u8) -> Box<[u8]> {
    let frames = codes.len().div_ceil(FRAME_LEN);
    let mut v = Vec::with_capacity(frames * FRAME_LEN);
    v.extend_from_slice(codes);
    v.resize(frames * FRAME_LEN, silence);
    v.into_boxed_slice()
}
