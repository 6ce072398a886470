//! Fuzz target: `Retry-After` values (sent by any HTTP server a connector, the outbox or
//! the Zendesk client talks to) through `parse_retry_after`, at any wall-clock `now`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_connector::{parse_retry_after, MAX_RETRY_AFTER_LEN};
use std::time::{Duration, SystemTime};

fuzz_target!(|data: &[u8]| {
    let (clock, value) = data.split_at(data.len().min(8));
    let mut secs = [0u8; 8];
    secs[..clock.len()].copy_from_slice(clock);
    // Up to about 34,000 years after 1970: past every HTTP date.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(secs) % (1 << 40));
    let Ok(value) = std::str::from_utf8(value) else {
        return;
    };
    if parse_retry_after(value, now).is_some() {
        assert!(!value.trim().is_empty() && value.trim().len() <= MAX_RETRY_AFTER_LEN);
    }
});
