//! Fuzz target: datagrams arriving on an SRTP leg (`SrtpReceiver::unprotect`), forged or
//! replayed, as length-prefixed chunks: the first byte picks the
//! suite, each later chunk is one datagram. Checks nothing panics, a refused packet writes
//! nothing, and a packet protected with the right key always comes back whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_media::{SrtpKey, SrtpReceiver, SrtpSender, SrtpSuite};

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let suite = if first & 1 == 0 {
        SrtpSuite::AesCm128HmacSha1_80
    } else {
        SrtpSuite::AesCm128HmacSha1_32
    };
    let key = SrtpKey([first; 30]);
    let mut rx = SrtpReceiver::new(suite, &key).expect("key");
    let mut tx = SrtpSender::new(suite, &key).expect("key");
    let mut out = Vec::new();
    let mut wire = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (packet, next) = tail.split_at(n);
        rest = next;
        out.clear();
        if rx.unprotect(packet, &mut out).is_err() {
            assert!(out.is_empty(), "a refused packet wrote nothing");
        }
        // The same bytes sent properly (when they are RTP) come back unchanged, unless
        // the fuzzer already replayed that sequence number.
        if tx.protect(packet, &mut wire).is_ok() {
            let mut fresh = SrtpReceiver::new(suite, &key).expect("key");
            fresh.unprotect(&wire, &mut out).expect("an authentic packet");
            assert_eq!(out, packet);
        }
    }
});
