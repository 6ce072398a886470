//! SRTP (RFC 3711) for a leg keyed by SDES (RFC 4568): one [`SrtpSender`] protects what a
//! leg sends, one [`SrtpReceiver`] authenticates and decrypts what it receives (with a
//! replay window). The cryptography is the `rtc-srtp` crate's (webrtc-rs, sans-IO, ring
//! underneath; decision 0014); this module only fixes the suites ringdesk negotiates, keeps
//! keys out of `Debug`, and maps the crate's errors to one small type.
//!
//! Sans-IO like the rest of the crate: bytes in, bytes out, no clock.

use rtc_shared::error::Error as SharedError;
use rtc_srtp::context::Context;
use rtc_srtp::option::srtp_replay_protection;
use rtc_srtp::protection_profile::ProtectionProfile;
use thiserror::Error;

/// Bytes of SDES keying material: a 16-byte AES-128 master key and a 14-byte master salt.
pub const KEY_MATERIAL_LEN: usize = 30;
/// Packets a receiver's replay window covers (RFC 3711 section 3.3.2 asks for at least 64).
pub const REPLAY_WINDOW: usize = 128;

/// The SDES crypto suites ringdesk offers and accepts (RFC 4568 section 6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpSuite {
    /// `AES_CM_128_HMAC_SHA1_80`: the mandatory suite, an 80-bit authentication tag.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: the same with a 32-bit tag.
    AesCm128HmacSha1_32,
}

impl SrtpSuite {
    fn profile(self) -> ProtectionProfile {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }

    /// Bytes SRTP adds to each packet (the authentication tag).
    pub fn overhead(self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => 10,
            SrtpSuite::AesCm128HmacSha1_32 => 4,
        }
    }
}

/// One side's master key and salt. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey(pub [u8; KEY_MATERIAL_LEN]);

impl std::fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SrtpKey(***)")
    }
}

/// Why a packet was not protected or not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SrtpError {
    /// The key could not be used (never for the suites above with 30 bytes of material).
    #[error("SRTP key rejected")]
    Key,
    /// The packet is not RTP, or too short for its headers and tag.
    #[error("not an SRTP packet")]
    Malformed,
    /// The authentication tag does not match: a forged, damaged or foreign packet.
    #[error("SRTP authentication failed")]
    Auth,
    /// A packet already received (or older than the replay window).
    #[error("SRTP replay")]
    Replay,
    /// The key protected 2^48 packets and must not be used again.
    #[error("SRTP key exhausted")]
    Exhausted,
}

fn context(suite: SrtpSuite, key: &SrtpKey, replay: bool) -> Result<Context, SrtpError> {
    let provider = rtc_crypto::default_provider().map_err(|_| SrtpError::Key)?;
    let (master, salt) = key.0.split_at(16);
    let option = replay.then(|| srtp_replay_protection(REPLAY_WINDOW));
    Context::new(
        master,
        salt,
        suite.profile(),
        option,
        None,
        provider.crypto(),
    )
    .map_err(|_| SrtpError::Key)
}

/// Protects the packets one leg sends (one SSRC or more, each with its own rollover count).
pub struct SrtpSender {
    ctx: Context,
}

impl std::fmt::Debug for SrtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SrtpSender")
    }
}

impl SrtpSender {
    /// A sender keyed with our own material (the key our SDP announced).
    pub fn new(suite: SrtpSuite, key: &SrtpKey) -> Result<SrtpSender, SrtpError> {
        Ok(SrtpSender {
            ctx: context(suite, key, false)?,
        })
    }

    /// Encrypts and authenticates one RTP packet into `out` (replaced).
    pub fn protect(&mut self, rtp: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        crate::rtp::RtpPacket::parse(rtp).map_err(|_| SrtpError::Malformed)?;
        let protected = self.ctx.encrypt_rtp(rtp).map_err(|e| match e {
            SharedError::ErrExceededMaxPackets => SrtpError::Exhausted,
            _ => SrtpError::Malformed,
        })?;
        out.clear();
        out.extend_from_slice(&protected);
        Ok(())
    }
}

/// Most SSRCs a receiver keeps state for; a peer that restarts its stream more often than
/// this starts over from a fresh context.
pub const MAX_SSRCS: usize = 8;
/// Unauthenticated packets with unknown SSRCs a probe context sees before it is rebuilt.
const PROBE_RESET: usize = 16;

/// Authenticates and decrypts the packets one leg receives.
///
/// The crate keeps per-SSRC state (rollover count, replay window) and would add an entry
/// for every SSRC it is shown, authentic or not: a stream of forged packets with random
/// SSRCs would grow it without bound. So a packet with an SSRC not yet authenticated is
/// first checked on a throw-away probe context (rebuilt every few failures); only an
/// authentic packet reaches the main context, which then holds at most [`MAX_SSRCS`].
pub struct SrtpReceiver {
    suite: SrtpSuite,
    key: SrtpKey,
    ctx: Context,
    known: Vec<u32>,
    probe: Context,
    probed: usize,
}

impl std::fmt::Debug for SrtpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpReceiver")
            .field("suite", &self.suite)
            .field("ssrcs", &self.known.len())
            .finish()
    }
}

impl SrtpReceiver {
    /// A receiver keyed with the peer's material (the key its SDP announced).
    pub fn new(suite: SrtpSuite, key: &SrtpKey) -> Result<SrtpReceiver, SrtpError> {
        Ok(SrtpReceiver {
            suite,
            key: key.clone(),
            ctx: context(suite, key, true)?,
            known: Vec::new(),
            probe: context(suite, key, false)?,
            probed: 0,
        })
    }

    /// Checks and decrypts one SRTP packet into `out` (replaced): the plain RTP packet.
    /// Nothing is written when it fails, and a failed packet adds no state.
    pub fn unprotect(&mut self, srtp: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        // The header is in clear: a datagram that is not RTP is refused before any crypto.
        let ssrc = crate::rtp::RtpPacket::parse(srtp)
            .map_err(|_| SrtpError::Malformed)?
            .header
            .ssrc;
        if !self.known.contains(&ssrc) {
            if self.probed >= PROBE_RESET {
                self.probe = context(self.suite, &self.key, false)?;
                self.probed = 0;
            }
            self.probed += 1;
            self.probe.decrypt_rtp(srtp).map_err(decrypt_error)?;
            if self.known.len() >= MAX_SSRCS {
                self.ctx = context(self.suite, &self.key, true)?;
                self.known.clear();
            }
            self.known.push(ssrc);
        }
        let plain = self.ctx.decrypt_rtp(srtp).map_err(decrypt_error)?;
        out.clear();
        out.extend_from_slice(&plain);
        Ok(())
    }
}

fn decrypt_error(e: SharedError) -> SrtpError {
    match e {
        SharedError::SrtpSsrcDuplicated(..) => SrtpError::Replay,
        SharedError::ErrTooShortRtp => SrtpError::Malformed,
        _ => SrtpError::Auth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{RtpHeader, RtpPacket};

    fn key(seed: u8) -> SrtpKey {
        let mut k = [0u8; KEY_MATERIAL_LEN];
        for (i, b) in k.iter_mut().enumerate() {
            *b = seed.wrapping_mul(31).wrapping_add(i as u8);
        }
        SrtpKey(k)
    }

    fn packet(sequence: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence,
            timestamp: u32::from(sequence) * 160,
            ssrc: 0x1234_5678,
        }
        .write(payload, &mut v);
        v
    }

    /// RFC 3711 appendix B.3: master key E1F97A0D3E018BE0D64FA32C06DE4139 and salt
    /// 0EC675AD498AFEEBB6960B3AABE6 derive the session key C61E7A93744F39EE10734AFE3FF7A087
    /// and session salt 30CBBC08863D8C85D49DB34A9AE1. For SSRC 0 and packet index 0 the
    /// AES-CM counter is the session salt followed by two zero bytes, so an all-zero
    /// payload must encrypt to AES(session key, counter), computed here with the
    /// independent `aes` crate: key derivation and the counter layout are both checked.
    #[test]
    fn matches_the_rfc_3711_key_derivation_vectors() {
        use aes::cipher::{BlockEncrypt, KeyInit};
        let mut material = [0u8; KEY_MATERIAL_LEN];
        material[..16].copy_from_slice(&hex("E1F97A0D3E018BE0D64FA32C06DE4139"));
        material[16..].copy_from_slice(&hex("0EC675AD498AFEEBB6960B3AABE6"));
        let mut sender =
            SrtpSender::new(SrtpSuite::AesCm128HmacSha1_80, &SrtpKey(material)).unwrap();
        let mut plain = Vec::new();
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: 0,
            timestamp: 0,
            ssrc: 0,
        }
        .write(&[0u8; 16], &mut plain);
        let mut out = Vec::new();
        sender.protect(&plain, &mut out).unwrap();
        let cipher = aes::Aes128::new_from_slice(&hex("C61E7A93744F39EE10734AFE3FF7A087")).unwrap();
        let mut block = [0u8; 16];
        block[..14].copy_from_slice(&hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut block = aes::Block::from(block);
        cipher.encrypt_block(&mut block);
        assert_eq!(
            &out[12..28],
            &block[..],
            "keystream of the derived session key"
        );
        assert_eq!(out.len(), 12 + 16 + 10, "header, payload, 80-bit tag");
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_receiver_with_the_senders_key_gets_the_packet_back() {
        let (mut tx, mut rx) = (
            SrtpSender::new(SrtpSuite::AesCm128HmacSha1_80, &key(1)).unwrap(),
            SrtpReceiver::new(SrtpSuite::AesCm128HmacSha1_80, &key(1)).unwrap(),
        );
        let payload: Vec<u8> = (0..160).map(|i| i as u8).collect();
        let (mut wire, mut back) = (Vec::new(), Vec::new());
        for seq in [65530u16, 65535, 0, 1] {
            let plain = packet(seq, &payload);
            tx.protect(&plain, &mut wire).unwrap();
            assert_eq!(wire.len(), plain.len() + 10);
            assert_eq!(&wire[..12], &plain[..12], "the header stays in clear");
            assert_ne!(&wire[12..172], &payload[..], "the payload is encrypted");
            rx.unprotect(&wire, &mut back).unwrap();
            assert_eq!(back, plain, "sequence {seq} (rollover included)");
        }
    }

    #[test]
    fn forged_replayed_and_foreign_packets_are_refused() {
        let suite = SrtpSuite::AesCm128HmacSha1_80;
        let mut tx = SrtpSender::new(suite, &key(1)).unwrap();
        let mut rx = SrtpReceiver::new(suite, &key(1)).unwrap();
        let (mut wire, mut back) = (Vec::new(), Vec::new());
        tx.protect(&packet(10, &[0x55; 160]), &mut wire).unwrap();
        let mut flipped = wire.clone();
        flipped[40] ^= 1;
        assert_eq!(rx.unprotect(&flipped, &mut back), Err(SrtpError::Auth));
        rx.unprotect(&wire, &mut back).unwrap();
        assert_eq!(rx.unprotect(&wire, &mut back), Err(SrtpError::Replay));
        // Plain RTP, or SRTP under another key: refused, never passed on.
        assert_eq!(
            rx.unprotect(&packet(11, &[0x55; 160]), &mut back),
            Err(SrtpError::Auth)
        );
        let mut other = SrtpSender::new(suite, &key(2)).unwrap();
        other.protect(&packet(12, &[0x55; 160]), &mut wire).unwrap();
        assert_eq!(rx.unprotect(&wire, &mut back), Err(SrtpError::Auth));
        assert_eq!(
            rx.unprotect(&[0xff; 5], &mut back),
            Err(SrtpError::Malformed)
        );
        assert_eq!(
            rx.unprotect(&wire[..14], &mut back),
            Err(SrtpError::Malformed)
        );
        // The 32-bit tag suite works the same way with 4 bytes of overhead.
        let suite = SrtpSuite::AesCm128HmacSha1_32;
        let mut tx = SrtpSender::new(suite, &key(3)).unwrap();
        let mut rx = SrtpReceiver::new(suite, &key(3)).unwrap();
        tx.protect(&packet(1, &[1; 160]), &mut wire).unwrap();
        assert_eq!(wire.len(), 172 + suite.overhead());
        rx.unprotect(&wire, &mut back).unwrap();
        assert_eq!(RtpPacket::parse(&back).unwrap().payload, &[1; 160][..]);
        assert_eq!(format!("{:?}", key(1)), "SrtpKey(***)");
    }

    #[test]
    fn forged_packets_with_new_ssrcs_leave_no_state_behind() {
        let suite = SrtpSuite::AesCm128HmacSha1_80;
        let mut rx = SrtpReceiver::new(suite, &key(1)).unwrap();
        let mut forger = SrtpSender::new(suite, &key(9)).unwrap();
        let (mut wire, mut back) = (Vec::new(), Vec::new());
        for ssrc in 0..10_000u32 {
            let mut plain = packet(1, &[0; 160]);
            plain[8..12].copy_from_slice(&ssrc.to_be_bytes());
            forger.protect(&plain, &mut wire).unwrap();
            assert_eq!(rx.unprotect(&wire, &mut back), Err(SrtpError::Auth));
        }
        assert!(rx.known.is_empty());
        // Authentic streams still pass, and a peer that changes SSRC often is bounded.
        let mut tx = SrtpSender::new(suite, &key(1)).unwrap();
        for ssrc in 0..(3 * MAX_SSRCS as u32) {
            let mut plain = packet(5, &[0; 160]);
            plain[8..12].copy_from_slice(&ssrc.to_be_bytes());
            tx.protect(&plain, &mut wire).unwrap();
            rx.unprotect(&wire, &mut back).unwrap();
            assert_eq!(back, plain);
            assert!(rx.known.len() <= MAX_SSRCS);
        }
    }
}
