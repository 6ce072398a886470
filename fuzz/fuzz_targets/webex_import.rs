//! Fuzz target: Webex Flow Designer exports (JSON copied from anywhere) through
//! `ringdesk_webex::import`; whatever it accepts must be a flow `ringdesk_flow::load_str`
//! loads (the importer's promise: it never writes a flow ringdesk would refuse), and the
//! report renders. Seed with `../shared/reference/webex-template/*.json`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_webex::{import, ImportOptions, MAX_EXPORT_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(imported) = import(text, &ImportOptions::default()) else {
        return;
    };
    assert!(text.len() <= MAX_EXPORT_BYTES);
    if let Err(e) = ringdesk_flow::load_str(&imported.yaml, "fuzz.yaml") {
        panic!("an imported flow does not load: {e}\n{}", imported.yaml);
    }
    let _ = imported.report.to_markdown();
});
