//! G.711 checked against a transcription of the ITU-T G.191 (STL) reference functions:
//! every code word decoded, every 16-bit linear value encoded, both laws.

use ringdesk_media::g711::{
    alaw_decode, alaw_encode, alaw_to_ulaw, transcode_in_place, ulaw_decode, ulaw_encode,
    ulaw_to_alaw, Codec,
};

// --- G.191 STL g711.c, transcribed (16-bit C `short` arithmetic) -----------------------

fn ref_alaw_compress(lin: i16) -> u8 {
    let mut ix: i16 = if lin < 0 { (!lin) >> 4 } else { lin >> 4 };
    if ix > 15 {
        let mut iexp: i16 = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            iexp += 1;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if lin >= 0 {
        ix |= 0x0080;
    }
    (ix ^ 0x0055) as u8
}

fn ref_alaw_expand(log: u8) -> i16 {
    let log = i16::from(log);
    let mut ix = log ^ 0x0055;
    ix &= 0x007F;
    let iexp = ix >> 4;
    let mut mant = ix & 0x000F;
    if iexp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 0x0008;
    if iexp > 1 {
        mant <<= iexp - 1;
    }
    if log > 127 {
        mant
    } else {
        -mant
    }
}

fn ref_ulaw_compress(lin: i16) -> u8 {
    let mut absno: i16 = if lin < 0 {
        ((!lin) >> 2) + 33
    } else {
        (lin >> 2) + 33
    };
    if absno > 0x1FFF {
        absno = 0x1FFF;
    }
    let mut i = absno >> 6;
    let mut segno: i16 = 1;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high_nibble = 0x0008 - segno;
    let mut low_nibble = (absno >> segno) & 0x000F;
    low_nibble = 0x000F - low_nibble;
    let mut log = (high_nibble << 4) | low_nibble;
    if lin >= 0 {
        log |= 0x0080;
    }
    log as u8
}

fn ref_ulaw_expand(log: u8) -> i16 {
    let log = i16::from(log);
    let sign: i16 = if log < 0x0080 { -1 } else { 1 };
    let mut mantissa = !log;
    let exponent = (mantissa >> 4) & 0x0007;
    let segment = exponent + 1;
    mantissa &= 0x000F;
    let step: i16 = 4 << segment;
    sign * ((0x0080 << exponent) + step * mantissa + step / 2 - 4 * 33)
}

// --- the checks ------------------------------------------------------------------------

#[test]
fn alaw_decode_matches_reference_for_all_256_codes() {
    for code in 0..=255u8 {
        assert_eq!(alaw_decode(code), ref_alaw_expand(code), "code {code:#04x}");
        assert_eq!(Codec::Pcma.decode(code), ref_alaw_expand(code));
    }
}

#[test]
fn ulaw_decode_matches_reference_for_all_256_codes() {
    for code in 0..=255u8 {
        assert_eq!(ulaw_decode(code), ref_ulaw_expand(code), "code {code:#04x}");
        assert_eq!(Codec::Pcmu.decode(code), ref_ulaw_expand(code));
    }
}

#[test]
fn alaw_encode_matches_reference_for_every_16_bit_value() {
    for x in i16::MIN..=i16::MAX {
        assert_eq!(alaw_encode(x), ref_alaw_compress(x), "sample {x}");
    }
}

#[test]
fn ulaw_encode_matches_reference_for_every_16_bit_value() {
    for x in i16::MIN..=i16::MAX {
        assert_eq!(ulaw_encode(x), ref_ulaw_compress(x), "sample {x}");
    }
}

#[test]
fn known_values_from_g711_tables() {
    // Sanity anchors independent of the transcription: silence codes and extremes.
    assert_eq!(ulaw_decode(0xFF), 0);
    assert_eq!(ulaw_decode(0x7F), 0);
    assert_eq!(ulaw_decode(0x80), 32124);
    assert_eq!(ulaw_decode(0x00), -32124);
    assert_eq!(alaw_decode(0xD5), 8);
    assert_eq!(alaw_decode(0x55), -8);
    assert_eq!(alaw_decode(0xAA), 32256);
    assert_eq!(alaw_decode(0x2A), -32256);
    assert_eq!(ulaw_encode(0), 0xFF);
    assert_eq!(alaw_encode(0), 0xD5);
    assert_eq!(Codec::Pcmu.silence(), ulaw_encode(0));
    assert_eq!(Codec::Pcma.silence(), alaw_encode(0));
}

#[test]
fn decode_then_encode_is_identity_except_negative_zero() {
    for code in 0..=255u8 {
        assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        let back = ulaw_encode(ulaw_decode(code));
        if code == 0x7F {
            assert_eq!(back, 0xFF, "mu-law negative zero maps to positive zero");
        } else {
            assert_eq!(back, code, "mu-law {code:#04x}");
        }
    }
}

#[test]
fn transcoding_is_decode_then_encode_and_close_in_level() {
    for code in 0..=255u8 {
        let a = ulaw_to_alaw(code);
        assert_eq!(a, alaw_encode(ulaw_decode(code)));
        let u = alaw_to_ulaw(code);
        assert_eq!(u, ulaw_encode(alaw_decode(code)));
        // The transcoded level stays within one quantization step of the source.
        let src = i32::from(ulaw_decode(code));
        let dst = i32::from(alaw_decode(a));
        let step = (src.abs() / 16).max(16);
        assert!((src - dst).abs() <= step, "mu {code:#04x}: {src} vs {dst}");
    }
    let mut payload: Vec<u8> = (0..=255u8).collect();
    transcode_in_place(Codec::Pcmu, Codec::Pcma, &mut payload);
    assert!(payload
        .iter()
        .enumerate()
        .all(|(i, &a)| a == ulaw_to_alaw(i as u8)));
    let before = payload.clone();
    transcode_in_place(Codec::Pcma, Codec::Pcma, &mut payload);
    assert_eq!(before, payload);
}
