//! Fuzz target: telephone-event payload parsing and the DTMF receiver state machine fed
//! with arbitrary packet sequences. Invariant: every press is reported as exactly one
//! digit, and at most one end per digit.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ringdesk_media::dtmf::TelephoneEvent;
use ringdesk_media::{DtmfEvent, DtmfReceiver};

fuzz_target!(|data: &[u8]| {
    let base = Instant::now();
    let mut rx = DtmfReceiver::default();
    let mut now = base;
    let mut ts: u32 = 0;
    let (mut digits, mut ends, mut packets) = (0usize, 0usize, 0usize);
    // Each record: [time step (x5 ms), timestamp delta selector, 4 payload bytes].
    for rec in data.chunks_exact(6) {
        now += Duration::from_millis(u64::from(rec[0]) * 5);
        ts = match rec[1] {
            0..=127 => ts,
            128..=191 => ts.wrapping_add(u32::from(rec[1]) * 160),
            192..=223 => ts.wrapping_sub(u32::from(rec[1] - 191) * 160),
            _ => ts.wrapping_add(0xFFFF),
        };
        let payload = &rec[2..6];
        if let Ok(ev) = TelephoneEvent::parse(payload) {
            assert_eq!(ev.to_bytes()[0], payload[0]);
        }
        if rx.handle_packet(now, ts, payload).is_ok() {
            packets += 1;
        }
        rx.handle_timeout(now);
        while let Some(e) = rx.poll_event() {
            match e {
                DtmfEvent::Digit(_) => digits += 1,
                DtmfEvent::Ended { .. } => ends += 1,
            }
            assert!(ends <= digits, "an end without its digit");
        }
    }
    rx.handle_timeout(now + Duration::from_secs(60));
    while let Some(e) = rx.poll_event() {
        if matches!(e, DtmfEvent::Ended { .. }) {
            ends += 1;
        }
    }
    assert!(digits <= packets);
    assert_eq!(digits, ends, "every press ends exactly once");
});
