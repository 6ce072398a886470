//! Band-limited sample-rate conversion: a Blackman-windowed sinc low-pass evaluated at
//! the exact rational position of each output sample.
//!
//! Used once per file when a clip is loaded, never per call. The cutoff sits at 90 % of
//! the lower Nyquist frequency (3.6 kHz when converting to 8 kHz), so content above the
//! new Nyquist is removed instead of folding back as aliasing.

use std::f64::consts::PI;

/// Zero crossings of the sinc on each side of the centre (filter length / quality).
const ZERO_CROSSINGS: f64 = 32.0;
/// Interpolated kernel table resolution: entries per input sample.
const TABLE_STEPS: usize = 256;
/// Cutoff as a fraction of the lower Nyquist frequency.
const CUTOFF: f64 = 0.92;
/// Largest exact polyphase table (coefficients); beyond it the kernel is interpolated.
const MAX_PHASE_COEFFS: usize = 1 << 20;

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
    let taps = 2 * half_width;
    let kernel = Kernel::new(fc, half_width, den);
    let out_len = (input.len() as u64 * den).div_ceil(num);
    let mut out = Vec::with_capacity(usize::try_from(out_len).unwrap_or(0));
    let mut coeffs = vec![0f32; taps];
    for n in 0..out_len {
        let pos = n * num;
        let centre = usize::try_from(pos / den).unwrap_or(usize::MAX);
        let phase = pos % den;
        let weights = kernel.weights(phase, den, &mut coeffs);
        // Tap j multiplies input sample centre - (half_width - 1) + j.
        let first = centre as i64 - (half_width as i64 - 1);
        let skip = usize::try_from(-first).unwrap_or(0);
        let start = usize::try_from(first).unwrap_or(0);
        let acc: f32 = input
            .get(start..)
            .unwrap_or(&[])
            .iter()
            .zip(weights.iter().skip(skip))
            .map(|(x, w)| x * w)
            .sum();
        out.push(acc);
    }
    out
}

/// The filter's coefficients for each fractional output position.
enum Kernel {
    /// Exact coefficients for each of the `den` phases, `2 * half_width` each.
    Phases { taps: usize, coeffs: Vec<f32> },
    /// h(d) sampled at TABLE_STEPS points per input sample, linearly interpolated.
    Table { half_width: usize, table: Vec<f64> },
}

impl Kernel {
    fn new(fc: f64, half_width: usize, den: u64) -> Kernel {
        let taps = 2 * half_width;
        let phases = usize::try_from(den).unwrap_or(usize::MAX);
        if phases.saturating_mul(taps) <= MAX_PHASE_COEFFS {
            let mut coeffs = Vec::with_capacity(phases * taps);
            for p in 0..phases {
                let frac = p as f64 / den as f64;
                for j in 0..taps {
                    let d = (half_width as f64 - 1.0 - j as f64 + frac).abs();
                    coeffs.push(h(fc, half_width as f64, d) as f32);
                }
            }
            Kernel::Phases { taps, coeffs }
        } else {
            let w = half_width as f64;
            let table = (0..half_width * TABLE_STEPS + 2)
                .map(|i| h(fc, w, i as f64 / TABLE_STEPS as f64))
                .collect();
            Kernel::Table { half_width, table }
        }
    }

    fn weights<'a>(&'a self, phase: u64, den: u64, scratch: &'a mut [f32]) -> &'a [f32] {
        match self {
            Kernel::Phases { taps, coeffs } => {
                let start = usize::try_from(phase).unwrap_or(0) * taps;
                coeffs.get(start..start + taps).unwrap_or(&[])
            }
            Kernel::Table { half_width, table } => {
                let frac = phase as f64 / den as f64;
                for (j, w) in scratch.iter_mut().enumerate() {
                    let d = (*half_width as f64 - 1.0 - j as f64 + frac).abs();
                    *w = lookup(table, d) as f32;
                }
                scratch
            }
        }
    }
}

/// The windowed-sinc kernel at distance `d` (input samples) from the centre.
fn h(fc: f64, half_width: f64, d: f64) -> f64 {
    if d >= half_width {
        return 0.0;
    }
    let x = 2.0 * fc * d;
    let sinc = if x == 0.0 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    };
    // Blackman window over [-half_width, half_width], evaluated at d.
    let t = (d + half_width) / (2.0 * half_width);
    let window = 0.42 - 0.5 * (2.0 * PI * t).cos() + 0.08 * (4.0 * PI * t).cos();
    2.0 * fc * sinc * window
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn lookup(table: &[f64], d: f64) -> f64 {
    let pos = d * TABLE_STEPS as f64;
    let i = pos.floor() as usize;
    let t = pos - i as f64;
    let a = table.get(i).copied().unwrap_or(0.0);
    let b = table.get(i + 1).copied().unwrap_or(0.0);
    a + (b - a) * t
}
