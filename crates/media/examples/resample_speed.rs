//! How much faster TTS-style resampling (22,050 Hz to 8 kHz) is than before the
//! polyphase table was cached: times `ringdesk_media::resample::resample` against a
//! verbatim copy of the previous implementation (commit 0a4ef20, module `before`) on
//! the same signals, and checks both give the same samples.
//!
//! Run: `cargo run --release -p ringdesk-media --example resample_speed`. Figures
//! only; nothing here is asserted (timing never goes into tests).

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::{Duration, Instant};

use ringdesk_media::resample::resample;

const RATE: u32 = 22_050;
const TO: u32 = 8000;

/// A chirp from 100 Hz to 5 kHz at 0.5 plus xorshift noise at 0.2, `secs` long.
fn signal(secs: f64, seed: u64) -> Vec<f32> {
    let n = (f64::from(RATE) * secs) as usize;
    let k = 4900.0 / secs;
    let mut state = seed | 1;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let r = (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            let t = i as f64 / f64::from(RATE);
            (0.5 * (2.0 * PI * (100.0 * t + 0.5 * k * t * t)).sin()) as f32 + 0.2 * r
        })
        .collect()
}

/// Best of `rounds` timings of `f` over all `inputs`.
fn best(rounds: usize, inputs: &[Vec<f32>], f: fn(&[f32], u32, u32) -> Vec<f32>) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for input in inputs {
                black_box(f(black_box(input), RATE, TO));
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "output lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn main() {
    // First call in the process: builds and caches the 160 x 192 table.
    let probe = signal(1.6, 1);
    let start = Instant::now();
    black_box(resample(&probe, RATE, TO));
    let cold = start.elapsed();

    let long = vec![signal(10.0, 2)];
    let diff_long = max_diff(
        &resample(&long[0], RATE, TO),
        &before::resample(&long[0], RATE, TO),
    );
    let old_long = best(5, &long, before::resample);
    let new_long = best(5, &long, resample);

    // A burst of distinct prompts about as long as "You are number 17 in line".
    let prompts: Vec<Vec<f32>> = (0..200).map(|i| signal(1.6, 100 + i)).collect();
    let diff_burst = prompts
        .iter()
        .map(|p| max_diff(&resample(p, RATE, TO), &before::resample(p, RATE, TO)))
        .fold(0.0, f32::max);
    let old_burst = best(3, &prompts, before::resample);
    let new_burst = best(3, &prompts, resample);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "first call (1.6 s prompt, builds the cached table): {:.3} ms",
        ms(cold)
    );
    println!(
        "10 s of 22,050 Hz audio: before {:.2} ms, now {:.2} ms, speed-up {:.1}x (max |diff| {:.1e})",
        ms(old_long),
        ms(new_long),
        old_long.as_secs_f64() / new_long.as_secs_f64(),
        diff_long
    );
    println!(
        "200 distinct 1.6 s prompts: before {:.1} ms ({:.3} ms each), now {:.1} ms ({:.3} ms each), speed-up {:.1}x (max |diff| {:.1e})",
        ms(old_burst),
        ms(old_burst) / 200.0,
        ms(new_burst),
        ms(new_burst) / 200.0,
        old_burst.as_secs_f64() / new_burst.as_secs_f64(),
        diff_burst
    );
}

/// The resampler as it was before this change (per-call table, one running sum).
mod before {
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
}
