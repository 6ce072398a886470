//! Fuzz target: flow files (YAML written by operators, or copied from anywhere) through
//! `ringdesk_flow::load_str`; a flow that loads is run for a call (its templates render
//! with a hostile caller id, HTTP answers are `{}`), bounded in steps.
#![no_main]

#[path = "common/drive.rs"]
mod drive;

use libfuzzer_sys::fuzz_target;
use ringdesk_flow::{load_str, MAX_FLOW_BYTES};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(flow) = load_str(text, "fuzz.yaml") else {
        return;
    };
    assert!(text.len() <= MAX_FLOW_BYTES);
    let ani = "\"{{ 7*7 }}{% raw %}\u{0}+5511987654321";
    drive::run(Arc::new(flow), drive::start(ani), &[], b"1#", |_| {});
});
