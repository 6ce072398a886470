//! Fuzz target: OAuth 2.0 token endpoint answers (from any server a connector's
//! `token_url` names) through `parse_token_response`, with any status; checks a token is
//! only taken from a 2xx answer and is non-empty printable ASCII within the bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_connector::{parse_token_response, TokenResponseError, MAX_TOKEN_LEN};

fuzz_target!(|data: &[u8]| {
    let (status, body) = data.split_at(data.len().min(2));
    let mut code = [0u8; 2];
    code[..status.len()].copy_from_slice(status);
    // Mostly 200, sometimes anything.
    let status = match u16::from_le_bytes(code) {
        s if s % 4 == 0 => s % 1000,
        _ => 200,
    };
    match parse_token_response(status, body) {
        Ok((token, _ttl)) => {
            assert!((200..300).contains(&status));
            let t = token.expose();
            assert!(!t.is_empty() && t.len() <= MAX_TOKEN_LEN);
            assert!(t.bytes().all(|b| (0x21..0x7f).contains(&b)));
        }
        Err(TokenResponseError::Status { code, .. }) => {
            // Only a plain error code is ever shown, never the body.
            assert!(code.len() <= 43);
            assert!(code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b"_ ()".contains(&b)));
        }
        Err(_) => {}
    }
});
