//! Fuzz target: the caller's SDP offer (parse, then answer what was accepted) and an
//! agent's SDP answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_sip::{build_answer, parse_answer, parse_offer, Codec, SdpOrigin, MAX_SDP_BYTES};

fuzz_target!(|data: &[u8]| {
    if let Ok(offer) = parse_offer(data) {
        assert!(data.len() <= MAX_SDP_BYTES);
        let local = "127.0.0.1:40000".parse().expect("address");
        let answer = build_answer(
            &offer,
            local,
            SdpOrigin {
                session_id: 1,
                version: 1,
            },
        );
        assert_eq!(answer.ptime_ms, 20);
        assert!(answer.sdp.len() < 4096);
    }
    let _ = parse_answer(data, &[Codec::Pcmu, Codec::Pcma]);
});
