//! The worker media clock on virtual time: exact packet counts over long calls, no
//! drift, bounded catch-up after a stall, playout events, marker bits and DTMF.

use std::time::{Duration, Instant};

use ringdesk_media::pacer::{DEFAULT_MAX_BURST, TICK};
use ringdesk_media::rtp::seq_newer;
use ringdesk_media::{
    Clip, Codec, DtmfDigit, DtmfEvent, DtmfReceiver, OutboundStream, Pacer, PlayoutEvent,
    RtpPacket, StreamConfig, StreamEvent, StreamId, Transmit,
};

fn config(codec: Codec, ssrc: u32) -> StreamConfig {
    StreamConfig {
        codec,
        telephone_event_pt: 101,
        ssrc,
        initial_sequence: 65_000,       // wraps within the first seconds
        initial_timestamp: 0xFFFF_F000, // wraps too
    }
}

fn tone_clip(ms: usize) -> Clip {
    let samples: Vec<i16> = (0..ms * 8)
        .map(|i| ((i as f64 * 2.0 * std::f64::consts::PI * 440.0 / 8000.0).sin() * 8000.0) as i16)
        .collect();
    Clip::from_pcm(&samples, 8000).unwrap()
}

fn parse(t: &Transmit) -> RtpPacket<'_> {
    RtpPacket::parse(t.packet()).unwrap()
}

#[test]
fn ten_minutes_are_exactly_30000_packets_with_monotonic_seq_and_timestamps() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let id = pacer.add_stream(epoch, config(Codec::Pcmu, 7));
    let mut out = Vec::new();
    let mut prev: Option<(u16, u32)> = None;
    let mut count = 0u32;
    let mut now = epoch;
    let end = epoch + Duration::from_secs(600);
    // Poll at the requested tick, with a deterministic wake-up lateness of 0-7 ms.
    let mut jitter = 1u32;
    while now < end {
        out.clear();
        pacer.poll(now, &mut out);
        for t in &out {
            assert_eq!(t.stream, id);
            let p = parse(t);
            assert_eq!(p.header.ssrc, 7);
            assert_eq!(p.header.payload_type, 0);
            assert_eq!(p.payload.len(), 160);
            if let Some((seq, ts)) = prev {
                assert_eq!(p.header.sequence, seq.wrapping_add(1));
                assert!(seq_newer(p.header.sequence, seq));
                assert_eq!(p.header.timestamp, ts.wrapping_add(160));
            }
            prev = Some((p.header.sequence, p.header.timestamp));
            count += 1;
        }
        assert!(out.len() <= 1, "no bursts when polled on time");
        jitter = (jitter.wrapping_mul(1_103_515_245).wrapping_add(12_345) >> 16) % 8;
        now = pacer.next_due().unwrap() + Duration::from_millis(u64::from(jitter));
    }
    assert_eq!(count, 30_000);
    let (seq, ts) = prev.unwrap();
    assert_eq!(seq, 65_000u16.wrapping_add(29_999));
    assert_eq!(ts, 0xFFFF_F000u32.wrapping_add(29_999 * 160), "no drift");
}

#[test]
fn stall_of_200ms_sends_at_most_the_burst_bound_and_timestamps_follow_wall_time() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let id = pacer.add_stream(epoch, config(Codec::Pcma, 1));
    pacer
        .stream_mut(id)
        .unwrap()
        .play(tone_clip(2000), 1)
        .unwrap();
    let mut out = Vec::new();
    for i in 0..10u64 {
        pacer.poll(epoch + TICK * i as u32, &mut out);
    }
    assert_eq!(out.len(), 10);
    let last = parse(&out[9]).header;
    let played_before: Vec<u8> = out.iter().flat_map(|t| parse(t).payload.to_vec()).collect();
    out.clear();
    // The worker stalls: next poll 200 ms after the one due at tick 10.
    let late = epoch + TICK * 10 + Duration::from_millis(200);
    pacer.poll(late, &mut out);
    assert_eq!(out.len(), DEFAULT_MAX_BURST as usize, "burst bounded");
    let first_after = parse(&out[0]).header;
    assert_eq!(
        first_after.sequence,
        last.sequence.wrapping_add(1),
        "no seq gap"
    );
    let newest = parse(out.last().unwrap()).header;
    // 10 ticks later + 10 ticks of stall = tick 20: its timestamp is 20 * 160 past tick 0.
    let tick0_ts = 0xFFFF_F000u32;
    assert_eq!(newest.timestamp, tick0_ts.wrapping_add(20 * 160));
    assert!(!first_after.marker, "the talkspurt continues");
    // Audio is not lost: the frames after the stall continue the clip where it was.
    let clip = tone_clip(2000);
    let after: Vec<u8> = out.iter().flat_map(|t| parse(t).payload.to_vec()).collect();
    assert_eq!(&played_before[..], &clip.payload(Codec::Pcma)[..1600]);
    assert_eq!(&after[..], &clip.payload(Codec::Pcma)[1600..1600 + 480]);
    // And the stream is back to one packet per tick.
    out.clear();
    pacer.poll(epoch + TICK * 21, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(
        parse(&out[0]).header.timestamp,
        tick0_ts.wrapping_add(21 * 160)
    );
}

#[test]
fn many_streams_share_one_clock_and_stale_ids_are_rejected() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch).with_max_burst(2);
    let ids: Vec<StreamId> = (0..50)
        .map(|i| {
            pacer.add_stream(
                epoch + Duration::from_millis(i),
                config(Codec::Pcmu, i as u32),
            )
        })
        .collect();
    assert_eq!(pacer.len(), 50);
    let mut out = Vec::new();
    pacer.poll(epoch + Duration::from_millis(60), &mut out);
    // Each stream has its own grid from when it was added: the one added at 0 ms owes 4
    // slots by 60 ms (burst 2), those added at 1-20 ms 3 (burst 2), at 21-40 ms 2, at
    // 41-49 ms 1.
    assert_eq!(out.len(), 21 * 2 + 20 * 2 + 9);
    let per_stream = |out: &[Transmit], id: StreamId| out.iter().filter(|t| t.stream == id).count();
    assert_eq!(per_stream(&out, ids[0]), 2);
    assert_eq!(per_stream(&out, ids[30]), 2);
    assert_eq!(per_stream(&out, ids[45]), 1);
    // Phases are kept: the stream added at 45 ms is next due at 65 ms.
    out.clear();
    pacer.poll(epoch + Duration::from_millis(64), &mut out);
    assert_eq!(per_stream(&out, ids[45]), 0);
    pacer.poll(epoch + Duration::from_millis(65), &mut out);
    assert_eq!(per_stream(&out, ids[45]), 1);
    let removed = pacer.remove_stream(ids[3]).unwrap();
    assert_eq!(removed.ssrc(), 3);
    assert!(pacer.stream_mut(ids[3]).is_none());
    assert!(pacer.remove_stream(ids[3]).is_none());
    let again = pacer.add_stream(epoch, config(Codec::Pcmu, 999));
    assert_ne!(again, ids[3], "slot reused with a new generation");
    assert!(pacer.stream_mut(ids[3]).is_none());
    assert_eq!(pacer.stream_mut(again).unwrap().ssrc(), 999);
    assert_eq!(pacer.len(), 50);
}

#[test]
fn silence_when_idle_marker_at_talkspurt_and_play_done_events() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let id = pacer.add_stream(epoch, config(Codec::Pcmu, 5));
    let mut out = Vec::new();
    let mut events = Vec::new();
    let mut tick = 0u32;
    let mut step = |pacer: &mut Pacer, out: &mut Vec<Transmit>, events: &mut Vec<_>| {
        out.clear();
        pacer.poll(epoch + TICK * tick, out);
        tick += 1;
        while let Some(e) = pacer.poll_event() {
            events.push(e);
        }
        assert_eq!(out.len(), 1);
        let p = parse(&out[0]);
        (p.header.marker, p.payload.to_vec())
    };
    // First packet: marker, silence.
    let (m, payload) = step(&mut pacer, &mut out, &mut events);
    assert!(m);
    assert!(payload.iter().all(|&b| b == 0xFF));
    let (m, _) = step(&mut pacer, &mut out, &mut events);
    assert!(!m, "silence carries no marker");
    // A prompt of two clips (60 ms + 40 ms).
    let s = pacer.stream_mut(id).unwrap();
    s.play(tone_clip(60), 10).unwrap();
    s.play(tone_clip(40), 11).unwrap();
    let markers: Vec<bool> = (0..5)
        .map(|_| step(&mut pacer, &mut out, &mut events).0)
        .collect();
    assert_eq!(markers, [true, false, false, false, false], "one talkspurt");
    assert_eq!(
        events,
        vec![
            (
                id,
                StreamEvent::Played(PlayoutEvent {
                    tag: 10,
                    completed: true
                })
            ),
            (
                id,
                StreamEvent::Played(PlayoutEvent {
                    tag: 11,
                    completed: true
                })
            ),
        ]
    );
    let (m, payload) = step(&mut pacer, &mut out, &mut events);
    assert!(!m && payload.iter().all(|&b| b == 0xFF), "back to silence");
    assert_eq!(events.len(), 2);
}

#[test]
fn loop_plays_until_barge_in_stops_it_at_once() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let id = pacer.add_stream(epoch, config(Codec::Pcma, 5));
    let moh = tone_clip(100);
    pacer
        .stream_mut(id)
        .unwrap()
        .play_loop(moh.clone(), 42)
        .unwrap();
    pacer
        .stream_mut(id)
        .unwrap()
        .play(tone_clip(20), 43)
        .unwrap();
    let mut out = Vec::new();
    for t in 0..23u32 {
        pacer.poll(epoch + TICK * t, &mut out);
    }
    assert_eq!(out.len(), 23);
    // 23 frames of a 5-frame loop: the loop wrapped four times and no event fired.
    assert!(pacer.poll_event().is_none());
    assert_eq!(parse(&out[22]).payload, moh.frame(Codec::Pcma, 2).unwrap());
    assert_eq!(parse(&out[5]).payload, moh.frame(Codec::Pcma, 0).unwrap());
    pacer.stream_mut(id).unwrap().stop_playout();
    assert!(!pacer.stream_mut(id).unwrap().is_playing());
    out.clear();
    pacer.poll(epoch + TICK * 23, &mut out);
    assert!(parse(&out[0])
        .payload
        .iter()
        .all(|&b| b == Codec::Pcma.silence()));
    let events: Vec<_> = std::iter::from_fn(|| pacer.poll_event()).collect();
    assert_eq!(
        events,
        vec![
            (
                id,
                StreamEvent::Played(PlayoutEvent {
                    tag: 42,
                    completed: false
                })
            ),
            (
                id,
                StreamEvent::Played(PlayoutEvent {
                    tag: 43,
                    completed: false
                })
            ),
        ]
    );
}

#[test]
fn dtmf_through_a_stream_is_received_as_digits_and_audio_resumes() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let id = pacer.add_stream(epoch, config(Codec::Pcmu, 9));
    let s = pacer.stream_mut(id).unwrap();
    s.play(tone_clip(2000), 1).unwrap();
    s.send_dtmf(
        DtmfDigit::from_char('7').unwrap(),
        Duration::from_millis(100),
    )
    .unwrap();
    s.send_dtmf(
        DtmfDigit::from_char('7').unwrap(),
        Duration::from_millis(100),
    )
    .unwrap();
    let mut rx = DtmfReceiver::default();
    let mut out = Vec::new();
    let mut digits = String::new();
    let mut sent = Vec::new();
    let mut audio_frames = 0;
    let mut prev_seq = None;
    for t in 0..40u32 {
        out.clear();
        let now = epoch + TICK * t;
        pacer.poll(now, &mut out);
        let p = parse(&out[0]);
        if let Some(prev) = prev_seq {
            assert_eq!(p.header.sequence, u16::wrapping_add(prev, 1));
        }
        prev_seq = Some(p.header.sequence);
        match p.header.payload_type {
            101 => rx
                .handle_packet(now, p.header.timestamp, p.payload)
                .unwrap(),
            0 => audio_frames += 1,
            other => panic!("payload type {other}"),
        }
        while let Some(e) = rx.poll_event() {
            if let DtmfEvent::Digit(d) = e {
                digits.push(d.as_char());
            }
        }
        while let Some((_, e)) = pacer.poll_event() {
            sent.push(e);
        }
    }
    assert_eq!(digits, "77");
    let seven = DtmfDigit::from_char('7').unwrap();
    assert_eq!(
        sent,
        vec![StreamEvent::DtmfSent(seven), StreamEvent::DtmfSent(seven)]
    );
    // 2 presses x (5 slots + 2 extra end copies) = 14 event packets; the rest is audio.
    assert_eq!(audio_frames, 40 - 14);
}

#[test]
fn per_call_state_is_small() {
    use std::mem::size_of;
    let stream = size_of::<ringdesk_media::OutboundStream>();
    let inbound = size_of::<ringdesk_media::InboundStream<std::net::SocketAddr>>();
    // Inline state only; queues start empty and clips are shared, so a call's memory is
    // dominated by this plus a few small bounded queues.
    assert!(stream + inbound < 2048, "{stream} + {inbound} bytes");
    let clip = tone_clip(1000);
    let other = clip.clone();
    assert!(clip.ptr_eq(&other), "clips are shared, not copied");
}

#[test]
fn streams_keep_their_own_phase_so_a_full_period_spreads_the_work() {
    // 1,000 streams added over 20 ms: polling every 1 ms sends about 50 each time,
    // never all 1,000 at once, and every stream exactly one packet per 20 ms.
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let mut out = Vec::new();
    let ids: Vec<StreamId> = (0..1000u64)
        .map(|i| {
            pacer.add_stream(
                epoch + Duration::from_micros(i * 20),
                config(Codec::Pcmu, i as u32),
            )
        })
        .collect();
    let mut per_poll = Vec::new();
    for ms in 0..200u64 {
        out.clear();
        pacer.poll(epoch + Duration::from_millis(ms), &mut out);
        per_poll.push(out.len());
        for t in &out {
            let i = ids.iter().position(|id| *id == t.stream).unwrap() as u64;
            // Sent within 1 ms of its own due time (added at i*20 us, then every 20 ms).
            let added_us = i * 20;
            let since = ms * 1000 - added_us.min(ms * 1000);
            assert!(
                since % 20_000 < 1_000,
                "stream {i} sent {since} us after being added"
            );
        }
    }
    assert!(per_poll[20..].iter().all(|&n| n <= 60), "{per_poll:?}");
    // Every slot due by the last poll (199 ms) was sent, none twice.
    let expected: u64 = (0..1000u64).map(|i| (199_000 - i * 20) / 20_000 + 1).sum();
    assert_eq!(per_poll.iter().sum::<usize>() as u64, expected);
    // The earliest due time is reported for the runtime's wake-up.
    let next = pacer.next_due().unwrap();
    assert!(
        next > epoch + Duration::from_millis(199) && next <= epoch + Duration::from_millis(201)
    );
}

#[test]
fn removed_streams_send_nothing_and_their_slots_are_reused_on_a_new_phase() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let mut out = Vec::new();
    let a = pacer.add_stream(epoch, config(Codec::Pcmu, 1));
    pacer.poll(epoch, &mut out);
    assert_eq!(out.len(), 1);
    pacer.remove_stream(a).unwrap();
    // Re-added at 7 ms in the same slot: its old 20 ms due entry must not send for it.
    let b = pacer.add_stream(epoch + Duration::from_millis(7), config(Codec::Pcmu, 2));
    out.clear();
    pacer.poll(epoch + Duration::from_millis(7), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].stream, b);
    out.clear();
    pacer.poll(epoch + Duration::from_millis(20), &mut out);
    assert!(out.is_empty(), "nothing is due for b until 27 ms");
    pacer.poll(epoch + Duration::from_millis(27), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(parse(&out[0]).header.ssrc, 2);
    assert!(pacer.remove_stream(a).is_none());
    pacer.remove_stream(b).unwrap();
    assert!(pacer.is_empty());
    out.clear();
    pacer.poll(epoch + Duration::from_secs(1), &mut out);
    assert!(out.is_empty());
}

#[test]
fn collect_events_reports_a_stopped_prompt_before_the_next_packet() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let id = pacer.add_stream(epoch, config(Codec::Pcmu, 1));
    pacer
        .stream_mut(id)
        .unwrap()
        .play(tone_clip(500), 3)
        .unwrap();
    let mut out = Vec::new();
    pacer.poll(epoch, &mut out);
    pacer.stream_mut(id).unwrap().stop_playout();
    assert!(pacer.poll_event().is_none());
    pacer.collect_events(id);
    assert_eq!(
        pacer.poll_event(),
        Some((
            id,
            StreamEvent::Played(PlayoutEvent {
                tag: 3,
                completed: false
            })
        ))
    );
}

#[test]
fn a_stream_started_by_the_answering_thread_continues_one_period_after_its_first_packet() {
    // The call's task produces and sends the first packet with the 200 OK; the pacer
    // takes the stream over: the next packet 20 ms later, sequence and timestamp
    // continuing, the prompt's end reported once.
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let mut stream = OutboundStream::new(config(Codec::Pcma, 9));
    stream.play(tone_clip(60), 5).unwrap();
    let mut buf = [0u8; ringdesk_media::stream::MAX_PACKET];
    let len = stream.produce(&mut buf);
    let first = RtpPacket::parse(&buf[..len]).unwrap();
    assert!(
        first.header.marker,
        "talkspurt starts with the first packet"
    );
    let (seq, ts) = (first.header.sequence, first.header.timestamp);
    let sent_at = epoch + Duration::from_millis(3);
    let id = pacer.add_started(sent_at, stream);
    assert_eq!(pacer.next_due(), Some(sent_at + TICK));
    let mut out = Vec::new();
    pacer.poll(sent_at + TICK - Duration::from_micros(1), &mut out);
    assert!(out.is_empty(), "nothing before one period");
    let mut got = Vec::new();
    for k in 1..=3u32 {
        out.clear();
        pacer.poll(sent_at + TICK * k, &mut out);
        assert_eq!(out.len(), 1, "one packet per period");
        let p = parse(&out[0]);
        assert_eq!(out[0].stream, id);
        assert_eq!(p.header.sequence, seq.wrapping_add(k as u16));
        assert_eq!(p.header.timestamp, ts.wrapping_add(160 * k));
        assert!(!p.header.marker);
        while let Some(ev) = pacer.poll_event() {
            got.push(ev);
        }
    }
    // 60 ms of prompt: the first packet and two from the pacer; reported at its end.
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(matches!(
        got[0],
        (s, StreamEvent::Played(PlayoutEvent { tag: 5, completed: true })) if s == id
    ));
}

#[test]
fn a_paused_stream_sends_nothing_then_resumes_with_wall_time_timestamps() {
    let epoch = Instant::now();
    let mut pacer = Pacer::new(epoch);
    let id = pacer.add_stream(epoch, config(Codec::Pcmu, 9));
    let other = pacer.add_stream(epoch, config(Codec::Pcmu, 10));
    let mut out = Vec::new();
    let mut now = epoch;
    let mut last = None;
    // 1 s playing.
    while now < epoch + Duration::from_secs(1) {
        pacer.poll(now, &mut out);
        now += TICK;
    }
    for t in out.iter().filter(|t| t.stream == id) {
        let p = parse(t);
        last = Some((p.header.sequence, p.header.timestamp));
    }
    let (seq, ts) = last.unwrap();
    // Paused for 2 s (bridged): nothing from it, the other stream goes on.
    assert!(pacer.pause_stream(now, id));
    let paused = now;
    out.clear();
    while now < paused + Duration::from_secs(2) {
        pacer.poll(now, &mut out);
        now += TICK;
    }
    assert!(
        out.iter().all(|t| t.stream == other),
        "a paused stream is silent"
    );
    assert_eq!(out.len(), 100);
    // Resumed: the next packet follows in sequence, its timestamp 2 s of audio later.
    assert!(pacer.resume_stream(now, id));
    out.clear();
    pacer.poll(now, &mut out);
    let p = out.iter().find(|t| t.stream == id).map(parse).unwrap();
    assert_eq!(p.header.sequence, seq.wrapping_add(1));
    assert_eq!(p.header.timestamp, ts.wrapping_add(160 + 100 * 160));
    // An unknown stream is refused; resuming a playing one changes nothing.
    assert!(pacer.resume_stream(now, id));
    assert!(pacer.remove_stream(other).is_some());
    assert!(!pacer.pause_stream(now, other));
    assert!(!pacer.resume_stream(now, other));
}
