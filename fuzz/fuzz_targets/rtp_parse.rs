//! Fuzz target: RTP parsing and the whole receive path (latch, classification, DTMF).
#![no_main]

use std::time::Instant;

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
    let now = Instant::now();
    let mut rx = InboundStream::new(Codec::Pcmu, Some(101), None::<u8>);
    let mut rec = Recorder::with_limit(Codec::Pcmu, 8000);
    // The same bytes seen as several datagrams from two sources.
    for (i, chunk) in data.chunks(48).enumerate() {
        let _ = rx.handle_datagram(now, (i % 2) as u8, chunk);
        rec.push_datagram(chunk);
        while rx.poll_dtmf().is_some() {}
    }
    assert!(rec.samples().len() <= 8000);
});
