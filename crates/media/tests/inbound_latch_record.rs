//! Receive side: symmetric-RTP latch, payload classification, SSRC changes, recording
//! and the analysis helpers.

use std::time::{Duration, Instant};

use ringdesk_media::analysis::{goertzel_power, has_tone, rms, rms_windows, tone_ratio};
use ringdesk_media::dtmf::TelephoneEvent;
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
fn latch_starts_at_sdp_address_then_follows_the_first_packet() {
    let mut latch = RemoteLatch::new(Some("sdp"));
    assert_eq!(latch.target(), Some("sdp"));
    assert!(!latch.is_latched());
    assert_eq!(latch.on_packet("nat", 10), LatchVerdict::Latched);
    assert_eq!(latch.target(), Some("nat"));
    assert_eq!(latch.on_packet("nat", 11), LatchVerdict::Accept);
    let no_sdp: RemoteLatch<&str> = RemoteLatch::new(None);
    assert_eq!(no_sdp.target(), None);
}

#[test]
fn latch_moves_only_after_a_run_of_consecutive_packets() {
    let mut latch = RemoteLatch::new(None).with_learn_packets(3);
    latch.on_packet("a", 1);
    // A stray packet from elsewhere does not steal the stream.
    assert_eq!(latch.on_packet("evil", 500), LatchVerdict::Reject);
    assert_eq!(latch.on_packet("evil", 900), LatchVerdict::Reject);
    assert_eq!(latch.target(), Some("a"));
    // Interleaved packets from the current source reset the run.
    assert_eq!(latch.on_packet("b", 100), LatchVerdict::Reject);
    assert_eq!(latch.on_packet("b", 101), LatchVerdict::Reject);
    assert_eq!(latch.on_packet("a", 2), LatchVerdict::Accept);
    assert_eq!(latch.on_packet("b", 102), LatchVerdict::Reject);
    assert_eq!(latch.on_packet("b", 103), LatchVerdict::Reject);
    assert_eq!(latch.on_packet("b", 104), LatchVerdict::Latched);
    assert_eq!(latch.target(), Some("b"));
    assert_eq!(latch.on_packet("a", 3), LatchVerdict::Reject);
    latch.set_signalled(Some("new-sdp"));
    assert_eq!(latch.target(), Some("new-sdp"));
}

#[test]
fn inbound_classifies_audio_dtmf_and_other_payload_types() {
    let now = Instant::now();
    let mut rx = InboundStream::new(Codec::Pcmu, Some(101), Some(1u8));
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
    let mut plain = InboundStream::new(Codec::Pcma, None, None::<u8>);
    assert_eq!(
        plain
            .handle_datagram(now, 1, &datagram(101, 1, 0, 1, &ev))
            .unwrap(),
        Received::Ignored
    );
}

#[test]
fn ssrc_change_closes_the_open_press_and_forgets_identities() {
    let now = Instant::now();
    let mut rx = InboundStream::new(Codec::Pcmu, Some(101), None::<u8>);
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
