//! Fuzz target: the `e164` filter's logic (`normalize_e164`: caller ids, SIP and tel URIs,
//! any default region) and `national_digits`; checks what comes out is empty or a
//! `+` and 5 to 15 digits, and that normalizing again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_flow::normalize_e164;

fn is_e164(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|d| (5..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // First line: the region (if any); the rest: the raw caller id.
    let (region, raw) = match text.split_once('\n') {
        Some((region, raw)) => (Some(region), raw),
        None => (None, text),
    };
    let out = normalize_e164(raw, region);
    assert!(
        out.is_empty() || is_e164(&out),
        "{raw:?} in {region:?} gave {out:?}"
    );
    if !out.is_empty() {
        assert_eq!(normalize_e164(&out, None), out, "not stable");
    }
});
