//! Band-limited sample-rate conversion: a Blackman-windowed sinc low-pass evaluated at
//! the exact rational position of each output sample.
//!
//! Runs whenever a clip is made: once per audio file, and once per TTS render (espeak-ng
//! speaks at 22,050 Hz), so a burst of distinct prompts runs it many times. The cutoff
//! sits at 92 % of the lower Nyquist frequency (3.68 kHz when converting to 8 kHz), so
//! content above the new Nyquist is removed instead of folding back as aliasing.
//!
//! For a rational ratio `from/to = num/den` (in lowest terms) every output sample falls
//! on one of `den` fractional positions, so the filter has `den` distinct sets of taps.
//! When that polyphase table is small (every common rate to 8 kHz needs about 31k
//! coefficients) it is built once per rate pair and kept in a small process-wide cache;
//! each output sample is then only multiply-adds. Larger tables (odd rates) are built
//! per call, and past 2^20 coefficients the kernel is instead sampled finely (per call)
//! and interpolated per tap.

use std::f64::consts::PI;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Zero crossings of the sinc on each side of the centre (filter length / quality).
const ZERO_CROSSINGS: f64 = 32.0;
/// Interpolated kernel table resolution: entries per input sample.
const TABLE_STEPS: usize = 256;
/// Cutoff as a fraction of the lower Nyquist frequency.
const CUTOFF: f64 = 0.92;
/// Largest exact polyphase table (coefficients); beyond it the kernel is interpolated.
const MAX_PHASE_COEFFS: usize = 1 << 20;
/// Largest polyphase table kept in the cache (coefficients): 256 KiB of `f32`.
const MAX_CACHED_COEFFS: usize = 1 << 16;
/// Tables the cache holds at most (least recently used goes first): at most 4 MiB.
const CACHE_ENTRIES: usize = 16;
/// Independent partial sums in the dot product (lets the compiler use SIMD lanes).
const LANES: usize = 16;

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
    let design = Design::new(from, to);
    let kernel = match phase_table(&design, from, to) {
        Some(table) => Kernel::Phases(table),
        None => Kernel::interpolated(&design),
    };
    run(input, &design, &kernel)
}

/// The filter for one rate pair: step, cutoff and length.
#[derive(Debug, Clone, Copy)]
struct Design {
    /// Input samples advanced per `den` output samples.
    num: u64,
    /// Phases: output samples per `num` input samples.
    den: u64,
    /// Cutoff in cycles per input sample.
    fc: f64,
    /// Taps on each side of the centre.
    half_width: usize,
}

impl Design {
    fn new(from: u32, to: u32) -> Design {
        let g = gcd(from, to).max(1);
        let scale = (f64::from(to) / f64::from(from)).min(1.0);
        let fc = 0.5 * CUTOFF * scale;
        Design {
            num: u64::from(from / g),
            den: u64::from(to / g),
            fc,
            half_width: (ZERO_CROSSINGS / (2.0 * fc)).ceil() as usize,
        }
    }

    fn taps(&self) -> usize {
        2 * self.half_width
    }

    /// Coefficients in the exact polyphase table, if that fits in memory at all.
    fn phase_coeffs(&self) -> Option<usize> {
        usize::try_from(self.den).ok()?.checked_mul(self.taps())
    }

    fn out_len(&self, input_len: usize) -> u64 {
        (input_len as u64)
            .saturating_mul(self.den)
            .div_ceil(self.num)
    }

    /// Distance (input samples) of tap `j` from the output position at `frac`.
    fn distance(&self, j: usize, frac: f64) -> f64 {
        (self.half_width as f64 - 1.0 - j as f64 + frac).abs()
    }
}

/// Exact coefficients for each of the `den` phases, `taps` each, phase-major.
#[derive(Debug)]
struct PhaseTable {
    taps: usize,
    coeffs: Box<[f32]>,
}

impl PhaseTable {
    fn build(d: &Design) -> PhaseTable {
        let taps = d.taps();
        let mut coeffs = Vec::with_capacity(d.phase_coeffs().unwrap_or(0));
        for p in 0..d.den {
            let frac = p as f64 / d.den as f64;
            for j in 0..taps {
                let dist = d.distance(j, frac);
                coeffs.push(h(d.fc, d.half_width as f64, dist) as f32);
            }
        }
        PhaseTable {
            taps,
            coeffs: coeffs.into_boxed_slice(),
        }
    }

    fn phase(&self, phase: u64) -> &[f32] {
        let start = usize::try_from(phase)
            .unwrap_or(usize::MAX)
            .saturating_mul(self.taps);
        start
            .checked_add(self.taps)
            .and_then(|end| self.coeffs.get(start..end))
            .unwrap_or(&[])
    }
}

/// Recently used polyphase tables by (from, to), least recently used first.
#[derive(Debug)]
struct PhaseCache {
    entries: Vec<((u32, u32), Arc<PhaseTable>)>,
}

impl PhaseCache {
    const fn new() -> PhaseCache {
        PhaseCache {
            entries: Vec::new(),
        }
    }

    fn get(&mut self, key: (u32, u32)) -> Option<Arc<PhaseTable>> {
        let i = self.entries.iter().position(|(k, _)| *k == key)?;
        let entry = self.entries.remove(i);
        let table = Arc::clone(&entry.1);
        self.entries.push(entry);
        Some(table)
    }

    /// Keep `table` for `key`, or hand back the one another caller put there first.
    fn insert(&mut self, key: (u32, u32), table: Arc<PhaseTable>) -> Arc<PhaseTable> {
        if let Some(existing) = self.get(key) {
            return existing;
        }
        if self.entries.len() >= CACHE_ENTRIES {
            self.entries.remove(0);
        }
        self.entries.push((key, Arc::clone(&table)));
        table
    }
}

static PHASE_CACHE: Mutex<PhaseCache> = Mutex::new(PhaseCache::new());

fn cache() -> MutexGuard<'static, PhaseCache> {
    // The cache is consistent after any panic (entries are whole), so poison is ignored.
    PHASE_CACHE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The exact polyphase table for this rate pair: cached when small, built when larger,
/// `None` when too large to build (the kernel is interpolated instead).
fn phase_table(d: &Design, from: u32, to: u32) -> Option<Arc<PhaseTable>> {
    let size = d.phase_coeffs()?;
    if size > MAX_PHASE_COEFFS {
        return None;
    }
    if size > MAX_CACHED_COEFFS {
        return Some(Arc::new(PhaseTable::build(d)));
    }
    let key = (from, to);
    if let Some(table) = cache().get(key) {
        return Some(table);
    }
    // Built outside the lock: other rate pairs are not held up meanwhile.
    let built = Arc::new(PhaseTable::build(d));
    Some(cache().insert(key, built))
}

/// The filter's coefficients for each fractional output position.
enum Kernel {
    /// Exact coefficients per phase.
    Phases(Arc<PhaseTable>),
    /// h(d) sampled at TABLE_STEPS points per input sample, linearly interpolated.
    Table { half_width: usize, table: Vec<f64> },
}

impl Kernel {
    fn interpolated(d: &Design) -> Kernel {
        let w = d.half_width as f64;
        let table = (0..d.half_width * TABLE_STEPS + 2)
            .map(|i| h(d.fc, w, i as f64 / TABLE_STEPS as f64))
            .collect();
        Kernel::Table {
            half_width: d.half_width,
            table,
        }
    }

    fn weights<'a>(&'a self, phase: u64, den: u64, scratch: &'a mut [f32]) -> &'a [f32] {
        match self {
            Kernel::Phases(table) => table.phase(phase),
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

/// Filter `input` at every output position with `kernel`'s taps.
fn run(input: &[f32], d: &Design, kernel: &Kernel) -> Vec<f32> {
    let out_len = d.out_len(input.len());
    let mut out = Vec::with_capacity(usize::try_from(out_len).unwrap_or(0));
    let mut scratch = vec![0f32; d.taps()];
    // Output n sits at input position n * num / den = centre + phase / den; both are
    // stepped instead of divided.
    let (step, step_phase) = (d.num / d.den, d.num % d.den);
    let (mut centre, mut phase) = (0u64, 0u64);
    let lead = d.half_width as i64 - 1;
    for _ in 0..out_len {
        let weights = kernel.weights(phase, d.den, &mut scratch);
        // Tap j multiplies input sample centre - (half_width - 1) + j.
        let first = i64::try_from(centre).unwrap_or(i64::MAX) - lead;
        out.push(dot_at(input, first, weights));
        centre += step;
        phase += step_phase;
        if phase >= d.den {
            phase -= d.den;
            centre += 1;
        }
    }
    out
}

/// Sum of `weights[j] * input[first + j]` over the taps that land inside `input`.
fn dot_at(input: &[f32], first: i64, weights: &[f32]) -> f32 {
    let skip = usize::try_from(first.saturating_neg()).unwrap_or(0);
    let start = usize::try_from(first).unwrap_or(0);
    let x = input.get(start..).unwrap_or(&[]);
    let w = weights.get(skip..).unwrap_or(&[]);
    let n = x.len().min(w.len());
    dot(x.get(..n).unwrap_or(&[]), w.get(..n).unwrap_or(&[]))
}

/// Dot product of two equally long slices, in [`LANES`] independent partial sums.
fn dot(x: &[f32], w: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut xs = x.chunks_exact(LANES);
    let mut ws = w.chunks_exact(LANES);
    for (xc, wc) in xs.by_ref().zip(ws.by_ref()) {
        for ((a, &xv), &wv) in acc.iter_mut().zip(xc).zip(wc) {
            *a += xv * wv;
        }
    }
    let tail: f32 = xs
        .remainder()
        .iter()
        .zip(ws.remainder())
        .map(|(xv, wv)| xv * wv)
        .sum();
    acc.iter().sum::<f32>() + tail
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise in [-1, 1) (xorshift), so no test depends on a seed source.
    fn noise(n: usize, mut state: u64) -> Vec<f32> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// A linear chirp from 50 Hz to `top` Hz at amplitude 0.6 plus noise at 0.3.
    fn chirp_and_noise(rate: u32, secs: f64, top: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        let k = (top - 50.0) / secs;
        noise(n, 0x9E37_79B9_7F4A_7C15)
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                let t = i as f64 / f64::from(rate);
                (0.6 * (2.0 * PI * (50.0 * t + 0.5 * k * t * t)).sin()) as f32 + 0.3 * r
            })
            .collect()
    }

    fn sine(rate: u32, freq: f64, secs: f64, amp: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    /// The filter's definition evaluated directly in f64 for every tap of every output
    /// sample: no table, no interpolation, no f32 coefficients.
    fn reference(input: &[f32], from: u32, to: u32) -> Vec<f64> {
        let d = Design::new(from, to);
        (0..d.out_len(input.len()))
            .map(|n| {
                let pos = n * d.num;
                let centre = (pos / d.den) as i64;
                let frac = (pos % d.den) as f64 / d.den as f64;
                (0..d.taps())
                    .map(|j| {
                        let i = centre - (d.half_width as i64 - 1) + j as i64;
                        let x = usize::try_from(i).ok().and_then(|i| input.get(i));
                        x.map_or(0.0, |&x| {
                            f64::from(x) * h(d.fc, d.half_width as f64, d.distance(j, frac))
                        })
                    })
                    .sum()
            })
            .collect()
    }

    fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - y).abs())
            .fold(0.0, f64::max)
    }

    /// Amplitude of the `freq` Hz component and the RMS of what is left after removing
    /// it (least-squares fit of a sine and cosine at exactly `freq`).
    fn fit_tone(samples: &[f32], rate: u32, freq: f64) -> (f64, f64) {
        let w = 2.0 * PI * freq / f64::from(rate);
        let (mut ss, mut cc, mut sc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, &x) in samples.iter().enumerate() {
            let (s, c) = (w * i as f64).sin_cos();
            let x = f64::from(x);
            ss += s * s;
            cc += c * c;
            sc += s * c;
            xs += x * s;
            xc += x * c;
        }
        let det = ss * cc - sc * sc;
        let a = (xs * cc - xc * sc) / det;
        let b = (xc * ss - xs * sc) / det;
        let residual = samples
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let (s, c) = (w * i as f64).sin_cos();
                (f64::from(x) - a * s - b * c).powi(2)
            })
            .sum::<f64>()
            / samples.len() as f64;
        ((a * a + b * b).sqrt(), residual.sqrt())
    }

    fn rms(samples: &[f32]) -> f64 {
        (samples.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    }

    /// The steady middle of a converted signal (the filter's edges cut off).
    fn middle(samples: &[f32]) -> &[f32] {
        &samples[400..samples.len() - 400]
    }

    const TABLE_RATES: [(u32, u32); 8] = [
        (22_050, 8000),
        (16_000, 8000),
        (44_100, 8000),
        (48_000, 8000),
        (11_025, 8000),
        (24_000, 8000),
        (6000, 8000),
        (8000, 22_050),
    ];

    #[test]
    fn common_rates_use_a_cached_table() {
        for (from, to) in TABLE_RATES {
            let d = Design::new(from, to);
            let size = d.phase_coeffs().unwrap();
            assert!(
                size <= MAX_CACHED_COEFFS,
                "{from}->{to}: {size} coefficients"
            );
            let a = phase_table(&d, from, to).unwrap();
            // Fewer distinct rate pairs than CACHE_ENTRIES are used in this test binary,
            // so nothing can evict the entry between these two calls.
            let b = phase_table(&d, from, to).unwrap();
            assert!(Arc::ptr_eq(&a, &b), "{from}->{to} rebuilt");
            assert_eq!(a.coeffs.len(), size);
        }
    }

    #[test]
    fn table_path_matches_the_direct_evaluation() {
        for (from, to) in TABLE_RATES {
            let top = f64::from(from.min(to)) * 0.5;
            let input = chirp_and_noise(from, 0.2, top);
            let out = resample(&input, from, to);
            let diff = max_abs_diff(&out, &reference(&input, from, to));
            // f32 coefficients and sums against f64 throughout: about 3e-7 of full scale.
            assert!(diff < 2e-6, "{from}->{to}: max diff {diff}");
            // Calling again (table now cached) gives the same samples.
            assert_eq!(out, resample(&input, from, to), "{from}->{to}");
        }
    }

    #[test]
    fn interpolated_path_matches_the_direct_evaluation() {
        // gcd 1: 8000 phases x 384 taps, far past MAX_PHASE_COEFFS.
        let (from, to) = (44_101, 8000);
        let d = Design::new(from, to);
        assert!(phase_table(&d, from, to).is_none());
        let input = chirp_and_noise(from, 0.1, 4000.0);
        let out = resample(&input, from, to);
        let diff = max_abs_diff(&out, &reference(&input, from, to));
        assert!(diff < 1e-5, "max diff {diff}");
        // And on a rate pair that normally takes the table, both paths agree.
        let input = chirp_and_noise(22_050, 0.2, 4000.0);
        let d = Design::new(22_050, 8000);
        let table = run(&input, &d, &Kernel::Phases(Arc::new(PhaseTable::build(&d))));
        let interpolated: Vec<f64> = run(&input, &d, &Kernel::interpolated(&d))
            .into_iter()
            .map(f64::from)
            .collect();
        let diff = max_abs_diff(&table, &interpolated);
        assert!(diff < 1e-5, "table vs interpolated: max diff {diff}");
    }

    #[test]
    fn large_uncached_table_matches_the_direct_evaluation() {
        // gcd 1, 1000 phases x 70 taps: past the cache limit, within the exact table.
        let (from, to) = (7001, 8000);
        let d = Design::new(from, to);
        let size = d.phase_coeffs().unwrap();
        assert!(
            size > MAX_CACHED_COEFFS && size <= MAX_PHASE_COEFFS,
            "{size}"
        );
        let input = chirp_and_noise(from, 0.1, 3500.0);
        let diff = max_abs_diff(&resample(&input, from, to), &reference(&input, from, to));
        assert!(diff < 2e-6, "max diff {diff}");
    }

    #[test]
    fn a_1khz_tone_comes_out_at_1khz_with_its_amplitude() {
        for (from, to) in TABLE_RATES {
            let out = resample(&sine(from, 1000.0, 0.5, 0.5), from, to);
            let expected = (0.5 * f64::from(to)) as usize;
            assert!(
                out.len().abs_diff(expected) <= 1,
                "{from}->{to}: {}",
                out.len()
            );
            let (amp, residual) = fit_tone(middle(&out), to, 1000.0);
            assert!(
                (amp - 0.5).abs() < 0.5 * 1e-4,
                "{from}->{to}: amplitude {amp}"
            );
            assert!(residual < 1e-5, "{from}->{to}: residual {residual}");
        }
    }

    #[test]
    fn the_top_of_the_telephone_band_passes() {
        for from in [22_050, 44_100, 16_000, 11_025] {
            let out = resample(&sine(from, 3400.0, 0.5, 0.5), from, 8000);
            let (amp, residual) = fit_tone(middle(&out), 8000, 3400.0);
            // 3.4 kHz is 280 Hz below the cutoff: the window's roll-off starts there.
            assert!((amp - 0.5).abs() < 0.5 * 1e-2, "{from}: amplitude {amp}");
            assert!(residual < 1e-5, "{from}: residual {residual}");
        }
    }

    #[test]
    fn tones_above_4khz_are_removed_not_folded() {
        for from in [22_050, 44_100, 16_000, 11_025, 48_000] {
            for freq in [4300.0, 5000.0, 6000.0, 7000.0, 9000.0] {
                if freq >= f64::from(from) / 2.0 {
                    continue;
                }
                let out = resample(&sine(from, freq, 0.5, 0.5), from, 8000);
                let level = rms(middle(&out)) / (0.5 / 2f64.sqrt());
                // Naive decimation would keep the full level at an aliased frequency;
                // the filter leaves under -85 dB from 4.3 kHz up.
                assert!(level < 1e-4, "{from}: {freq} Hz left at {level}");
            }
        }
    }

    #[test]
    fn cache_keeps_the_most_recent_tables() {
        let mut cache = PhaseCache::new();
        let d = Design::new(16_000, 8000);
        let tables: Vec<Arc<PhaseTable>> = (0..=CACHE_ENTRIES)
            .map(|_| Arc::new(PhaseTable::build(&d)))
            .collect();
        for (i, t) in tables.iter().take(CACHE_ENTRIES).enumerate() {
            let kept = cache.insert((i as u32, 1), Arc::clone(t));
            assert!(Arc::ptr_eq(&kept, t));
        }
        // A second insert for a key keeps the first table.
        let first = cache.insert((0, 1), Arc::clone(&tables[CACHE_ENTRIES]));
        assert!(Arc::ptr_eq(&first, &tables[0]));
        // Key 0 was just used, so the next new key pushes out key 1.
        cache.insert((99, 1), Arc::clone(&tables[CACHE_ENTRIES]));
        assert_eq!(cache.entries.len(), CACHE_ENTRIES);
        assert!(cache.get((1, 1)).is_none());
        assert!(Arc::ptr_eq(&cache.get((0, 1)).unwrap(), &tables[0]));
        assert!(Arc::ptr_eq(&cache.get((2, 1)).unwrap(), &tables[2]));
    }

    #[test]
    fn degenerate_inputs() {
        assert!(resample(&[], 22_050, 8000).is_empty());
        assert!(resample(&[0.5], 0, 8000).is_empty());
        assert!(resample(&[0.5], 22_050, 0).is_empty());
        assert_eq!(resample(&[0.5, -0.5], 8000, 8000), vec![0.5, -0.5]);
        // Shorter than the filter: every tap falls off one edge or the other.
        for (from, to) in TABLE_RATES {
            let input = [0.25f32; 3];
            let out = resample(&input, from, to);
            let diff = max_abs_diff(&out, &reference(&input, from, to));
            assert!(diff < 1e-6, "{from}->{to}: {diff}");
        }
        // The extreme ratios of the supported rate range.
        let input = noise(500, 7);
        for (from, to) in [(192_000, 8000), (1000, 8000), (191_999, 8000)] {
            let out = resample(&input, from, to);
            assert_eq!(out.len() as u64, Design::new(from, to).out_len(input.len()));
            assert!(out.iter().all(|x| x.is_finite()));
        }
    }
}
