//! Fuzz target: prompt text as callers can influence it (names, ticket subjects) through
//! `TtsRequest` normalization and `split_numbers`. Invariants: no panic; every text part
//! is a piece of the normalized text; at most `MAX_NUMBERS` numbers are split out and
//! every number word comes from a bounded vocabulary (short, no digits).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_tts::{split_numbers, Part, TtsRequest, MAX_NUMBERS};

fuzz_target!(|data: &[u8]| {
    let Some((&lang, rest)) = data.split_first() else {
        return;
    };
    let language = if lang % 2 == 0 { "en-US" } else { "pt-BR" };
    let text = String::from_utf8_lossy(rest);
    let Ok(req) = TtsRequest::new(&text, language) else {
        return;
    };
    let Some(parts) = split_numbers(req.text(), req.language()) else {
        return;
    };
    let mut words = 0;
    for part in &parts {
        match part {
            Part::Text(t) => assert!(req.text().contains(t.as_str())),
            Part::Word(w) => {
                words += 1;
                assert!(w.len() < 40 && !w.bytes().any(|b| b.is_ascii_digit()));
            }
        }
        assert!(!part.text().is_empty());
    }
    // Up to 999,999,999 a number takes at most 8 words.
    assert!(words <= MAX_NUMBERS * 8);
});
