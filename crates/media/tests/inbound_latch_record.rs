//! Receive side: strict-RTP latch (learned once, never moved by packets), payload classification, SSRC changes, recording
//! and the analysis helpers.

use std::time::{Duration, Instant};

use ringdesk_media::analysis::{goertzel_power, has_tone, rms, rms_windows, tone_ratio};
use ringdesk_media::dtmf::TelephoneEvent;
use ringdesk_media::latch::{DEFAULT_LEARN_PACKETS, DEFAULT_LEARN_WINDOW};
use ringdesk_media::{
    Codec, DtmfEvent, InboundStream, LatchVerdict, Received, Recorder, RemoteLatch, RtpHeader,
};

fn datagram(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader {
        marker: false,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc,
    }
    .write(payload, &mut v);
    v
}

#[test]
fn a_packet_from_the_sdp_address_locks_the_stream_at_once() {
    let t0 = Instant::now();
    let mut latch = RemoteLatch::new(t0, Some("sdp"));
    assert_eq!(latch.target(), Some("sdp"));
    assert!(!latch.is_latched());
    assert_eq!(latch.on_packet(t0, "sdp", 10), LatchVerdict::Latched);
    assert!(latch.is_latched());
    assert_eq!(latch.on_packet(t0, "sdp", 11), LatchVerdict::Accept);
    // Locked: a long in-sequence run from elsewhere never moves it (RTP bleed).
    for seq in 0..200u16 {
        assert_eq!(latch.on_packet(t0, "evil", seq), LatchVerdict::Reject);
    }
    assert_eq!(latch.target(), Some("sdp"));
    assert_eq!(latch.on_packet(t0, "sdp", 12), LatchVerdict::Accept);
    let no_sdp: RemoteLatch<&str> = RemoteLatch::new(t0, None);
    assert_eq!(no_sdp.target(), None);
}

#[test]
fn behind_nat_the_first_run_of_consecutive_packets_is_learned_once() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut latch = RemoteLatch::new(t0, Some("private")).with_learn_packets(3);
    // Learning: sources that do not keep a run going are dropped, not foreign.
    assert_eq!(latch.on_packet(t0, "nat", 1), LatchVerdict::Learning);
    assert_eq!(latch.on_packet(t0, "evil", 500), LatchVerdict::Learning);
    assert_eq!(latch.on_packet(t0, "nat", 2), LatchVerdict::Learning);
    assert_eq!(latch.on_packet(t0, "nat", 4), LatchVerdict::Learning);
    assert_eq!(
        latch.target(),
        Some("private"),
        "the SDP address until locked"
    );
    assert_eq!(
        latch.on_packet(t0 + ms(20), "nat", 5),
        LatchVerdict::Learning
    );
    assert_eq!(
        latch.on_packet(t0 + ms(40), "nat", 6),
        LatchVerdict::Latched
    );
    assert_eq!(latch.target(), Some("nat"));
    // Learned once: neither the SDP address nor anyone else takes it over.
    for seq in 7..100u16 {
        assert_eq!(
            latch.on_packet(t0 + ms(60), "evil", seq),
            LatchVerdict::Reject
        );
    }
    assert_eq!(
        latch.on_packet(t0 + ms(60), "private", 1),
        LatchVerdict::Reject
    );
    assert_eq!(latch.on_packet(t0 + ms(60), "nat", 7), LatchVerdict::Accept);
    // Sequence numbers wrap inside a run.
    let mut wrap = RemoteLatch::new(t0, None).with_learn_packets(2);
    assert_eq!(wrap.on_packet(t0, "a", u16::MAX), LatchVerdict::Learning);
    assert_eq!(wrap.on_packet(t0, "a", 0), LatchVerdict::Latched);
}

#[test]
fn after_the_window_only_the_sdp_address_is_accepted() {
    let t0 = Instant::now();
    let late = t0 + DEFAULT_LEARN_WINDOW;
    let mut latch = RemoteLatch::new(t0, Some("sdp"));
    // A run that starts in the window but completes after it is not learned.
    for seq in 1..DEFAULT_LEARN_PACKETS as u16 {
        assert_eq!(latch.on_packet(t0, "nat", seq), LatchVerdict::Learning);
    }
    assert_eq!(
        latch.on_packet(late, "nat", DEFAULT_LEARN_PACKETS as u16),
        LatchVerdict::Reject
    );
    // The window over, the leg is locked on its SDP address.
    assert!(latch.is_latched());
    assert_eq!(latch.on_packet(late, "sdp", 9), LatchVerdict::Accept);
    // With no SDP address and nothing learned in the window, nothing is accepted.
    let mut none = RemoteLatch::new(t0, None).with_learn_window(Duration::from_millis(100));
    let after = t0 + Duration::from_millis(100);
    for seq in 0..10 {
        assert_eq!(none.on_packet(after, "x", seq), LatchVerdict::Reject);
    }
    assert_eq!(none.target(), None);
}

#[test]
fn a_reinvite_to_a_new_address_learns_again_the_same_address_keeps_the_lock() {
    let t0 = Instant::now();
    let mut latch = RemoteLatch::new(t0, Some("a"));
    assert_eq!(latch.on_packet(t0, "a", 1), LatchVerdict::Latched);
    // Hold and resume name the same address: still locked.
    let t1 = t0 + Duration::from_secs(60);
    latch.set_signalled(t1, Some("a"));
    assert_eq!(latch.on_packet(t1, "b", 1), LatchVerdict::Reject);
    // A new address: learning again from the re-INVITE, the new address locks at once.
    latch.set_signalled(t1, Some("b"));
    assert_eq!(latch.signalled(), Some("b"));
    assert_eq!(latch.target(), Some("b"));
    assert_eq!(latch.on_packet(t1, "b", 2), LatchVerdict::Latched);
    assert_eq!(latch.on_packet(t1, "a", 2), LatchVerdict::Reject);
}

#[test]
fn inbound_classifies_audio_dtmf_and_other_payload_types() {
    let now = Instant::now();
    let mut rx = InboundStream::new(now, Codec::Pcmu, Some(101), Some(2u8));
    let audio = datagram(0, 1, 0, 7, &[0xFF; 160]);
    match rx.handle_datagram(now, 2, &audio).unwrap() {
        Received::Audio { codec, payload, .. } => {
            assert_eq!(codec, Codec::Pcmu);
            assert_eq!(payload.len(), 160);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rx.remote(), Some(2));
    assert_eq!(
        rx.handle_datagram(now, 2, &datagram(13, 2, 0, 7, &[40]))
            .unwrap(),
        Received::Ignored
    );
    assert_eq!(
        rx.handle_datagram(now, 2, &datagram(96, 3, 0, 7, &[1]))
            .unwrap(),
        Received::Ignored
    );
    let ev = TelephoneEvent {
        event: 1,
        end: false,
        volume: 10,
        duration: 160,
    }
    .to_bytes();
    assert_eq!(
        rx.handle_datagram(now, 2, &datagram(101, 4, 800, 7, &ev))
            .unwrap(),
        Received::Dtmf
    );
    assert_eq!(
        rx.handle_datagram(now, 2, &datagram(101, 5, 800, 7, &[1]))
            .unwrap(),
        Received::Ignored
    );
    assert_eq!(
        rx.handle_datagram(now, 9, &datagram(0, 6, 0, 7, &[0; 160]))
            .unwrap(),
        Received::ForeignSource
    );
    assert!(rx.handle_datagram(now, 2, &[0u8; 3]).is_err());
    assert!(matches!(rx.poll_dtmf(), Some(DtmfEvent::Digit(d)) if d.as_char() == '1'));
    // Without a negotiated telephone-event type, PT 101 is just ignored.
    let mut plain = InboundStream::new(now, Codec::Pcma, None, Some(1u8));
    assert_eq!(
        plain
            .handle_datagram(now, 1, &datagram(101, 1, 0, 1, &ev))
            .unwrap(),
        Received::Ignored
    );
}

#[test]
fn inbound_drops_a_nat_source_until_learned_then_foreign_packets() {
    let now = Instant::now();
    let mut rx = InboundStream::new(now, Codec::Pcmu, Some(101), Some(1u8));
    for seq in 1..4 {
        let d = datagram(0, seq, 0, 7, &[0xFF; 160]);
        assert_eq!(rx.handle_datagram(now, 5, &d).unwrap(), Received::Learning);
    }
    let d = datagram(0, 4, 0, 7, &[0xFF; 160]);
    let r = rx.handle_datagram(now, 5, &d);
    assert!(matches!(r, Ok(Received::Audio { .. })), "{r:?}");
    assert_eq!(rx.remote(), Some(5));
    // Any payload type from another source is foreign, the SDP address included.
    for from in [1u8, 9] {
        let d = datagram(13, 5, 0, 7, &[1]);
        assert_eq!(
            rx.handle_datagram(now, from, &d).unwrap(),
            Received::ForeignSource
        );
    }
    assert_eq!(rx.signalled(), Some(1));
}

#[test]
fn ssrc_change_closes_the_open_press_and_forgets_identities() {
    let now = Instant::now();
    let mut rx = InboundStream::new(now, Codec::Pcmu, Some(101), Some(1u8));
    let ev = TelephoneEvent {
        event: 2,
        end: false,
        volume: 10,
        duration: 160,
    }
    .to_bytes();
    rx.handle_datagram(now, 1, &datagram(101, 1, 1000, 0xAA, &ev))
        .unwrap();
    assert!(rx.poll_timeout().is_some());
    // The far end restarts (new SSRC) and happens to reuse the timestamp.
    rx.handle_datagram(now, 1, &datagram(101, 50, 1000, 0xBB, &ev))
        .unwrap();
    let events: Vec<_> = std::iter::from_fn(|| rx.poll_dtmf()).collect();
    let digits = events
        .iter()
        .filter(|e| matches!(e, DtmfEvent::Digit(_)))
        .count();
    assert_eq!(digits, 2, "{events:?}");
    assert!(events.iter().any(|e| matches!(
        e,
        DtmfEvent::Ended {
            timed_out: true,
            ..
        }
    )));
    rx.handle_timeout(now + Duration::from_secs(2));
    assert!(matches!(
        rx.poll_dtmf(),
        Some(DtmfEvent::Ended {
            timed_out: true,
            ..
        })
    ));
}

#[test]
fn recorder_places_packets_by_timestamp() {
    let mut rec = Recorder::new(Codec::Pcma);
    let loud = Codec::Pcma.encode(10_000);
    assert!(rec.push_datagram(&datagram(8, 1, 5000, 1, &[loud; 160])));
    // Reordered: the third packet arrives before the second, which is lost.
    assert!(rec.push_datagram(&datagram(8, 3, 5320, 1, &[loud; 160])));
    assert!(
        !rec.push_datagram(&datagram(0, 4, 5480, 1, &[0xFF; 160])),
        "other codec"
    );
    assert!(
        !rec.push_datagram(&datagram(8, 0, 4840, 1, &[loud; 160])),
        "before the start"
    );
    assert!(!rec.push_datagram(b"garbage"));
    assert_eq!(rec.packets(), 2);
    let s = rec.samples();
    assert_eq!(s.len(), 480);
    let windows = rms_windows(s, 160);
    assert_eq!(windows.len(), 3);
    assert!(windows[0] > 9000.0 && windows[2] > 9000.0);
    assert_eq!(windows[1], 0.0, "the lost packet is silence");
    let wav = rec.to_wav();
    assert_eq!(&wav[..4], b"RIFF");
    let parsed = ringdesk_media::wav::Wav::parse(&wav).unwrap();
    assert_eq!(parsed.frames(), 480);
    // Bounded.
    let mut small = Recorder::with_limit(Codec::Pcmu, 200);
    assert!(small.push_datagram(&datagram(0, 1, 0, 1, &[0xFF; 160])));
    assert!(!small.push_datagram(&datagram(0, 2, 160, 1, &[0xFF; 160])));
}

#[test]
fn goertzel_finds_the_tone_that_is_there_and_not_others() {
    let tone: Vec<i16> = (0..1600)
        .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * 425.0 * i as f64 / 8000.0).sin()) as i16)
        .collect();
    assert!(tone_ratio(&tone, 8000, 425.0) > 0.95);
    assert!(tone_ratio(&tone, 8000, 1000.0) < 0.01);
    assert!(has_tone(&tone, 8000, 425.0, 0.9));
    assert!(!has_tone(&[0; 1600], 8000, 425.0, 0.1));
    assert!(goertzel_power(&tone, 8000, 425.0) > 1000.0 * goertzel_power(&tone, 8000, 2000.0));
    assert!((rms(&tone) - 8000.0 / 2f64.sqrt()).abs() < 50.0);
    assert!(rms_windows(&tone, 0).is_empty());
    assert_eq!(rms(&[]), 0.0);
}
