//! Our ICE-lite offerer leg against a plain str0m `Rtc` playing the browser (full ICE,
//! answerer), in one process on a virtual clock: no sockets, datagrams passed by hand.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringdesk_webrtc::{Output, WebrtcError, WebrtcLeg, PT_PCMU};
use str0m::change::SdpOffer;
use str0m::media::Mid;
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Rtc, RtcConfig};

const STEP: Duration = Duration::from_millis(10);

fn leg_addr() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn browser_addr() -> SocketAddr {
    "127.0.0.2:50000".parse().unwrap()
}

/// A received audio packet, as either side saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Audio {
    pt: u8,
    seq: u16,
    ts: u32,
    payload: Vec<u8>,
}

struct Pair {
    now: Instant,
    leg: WebrtcLeg,
    browser: Rtc,
    browser_mid: Option<Mid>,
    leg_connected: bool,
    leg_disconnected: bool,
    browser_connected: bool,
    leg_heard: Vec<Audio>,
    browser_heard: Vec<Audio>,
}

impl Pair {
    /// Both sides built and the offer/answer exchanged as SDP text.
    fn new() -> Pair {
        let now = Instant::now();
        let (mut leg, mut browser) = leg_and_browser(now, true);
        let offer_text = leg.offer().expect("offer");
        let answer = browser_answers(&mut browser, &offer_text);
        leg.accept_answer(&answer).expect("answer accepted");

        Pair {
            now,
            leg,
            browser,
            browser_mid: None,
            leg_connected: false,
            leg_disconnected: false,
            browser_connected: false,
            leg_heard: vec![],
            browser_heard: vec![],
        }
    }

    /// One 10 ms step: drain both sides, deliver each side's datagrams to the other,
    /// advance the clock, fire both timeouts.
    fn step(&mut self) {
        self.step_with(true);
    }

    /// A step; with `browser_heard_by_leg` false the browser's datagrams are lost.
    fn step_with(&mut self, browser_heard_by_leg: bool) {
        let mut to_browser = vec![];
        loop {
            match self.leg.poll_output().expect("leg output") {
                Output::Transmit { to, data } => {
                    assert_eq!(to, browser_addr());
                    to_browser.push(data);
                }
                Output::Rtp {
                    payload_type,
                    sequence,
                    timestamp,
                    payload,
                    ..
                } => self.leg_heard.push(Audio {
                    pt: payload_type,
                    seq: sequence,
                    ts: timestamp,
                    payload,
                }),
                Output::Connected => self.leg_connected = true,
                Output::Disconnected => self.leg_disconnected = true,
                Output::Timeout(_) => break,
            }
        }
        let mut to_leg = vec![];
        loop {
            match self.browser.poll_output().expect("browser output") {
                str0m::Output::Transmit(t) => {
                    assert_eq!(t.destination, leg_addr());
                    to_leg.push((t.source, Vec::from(t.contents)));
                }
                str0m::Output::Event(Event::Connected) => self.browser_connected = true,
                str0m::Output::Event(Event::MediaAdded(m)) => self.browser_mid = Some(m.mid),
                str0m::Output::Event(Event::RtpPacket(p)) => self.browser_heard.push(Audio {
                    pt: *p.header.payload_type,
                    seq: p.header.sequence_number,
                    ts: p.header.timestamp,
                    payload: p.payload.to_vec(),
                }),
                str0m::Output::Event(_) => {}
                str0m::Output::Timeout(_) => break,
            }
        }
        for data in to_browser {
            let r = Receive::new(Protocol::Udp, leg_addr(), browser_addr(), &data).unwrap();
            self.browser
                .handle_input(Input::Receive(self.now, r))
                .expect("browser takes datagram");
        }
        if !browser_heard_by_leg {
            to_leg.clear();
        }
        for (from, data) in to_leg {
            self.leg
                .handle_datagram(self.now, from, leg_addr(), &data)
                .expect("leg takes datagram");
        }
        self.now += STEP;
        self.leg.handle_timeout(self.now).expect("leg timeout");
        self.browser
            .handle_input(Input::Timeout(self.now))
            .expect("browser timeout");
    }

    /// Steps until both sides are connected; returns how many steps it took.
    fn connect(&mut self) -> usize {
        for n in 0..500 {
            if self.leg_connected && self.browser_connected {
                return n;
            }
            self.step();
        }
        panic!(
            "not connected after 5 s: leg {} browser {}",
            self.leg_connected, self.browser_connected
        );
    }

    fn browser_sends(&mut self, seq: u16, ts: u32, payload: &[u8]) {
        let mid = self.browser_mid.expect("browser saw the audio line");
        let mut direct = self.browser.direct_api();
        let stream = direct
            .stream_tx_by_mid(mid, None)
            .expect("browser tx stream");
        stream.write_rtp(RtpWrite::new(
            PT_PCMU.into(),
            u64::from(seq).into(),
            ts,
            self.now,
            payload,
        ));
        self.browser
            .handle_input(Input::Timeout(self.now))
            .expect("browser timeout");
    }
}

/// Our leg, and a str0m peer with a browser's audio codecs (Opus, and PCMU if `pcmu`)
/// and its host candidate.
fn leg_and_browser(now: Instant, pcmu: bool) -> (WebrtcLeg, Rtc) {
    let leg = WebrtcLeg::new(leg_addr(), now).expect("leg");
    let mut browser = RtcConfig::new()
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .set_rtp_mode(true)
        .enable_pcmu(pcmu, false)
        .build(now);
    browser
        .add_local_candidate(Candidate::host(browser_addr(), "udp").unwrap())
        .unwrap();
    (leg, browser)
}

/// The browser's SDP answer text to our offer text.
fn browser_answers(browser: &mut Rtc, offer: &str) -> String {
    let offer = SdpOffer::from_sdp_string(offer).expect("offer parses");
    let answer = browser
        .sdp_api()
        .accept_offer(offer)
        .expect("browser answers");
    answer.to_sdp_string()
}

/// 160 bytes of PCMU, different for each packet and each direction.
fn frame(tag: u8, n: u16) -> Vec<u8> {
    (0..160u16)
        .map(|i| tag ^ (n as u8).wrapping_mul(31) ^ (i as u8))
        .collect()
}

#[test]
fn offer_is_webrtc_pcmu_ice_lite() {
    let mut leg = WebrtcLeg::new(leg_addr(), Instant::now()).unwrap();
    let offer = leg.offer().unwrap();
    for needle in [
        "m=audio ",
        "UDP/TLS/RTP/SAVPF 0",
        "a=fingerprint:sha-256 ",
        "a=setup:actpass",
        "a=ice-ufrag:",
        "a=ice-pwd:",
        "a=ice-lite",
        "a=rtcp-mux",
        "a=rtpmap:0 PCMU/8000",
        "a=sendrecv",
        "127.0.0.1 40000 typ host",
    ] {
        assert!(offer.contains(needle), "offer lacks {needle:?}:\n{offer}");
    }
    assert!(!offer.to_ascii_lowercase().contains("opus"), "{offer}");
    assert!(matches!(leg.offer(), Err(WebrtcError::OutOfOrder(_))));
}

#[test]
fn connects_and_carries_audio_both_ways() {
    let mut pair = Pair::new();
    let steps = pair.connect();
    assert!(pair.leg.is_connected());
    eprintln!("connected after {steps} steps of {STEP:?}");

    // Caller → browser: 5 packets of 20 ms, sequence numbers across the 16-bit wrap.
    let mut sent_to_browser = vec![];
    for n in 0..5u16 {
        let seq = 65533u16.wrapping_add(n);
        let ts = 1000 + u32::from(n) * 160;
        let payload = frame(0xA5, n);
        pair.leg
            .send_rtp(pair.now, PT_PCMU, seq, ts, &payload)
            .unwrap();
        sent_to_browser.push(Audio {
            pt: PT_PCMU,
            seq,
            ts,
            payload,
        });
        pair.step();
        pair.step();
    }
    // Browser → caller.
    let mut sent_to_leg = vec![];
    for n in 0..5u16 {
        let seq = 7000 + n;
        let ts = 90_000 + u32::from(n) * 160;
        let payload = frame(0x3C, n);
        pair.browser_sends(seq, ts, &payload);
        sent_to_leg.push(Audio {
            pt: PT_PCMU,
            seq,
            ts,
            payload,
        });
        pair.step();
        pair.step();
    }
    for _ in 0..10 {
        pair.step();
    }

    assert_eq!(pair.browser_heard, sent_to_browser);
    assert_eq!(pair.leg_heard, sent_to_leg);
    assert!(!pair.leg_disconnected);
    let c = pair.leg.counters();
    assert_eq!((c.rtp_in, c.rtp_out, c.rejected), (5, 5, 0));
}

#[test]
fn audio_before_connection_or_of_another_type_is_refused() {
    let mut pair = Pair::new();
    let now = pair.now;
    assert!(matches!(
        pair.leg.send_rtp(now, PT_PCMU, 1, 160, &[0xFF; 160]),
        Err(WebrtcError::NotConnected)
    ));
    pair.connect();
    let now = pair.now;
    assert!(matches!(
        pair.leg.send_rtp(now, 8, 1, 160, &[0xD5; 160]),
        Err(WebrtcError::PayloadType(8))
    ));
    assert!(matches!(
        pair.leg.send_rtp(now, PT_PCMU, 1, 160, &[0xFF; 5000]),
        Err(WebrtcError::PayloadTooLong(5000))
    ));
}

#[test]
fn an_answer_without_pcmu_is_refused() {
    let now = Instant::now();
    let (mut leg, mut browser) = leg_and_browser(now, false);
    let offer = leg.offer().unwrap();
    let answer = browser_answers(&mut browser, &offer);
    let err = leg.accept_answer(&answer).unwrap_err();
    assert!(
        matches!(err, WebrtcError::SdpParse(_) | WebrtcError::SdpRefused(_)),
        "{err:?}"
    );
}

/// Garbage and forged packets from the browser's own address, once connected, are
/// refused or dropped; the leg keeps carrying audio.
#[test]
fn garbage_from_the_browser_address_does_not_break_the_leg() {
    let mut pair = Pair::new();
    pair.connect();
    let mut x: u64 = 0x1234_5678_9ABC_DEF1;
    for i in 0..2000usize {
        let len = 1 + (i * 7919) % 1400;
        let mut data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        // RTP version 2 with PCMU, then RTCP, then DTLS application data, then STUN.
        data[0] = [0x80, 0x81, 23, 0x00][i % 4];
        let now = pair.now;
        let _ = pair
            .leg
            .handle_datagram(now, browser_addr(), leg_addr(), &data);
    }
    for _ in 0..5 {
        pair.step();
    }
    assert!(!pair.leg_disconnected, "garbage ended the leg");
    assert!(
        pair.leg_heard.is_empty(),
        "garbage decrypted: {:?}",
        pair.leg_heard
    );

    let payload = frame(0x11, 1);
    pair.browser_sends(300, 4800, &payload);
    let now = pair.now;
    pair.leg.send_rtp(now, PT_PCMU, 10, 1600, &payload).unwrap();
    for _ in 0..5 {
        pair.step();
    }
    assert_eq!(pair.leg_heard.len(), 1);
    assert_eq!(pair.leg_heard[0].payload, payload);
    assert_eq!(pair.browser_heard.len(), 1);
    assert_eq!(pair.browser_heard[0].payload, payload);
}

/// A browser that goes silent (tab closed, network gone) is reported as Disconnected.
#[test]
fn a_silent_browser_is_disconnected() {
    let mut pair = Pair::new();
    pair.connect();
    let start = pair.now;
    while !pair.leg_disconnected {
        assert!(
            pair.now - start < Duration::from_secs(60),
            "still connected after 60 s of silence"
        );
        pair.step_with(false);
    }
    eprintln!("disconnected after {:?} of silence", pair.now - start);
    assert!(!pair.leg.is_connected());
}
