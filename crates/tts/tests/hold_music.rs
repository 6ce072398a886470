//! Checks the committed music-on-hold asset (`assets/defaultmusic_on_hold.wav`, made by
//! `scripts/make-hold-music.py`): format, length, level, and a click-free loop seam.

use std::path::PathBuf;

use ringdesk_tts::parse_wav;

fn asset() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/defaultmusic_on_hold.wav");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

#[test]
fn format_is_small_mono_pcm() {
    let bytes = asset();
    assert!(bytes.len() < 1_100_000, "{} bytes", bytes.len());
    // Canonical header: PCM, mono, 16-bit.
    assert_eq!(&bytes[20..24], &[1, 0, 1, 0], "PCM mono");
    assert_eq!(&bytes[34..36], &[16, 0], "16-bit");
    let audio = parse_wav(&bytes).unwrap();
    assert!(
        audio.sample_rate == 8000 || audio.sample_rate == 16000,
        "{}",
        audio.sample_rate
    );
    assert!(
        audio.duration().as_secs_f64() >= 30.0,
        "{:?}",
        audio.duration()
    );
}

#[test]
fn level_is_moderate() {
    let audio = parse_wav(&asset()).unwrap();
    let rms = audio.rms_dbfs();
    assert!((-20.0..=-16.0).contains(&rms), "RMS {rms:.1} dBFS");
    let peak = audio
        .samples
        .iter()
        .map(|&s| i32::from(s).abs())
        .max()
        .unwrap();
    assert!(peak < 29_000, "peak {peak} is close to clipping");
    let mean =
        audio.samples.iter().map(|&s| f64::from(s)).sum::<f64>() / audio.samples.len() as f64;
    assert!(mean.abs() < 100.0, "DC offset {mean}");
    // Not silent anywhere for long: every second has sound.
    for (i, second) in audio.samples.chunks(audio.sample_rate as usize).enumerate() {
        let sum: f64 = second.iter().map(|&s| f64::from(s).powi(2)).sum();
        let db = 20.0 * ((sum / second.len() as f64).sqrt() / 32768.0).log10();
        assert!(db > -35.0, "second {i} is nearly silent ({db:.1} dBFS)");
    }
}

#[test]
fn loop_seam_is_no_bigger_than_ordinary_steps() {
    let s = parse_wav(&asset()).unwrap().samples;
    let n = s.len();
    let step = |a: i16, b: i16| (i32::from(a) - i32::from(b)).unsigned_abs();
    let mut steps: Vec<u32> = s.windows(2).map(|w| step(w[0], w[1])).collect();
    steps.sort_unstable();
    let seam = step(s[n - 1], s[0]);
    // No larger than typical adjacent-sample jumps across the whole piece...
    assert!(seam <= percentile(&steps, 0.9), "seam jump {seam}");
    // ...nor than the jumps right around the seam.
    let local = s[n - 40..]
        .windows(2)
        .chain(s[..40].windows(2))
        .map(|w| step(w[0], w[1]))
        .max()
        .unwrap();
    assert!(seam <= local * 3 / 2, "seam jump {seam}, local max {local}");
    // The slope continues too: the first sample is close to the linear prediction
    // from the last two (a curvature no larger than the piece's typical one).
    let predicted = 2 * i32::from(s[n - 1]) - i32::from(s[n - 2]);
    let curvature = (i32::from(s[0]) - predicted).unsigned_abs();
    let mut curvatures: Vec<u32> = s
        .windows(3)
        .map(|w| (i32::from(w[2]) - 2 * i32::from(w[1]) + i32::from(w[0])).unsigned_abs())
        .collect();
    curvatures.sort_unstable();
    assert!(
        curvature <= percentile(&curvatures, 0.9),
        "seam curvature {curvature}"
    );
}
