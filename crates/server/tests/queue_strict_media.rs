//! Strict RTP end to end, with real SIP peers: SIPp places a caller's call and plays the
//! agent's phone, both SDPs naming UDP sockets owned by the test (as in `queue_audio`).
//! While the bridged call is in progress, two intruders on 127.0.0.2 — an address no SDP
//! names — spray well-formed, in-sequence RTP tones at ringdesk's caller leg and at its
//! agent leg (the "RTP bleed" attack). Neither intruder may be heard: the agent hears the
//! caller's tone and never the first intruder's, the caller (the recording of what it
//! receives) hears the agent's tone and never the second intruder's, and
//! `ringdesk_rtp_foreign_packets_total` counts the dropped packets on each leg; the call's
//! record counts every packet of the bridge per direction (relayed, or dropped as from an
//! unknown source), as sent, and `ringdesk_bridge_packets_total` agrees. Also the
//! learning mode (a caller and an agent behind NAT are learned from their first packets)
//! and a re-INVITE moving the caller's media (the old address becomes foreign).

mod queue;

use queue::agent;
use queue::demo::ROBERT_NORMAL;
use queue::rtp::{Arrival, RtpEndpoint};
use queue::server::{Options, Server};
use queue::sipp::{Sipp, SippProc};
use queue::tone::{audio_from, blocks_with};
use ringdesk_media::analysis::tone_ratio;
use ringdesk_media::{Codec, RtpPacket};
use std::net::SocketAddr;
use std::time::Duration;

/// The telephone-event payload type both scenarios offer.
const EVENT_PT: u8 = 101;
const CALLER_HZ: f64 = 1000.0;
const CALLER_TALKS: Duration = Duration::from_secs(5);
const AGENT_HZ: f64 = 600.0;
const AGENT_TALKS: Duration = Duration::from_secs(3);
/// The intruder aiming at the caller leg (it wants the agent to hear it).
const TO_AGENT_HZ: f64 = 2400.0;
/// The intruder aiming at the agent leg (it wants the caller to hear it).
const TO_CALLER_HZ: f64 = 1800.0;
const INTRUDERS_TALK: Duration = Duration::from_secs(3);
/// Blocks of 100 ms that must carry the other side's tone.
const MIN_TONE_BLOCKS: usize = 20;
const CALLER_HOLD: Duration = Duration::from_secs(9);
const MEDIA_WAIT: Duration = Duration::from_secs(20);
const END_WAIT: Duration = Duration::from_secs(60);
/// The source no SDP names.
const INTRUDER_IP: [u8; 4] = [127, 0, 0, 2];

/// The value of `ringdesk_rtp_foreign_packets_total{leg="<leg>"}` in `metrics`.
fn foreign(metrics: &str, leg: &str) -> u64 {
    let name = format!("ringdesk_rtp_foreign_packets_total{{leg=\"{leg}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&name))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name}in /metrics:\n{metrics}"))
}

/// The value of `<name>{<labels>}` in `metrics`.
fn metric(metrics: &str, name: &str, labels: &str) -> u64 {
    let prefix = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix}in /metrics:\n{metrics}"))
}

/// 20 ms packets in `d` of a test endpoint's tone.
fn packets_in(d: Duration) -> u64 {
    (d.as_millis() / 20) as u64
}

/// Counter `field` of one direction of a record's `media`.
fn counted(direction: &serde_json::Value, field: &str) -> u64 {
    direction[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in the record's media: {direction}"))
}

/// The bridge's outcomes besides relayed and unknown_source (none expected here).
const OTHER_DROPS: [&str; 7] = [
    "learning",
    "malformed",
    "not_negotiated",
    "event_refused",
    "no_destination",
    "srtp_failed",
    "send_failed",
];

/// Packets from `from` whose 20 ms of PCMU alone carry a `freq` Hz tone (found even when
/// an intruder's packets are interleaved with the rightful ones).
fn packets_with(arrivals: &[Arrival], from: SocketAddr, freq: f64) -> usize {
    let mut samples = Vec::with_capacity(160);
    arrivals
        .iter()
        .filter(|a| a.from == from)
        .filter_map(|a| RtpPacket::parse(&a.data).ok())
        .filter(|p| p.header.payload_type == 0 && p.payload.len() >= 160)
        .filter(|p| {
            samples.clear();
            Codec::Pcmu.decode_into(p.payload, &mut samples);
            tone_ratio(&samples, 8000, freq) >= 0.6
        })
        .count()
}

/// Agent ana's phone (PCMU), its SDP naming `sdp`, logged in.
async fn pcmu_agent(server: &Server, sdp: SocketAddr) -> SippProc {
    let phone = agent::phone(
        server,
        "ana",
        "agent_own_media_wait_bye.xml",
        1,
        Duration::ZERO,
        &[
            ("rtp_ip", sdp.ip().to_string()),
            ("rtp_port", sdp.port().to_string()),
            ("codec_pt", "0".to_string()),
            ("codec_name", "PCMU".to_string()),
        ],
    );
    agent::log_in(server, "ana", &phone).await;
    phone
}

/// Robert (PCMU) calling `support`, his SDP naming `sdp`; he stays `CALLER_HOLD`.
fn pcmu_caller(server: &Server, sdp: SocketAddr) -> SippProc {
    Sipp::new("caller_own_media_hangup.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .rtp(sdp)
        .key("codec_pt", 0)
        .key("codec_name", "PCMU")
        .pause(CALLER_HOLD)
        .spawn("caller", Some(server.sip_addr()), server.dir())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_injected_from_another_source_reaches_neither_side_and_is_counted() {
    let server = Server::start(Options::agents(&["ana"])).await;
    let before = server.metrics().await;
    assert_eq!(foreign(&before, "caller"), 0);
    assert_eq!(foreign(&before, "agent"), 0);

    let agent_rtp = RtpEndpoint::bind(0x0a6e_0001);
    let phone = pcmu_agent(&server, agent_rtp.addr()).await;

    let caller_rtp = RtpEndpoint::bind(0x0ca1_0001);
    let caller = pcmu_caller(&server, caller_rtp.addr());
    let Some(caller_leg) = caller_rtp.first_sender(MEDIA_WAIT).await else {
        panic!(
            "no RTP to the caller within {MEDIA_WAIT:?}\n{}",
            caller.wait(END_WAIT).await.report()
        );
    };
    tokio::task::block_in_place(|| {
        caller_rtp.press(caller_leg, EVENT_PT, '1', Duration::from_millis(200))
    });
    let caller_voice = caller_rtp.send_tone(caller_leg, Codec::Pcmu, CALLER_HZ, CALLER_TALKS);

    let Some(agent_leg) = agent_rtp.first_sender(MEDIA_WAIT).await else {
        panic!(
            "nothing relayed to the agent within {MEDIA_WAIT:?}\n{}\n{}",
            caller.wait(END_WAIT).await.report(),
            phone.wait(END_WAIT).await.report()
        );
    };
    // The call is in progress, both legs carry audio: the intruders start.
    let at_caller_leg = RtpEndpoint::bind_on(INTRUDER_IP.into(), 0xbad0_0001);
    let at_agent_leg = RtpEndpoint::bind_on(INTRUDER_IP.into(), 0xbad0_0002);
    let bleed_in = at_caller_leg.send_tone(caller_leg, Codec::Pcmu, TO_AGENT_HZ, INTRUDERS_TALK);
    let bleed_out = at_agent_leg.send_tone(agent_leg, Codec::Pcmu, TO_CALLER_HZ, INTRUDERS_TALK);
    let agent_voice = agent_rtp.send_tone(agent_leg, Codec::Pcmu, AGENT_HZ, AGENT_TALKS);
    tokio::task::block_in_place(|| {
        for t in [agent_voice, caller_voice, bleed_in, bleed_out] {
            let _ = t.join();
        }
    });
    // Counted while the call is still up.
    let during = server.metrics().await;
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller talks, then hangs up");
    phone
        .wait(END_WAIT)
        .await
        .assert_passed("ana's phone answers and gets BYE");

    let (agent_got, caller_got) = (agent_rtp.arrivals(), caller_rtp.arrivals());
    let at_agent = audio_from(&agent_got, agent_leg, Codec::Pcmu, None);
    let at_caller = audio_from(&caller_got, caller_leg, Codec::Pcmu, None);
    let leaked_to_agent = packets_with(&agent_got, agent_leg, TO_AGENT_HZ);
    let leaked_to_caller = packets_with(&caller_got, caller_leg, TO_CALLER_HZ);
    let report = format!(
        "agent got {} samples, {leaked_to_agent} packets of the intruder on the caller leg; \
         caller got {} samples, {leaked_to_caller} packets of the intruder on the agent leg; \
         intruders got {} and {} datagrams back",
        at_agent.len(),
        at_caller.len(),
        at_caller_leg.arrivals().len(),
        at_agent_leg.arrivals().len(),
    );
    // Neither intruder got through, nor took a leg's media over.
    assert_eq!(
        leaked_to_agent, 0,
        "the agent heard the intruder on the caller leg; {report}"
    );
    assert_eq!(
        leaked_to_caller, 0,
        "the caller heard the intruder on the agent leg; {report}"
    );
    assert!(
        at_caller_leg.arrivals().is_empty() && at_agent_leg.arrivals().is_empty(),
        "ringdesk sent media to an intruder; {report}"
    );
    // The call itself still works both ways.
    let heard = blocks_with(&at_agent, CALLER_HZ);
    assert!(
        heard >= MIN_TONE_BLOCKS,
        "the agent heard the caller in {heard} blocks (want {MIN_TONE_BLOCKS}); {report}"
    );
    let heard = blocks_with(&at_caller, AGENT_HZ);
    assert!(
        heard >= MIN_TONE_BLOCKS,
        "the caller heard the agent in {heard} blocks (want {MIN_TONE_BLOCKS}); {report}"
    );
    // Each intruder sent ~150 packets; all were dropped and counted.
    let (on_caller, on_agent) = (foreign(&during, "caller"), foreign(&during, "agent"));
    assert!(
        on_caller >= 100 && on_agent >= 100,
        "foreign packets counted: caller leg {on_caller}, agent leg {on_agent} (want >= 100 each); {report}"
    );

    // The record counts each direction of the bridge, packet for packet: everything the
    // agent's endpoint got from ringdesk is what the caller sent (its key press's RFC 4733
    // events, when the bridge was up by then, and its audio), every packet the
    // agent sent was relayed, and each intruder's packets were dropped as from an
    // unknown source, on the leg it aimed at.
    let rec = server.interaction_of(ROBERT_NORMAL, END_WAIT).await;
    let media = &rec["media"];
    let (to_agent, to_caller) = (&media["caller_to_agent"], &media["agent_to_caller"]);
    let relayed_to_agent = agent_got.iter().filter(|a| a.from == agent_leg).count() as u64;
    let intruder = packets_in(INTRUDERS_TALK);
    eprintln!("bridge counters in the record: {media}; the agent's endpoint got {relayed_to_agent} datagrams");
    assert!(
        relayed_to_agent >= 100,
        "{relayed_to_agent} datagrams relayed to the agent; {report}"
    );
    assert_eq!(counted(to_agent, "relayed"), relayed_to_agent, "{media}");
    assert_eq!(counted(to_agent, "unknown_source"), intruder, "{media}");
    assert_eq!(
        counted(to_agent, "received"),
        relayed_to_agent + intruder,
        "{media}"
    );
    assert_eq!(
        counted(to_caller, "relayed"),
        packets_in(AGENT_TALKS),
        "{media}"
    );
    // The intruder on the agent leg starts just before the agent talks: what it sends
    // before the agent's first packet finds the leg still learning its source (dropped
    // as such); the rest comes from a source other than the locked one.
    let learning = counted(to_caller, "learning");
    assert!(learning <= 2, "{media}");
    assert_eq!(
        counted(to_caller, "unknown_source") + learning,
        intruder,
        "{media}"
    );
    assert_eq!(
        counted(to_caller, "received"),
        packets_in(AGENT_TALKS) + intruder,
        "{media}"
    );
    for field in OTHER_DROPS {
        assert_eq!(counted(to_agent, field), 0, "{field}: {media}");
        if field != "learning" {
            assert_eq!(counted(to_caller, field), 0, "{field}: {media}");
        }
    }
    // The server's totals are this one bridge's, added when it ended.
    let after = server.metrics().await;
    for (direction, counts) in [
        ("caller_to_agent", to_agent),
        ("agent_to_caller", to_caller),
    ] {
        let labels = format!("direction=\"{direction}\"");
        assert_eq!(
            metric(&after, "ringdesk_bridge_packets_received_total", &labels),
            counted(counts, "received"),
            "{direction}"
        );
        for outcome in ["relayed", "unknown_source"].into_iter().chain(OTHER_DROPS) {
            let labels = format!("{labels},outcome=\"{outcome}\"");
            assert_eq!(
                metric(&after, "ringdesk_bridge_packets_total", &labels),
                counted(counts, outcome),
                "{direction} {outcome}"
            );
        }
    }
    // Every foreign packet came while bridged.
    assert_eq!(foreign(&after, "caller"), intruder);
    assert_eq!(
        foreign(&after, "agent"),
        counted(to_caller, "unknown_source")
    );
}

/// Learning mode end to end: a caller and an agent behind NAT, whose SDPs name addresses
/// their RTP never comes from (test sockets that only listen). Each side's first packets,
/// within the window after its answer, are learned as its source; from then on each hears
/// the other at the address it sends from (symmetric RTP), on both legs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_behind_nat_are_learned_at_the_start_of_each_leg() {
    let server = Server::start(Options::agents(&["ana"])).await;
    // What each SDP names, and where each side really sends from.
    let agent_sdp = RtpEndpoint::bind(0x0a6e_5d50);
    let agent_rtp = RtpEndpoint::bind(0x0a6e_0002);
    let phone = pcmu_agent(&server, agent_sdp.addr()).await;
    let caller_sdp = RtpEndpoint::bind(0x0ca1_5d50);
    let caller_rtp = RtpEndpoint::bind(0x0ca1_0002);
    let caller = pcmu_caller(&server, caller_sdp.addr());
    // Before anything is learned, the greeting goes where the SDP says.
    let Some(caller_leg) = caller_sdp.first_sender(MEDIA_WAIT).await else {
        panic!(
            "no RTP to the caller's SDP address within {MEDIA_WAIT:?}\n{}",
            caller.wait(END_WAIT).await.report()
        );
    };
    tokio::task::block_in_place(|| {
        caller_rtp.press(caller_leg, EVENT_PT, '1', Duration::from_millis(200))
    });
    let caller_voice = caller_rtp.send_tone(caller_leg, Codec::Pcmu, CALLER_HZ, CALLER_TALKS);
    let Some(agent_leg) = agent_sdp.first_sender(MEDIA_WAIT).await else {
        panic!(
            "nothing relayed to the agent's SDP address within {MEDIA_WAIT:?}\n{}\n{}",
            caller.wait(END_WAIT).await.report(),
            phone.wait(END_WAIT).await.report()
        );
    };
    let agent_voice = agent_rtp.send_tone(agent_leg, Codec::Pcmu, AGENT_HZ, AGENT_TALKS);
    tokio::task::block_in_place(|| {
        let _ = agent_voice.join();
        let _ = caller_voice.join();
    });
    let during = server.metrics().await;
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller talks, then hangs up");
    phone
        .wait(END_WAIT)
        .await
        .assert_passed("ana's phone answers and gets BYE");
    let at_agent = audio_from(&agent_rtp.arrivals(), agent_leg, Codec::Pcmu, None);
    let at_caller = audio_from(&caller_rtp.arrivals(), caller_leg, Codec::Pcmu, None);
    let report = format!(
        "agent (learned) got {} samples, its SDP address {} datagrams; caller got {} samples",
        at_agent.len(),
        agent_sdp.arrivals().len(),
        at_caller.len(),
    );
    let heard = blocks_with(&at_agent, CALLER_HZ);
    assert!(
        heard >= MIN_TONE_BLOCKS / 2,
        "the agent behind NAT heard the caller in {heard} blocks; {report}"
    );
    // (The caller is bridged as soon as it is queued: what it hears from the learned leg
    // is the agent.)
    let heard = blocks_with(&at_caller, AGENT_HZ);
    assert!(
        heard >= MIN_TONE_BLOCKS,
        "the caller behind NAT heard the agent in {heard} blocks; {report}"
    );
    // Learning is not foreign traffic.
    assert_eq!(foreign(&during, "caller"), 0, "{report}");
    assert_eq!(foreign(&during, "agent"), 0, "{report}");
}

/// A re-INVITE moving the caller's media to a new address: ringdesk sends there from the
/// re-INVITE on and locks on it at its first packet; the old address, once the SDP no
/// longer names it, is a foreign source (dropped and counted) and hears nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_to_a_new_address_moves_the_lock_and_the_old_one_is_foreign() {
    let server = Server::start(Options::agents(&["ana"])).await;
    let old = RtpEndpoint::bind(0x0ca1_0003);
    let new = RtpEndpoint::bind(0x0ca1_0004);
    let caller = Sipp::new("caller_own_media_moves.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .rtp(old.addr())
        .key("new_port", new.addr().port())
        .key("codec_pt", 0)
        .key("codec_name", "PCMU")
        .pause(Duration::from_secs(6))
        .spawn("caller", Some(server.sip_addr()), server.dir());
    let Some(leg) = old.first_sender(MEDIA_WAIT).await else {
        panic!(
            "no RTP to the caller within {MEDIA_WAIT:?}\n{}",
            caller.wait(END_WAIT).await.report()
        );
    };
    // The old address talks (and is locked on) until the re-INVITE, 2 s after the answer.
    let before = old.send_tone(leg, Codec::Pcmu, CALLER_HZ, Duration::from_millis(1500));
    let Some(moved_from) = new.first_sender(MEDIA_WAIT).await else {
        panic!(
            "nothing sent to the re-INVITE's address within {MEDIA_WAIT:?}\n{}",
            caller.wait(END_WAIT).await.report()
        );
    };
    assert_eq!(moved_from, leg);
    let moved_at = std::time::Instant::now();
    // The new address talks first; then the old one comes back.
    let after = new.send_tone(leg, Codec::Pcmu, CALLER_HZ, Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stale = old.send_tone(leg, Codec::Pcmu, TO_AGENT_HZ, Duration::from_secs(3));
    tokio::task::block_in_place(|| {
        for t in [before, after, stale] {
            let _ = t.join();
        }
    });
    let during = server.metrics().await;
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller re-INVITEs, then hangs up");
    let late_at_old = old
        .arrivals()
        .iter()
        .filter(|a| a.at > moved_at + Duration::from_millis(100))
        .count();
    assert_eq!(
        late_at_old, 0,
        "the old address still got media after the re-INVITE"
    );
    let at_new = new.arrivals().len();
    assert!(at_new >= 100, "{at_new} datagrams at the new address");
    // The old address's 150 packets after the move, and none of the new one's 50.
    let dropped = foreign(&during, "caller");
    assert!(
        (140..=150).contains(&dropped),
        "{dropped} foreign packets counted (the old address sent 150 after the move, the new one 50)"
    );
}

/// An agent whose phone (baresip) registers over TLS and requires SRTP, bridged to a
/// caller on plain RTP (SIPp and a test-owned socket): each side hears the other's tone,
/// so the bridge decrypts the agent's SRTP for the caller and encrypts the caller's RTP for
/// the agent; a capture of the loopback shows only SRTP going to the agent's phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_on_tls_with_srtp_is_bridged_to_a_plain_rtp_caller() {
    use queue::baresip::{Baresip, Setup};
    let mut options = Options::agents(&["ana"]);
    options.agents[0].srtp = Some("required");
    options.tls = true;
    // baresip 1.0 (libre 1.1) gives up on a SHA-256 challenge instead of skipping it.
    options.digest_algorithms = Some(&["MD5"]);
    let server = Server::start(options).await;
    let spec = server.agent_spec("ana");
    let tls = server.tls_addr();
    // The agent talks (its microphone: a 600 Hz tone) and answers at once.
    let capture = queue::capture::Capture::start();
    let mut phone = Baresip::start_with(
        &server.dir().join("baresip-ana"),
        &Setup {
            account: format!(
                "<sip:ana@{tls};transport=tls>;auth_pass={};regint=600;answermode=auto;audio_codecs=PCMU;mediaenc=srtp-mand",
                spec.password
            ),
            ca_file: Some(server.dir().join("certs/sip.crt")),
            mic: Some(queue::tone::sine(AGENT_HZ, queue::tone::AMPLITUDE, Duration::from_secs(60))),
            srtp: true,
        },
    )
    .await;
    server
        .wait_agent_state("ana", "available", Duration::from_secs(20))
        .await;

    let caller_rtp = RtpEndpoint::bind(0x0ca1_0007);
    let caller = pcmu_caller(&server, caller_rtp.addr());
    let Some(caller_leg) = caller_rtp.first_sender(MEDIA_WAIT).await else {
        panic!(
            "no RTP to the caller within {MEDIA_WAIT:?}\n{}",
            caller.wait(END_WAIT).await.report()
        );
    };
    tokio::task::block_in_place(|| {
        caller_rtp.press(caller_leg, EVENT_PT, '1', Duration::from_millis(200))
    });
    let bridged = std::time::Instant::now();
    let voice = caller_rtp.send_tone(caller_leg, Codec::Pcmu, CALLER_HZ, CALLER_TALKS);
    tokio::task::block_in_place(|| {
        let _ = voice.join();
    });
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller talks, then hangs up");
    // ringdesk hangs the agent's leg up (BYE over the agent's TLS connection).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !phone.log_text().contains("terminated") {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent's call did not end\n{}",
            phone.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    phone.quit().await;
    assert!(
        phone.log_text().contains("SRTP is Enabled"),
        "the agent's phone reports SRTP: {}",
        phone.log_tail()
    );

    // The caller heard the agent (decrypted by the bridge); the agent heard the caller.
    let at_caller = queue::tone::audio_from(
        &caller_rtp.arrivals(),
        caller_leg,
        Codec::Pcmu,
        Some(bridged),
    );
    let heard = blocks_with(&at_caller, AGENT_HZ);
    assert!(
        heard >= MIN_TONE_BLOCKS,
        "the caller heard the agent's {AGENT_HZ} Hz in {heard} blocks of 100 ms"
    );
    let at_agent = phone.heard_pcm();
    let heard = blocks_with(&at_agent, CALLER_HZ);
    assert!(
        heard >= MIN_TONE_BLOCKS,
        "the agent heard the caller's {CALLER_HZ} Hz in {heard} blocks of 100 ms"
    );
    // Only SRTP went to the agent's phone: every packet carries the 80-bit tag.
    let to_phone = capture.udp_to(phone.rtp_ports());
    drop(capture);
    queue::capture::assert_all_srtp(&to_phone, 100, "ringdesk to the agent's phone");
}
