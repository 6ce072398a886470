//! G.711 companding (ITU-T G.711, both laws) and PCMU/PCMA transcoding.
//!
//! The arithmetic follows the ITU-T G.191 reference (STL `g711.c`): linear samples are
//! 16-bit two's complement, A-law uses the 13 most significant bits and mu-law the 14
//! most significant bits, and negative inputs are reduced with a one's complement.
//! Decoding and transcoding are table lookups built at compile time.

/// The two G.711 laws, as negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 mu-law, static RTP payload type 0.
    Pcmu,
    /// G.711 A-law, static RTP payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551).
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec for a static payload type, if it is one of ours.
    pub const fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The code word that decodes to (near) zero: what silence is made of.
    pub const fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    /// Encode one linear 16-bit sample.
    pub const fn encode(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_encode(sample),
            Codec::Pcma => alaw_encode(sample),
        }
    }

    /// Decode one code word to a linear 16-bit sample.
    pub const fn decode(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ulaw_decode(code),
            Codec::Pcma => alaw_decode(code),
        }
    }

    /// Encode `samples` into `out` (one byte per sample, appended).
    pub fn encode_into(self, samples: &[i16], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&s| self.encode(s)));
    }

    /// Decode `codes` into `out` (one sample per byte, appended).
    pub fn decode_into(self, codes: &[u8], out: &mut Vec<i16>) {
        out.extend(codes.iter().map(|&c| self.decode(c)));
    }
}

/// Number of significant bits of `v` (0 for 0).
const fn bit_length(v: u16) -> u32 {
    16 - v.leading_zeros()
}

/// Encode a linear 16-bit sample to mu-law (G.191 `ulaw_compress`).
pub const fn ulaw_encode(sample: i16) -> u8 {
    let negative = sample < 0;
    // One's complement keeps -1 and 0 symmetric, as the reference does.
    let magnitude = if negative { !sample } else { sample } as u16;
    let mut biased = (magnitude >> 2) + 33;
    if biased > 0x1FFF {
        biased = 0x1FFF;
    }
    let segment = 1 + bit_length(biased >> 6); // 1..=8
    let high = (8 - segment) as u8;
    let low = 0x0F - ((biased >> segment) & 0x0F) as u8;
    let code = (high << 4) | low;
    if negative {
        code
    } else {
        code | 0x80
    }
}

/// Encode a linear 16-bit sample to A-law (G.191 `alaw_compress`).
pub const fn alaw_encode(sample: i16) -> u8 {
    let negative = sample < 0;
    let magnitude = (if negative { !sample } else { sample } as u16) >> 4; // 0..=2047
    let code = if magnitude > 15 {
        let exponent = bit_length(magnitude) - 4; // 1..=7
        let mantissa = (magnitude >> (exponent - 1)) - 16; // 0..=15
        (mantissa as u8) | ((exponent as u8) << 4)
    } else {
        magnitude as u8
    };
    let signed = if negative { code } else { code | 0x80 };
    signed ^ 0x55
}

const fn ulaw_decode_calc(code: u8) -> i16 {
    let inverted = !code;
    let exponent = ((inverted >> 4) & 0x07) as i32;
    let mantissa = (inverted & 0x0F) as i32;
    // Middle of the quantization interval on the 16-bit scale:
    // (0x80 << e) + step * m + step / 2 - 132 with step = 8 << e.
    let magnitude = (((mantissa << 1) | 0x21) << (exponent + 2)) - 132;
    if code & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn alaw_decode_calc(code: u8) -> i16 {
    let toggled = code ^ 0x55;
    let exponent = ((toggled >> 4) & 0x07) as i32;
    let mantissa = (toggled & 0x0F) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) | 0x08
    } else {
        (((mantissa | 0x10) << 4) | 0x08) << (exponent - 1)
    };
    if code & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn build_decode_table(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if alaw {
            alaw_decode_calc(i as u8)
        } else {
            ulaw_decode_calc(i as u8)
        };
        i += 1;
    }
    table
}

const ULAW_DECODE: [i16; 256] = build_decode_table(false);
const ALAW_DECODE: [i16; 256] = build_decode_table(true);

/// Decode a mu-law code word (G.191 `ulaw_expand`).
pub const fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// Decode an A-law code word (G.191 `alaw_expand`).
pub const fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

const fn build_transcode_table(from_alaw: bool) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if from_alaw {
            ulaw_encode(alaw_decode_calc(i as u8))
        } else {
            alaw_encode(ulaw_decode_calc(i as u8))
        };
        i += 1;
    }
    table
}

const ULAW_TO_ALAW: [u8; 256] = build_transcode_table(false);
const ALAW_TO_ULAW: [u8; 256] = build_transcode_table(true);

/// Transcode one mu-law code word to A-law (decode, then encode).
pub const fn ulaw_to_alaw(code: u8) -> u8 {
    ULAW_TO_ALAW[code as usize]
}

/// Transcode one A-law code word to mu-law (decode, then encode).
pub const fn alaw_to_ulaw(code: u8) -> u8 {
    ALAW_TO_ULAW[code as usize]
}

/// Transcode a payload in place from one law to the other (no-op when equal).
pub fn transcode_in_place(from: Codec, to: Codec, payload: &mut [u8]) {
    match (from, to) {
        (Codec::Pcmu, Codec::Pcma) => payload.iter_mut().for_each(|c| *c = ulaw_to_alaw(*c)),
        (Codec::Pcma, Codec::Pcmu) => payload.iter_mut().for_each(|c| *c = alaw_to_ulaw(*c)),
        _ => {}
    }
}
