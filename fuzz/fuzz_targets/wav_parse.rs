//! Fuzz target: RIFF/WAVE parsing and clip conversion (resampling included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_media::wav::Wav;
use ringdesk_media::{Clip, Codec};

fuzz_target!(|data: &[u8]| {
    if let Ok(wav) = Wav::parse(data) {
        assert!(wav.data.len() <= data.len());
        let mono = wav.to_mono_f32();
        assert_eq!(mono.len(), wav.frames());
        assert!(mono.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
    }
    if let Ok(clip) = Clip::from_wav(data) {
        assert_eq!(clip.payload(Codec::Pcmu).len(), clip.frame_count() * 160);
        assert_eq!(clip.payload(Codec::Pcma).len(), clip.frame_count() * 160);
    }
});
