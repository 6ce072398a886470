//! Real captures: the SIPp RFC 2833 pcaps each yield exactly their one digit.
//!
//! A tiny pcap reader (classic pcap, Ethernet, IPv4, UDP) feeds every RTP packet to the
//! receive side at its capture time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ringdesk_media::{Codec, DtmfEvent, InboundStream, Received, Recorder};

struct Captured {
    at: Duration,
    src: ([u8; 4], u16),
    udp_payload: Vec<u8>,
}

fn pcap_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.join("../../../shared/sipp/pcap")
}

fn read_u32(b: &[u8], at: usize, le: bool) -> u32 {
    let bytes: [u8; 4] = b[at..at + 4].try_into().unwrap();
    if le {
        u32::from_le_bytes(bytes)
    } else {
        u32::from_be_bytes(bytes)
    }
}

fn read_pcap(name: &str) -> Vec<Captured> {
    let data = std::fs::read(pcap_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let le = match data[0..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] => false,
        _ => panic!("{name}: not a classic pcap"),
    };
    assert_eq!(
        read_u32(&data, 20, le),
        1,
        "{name}: link type must be Ethernet"
    );
    let mut out = Vec::new();
    let mut off = 24;
    let mut first = None;
    while off + 16 <= data.len() {
        let secs = read_u32(&data, off, le);
        let usecs = read_u32(&data, off + 4, le);
        let incl = read_u32(&data, off + 8, le) as usize;
        let frame = &data[off + 16..off + 16 + incl];
        off += 16 + incl;
        let t = Duration::new(u64::from(secs), usecs * 1000);
        let t0 = *first.get_or_insert(t);
        if frame[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0F) * 4;
        if ip[9] != 17 {
            continue;
        }
        let src_ip: [u8; 4] = ip[12..16].try_into().unwrap();
        let udp = &ip[ihl..];
        let src_port = u16::from_be_bytes([udp[0], udp[1]]);
        let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        out.push(Captured {
            at: t - t0,
            src: (src_ip, src_port),
            udp_payload: udp[8..udp_len].to_vec(),
        });
    }
    out
}

/// Feed a capture to an inbound stream; returns the digits and all DTMF events.
fn digits_of(name: &str) -> (String, Vec<DtmfEvent>) {
    let packets = read_pcap(name);
    assert!(!packets.is_empty(), "{name}: no packets");
    let base = Instant::now();
    // The capture's SDP named the address its packets come from.
    let mut inbound = InboundStream::new(base, Codec::Pcmu, Some(101), Some(packets[0].src));
    let mut events = Vec::new();
    for p in &packets {
        let r = inbound.handle_datagram(base + p.at, p.src, &p.udp_payload);
        assert!(matches!(r, Ok(Received::Dtmf)), "{name}: {r:?}");
        while let Some(e) = inbound.poll_dtmf() {
            events.push(e);
        }
    }
    // Let any timeout run: nothing more may appear.
    inbound.handle_timeout(base + packets.last().unwrap().at + Duration::from_secs(5));
    while let Some(e) = inbound.poll_dtmf() {
        events.push(e);
    }
    let digits = events
        .iter()
        .filter_map(|e| match e {
            DtmfEvent::Digit(d) => Some(d.as_char()),
            _ => None,
        })
        .collect();
    (digits, events)
}

#[test]
fn every_sipp_dtmf_capture_yields_exactly_its_digit() {
    let cases = [
        ("0", '0'),
        ("1", '1'),
        ("2", '2'),
        ("3", '3'),
        ("4", '4'),
        ("5", '5'),
        ("6", '6'),
        ("7", '7'),
        ("8", '8'),
        ("9", '9'),
        ("star", '*'),
        ("pound", '#'),
    ];
    for (suffix, expected) in cases {
        let name = format!("dtmf_2833_{suffix}.pcap");
        let (digits, events) = digits_of(&name);
        assert_eq!(digits, expected.to_string(), "{name}: {events:?}");
        let ended: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, DtmfEvent::Ended { .. }))
            .collect();
        assert_eq!(ended.len(), 1, "{name}: {events:?}");
        assert!(
            matches!(
                ended[0],
                DtmfEvent::Ended {
                    timed_out: false,
                    duration: 2240,
                    ..
                }
            ),
            "{name}: ended by its end packet with the final duration: {events:?}"
        );
    }
}

#[test]
fn g711a_capture_records_as_continuous_alaw_audio() {
    let packets = read_pcap("g711a.pcap");
    let base = Instant::now();
    let mut inbound = InboundStream::new(base, Codec::Pcma, Some(101), Some(packets[0].src));
    let mut recorder = Recorder::new(Codec::Pcma);
    let mut audio = 0;
    let mut samples = 0;
    for p in &packets {
        if let Ok(Received::Audio { codec, payload, .. }) =
            inbound.handle_datagram(base + p.at, p.src, &p.udp_payload)
        {
            assert_eq!(codec, Codec::Pcma);
            // This capture uses 30 ms packets: the receive side takes any ptime.
            assert_eq!(payload.len(), 240);
            audio += 1;
            samples += payload.len();
            assert!(recorder.push_datagram(&p.udp_payload));
        }
    }
    assert!(audio > 200, "{audio} audio packets");
    assert_eq!(recorder.samples().len(), samples, "no gaps in the capture");
    assert!(inbound.poll_dtmf().is_none());
    assert!(inbound.remote().is_some());
    let wav = recorder.to_wav();
    let clip = ringdesk_media::Clip::from_wav(&wav).unwrap();
    assert_eq!(clip.frame_count(), samples.div_ceil(160));
    let mut all = Vec::new();
    for p in &packets {
        if let Ok(rtp) = ringdesk_media::RtpPacket::parse(&p.udp_payload) {
            if rtp.header.payload_type == 8 {
                all.extend_from_slice(rtp.payload);
            }
        }
    }
    assert_eq!(
        clip.payload(Codec::Pcma).get(..samples),
        Some(&all[..]),
        "an 8 kHz A-law recording round-trips bit-exact through WAV and Clip"
    );
}
