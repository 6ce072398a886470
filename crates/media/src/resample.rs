//! Band-limited sample-rate conversion: a Blackman-windowed sinc low-pass evaluated at
//! the exact rational position of each output sample.
//!
//! Used once per file when a clip is loaded, never per call. The cutoff sits at 90 % of
//! the lower Nyquist frequency (3.6 kHz when converting to 8 kHz), so content above the
//! new Nyquist is removed instead of folding back as aliasing.

use std::f64::consts::PI;

/// Zero crossings of the sinc on each side of the centre (filter length / quality).
const ZERO_CROSSINGS: f64 = 24.0;
/// Kernel table resolution: entries per input sample.
const TABLE_STEPS: usize = 256;
/// Cutoff as a fraction of the lower Nyquist frequency.
const CUTOFF: f64 = 0.9;

/// Resample `input` (one channel) from `from` Hz to `to` Hz.
///
/// Returns a copy when the rates are equal; returns nothing for a zero rate.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == 0 || to == 0 || input.is_empty() {
        return Vec::new();
    }
    if from == to {
        return input.to_vec();
    }
    let g = gcd(from, to);
    let (num, den) = (u64::from(from / g), u64::from(to / g));
    // Cutoff in cycles per input sample.
    let scale = (f64::from(to) / f64::from(from)).min(1.0);
    let fc = 0.5 * CUTOFF * scale;
    let half_width = (ZERO_CROSSINGS / (2.0 * fc)).ceil() as usize;
    let table = kernel_table(fc, half_width);
    let out_len = ((input.len() as u64 * den).div_ceil(num)) as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len as u64 {
        let pos = n * num;
        let centre = (pos / den) as usize;
        let frac = (pos % den) as f64 / den as f64;
        let first = centre.saturating_sub(half_width - 1);
        let last = (centre + half_width).min(input.len() - 1);
        let mut acc = 0.0f64;
        for k in first..=last {
            // Distance from the output instant to input sample k, in input samples.
            let d = (centre as f64 + frac - k as f64).abs();
            acc += f64::from(input.get(k).copied().unwrap_or(0.0)) * lookup(&table, d);
        }
        out.push(acc as f32);
    }
    out
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// h(d) for d in [0, half_width] at TABLE_STEPS points per input sample.
fn kernel_table(fc: f64, half_width: usize) -> Vec<f64> {
    let len = half_width * TABLE_STEPS + 2;
    let w = half_width as f64;
    (0..len)
        .map(|i| {
            let d = i as f64 / TABLE_STEPS as f64;
            if d >= w {
                return 0.0;
            }
            let x = 2.0 * fc * d;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (PI * x).sin() / (PI * x)
            };
            // Blackman window over [-w, w], evaluated at d.
            let t = (d + w) / (2.0 * w);
            let window = 0.42 - 0.5 * (2.0 * PI * t).cos() + 0.08 * (4.0 * PI * t).cos();
            2.0 * fc * sinc * window
        })
        .collect()
}

fn lookup(table: &[f64], d: f64) -> f64 {
    let pos = d * TABLE_STEPS as f64;
    let i = pos.floor() as usize;
    let t = pos - i as f64;
    let a = table.get(i).copied().unwrap_or(0.0);
    let b = table.get(i + 1).copied().unwrap_or(0.0);
    a + (b - a) * t
}
