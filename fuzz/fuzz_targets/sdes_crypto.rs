//! Fuzz target: the value of an SDP `a=crypto` attribute (`parse_crypto`): any text either
//! yields a supported suite with exactly 30 bytes of key material, whose line written back
//! parses to the same key, or nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_sip::{crypto_line, parse_crypto, MAX_CRYPTO_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(c) = parse_crypto(text) {
        assert!(text.len() <= MAX_CRYPTO_LEN);
        assert!(c.tag <= 999_999_999);
        let line = crypto_line(c.tag, c.suite, &c.key);
        let value = line
            .strip_prefix("a=crypto:")
            .and_then(|l| l.strip_suffix("\r\n"))
            .expect("the written line");
        assert_eq!(parse_crypto(value), Some(c.clone()));
        assert!(!format!("{c:?}").contains(&format!("{:?}", c.key.0)));
    }
});
