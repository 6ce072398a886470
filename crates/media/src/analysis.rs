//! Signal analysis helpers for tests: RMS per window and Goertzel tone detection.

use std::f64::consts::PI;

/// RMS of each consecutive `window`-sample block (20 ms = 160 samples at 8 kHz); a
/// trailing partial block is included. Empty for `window == 0`.
pub fn rms_windows(samples: &[i16], window: usize) -> Vec<f64> {
    if window == 0 {
        return Vec::new();
    }
    samples.chunks(window).map(rms).collect()
}

/// RMS of `samples` (0 for none).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Squared magnitude of the DFT of `samples` at `freq` Hz (Goertzel algorithm).
pub fn goertzel_power(samples: &[i16], sample_rate: u32, freq: f64) -> f64 {
    if sample_rate == 0 {
        return 0.0;
    }
    let w = 2.0 * PI * freq / f64::from(sample_rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Fraction (about 0..=1) of the signal's energy at `freq` Hz: 1 for a pure tone at
/// that frequency, near 0 when the tone is absent. Use blocks of at least ~100 ms.
pub fn tone_ratio(samples: &[i16], sample_rate: u32, freq: f64) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    if energy <= 0.0 {
        return 0.0;
    }
    let n = samples.len() as f64;
    goertzel_power(samples, sample_rate, freq) / (energy * n / 2.0)
}

/// True when at least `min_ratio` of the energy is at `freq` Hz.
pub fn has_tone(samples: &[i16], sample_rate: u32, freq: f64, min_ratio: f64) -> bool {
    tone_ratio(samples, sample_rate, freq) >= min_ratio
}
