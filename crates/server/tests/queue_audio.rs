//! Queue end-to-end tests of the bridged conversation's audio, with real SIP peers: SIPp
//! places the caller's call and plays the agent's phone, but both SDPs name UDP sockets
//! owned by the test. The caller's socket presses 1 (RFC 4733) and then talks (a 1 kHz
//! tone); once the bridge relays it to the agent's socket, the agent talks back (600 Hz).
//! Each side must hear the other's tone, decoded in its own codec, and never its own:
//! same codec both ways, and PCMU ↔ PCMA transcoding in both directions. A key the caller
//! presses while talking reaches the agent as RFC 4733 events.

mod queue;

use queue::agent;
use queue::demo::ROBERT_NORMAL;
use queue::rtp::RtpEndpoint;
use queue::server::{Options, Server};
use queue::sipp::Sipp;
use queue::tone::{audio_from, blocks_with, payload_types};
use ringdesk_media::{Codec, RtpPacket};
use std::time::{Duration, Instant};

/// The telephone-event payload type both scenarios offer.
const EVENT_PT: u8 = 101;
/// The caller's tone, and how long the caller talks.
const CALLER_HZ: f64 = 1000.0;
const CALLER_TALKS: Duration = Duration::from_secs(5);
/// The agent's tone, and how long the agent talks.
const AGENT_HZ: f64 = 600.0;
const AGENT_TALKS: Duration = Duration::from_secs(3);
/// Blocks of 100 ms that must carry the other side's tone (out of ~30-50 sent).
const MIN_TONE_BLOCKS: usize = 20;
/// How long the caller stays after the answer before hanging up (after both tones).
const CALLER_HOLD: Duration = Duration::from_secs(9);
/// Longest wait for the first RTP packet of a leg.
const MEDIA_WAIT: Duration = Duration::from_secs(20);
/// Longest wait for a SIPp run to finish once its call should be over.
const END_WAIT: Duration = Duration::from_secs(60);

fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::Pcmu => "PCMU",
        Codec::Pcma => "PCMA",
    }
}

/// Telephone-event packets (payload type [`EVENT_PT`]) for `event` from `from`.
fn events_of(arrivals: &[queue::rtp::Arrival], from: std::net::SocketAddr, event: u8) -> usize {
    arrivals
        .iter()
        .filter(|a| a.from == from)
        .filter_map(|a| RtpPacket::parse(&a.data).ok())
        .filter(|p| p.header.payload_type == EVENT_PT && p.payload.first() == Some(&event))
        .count()
}

/// One bridged call whose caller offers only `caller_codec` and whose agent answers
/// only `agent_codec`; checks both directions.
async fn tones_cross_the_bridge(caller_codec: Codec, agent_codec: Codec) {
    let server = Server::start(Options::agents(&["ana"])).await;
    let agent_rtp = RtpEndpoint::bind(0x0a6e_0001);
    let a = agent_rtp.addr();
    let phone = agent::phone(
        &server,
        "ana",
        "agent_own_media_wait_bye.xml",
        1,
        Duration::ZERO,
        &[
            ("rtp_ip", a.ip().to_string()),
            ("rtp_port", a.port().to_string()),
            ("codec_pt", agent_codec.payload_type().to_string()),
            ("codec_name", codec_name(agent_codec).to_string()),
        ],
    );
    agent::log_in(&server, "ana", &phone).await;

    let caller_rtp = RtpEndpoint::bind(0x0ca1_0001);
    let caller = Sipp::new("caller_own_media_hangup.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .rtp(caller_rtp.addr())
        .key("codec_pt", caller_codec.payload_type())
        .key("codec_name", codec_name(caller_codec))
        .pause(CALLER_HOLD)
        .spawn("caller", Some(server.sip_addr()), server.dir());
    let Some(caller_leg) = caller_rtp.first_sender(MEDIA_WAIT).await else {
        panic!(
            "no RTP to the caller within {MEDIA_WAIT:?}\n{}",
            caller.wait(END_WAIT).await.report()
        );
    };
    // 1 = an agent (typed ahead of the menu), then the caller talks.
    tokio::task::block_in_place(|| {
        caller_rtp.press(caller_leg, EVENT_PT, '1', Duration::from_millis(200))
    });
    let caller_voice = caller_rtp.send_tone(caller_leg, caller_codec, CALLER_HZ, CALLER_TALKS);

    // The bridge relays the caller to the agent's media; the agent answers back to the
    // address it hears from (ringdesk's agent leg).
    let Some(agent_leg) = agent_rtp.first_sender(MEDIA_WAIT).await else {
        panic!(
            "nothing relayed to the agent within {MEDIA_WAIT:?}\n{}\n{}",
            caller.wait(END_WAIT).await.report(),
            phone.wait(END_WAIT).await.report()
        );
    };
    let agent_from = Instant::now();
    let agent_voice = agent_rtp.send_tone(agent_leg, agent_codec, AGENT_HZ, AGENT_TALKS);
    tokio::task::block_in_place(|| {
        let _ = agent_voice.join();
        let _ = caller_voice.join();
        // A key pressed while talking reaches the agent as telephone events.
        caller_rtp.press(caller_leg, EVENT_PT, '5', Duration::from_millis(200));
    });
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller talks, then hangs up");
    phone
        .wait(END_WAIT)
        .await
        .assert_passed("ana's phone answers and gets BYE");

    let at_agent_all = agent_rtp.arrivals();
    let at_agent = audio_from(&at_agent_all, agent_leg, agent_codec, None);
    let at_caller_all = caller_rtp.arrivals();
    let at_caller = audio_from(&at_caller_all, caller_leg, caller_codec, Some(agent_from));
    let report = format!(
        "caller {caller_codec:?} ↔ agent {agent_codec:?}: agent got {} samples (payload types {:?}), \
         caller got {} samples after the agent spoke (payload types {:?})",
        at_agent.len(),
        payload_types(&at_agent_all, agent_leg),
        at_caller.len(),
        payload_types(&at_caller_all, caller_leg),
    );
    let heard = blocks_with(&at_agent, CALLER_HZ);
    assert!(
        heard >= MIN_TONE_BLOCKS,
        "the agent heard the caller's {CALLER_HZ} Hz in {heard} blocks of 100 ms (want {MIN_TONE_BLOCKS}); {report}"
    );
    let heard = blocks_with(&at_caller, AGENT_HZ);
    assert!(
        heard >= MIN_TONE_BLOCKS,
        "the caller heard the agent's {AGENT_HZ} Hz in {heard} blocks of 100 ms (want {MIN_TONE_BLOCKS}); {report}"
    );
    let fives = events_of(&at_agent_all, agent_leg, 5);
    assert!(
        fives > 0,
        "the agent got no telephone event 5 for the caller's key; {report}"
    );
    assert_eq!(
        blocks_with(&at_agent, AGENT_HZ),
        0,
        "the agent heard itself; {report}"
    );
    assert_eq!(
        blocks_with(&at_caller, CALLER_HZ),
        0,
        "the caller heard itself; {report}"
    );
}

/// Test 7: PCMU on both legs: each side hears the other's tone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tones_cross_the_bridge_both_ways_pcmu() {
    tones_cross_the_bridge(Codec::Pcmu, Codec::Pcmu).await;
}

/// Test 7 with transcoding: a PCMU caller and a PCMA agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tones_cross_the_bridge_pcmu_caller_pcma_agent() {
    tones_cross_the_bridge(Codec::Pcmu, Codec::Pcma).await;
}

/// Test 7 with transcoding the other way: a PCMA caller and a PCMU agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tones_cross_the_bridge_pcma_caller_pcmu_agent() {
    tones_cross_the_bridge(Codec::Pcma, Codec::Pcmu).await;
}
