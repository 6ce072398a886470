//! WAV files of many formats become 8 kHz G.711 clips with the tone preserved, the
//! resampler removes content above 4 kHz instead of aliasing it, and broken files fail
//! cleanly.

use std::f64::consts::PI;
use std::io::Cursor;

use hound::{SampleFormat, WavSpec, WavWriter};
use ringdesk_media::analysis::{rms, tone_ratio};
use ringdesk_media::g711::{alaw_encode, ulaw_encode};
use ringdesk_media::wav::{Wav, WavError};
use ringdesk_media::{Clip, ClipError, Codec};

/// A sine of `freq` Hz, `secs` long, amplitude `amp` (0..1), as floats.
fn sine(rate: u32, freq: f64, secs: f64, amp: f64) -> Vec<f64> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .map(|i| amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin())
        .collect()
}

fn hound_wav(rate: u32, channels: u16, bits: u16, float: bool, signal: &[f64]) -> Vec<u8> {
    let spec = WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            SampleFormat::Float
        } else {
            SampleFormat::Int
        },
    };
    let mut cursor = Cursor::new(Vec::new());
    {
        let mut w = WavWriter::new(&mut cursor, spec).unwrap();
        for &x in signal {
            for ch in 0..channels {
                // Second channel in antiphase-free copy at lower level: the mix keeps the tone.
                let x = if ch == 0 { x } else { x * 0.5 };
                if float {
                    w.write_sample(x as f32).unwrap();
                } else {
                    let full = f64::from((1u32 << (bits - 1)) as f32) - 1.0;
                    let v = (x * full).round() as i32;
                    match bits {
                        8 => w.write_sample(v as i8).unwrap(),
                        16 => w.write_sample(v as i16).unwrap(),
                        _ => w.write_sample(v).unwrap(),
                    }
                }
            }
        }
        w.finalize().unwrap();
    }
    cursor.into_inner()
}

/// A hand-written G.711 WAV (format tag 6 or 7), which hound cannot write.
fn g711_wav(codec: Codec, rate: u32, channels: u16, codes: &[u8]) -> Vec<u8> {
    let tag: u16 = match codec {
        Codec::Pcma => 6,
        Codec::Pcmu => 7,
    };
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(4 + 26 + 12 + 8 + codes.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&18u32.to_le_bytes());
    v.extend_from_slice(&tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(channels)).to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&8u16.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes()); // cbSize
    v.extend_from_slice(b"fact");
    v.extend_from_slice(&4u32.to_le_bytes());
    v.extend_from_slice(&(codes.len() as u32).to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(codes.len() as u32).to_le_bytes());
    v.extend_from_slice(codes);
    v
}

fn check_tone(clip: &Clip, freq: f64, secs: f64, amp: f64) {
    for codec in [Codec::Pcmu, Codec::Pcma] {
        let pcm = clip.to_pcm(codec);
        let expected_frames = (secs * 50.0).ceil() as usize;
        assert!(
            clip.frame_count().abs_diff(expected_frames) <= 1,
            "{} frames, expected {expected_frames}",
            clip.frame_count()
        );
        // Skip the filter's edges; look at the steady middle.
        let mid = &pcm[800..pcm.len() - 800];
        let ratio = tone_ratio(mid, 8000, freq);
        assert!(ratio > 0.95, "{codec:?}: tone ratio {ratio}");
        let level = rms(mid) / 32768.0;
        let expected = amp / 2f64.sqrt();
        assert!(
            (level / expected - 1.0).abs() < 0.06,
            "{codec:?}: level {level} vs {expected}"
        );
    }
}

#[test]
fn integer_and_float_formats_at_many_rates_keep_the_tone() {
    let cases: &[(u32, u16, u16, bool)] = &[
        (8000, 1, 16, false),
        (8000, 1, 8, false),
        (16000, 1, 16, false),
        (22050, 2, 16, false),
        (44100, 2, 16, false),
        (48000, 1, 24, false),
        (48000, 2, 32, false),
        (44100, 1, 32, true),
        (11025, 2, 8, false),
        (96000, 1, 24, false),
        (6000, 1, 16, false), // below 8 kHz: upsampled
    ];
    for &(rate, channels, bits, float) in cases {
        let secs = 0.5;
        let amp = 0.5;
        let signal = sine(rate, 1000.0, secs, amp);
        let wav = hound_wav(rate, channels, bits, float, &signal);
        let parsed = Wav::parse(&wav).unwrap();
        assert_eq!(parsed.format.sample_rate, rate);
        assert_eq!(parsed.format.channels, channels);
        let clip = Clip::from_wav(&wav).unwrap_or_else(|e| panic!("{rate}/{channels}/{bits}: {e}"));
        // Stereo mixes (1 + 0.5) / 2 = 0.75 of the left level.
        let level = if channels == 2 { amp * 0.75 } else { amp };
        check_tone(&clip, 1000.0, secs, level);
    }
}

#[test]
fn g711_wavs_are_read_and_8k_mono_ones_are_kept_bit_exact() {
    let signal = sine(8000, 700.0, 0.4, 0.6);
    for codec in [Codec::Pcma, Codec::Pcmu] {
        let codes: Vec<u8> = signal
            .iter()
            .map(|&x| {
                let s = (x * 32767.0) as i16;
                match codec {
                    Codec::Pcma => alaw_encode(s),
                    Codec::Pcmu => ulaw_encode(s),
                }
            })
            .collect();
        let clip = Clip::from_wav(&g711_wav(codec, 8000, 1, &codes)).unwrap();
        assert_eq!(&clip.payload(codec)[..codes.len()], &codes[..]);
        check_tone(&clip, 700.0, 0.4, 0.6);
        // A 16 kHz G.711 file goes through decode and resampling.
        let signal16 = sine(16000, 700.0, 0.4, 0.6);
        let codes16: Vec<u8> = signal16
            .iter()
            .map(|&x| codec.encode((x * 32767.0) as i16))
            .collect();
        let clip16 = Clip::from_wav(&g711_wav(codec, 16000, 1, &codes16)).unwrap();
        check_tone(&clip16, 700.0, 0.4, 0.6);
    }
}

#[test]
fn resampling_removes_content_above_4khz_instead_of_aliasing() {
    // 6 kHz at 48 kHz: naive decimation by 6 would fold it onto 2 kHz at full level.
    let signal = sine(48000, 6000.0, 0.5, 0.8);
    let clip = Clip::from_wav(&hound_wav(48000, 1, 16, false, &signal)).unwrap();
    let pcm = clip.to_pcm(Codec::Pcmu);
    let mid = &pcm[800..pcm.len() - 800];
    let level = rms(mid) / 32768.0;
    assert!(level < 0.001, "residual level {level}");
    // 3.4 kHz (top of the telephone band) passes.
    let signal = sine(44100, 3400.0, 0.5, 0.5);
    let clip = Clip::from_wav(&hound_wav(44100, 1, 16, false, &signal)).unwrap();
    check_tone(&clip, 3400.0, 0.5, 0.5);
}

#[test]
fn from_pcm_for_tts_output() {
    let samples: Vec<i16> = sine(22050, 440.0, 1.0, 0.3)
        .iter()
        .map(|&x| (x * 32767.0) as i16)
        .collect();
    let clip = Clip::from_pcm(&samples, 22050).unwrap();
    check_tone(&clip, 440.0, 1.0, 0.3);
    assert_eq!(Clip::from_pcm(&samples, 0).unwrap_err(), ClipError::Rate(0));
    let empty = Clip::from_pcm(&[], 8000).unwrap();
    assert_eq!(empty.frame_count(), 0);
    // Partial last frame is padded with silence.
    let short = Clip::from_pcm(&[1000; 170], 8000).unwrap();
    assert_eq!(short.frame_count(), 2);
    assert_eq!(short.frame(Codec::Pcmu, 1).unwrap()[10..], [0xFF; 150]);
    assert!(short.frame(Codec::Pcmu, 2).is_none());
    assert!(short.frame(Codec::Pcmu, usize::MAX).is_none());
}

#[test]
fn broken_files_fail_cleanly() {
    let good = hound_wav(8000, 1, 16, false, &sine(8000, 1000.0, 0.1, 0.5));
    assert_eq!(Wav::parse(b"").unwrap_err(), WavError::NotWav);
    assert_eq!(
        Wav::parse(b"RIFX\0\0\0\0WAVE").unwrap_err(),
        WavError::NotWav
    );
    assert_eq!(
        Wav::parse(b"RIFF\0\0\0\0WAVE").unwrap_err(),
        WavError::BadFmt
    );
    // fmt only, no data.
    assert_eq!(Wav::parse(&good[..36]).unwrap_err(), WavError::NoData);
    // Truncated data is read as far as it goes.
    let cut = Wav::parse(&good[..44 + 101]).unwrap();
    assert_eq!(cut.frames(), 50);
    // A streaming writer's data size of 0xFFFFFFFF.
    let mut streaming = good.clone();
    streaming[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(Wav::parse(&streaming).unwrap().frames(), 800);
    let mut bad = good.clone();
    bad[22..24].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(Wav::parse(&bad).unwrap_err(), WavError::Channels(0));
    let mut bad = good.clone();
    bad[24..28].copy_from_slice(&5_000_000u32.to_le_bytes());
    assert_eq!(Wav::parse(&bad).unwrap_err(), WavError::Rate(5_000_000));
    let mut bad = good.clone();
    bad[20..22].copy_from_slice(&2u16.to_le_bytes()); // ADPCM
    assert!(matches!(
        Wav::parse(&bad).unwrap_err(),
        WavError::Unsupported { tag: 2, .. }
    ));
    let mut bad = good.clone();
    bad[34..36].copy_from_slice(&40u16.to_le_bytes()); // 40 bits in a 2-byte container
    assert!(matches!(
        Wav::parse(&bad).unwrap_err(),
        WavError::Unsupported { .. }
    ));
    assert!(matches!(
        Clip::from_wav(b"nonsense").unwrap_err(),
        ClipError::Wav(WavError::NotWav)
    ));
}

#[test]
fn odd_sized_chunks_are_padded_and_skipped() {
    let good = hound_wav(8000, 1, 16, false, &sine(8000, 1000.0, 0.1, 0.5));
    let mut v = Vec::new();
    v.extend_from_slice(&good[..12]);
    v.extend_from_slice(b"LIST");
    v.extend_from_slice(&3u32.to_le_bytes());
    v.extend_from_slice(b"abc\0"); // 3 bytes + pad
    v.extend_from_slice(&good[12..]);
    let wav = Wav::parse(&v).unwrap();
    assert_eq!(wav.frames(), 800);
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let good = hound_wav(44100, 2, 24, false, &sine(44100, 1000.0, 0.01, 0.5));
    let mut state = 0x00C0_FFEE_u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for _ in 0..3000 {
        let mut v = good.clone();
        for _ in 0..(next() % 6) {
            let i = (next() as usize) % v.len();
            v[i] = next() as u8;
        }
        let cut = (next() as usize) % (v.len() + 1);
        let _ = Clip::from_wav(&v[..cut]);
    }
}

#[test]
fn odd_rates_use_the_interpolated_kernel_and_still_keep_the_tone() {
    // 44101 Hz has 8000 distinct output phases: too many for an exact table.
    let samples: Vec<i16> = sine(44101, 1000.0, 0.3, 0.5)
        .iter()
        .map(|&x| (x * 32767.0) as i16)
        .collect();
    let clip = Clip::from_pcm(&samples, 44101).unwrap();
    check_tone(&clip, 1000.0, 0.3, 0.5);
}
