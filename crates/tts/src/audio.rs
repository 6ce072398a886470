//! Synthesized audio as the rest of ringdesk sees it: mono signed 16-bit PCM samples
//! plus their sample rate (the media crate resamples and encodes it to G.711).

use std::time::Duration;

/// Mono 16-bit PCM audio.
#[derive(Clone, PartialEq, Eq)]
pub struct Audio {
    /// The samples, one per frame (mono).
    pub samples: Vec<i16>,
    /// Frames per second, e.g. 22050 for espeak-ng.
    pub sample_rate: u32,
}

impl Audio {
    /// Wraps samples recorded at `sample_rate` frames per second.
    pub fn new(samples: Vec<i16>, sample_rate: u32) -> Self {
        Self {
            samples,
            sample_rate,
        }
    }

    /// Playing time of the samples (zero if the sample rate is zero).
    pub fn duration(&self) -> Duration {
        if self.sample_rate == 0 {
            return Duration::ZERO;
        }
        let n = u64::try_from(self.samples.len()).unwrap_or(u64::MAX);
        Duration::from_secs_f64(n as f64 / f64::from(self.sample_rate))
    }

    /// Size of the sample data in bytes (what the memory cache charges for it).
    pub fn byte_len(&self) -> usize {
        self.samples.len().saturating_mul(2)
    }

    /// The audio with its leading and trailing silence cut down to at most `lead` and
    /// `tail` (engines pad every utterance with a pause; spoken as parts of one sentence,
    /// those pauses would break it up). A sample is silence below `threshold` in
    /// magnitude. All-silent audio comes back unchanged.
    pub fn trim_silence(&self, threshold: i16, lead: Duration, tail: Duration) -> Audio {
        let loud = |s: &i16| s.unsigned_abs() > threshold.unsigned_abs();
        let (Some(first), Some(last)) = (
            self.samples.iter().position(loud),
            self.samples.iter().rposition(loud),
        ) else {
            return self.clone();
        };
        let samples_in = |d: Duration| {
            usize::try_from(d.as_micros() * u128::from(self.sample_rate) / 1_000_000)
                .unwrap_or(usize::MAX)
        };
        let start = first.saturating_sub(samples_in(lead));
        let end = last
            .saturating_add(1)
            .saturating_add(samples_in(tail))
            .min(self.samples.len());
        Audio::new(self.samples[start..end].to_vec(), self.sample_rate)
    }

    /// Root-mean-square level in dBFS (`-inf` for silence or no samples).
    pub fn rms_dbfs(&self) -> f64 {
        if self.samples.is_empty() {
            return f64::NEG_INFINITY;
        }
        let sum: f64 = self.samples.iter().map(|&s| f64::from(s).powi(2)).sum();
        let rms = (sum / self.samples.len() as f64).sqrt();
        20.0 * (rms / 32768.0).log10()
    }
}

impl std::fmt::Debug for Audio {
    // Never dump thousands of samples into a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audio")
            .field("samples", &self.samples.len())
            .field("sample_rate", &self.sample_rate)
            .field("duration", &self.duration())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_and_level() {
        let a = Audio::new(vec![16384; 8000], 8000);
        assert_eq!(a.duration(), Duration::from_secs(1));
        assert!((a.rms_dbfs() - (-6.02)).abs() < 0.01);
        assert_eq!(a.byte_len(), 16000);
        assert_eq!(Audio::new(vec![], 0).duration(), Duration::ZERO);
        assert!(Audio::new(vec![0; 10], 8000).rms_dbfs().is_infinite());
        assert_eq!(
            format!("{a:?}"),
            "Audio { samples: 8000, sample_rate: 8000, duration: 1s }"
        );
    }

    #[test]
    fn trimming_keeps_the_sound_and_a_margin_of_silence() {
        // 300 ms of silence, 100 ms of tone, 400 ms of silence at 1 kHz.
        let mut samples = vec![3; 300];
        samples.extend((0..100).map(|i| if i % 2 == 0 { 5000 } else { -5000 }));
        samples.extend(vec![-3; 400]);
        let a = Audio::new(samples, 1000);
        let ms = Duration::from_millis;
        let t = a.trim_silence(100, ms(10), ms(50));
        assert_eq!(t.samples.len(), 10 + 100 + 50);
        assert_eq!(t.samples[10], 5000, "the sound starts after the lead");
        assert_eq!(t.samples[109], -5000, "and ends before the tail");
        assert_eq!(t.sample_rate, 1000);
        // Margins longer than the silence keep what there is.
        assert_eq!(a.trim_silence(100, ms(999), ms(999)), a);
        // All silence, or nothing: unchanged.
        let quiet = Audio::new(vec![0; 50], 1000);
        assert_eq!(quiet.trim_silence(100, ms(0), ms(0)), quiet);
        let empty = Audio::new(vec![], 8000);
        assert_eq!(empty.trim_silence(100, ms(0), ms(0)), empty);
        // The most negative sample counts as loud (no overflow).
        let edge = Audio::new(vec![0, i16::MIN, 0], 1000);
        assert_eq!(edge.trim_silence(i16::MIN, ms(0), ms(0)).samples.len(), 3);
        assert_eq!(edge.trim_silence(100, ms(0), ms(0)).samples, [i16::MIN]);
    }
}
