//! Fuzz target: RTP parsing and the whole receive path (strict-RTP latch, classification,
//! DTMF); checks a stream's source, once locked, never moves.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ringdesk_media::{Codec, InboundStream, Recorder, RtpPacket};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = RtpPacket::parse(data) {
        assert!(p.payload.len() + 12 <= data.len());
        let mut out = Vec::new();
        p.header.write(p.payload, &mut out);
        let again = RtpPacket::parse(&out).expect("what we write parses");
        assert_eq!(again.header, p.header);
        assert_eq!(again.payload, p.payload);
    }
    let start = Instant::now();
    // Source 0 is the SDP address; 1 and 2 are others (NAT, or an intruder).
    let mut rx = InboundStream::new(start, Codec::Pcmu, Some(101), Some(0u8));
    let mut rec = Recorder::with_limit(Codec::Pcmu, 8000);
    let mut locked_on = None;
    // The same bytes seen as several datagrams from three sources, 0.5 s apart (the
    // learning window ends part way).
    for (i, chunk) in data.chunks(48).enumerate() {
        let now = start + Duration::from_millis(500) * i as u32;
        let from = chunk.first().map_or(0, |b| b % 3);
        let _ = rx.handle_datagram(now, from, chunk);
        rec.push_datagram(chunk);
        while rx.poll_dtmf().is_some() {}
        let remote = rx.remote();
        if remote != Some(0) || locked_on.is_some() {
            // Moved off the SDP address at most once, and never again.
            assert!(locked_on.is_none_or(|l| Some(l) == remote), "lock moved");
            locked_on = remote;
        }
    }
    assert!(rec.samples().len() <= 8000);
});
