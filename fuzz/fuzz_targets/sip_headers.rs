//! Fuzz target: caller identity extraction from SIP headers and URIs, and REGISTER
//! Contact headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_sip::{ani, dnis, parse_contacts, user_part_of_header, user_part_of_uri, MAX_IDENTITY_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Split at a character boundary near the middle.
    let mid = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| i >= text.len() / 2)
        .unwrap_or(text.len());
    let (a, b) = text.split_at(mid);
    for id in [ani(Some(a), Some(b)), ani(None, Some(text)), dnis(a, Some(b))] {
        assert!(id.len() <= MAX_IDENTITY_LEN);
        assert!(!id.chars().any(char::is_control));
    }
    let _ = user_part_of_header(text);
    let _ = user_part_of_uri(text);
    let _ = parse_contacts(text.split('\n'));
});
