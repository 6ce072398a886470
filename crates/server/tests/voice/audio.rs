//! What the caller heard: G.711 payloads decoded to PCM, energy per 20 ms frame, speech
//! segments (prompts) separated by silence, and the "is this music?" measures (continuous
//! energy, a tonal spectrum).

use ringdesk_media::analysis::{goertzel_power, rms};
use ringdesk_media::Codec;

/// Samples per 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;
/// Seconds per frame.
pub const FRAME_SECONDS: f64 = 0.02;
/// A frame louder than this (RMS, 16-bit scale) is sound; ringdesk's silence decodes to
/// (nearly) zero and espeak-ng speech is well above it.
pub const SOUND_RMS: f64 = 200.0;
/// A frame quieter than this is silence.
pub const SILENCE_RMS: f64 = 50.0;

/// Highest median spectral flatness accepted as music: the hold music measures about
/// 0.001, espeak-ng speech about 0.05, noise near 1.
pub const MUSIC_MAX_FLATNESS: f64 = 0.01;

/// One stretch of sound, in frames from the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
}

impl Segment {
    pub fn start_s(&self) -> f64 {
        self.start as f64 * FRAME_SECONDS
    }
    pub fn end_s(&self) -> f64 {
        self.end as f64 * FRAME_SECONDS
    }
    pub fn len_s(&self) -> f64 {
        self.end_s() - self.start_s()
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2}-{:.2} s ({:.2} s)",
            self.start_s(),
            self.end_s(),
            self.len_s()
        )
    }
}

/// Decodes G.711 payloads, in order, to PCM.
pub fn decode<'a>(codec: Codec, payloads: impl IntoIterator<Item = &'a [u8]>) -> Vec<i16> {
    let mut out = Vec::new();
    for p in payloads {
        codec.decode_into(p, &mut out);
    }
    out
}

/// RMS of every 20 ms frame.
pub fn frame_rms(samples: &[i16]) -> Vec<f64> {
    samples.chunks(FRAME).map(rms).collect()
}

/// Stretches of frames louder than [`SOUND_RMS`]; gaps shorter than `bridge` frames
/// (pauses between words and sentences) are bridged.
pub fn segments(frames: &[f64], bridge: usize) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (i, &level) in frames.iter().enumerate() {
        if level < SOUND_RMS {
            continue;
        }
        match out.last_mut() {
            Some(last) if i - last.end <= bridge => last.end = i + 1,
            _ => out.push(Segment {
                start: i,
                end: i + 1,
            }),
        }
    }
    out
}

/// Frames quieter than [`SILENCE_RMS`] in `range`.
pub fn silent_fraction(frames: &[f64], range: std::ops::Range<usize>) -> f64 {
    let slice = frames.get(range).unwrap_or(&[]);
    if slice.is_empty() {
        return 0.0;
    }
    slice.iter().filter(|&&l| l < SILENCE_RMS).count() as f64 / slice.len() as f64
}

/// Frames louder than [`SOUND_RMS`] in `range`.
pub fn sound_fraction(frames: &[f64], range: std::ops::Range<usize>) -> f64 {
    let slice = frames.get(range).unwrap_or(&[]);
    if slice.is_empty() {
        return 0.0;
    }
    slice.iter().filter(|&&l| l >= SOUND_RMS).count() as f64 / slice.len() as f64
}

/// Longest run of frames quieter than [`SOUND_RMS`] in `range`, in frames.
pub fn longest_gap(frames: &[f64], range: std::ops::Range<usize>) -> usize {
    let slice = frames.get(range).unwrap_or(&[]);
    let (mut best, mut run) = (0, 0);
    for &l in slice {
        if l < SOUND_RMS {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Spectral flatness (geometric over arithmetic mean of the power spectrum, 100 Hz to
/// 3.5 kHz in 10 Hz steps) of a block: near 1 for noise, near 0 for a few tones.
pub fn spectral_flatness(block: &[i16]) -> f64 {
    let powers: Vec<f64> = (10..=350)
        .map(|k| goertzel_power(block, 8000, f64::from(k) * 10.0) + 1e-9)
        .collect();
    let n = powers.len() as f64;
    let log_mean = powers.iter().map(|p| p.ln()).sum::<f64>() / n;
    let mean = powers.iter().sum::<f64>() / n;
    log_mean.exp() / mean
}

/// Median spectral flatness of the 250 ms blocks of `samples` (1 for no blocks).
pub fn median_flatness(samples: &[i16]) -> f64 {
    let mut values: Vec<f64> = samples.chunks_exact(2000).map(spectral_flatness).collect();
    if values.is_empty() {
        return 1.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The segments, one per line, for reports.
pub fn describe(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| format!("  {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}
