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
}
