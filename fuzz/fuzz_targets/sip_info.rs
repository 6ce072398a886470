//! Fuzz target: SIP INFO DTMF body parsing for both content types.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_media::sip_info::{parse_info, MAX_BODY};

fuzz_target!(|data: &[u8]| {
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let content_type = match selector % 3 {
        0 => "application/dtmf-relay",
        1 => "application/dtmf",
        _ => std::str::from_utf8(body.get(..8).unwrap_or(&[])).unwrap_or(""),
    };
    if let Ok(d) = parse_info(content_type, body) {
        assert!(body.len() <= MAX_BODY);
        assert!(d.digit.event_code() <= 15);
    }
});
