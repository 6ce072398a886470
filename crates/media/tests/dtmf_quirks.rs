//! RFC 4733 receiver quirks, one test each: exactly one digit per press.

use std::time::{Duration, Instant};

use ringdesk_media::dtmf::TelephoneEvent;
use ringdesk_media::dtmf_sender::DtmfSender;
use ringdesk_media::{DtmfDigit, DtmfEvent, DtmfReceiver};

fn payload(code: u8, end: bool, duration: u16) -> [u8; 4] {
    TelephoneEvent {
        event: code,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

struct Harness {
    rx: DtmfReceiver,
    base: Instant,
    events: Vec<DtmfEvent>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            rx: DtmfReceiver::default(),
            base: Instant::now(),
            events: Vec::new(),
        }
    }

    fn feed(&mut self, at_ms: u64, ts: u32, code: u8, end: bool, duration: u16) {
        let now = self.base + Duration::from_millis(at_ms);
        self.rx
            .handle_packet(now, ts, &payload(code, end, duration))
            .unwrap();
        self.drain();
    }

    fn tick(&mut self, at_ms: u64) {
        self.rx
            .handle_timeout(self.base + Duration::from_millis(at_ms));
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(e) = self.rx.poll_event() {
            self.events.push(e);
        }
    }

    fn digits(&self) -> String {
        self.events
            .iter()
            .filter_map(|e| match e {
                DtmfEvent::Digit(d) => Some(d.as_char()),
                _ => None,
            })
            .collect()
    }

    fn ends(&self) -> Vec<(char, u32, bool)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                DtmfEvent::Ended {
                    digit,
                    duration,
                    timed_out,
                } => Some((digit.as_char(), *duration, *timed_out)),
                _ => None,
            })
            .collect()
    }

    /// A well-formed press: packets every 20 ms, then `ends` copies of the end packet.
    fn press(&mut self, start_ms: u64, ts: u32, code: u8, packets: u16, ends: usize) -> u64 {
        let mut t = start_ms;
        for i in 1..=packets {
            self.feed(t, ts, code, false, i * 160);
            t += 20;
        }
        for _ in 0..ends {
            self.feed(t, ts, code, true, (packets + 1) * 160);
        }
        t
    }
}

#[test]
fn plain_press_with_three_redundant_end_packets_counts_once() {
    let mut h = Harness::new();
    h.press(0, 1000, 5, 6, 3);
    assert_eq!(h.digits(), "5");
    assert_eq!(h.ends(), vec![('5', 1120, false)]);
}

#[test]
fn lost_start_packets_still_yield_the_digit() {
    let mut h = Harness::new();
    // The first three packets (with the marker) never arrive.
    for i in 4..=6u16 {
        h.feed(u64::from(i) * 20, 5000, 7, false, i * 160);
    }
    h.feed(140, 5000, 7, true, 1120);
    assert_eq!(h.digits(), "7");
}

#[test]
fn only_end_packets_arrive() {
    let mut h = Harness::new();
    for _ in 0..3 {
        h.feed(100, 9000, 11, true, 800);
    }
    assert_eq!(h.digits(), "#");
    assert_eq!(h.ends(), vec![('#', 800, false)]);
}

#[test]
fn marker_bit_is_not_needed() {
    // The receiver has no marker input at all; a sender that never sets it (every
    // packet here) gives the same result as a correct one.
    let mut h = Harness::new();
    let t = h.press(0, 100, 1, 4, 3);
    h.press(t + 100, 2000, 2, 4, 3);
    assert_eq!(h.digits(), "12");
}

#[test]
fn long_press_counts_once() {
    let mut h = Harness::new();
    // A 5-second press: 250 packets on one timestamp.
    let t = h.press(0, 40_000, 9, 250, 3);
    assert_eq!(h.digits(), "9");
    assert_eq!(h.ends(), vec![('9', 251 * 160, false)]);
    assert!(t >= 5000);
}

#[test]
fn very_long_press_with_saturated_duration_segments_counts_once() {
    // RFC 4733 §2.5.1.3: past 0xFFFF the sender starts a new segment whose timestamp
    // is the old one plus the saturated duration, without an end bit in between.
    let mut h = Harness::new();
    let ts0: u32 = 0xFFFF_0000; // also crosses the 32-bit timestamp wrap
    let mut t = 0;
    for i in 1..=409u32 {
        h.feed(t, ts0, 3, false, (i * 160) as u16);
        t += 20;
    }
    h.feed(t, ts0, 3, false, 0xFFFF);
    t += 20;
    let ts1 = ts0.wrapping_add(0xFFFF);
    for i in 1..=10u16 {
        h.feed(t, ts1, 3, false, i * 160);
        t += 20;
    }
    for _ in 0..3 {
        h.feed(t, ts1, 3, true, 1760);
    }
    assert_eq!(h.digits(), "3");
    assert_eq!(h.ends(), vec![('3', 0xFFFF + 1760, false)]);
}

#[test]
fn same_digit_again_right_after_is_a_new_press() {
    let mut h = Harness::new();
    let t = h.press(0, 8000, 4, 5, 3);
    // Next press of the same key 60 ms later: a new timestamp.
    h.press(t + 60, 8000 + 6 * 160 + 480, 4, 5, 3);
    assert_eq!(h.digits(), "44");
    assert_eq!(h.ends().len(), 2);
}

#[test]
fn same_digit_again_after_a_lost_end_is_a_new_press() {
    let mut h = Harness::new();
    h.press(0, 8000, 4, 5, 0); // end packets lost
    h.press(200, 9600, 4, 5, 3);
    assert_eq!(h.digits(), "44");
    // The first press is closed when the second starts, not counted twice.
    assert_eq!(h.ends(), vec![('4', 800, false), ('4', 960, false)]);
}

#[test]
fn duplicated_packets_count_once() {
    let mut h = Harness::new();
    for i in 1..=5u16 {
        h.feed(u64::from(i) * 20, 700, 0, false, i * 160);
        h.feed(u64::from(i) * 20, 700, 0, false, i * 160);
    }
    h.feed(120, 700, 0, true, 960);
    h.feed(120, 700, 0, true, 960);
    assert_eq!(h.digits(), "0");
    assert_eq!(h.ends().len(), 1);
}

#[test]
fn reordered_packets_across_two_presses_count_once_each_and_in_order() {
    let mut h = Harness::new();
    h.feed(0, 100, 1, false, 160);
    h.feed(20, 100, 1, false, 320);
    h.feed(40, 100, 1, true, 480);
    h.feed(100, 1000, 2, false, 160);
    // A late copy of the first press's start, and a late end packet of it.
    h.feed(110, 100, 1, false, 160);
    h.feed(115, 100, 1, true, 480);
    h.feed(120, 1000, 2, false, 320);
    h.feed(140, 1000, 2, true, 480);
    // A packet from before the first press (older timestamp) arriving very late.
    h.feed(150, 50, 6, false, 160);
    assert_eq!(h.digits(), "12");
}

#[test]
fn end_packet_arriving_before_a_middle_packet() {
    let mut h = Harness::new();
    h.feed(0, 300, 8, false, 160);
    h.feed(40, 300, 8, true, 480);
    h.feed(41, 300, 8, false, 320);
    h.feed(42, 300, 8, true, 480);
    assert_eq!(h.digits(), "8");
    assert_eq!(h.ends(), vec![('8', 480, false)]);
}

#[test]
fn event_without_end_times_out_once() {
    let mut h = Harness::new();
    for i in 1..=5u16 {
        h.feed(u64::from(i) * 20, 4242, 6, false, i * 160);
    }
    assert_eq!(h.digits(), "6");
    assert!(h.ends().is_empty());
    let deadline = h.rx.poll_timeout().expect("an open event has a deadline");
    assert_eq!(
        deadline,
        h.base + Duration::from_millis(100) + Duration::from_millis(800)
    );
    h.tick(899);
    assert!(h.ends().is_empty(), "not before the deadline");
    h.tick(900);
    assert_eq!(h.ends(), vec![('6', 800, true)]);
    assert!(h.rx.poll_timeout().is_none());
    // Stragglers of the timed-out press do not make a second digit.
    h.feed(950, 4242, 6, false, 960);
    h.feed(960, 4242, 6, true, 1120);
    h.tick(5000);
    assert_eq!(h.digits(), "6");
    assert_eq!(h.ends().len(), 1);
}

#[test]
fn non_dtmf_events_and_short_payloads_are_ignored_safely() {
    let mut h = Harness::new();
    h.feed(0, 10, 16, false, 160); // flash
    h.feed(20, 10, 255, true, 320);
    assert!(h.rx.handle_packet(h.base, 20, &[1, 2, 3]).is_err());
    assert!(h.rx.handle_packet(h.base, 20, &[]).is_err());
    h.drain();
    assert_eq!(h.digits(), "");
}

#[test]
fn every_key_code_maps_to_its_character() {
    let keys = "0123456789*#ABCD";
    for (code, c) in keys.chars().enumerate() {
        let d = DtmfDigit::from_event_code(code as u8).unwrap();
        assert_eq!(d.as_char(), c);
        assert_eq!(DtmfDigit::from_char(c), Some(d));
        assert_eq!(DtmfDigit::from_char(c.to_ascii_lowercase()), Some(d));
    }
    assert_eq!(DtmfDigit::from_event_code(16), None);
    assert_eq!(DtmfDigit::from_char('x'), None);
}

#[test]
fn sender_output_is_received_as_one_digit_per_press() {
    let mut tx = DtmfSender::new();
    for c in "1155#".chars() {
        tx.enqueue(DtmfDigit::from_char(c).unwrap(), Duration::from_millis(100))
            .unwrap();
    }
    let mut h = Harness::new();
    let mut markers = 0;
    let mut end_packets = 0;
    let mut completed = String::new();
    for slot in 0..200u32 {
        let slot_ts = 77_000 + slot * 160;
        if let Some(p) = tx.next_packet(slot_ts) {
            assert!(p.timestamp <= slot_ts);
            markers += usize::from(p.marker);
            let ev = TelephoneEvent::parse(&p.payload).unwrap();
            end_packets += usize::from(ev.end);
            if p.completed {
                completed.push(p.digit.as_char());
            }
            h.rx.handle_packet(
                h.base + Duration::from_millis(u64::from(slot) * 20),
                p.timestamp,
                &p.payload,
            )
            .unwrap();
            h.drain();
        }
    }
    assert!(!tx.is_busy());
    assert_eq!(h.digits(), "1155#");
    assert_eq!(completed, "1155#");
    assert_eq!(markers, 5);
    assert_eq!(end_packets, 15, "three end packets per press");
    assert!(h.ends().iter().all(|&(_, d, t)| d == 800 && !t));
}
