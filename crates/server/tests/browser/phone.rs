//! The phone in the agent desktop, in Chromium with its fake microphone: the call rings in
//! the page, the agent answers, audio crosses both ways (the caller's side hears the
//! browser, the page's `getStats()` counts the caller's audio with energy), the caller
//! hangs up, wrap-up and the note. A desk-phone agent beside a browser agent: the one
//! available longest is offered the call first, whichever kind; the browser closing
//! mid-call puts the caller back in the queue, where the desk phone takes the call.

use super::queue::agent;
use super::queue::demo::ROBERT_NORMAL;
use super::queue::rtp::RtpEndpoint;
use super::queue::server::{Options, Server};
use super::queue::sipp::Sipp;
use super::queue::tone::{audio_from, blocks_with};
use super::{Wallboard, SHOW_WAIT};
use ringdesk_media::Codec;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The telephone-event payload type the caller's scenario offers.
const EVENT_PT: u8 = 101;
/// The caller's voice.
const CALLER_HZ: f64 = 1000.0;
/// Longest wait for the first RTP packet to the caller.
const MEDIA_WAIT: Duration = Duration::from_secs(20);
/// Longest wait for a SIPp run to finish once its call should be over.
const END_WAIT: Duration = Duration::from_secs(90);
/// A 100 ms block of decoded audio "has sound" above this RMS (silence is ~0; Chromium's
/// fake microphone beeps well above it).
const SOUND_RMS: f64 = 300.0;

/// Root mean square of a block of samples.
fn rms(block: &[i16]) -> f64 {
    let sum: f64 = block.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / block.len().max(1) as f64).sqrt()
}

/// 100 ms blocks of `samples` with sound.
fn blocks_with_sound(samples: &[i16]) -> usize {
    samples
        .chunks_exact(800)
        .filter(|b| rms(b) > SOUND_RMS)
        .count()
}

/// A caller (Robert, ticket #13) whose media is a socket of the test: the SIPp call and
/// the endpoint, once ringdesk's first packet told where its caller leg is.
async fn robert_calls(
    server: &Server,
    stays: Duration,
) -> (super::queue::sipp::SippProc, RtpEndpoint, SocketAddr) {
    let rtp = RtpEndpoint::bind(0x0ca1_0b0b);
    let caller = Sipp::new("caller_own_media_hangup.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .rtp(rtp.addr())
        .key("codec_pt", 0)
        .key("codec_name", "PCMU")
        .pause(stays)
        .spawn("caller", Some(server.sip_addr()), server.dir());
    let Some(leg) = rtp.first_sender(MEDIA_WAIT).await else {
        panic!(
            "no RTP to the caller within {MEDIA_WAIT:?}\n{}",
            caller.wait(END_WAIT).await.report()
        );
    };
    // 1 = an agent (typed ahead of the menu).
    tokio::task::block_in_place(|| rtp.press(leg, EVENT_PT, '1', Duration::from_millis(200)));
    (caller, rtp, leg)
}

/// Opens agent `id`'s desktop, signs in, turns the page's phone on and waits until the
/// agent is Ready (the open page makes them reachable, as a REGISTER would).
async fn browser_agent(server: &Server, id: &str) -> Wallboard {
    let password = server.agent_spec(id).password;
    let mut desk = Wallboard::driver("desk.mjs", &[&server.admin_url(""), id, &password]).await;
    desk.until("the signed-in desktop", |l| l == "signed-in")
        .await;
    desk.until("logged out, no phone yet", |l| {
        l.starts_with("status=Logged out")
    })
    .await;
    desk.command("phone_on").await;
    desk.shown("the phone on", |l| l == "phone=Phone on: calls ring here")
        .await;
    desk.shown("ready", |l| l == "status=Ready").await;
    desk
}

/// Waits for the page to ring with Robert's ticket #13 on screen, answers, and waits for
/// the call to connect.
async fn answer_in_page(desk: &mut Wallboard) {
    desk.until("the page ringing", |l| {
        l == "phone=Ringing: answer or decline"
    })
    .await;
    desk.shown("the ticket's subject", |l| {
        l == "ticket subject=Request a product catalog"
    })
    .await;
    desk.command("answer").await;
    desk.until("the call connected", |l| l == "phone=On a call")
        .await;
}

/// The last `stats` line's counters: inbound packets, inbound energy, outbound packets.
fn stats(desk: &Wallboard) -> (u64, f64, u64) {
    let line = desk
        .seen
        .iter()
        .rev()
        .find(|l| l.starts_with("stats "))
        .cloned()
        .unwrap_or_default();
    let field = |name: &str| -> f64 {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    (
        field("inbound_packets") as u64,
        field("inbound_energy"),
        field("outbound_packets") as u64,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_rings_in_the_page_and_audio_crosses_both_ways() {
    let server = Server::start(Options::agents(&["ana"]).wrap_up("60s")).await;
    let mut desk = browser_agent(&server, "ana").await;

    let (caller, caller_rtp, caller_leg) = robert_calls(&server, Duration::from_secs(14)).await;
    answer_in_page(&mut desk).await;
    let answered = Instant::now();
    // The caller talks for 4 s; the browser's fake microphone beeps all along.
    let voice = caller_rtp.send_tone(caller_leg, Codec::Pcmu, CALLER_HZ, Duration::from_secs(4));
    tokio::task::block_in_place(|| {
        let _ = voice.join();
    });
    desk.command("stats").await;
    let (inbound, energy, outbound) = stats(&desk);
    assert!(
        inbound > 100 && energy > 0.0 && outbound > 100,
        "the page's getStats: {inbound} packets in with energy {energy}, {outbound} out; saw:\n{}",
        desk.seen.join("\n")
    );
    // The page mutes: the button says so (aria-pressed), the call goes on.
    desk.command("mute").await;
    desk.until("muted", |l| l == "phone=On a call (muted)")
        .await;

    desk.until("the wrap-up after the caller left", |l| l == "call=Wrap-up")
        .await;
    desk.until("the phone free again", |l| {
        l == "phone=Phone on: calls ring here"
    })
    .await;
    desk.command("note Read the order number back; sent the catalog.")
        .await;
    desk.until("the note saved", |l| {
        l == "note=Note saved: it will be added to ticket #13"
    })
    .await;
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller talks to the browser, then hangs up");

    // The caller heard the browser (its beeps), never their own voice.
    let arrivals = caller_rtp.arrivals();
    let heard = audio_from(&arrivals, caller_leg, Codec::Pcmu, Some(answered));
    let sound = blocks_with_sound(&heard);
    eprintln!(
        "the caller heard the browser in {sound} of {} blocks of 100 ms; the page got {inbound} packets (energy {energy}) and sent {outbound}",
        heard.len() / 800
    );
    assert!(
        sound >= 5,
        "the caller heard sound from the browser in {sound} blocks of 100 ms out of {}",
        heard.len() / 800
    );
    assert_eq!(blocks_with(&heard, CALLER_HZ), 0, "the caller heard itself");

    // The note reaches the ticket with the agent's name.
    let wanted = "Wrap-up by Ana Agent:\nRead the order number back; sent the catalog.";
    let deadline = tokio::time::Instant::now() + SHOW_WAIT;
    loop {
        let comments = server.sandbox().state().comments(13).unwrap_or_default();
        if comments
            .iter()
            .any(|c| c.body.starts_with(wanted) && !c.public)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no private wrap-up note on ticket 13: {comments:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_and_desk_phone_agents_share_the_queue_and_a_closed_tab_requeues_the_caller() {
    let server = Server::start(Options::agents(&["ana", "bob"])).await;
    // Ana's page is her phone from now on; Bob's desk phone registers after: Ana has been
    // available longest.
    let mut desk = browser_agent(&server, "ana").await;
    let bob = agent::phone(
        &server,
        "bob",
        "agent_ring_answer_wait_bye.xml",
        2,
        Duration::ZERO,
        &[],
    );
    agent::log_in(&server, "bob", &bob).await;

    let (caller, caller_rtp, caller_leg) = robert_calls(&server, Duration::from_secs(30)).await;
    // Ana's page rings first (available longest), with Robert's ticket.
    answer_in_page(&mut desk).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Ana closes the tab mid-call.
    desk.command("close").await;
    let closed = Instant::now();
    // The caller is told and waits again; Bob's desk phone rings, answers and talks
    // until the caller hangs up.
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller stays until the end, talking to Bob at last");
    desk.close().await;

    // What the caller heard after the page closed: ringdesk's voice again (the apology,
    // then music) within seconds, not silence until the end.
    let arrivals = caller_rtp.arrivals();
    let after = audio_from(&arrivals, caller_leg, Codec::Pcmu, Some(closed));
    let blocks: Vec<bool> = after
        .chunks_exact(800)
        .map(|b| rms(b) > SOUND_RMS)
        .collect();
    let first_sound = blocks.iter().position(|s| *s);
    eprintln!(
        "after the page closed the caller heard sound from block {first_sound:?} (100 ms each), in {} of {} blocks",
        blocks.iter().filter(|s| **s).count(),
        blocks.len()
    );
    assert!(
        first_sound.is_some_and(|i| i <= 80),
        "the caller heard nothing within 8 s of the page closing (first sound at block {first_sound:?} of {})",
        blocks.len()
    );
    // The metrics count the browser leg: rung, connected, then lost.
    let token = server.admin_token().expect("the generated admin token");
    let metrics = reqwest::Client::new()
        .get(server.admin_url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics");
    for outcome in ["rung", "connected", "lost"] {
        let line = format!("ringdesk_browser_legs_total{{outcome=\"{outcome}\"}} 1");
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
    assert!(
        blocks.iter().filter(|s| **s).count() >= 20,
        "the caller heard the apology and music for {} blocks of 100 ms",
        blocks.iter().filter(|s| **s).count()
    );

    // The other way round: Bob is free again before Ana opens a new page, so Bob has been
    // available longest and his desk phone gets the next caller, not Ana's page.
    server
        .wait_agent_state("bob", "available", Duration::from_secs(20))
        .await;
    let mut desk = browser_agent(&server, "ana").await;
    let (caller, _rtp, _leg) = robert_calls(&server, Duration::from_secs(12)).await;
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the second caller talks to Bob");
    bob.wait(END_WAIT)
        .await
        .assert_passed("Bob's desk phone takes the requeued call, then the next one");
    desk.command("overflow").await;
    assert!(
        !desk.seen.iter().any(|l| l.starts_with("phone=Ringing")),
        "Ana's page rang although Bob had been available longer:\n{}",
        desk.seen.join("\n")
    );
    desk.close().await;
}
