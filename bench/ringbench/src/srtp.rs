//! `--srtp on`: each call offers RTP/SAVP with its own SDES key (RFC 4568,
//! AES_CM_128_HMAC_SHA1_80) and protects what it sends (key presses, talk) with
//! ringdesk's own SRTP sender. What ringdesk sends back is timed by its clear header and
//! never decrypted: the receive side costs ringbench nothing more.

use ringdesk_media::{SrtpKey, SrtpSender, SrtpSuite};

/// A call's key material: 30 bytes derived from its seed (distinct per call).
pub fn key(seed: u32) -> SrtpKey {
    let mut k = [0u8; 30];
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    for b in k.iter_mut() {
        // xorshift32: cheap, distinct per seed (a benchmark key, not a secret).
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    SrtpKey(k)
}

/// The `a=crypto` line offering `key`.
pub fn crypto_line(key: &SrtpKey) -> String {
    format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n", base64(&key.0))
}

/// The sender that protects a call's packets.
pub fn sender(key: &SrtpKey) -> SrtpSender {
    SrtpSender::new(SrtpSuite::AesCm128HmacSha1_80, key).expect("30 bytes of key material")
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Nanoseconds per packet to protect, and to unprotect, a 172-byte RTP packet (one JSON
/// object), over about a second of each on one thread.
pub fn cost() -> String {
    use std::time::Instant;
    const N: u32 = 200_000;
    let k = key(1);
    let mut tx = sender(&k);
    let mut rx = ringdesk_media::SrtpReceiver::new(SrtpSuite::AesCm128HmacSha1_80, &k)
        .expect("30 bytes of key material");
    let mut packets = Vec::with_capacity(N as usize);
    let mut plain = vec![0x80u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    plain.extend_from_slice(&[0x55; 160]);
    let t0 = Instant::now();
    for i in 0..N {
        plain[2..4].copy_from_slice(&(i as u16).to_be_bytes());
        plain[4..8].copy_from_slice(&(i * 160).to_be_bytes());
        let mut out = Vec::with_capacity(182);
        tx.protect(&plain, &mut out).expect("protect");
        packets.push(out);
    }
    let protect_ns = t0.elapsed().as_nanos() as f64 / f64::from(N);
    let mut out = Vec::with_capacity(182);
    let t1 = Instant::now();
    for p in &packets {
        rx.unprotect(p, &mut out).expect("unprotect");
    }
    let unprotect_ns = t1.elapsed().as_nanos() as f64 / f64::from(N);
    format!("{{\"packets\":{N},\"protect_ns\":{protect_ns:.0},\"unprotect_ns\":{unprotect_ns:.0}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (plain, coded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
        assert_ne!(key(1), key(2));
        assert!(crypto_line(&key(7)).ends_with("\r\n"));
        assert_eq!(crypto_line(&key(7)).len(), "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:".len() + 40 + 2);
    }
}
