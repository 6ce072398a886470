//! Queue end-to-end tests of routing, with real SIP peers: SIPp callers press 1 in the
//! default flow and wait in queue `support`; agents log in by SIP REGISTER and their
//! phones are SIPp UASes. Covers priority (an urgent caller overtakes earlier normal
//! callers), longest-available order across three agents, ring-no-answer and 486
//! moving the call on while making the agents not ready, and a queue at its `max_calls`
//! refusing the next caller (who hears the apology and chooses).

mod queue;

use queue::agent;
use queue::audio;
use queue::demo::{BRUNO_URGENT, LINDA_HIGH, MARY_NORMAL, ROBERT_NORMAL, SHARED_NORMAL};
use queue::heard::Heard;
use queue::prompts::{self, render};
use queue::rtp::RtpEndpoint;
use queue::server::{Options, Server};
use queue::sipp::{Message, Sipp, SippProc};
use ringdesk_media::{Codec, RtpPacket};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Longest wait for a caller to reach the queue (answer, 2 s, press 1, lookups).
const QUEUE_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for an offer to reach a phone.
const OFFER_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for a SIPp run to finish once its call should be over.
const END_WAIT: Duration = Duration::from_secs(60);
/// Longest wait for an agent state to show.
const STATE_WAIT: Duration = Duration::from_secs(15);

/// A caller who presses 1 and stays until ringdesk hangs up.
fn caller_until_bye(server: &Server, label: &str, number: &str) -> SippProc {
    Sipp::new("caller_press1_wait_bye.xml")
        .service("support")
        .caller(number)
        .spawn(label, Some(server.sip_addr()), server.dir())
}

/// A caller who presses 1 and hangs up `hold` after the press.
fn caller_for(server: &Server, label: &str, number: &str, hold: Duration) -> SippProc {
    Sipp::new("caller_press1_hangup.xml")
        .service("support")
        .caller(number)
        .pause(hold)
        .spawn(label, Some(server.sip_addr()), server.dir())
}

fn header(m: &Message, name: &str) -> String {
    m.header(name).unwrap_or_default()
}

/// Test 1: with the only agent not ready, two normal callers then an urgent one queue up;
/// when the agent turns available the urgent caller is offered first, then the normal
/// ones in arrival order (X-Ringdesk-Caller of the INVITEs the agent's phone gets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_caller_arriving_last_is_offered_first() {
    let server = Server::start(Options::agents(&["ana"])).await;
    let phone = agent::phone(
        &server,
        "ana",
        "agent_answer_hangup.xml",
        3,
        Duration::from_millis(1500),
        &[],
    );
    agent::log_in(&server, "ana", &phone).await;
    server.must_set_state("ana", "not_ready").await;

    let arrivals = [ROBERT_NORMAL, MARY_NORMAL, BRUNO_URGENT];
    let mut callers = Vec::new();
    for (i, number) in arrivals.iter().enumerate() {
        callers.push(caller_until_bye(&server, &format!("caller-{i}"), number));
        server.wait_queued(i + 1, QUEUE_WAIT).await;
    }
    assert!(
        phone.received("INVITE").is_empty(),
        "a not-ready agent was offered a call"
    );
    server.must_set_state("ana", "available").await;

    let invites = phone.wait_received("INVITE", 3, 3 * OFFER_WAIT).await;
    let order: Vec<String> = invites
        .iter()
        .map(|m| header(m, "X-Ringdesk-Caller"))
        .collect();
    assert_eq!(
        order,
        [BRUNO_URGENT, ROBERT_NORMAL, MARY_NORMAL],
        "offer order: urgent first, then the normal callers in arrival order"
    );
    // The urgent caller's screen pop names the customer and the ticket.
    let first = &invites[0];
    assert_eq!(header(first, "X-Ringdesk-Queue"), "support");
    assert_eq!(header(first, "X-Ringdesk-Caller-Name"), "Bruno Lima");
    assert_eq!(header(first, "X-Ringdesk-Ticket"), "5");
    let call_info = header(first, "Call-Info");
    assert!(
        call_info.ends_with("/agent/tickets/5>;purpose=info"),
        "Call-Info: {call_info:?}"
    );
    assert!(
        header(first, "X-Ringdesk-Ticket-Url").ends_with("/agent/tickets/5"),
        "{}",
        first.text
    );
    // Every caller got the BYE when the agent hung up; the phone took the three calls.
    for (i, c) in callers.into_iter().enumerate() {
        c.wait(END_WAIT)
            .await
            .assert_passed(&format!("caller {i} ({})", arrivals[i]));
    }
    phone.wait(END_WAIT).await.assert_passed("ana's phone");
    let rec = server.interaction_of(BRUNO_URGENT, STATE_WAIT).await;
    assert_eq!(rec["priority"], 1, "{rec:#}");
    assert_eq!(rec["agent_id"], "ana", "{rec:#}");
    let rec = server.interaction_of(ROBERT_NORMAL, STATE_WAIT).await;
    assert_eq!(rec["priority"], 5, "{rec:#}");
}

/// Test 2: three agents made available in a known order (bob, cy, ana) take three calls in
/// that order: each call goes to the agent available the longest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_to_the_longest_available_agent() {
    let ids = ["ana", "bob", "cy"];
    let server = Server::start(Options::agents(&ids)).await;
    let mut phones = Vec::new();
    for id in ids {
        let phone = agent::phone(
            &server,
            id,
            "agent_answer_wait_bye.xml",
            1,
            Duration::ZERO,
            &[],
        );
        agent::log_in(&server, id, &phone).await;
        server.must_set_state(id, "not_ready").await;
        phones.push((id, phone));
    }
    let available_order = ["bob", "cy", "ana"];
    for id in available_order {
        server.must_set_state(id, "available").await;
        // Distinct instants for "available since".
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let numbers = [ROBERT_NORMAL, MARY_NORMAL, SHARED_NORMAL];
    let mut callers = Vec::new();
    for (i, number) in numbers.iter().enumerate() {
        // Each caller stays long enough for all three to be talking at once.
        callers.push(caller_for(
            &server,
            &format!("caller-{i}"),
            number,
            Duration::from_secs(15),
        ));
        // The next call starts once this one rang a phone.
        let deadline = std::time::Instant::now() + OFFER_WAIT;
        loop {
            let offered: usize = phones.iter().map(|(_, p)| p.received("INVITE").len()).sum();
            if offered > i {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "call {i} was not offered within {OFFER_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut got = Vec::new();
    for (id, phone) in &phones {
        let invites = phone.received("INVITE");
        assert_eq!(invites.len(), 1, "{id}'s phone rang once");
        got.push((id.to_string(), header(&invites[0], "X-Ringdesk-Caller")));
    }
    got.sort_by_key(|(_, caller)| numbers.iter().position(|n| n == caller));
    let order: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        order, available_order,
        "calls 1..3 went to the agents in the order they became available: {got:?}"
    );
    for (i, c) in callers.into_iter().enumerate() {
        c.wait(END_WAIT).await.assert_passed(&format!("caller {i}"));
    }
    for (id, p) in phones {
        p.wait(END_WAIT)
            .await
            .assert_passed(&format!("{id}'s phone"));
    }
}

/// Test 3: ring-no-answer and a busy phone move the call on: ana's phone rings until the
/// ring timeout (CANCEL), cy's answers 486, bob answers; ana ends not ready with "ring no
/// answer", cy with "rejected", and the caller talks to bob (BYE when bob hangs up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_no_answer_and_busy_move_the_call_on_and_make_the_agents_not_ready() {
    let server = Server::start(Options::agents(&["ana", "bob", "cy"]).ring_timeout("4s")).await;
    let ana = agent::phone(
        &server,
        "ana",
        "agent_ring_forever.xml",
        1,
        Duration::ZERO,
        &[],
    );
    let cy = agent::phone(&server, "cy", "agent_busy.xml", 1, Duration::ZERO, &[]);
    let bob = agent::phone(
        &server,
        "bob",
        "agent_answer_hangup.xml",
        1,
        Duration::from_secs(2),
        &[],
    );
    for (id, phone) in [("ana", &ana), ("cy", &cy), ("bob", &bob)] {
        agent::log_in(&server, id, phone).await;
        server.must_set_state(id, "not_ready").await;
    }
    for id in ["ana", "cy", "bob"] {
        server.must_set_state(id, "available").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let caller = caller_until_bye(&server, "caller", ROBERT_NORMAL);

    ana.wait(END_WAIT)
        .await
        .assert_passed("ana's phone rings until CANCEL");
    cy.wait(END_WAIT)
        .await
        .assert_passed("cy's phone answers 486");
    let invites = bob.wait_received("INVITE", 1, OFFER_WAIT).await;
    assert_eq!(header(&invites[0], "X-Ringdesk-Caller"), ROBERT_NORMAL);

    let a = server.agent("ana").await;
    assert_eq!(
        (a.state.as_str(), a.reason.as_deref()),
        ("not_ready", Some("ring no answer")),
        "{a:?}"
    );
    let c = server.agent("cy").await;
    assert_eq!(
        (c.state.as_str(), c.reason.as_deref()),
        ("not_ready", Some("rejected")),
        "{c:?}"
    );
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller, BYE when bob hangs up");
    bob.wait(END_WAIT).await.assert_passed("bob's phone");
    let rec = server.interaction_of(ROBERT_NORMAL, STATE_WAIT).await;
    assert_eq!(rec["agent_id"], "bob", "{rec:#}");
    assert_eq!(rec["end_reason"], "agent", "{rec:#}");
    // Bob goes through wrap-up back to available; ana stays not ready.
    server
        .wait_agent_state("bob", "available", STATE_WAIT)
        .await;
    assert_eq!(server.agent("ana").await.state, "not_ready");
}

/// Linda's ticket (demo data): the note of her call lands there.
const LINDA_TICKET: u64 = 14;
/// The telephone-event payload type the own-media scenario offers.
const EVENT_PT: u8 = 101;
/// Silence of at least this many frames separates prompt blocks.
const BLOCK_GAP: usize = 50;
/// Heard prompt lengths may differ from the rendered ones by this much (seconds).
const LENGTH_TOLERANCE: f64 = 0.5;
/// How long the caller listens to silence before pressing a key (the menus wait 5 s).
const QUIET_BEFORE_KEY: Duration = Duration::from_millis(1500);
/// Longest wait for a prompt to be played and end.
const PROMPT_WAIT: Duration = Duration::from_secs(40);

/// The flow trace lines (`ringdesk::runtime::call` at trace level) of `node` being entered.
fn entered(server: &Server, node: &str) -> usize {
    let mark = format!("NodeEntered {{ node: \"{node}\"");
    server.log().lines().filter(|l| l.contains(&mark)).count()
}

/// When the last packet from `from` louder than speech level arrived at or after `since`.
fn last_sound(rtp: &RtpEndpoint, from: SocketAddr, since: Instant) -> Option<Instant> {
    rtp.arrivals()
        .iter()
        .rev()
        .take_while(|a| a.at >= since)
        .filter(|a| a.from == from)
        .find(|a| {
            RtpPacket::parse(&a.data).is_ok_and(|p| {
                let pcm = audio::decode(Codec::Pcmu, [p.payload]);
                p.header.payload_type == Codec::Pcmu.payload_type()
                    && audio::frame_rms(&pcm)
                        .first()
                        .is_some_and(|&l| l >= audio::SOUND_RMS)
            })
        })
        .map(|a| a.at)
}

/// Waits until ringdesk has sent sound at or after `since` and then [`QUIET_BEFORE_KEY`]
/// of silence (a prompt has been played and the menu waits for a key).
async fn wait_for_prompt_then_quiet(rtp: &RtpEndpoint, from: SocketAddr, since: Instant) {
    let deadline = Instant::now() + PROMPT_WAIT;
    loop {
        if last_sound(rtp, from, since).is_some_and(|t| t.elapsed() >= QUIET_BEFORE_KEY) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no prompt followed by {QUIET_BEFORE_KEY:?} of silence within {PROMPT_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses `key` (RFC 4733, 120 ms) from the caller's RTP endpoint; returns when.
fn press(rtp: &RtpEndpoint, to: SocketAddr, key: char) -> Instant {
    let at = Instant::now();
    tokio::task::block_in_place(|| rtp.press(to, EVENT_PT, key, Duration::from_millis(120)));
    at
}

/// The first block of sound that starts at or after `frame`, and how many frames after it.
fn first_block_from(blocks: &[audio::Segment], frame: usize) -> (audio::Segment, usize) {
    let b = blocks
        .iter()
        .copied()
        .find(|b| b.start >= frame)
        .unwrap_or_else(|| {
            panic!(
                "no sound after frame {frame}; blocks heard:\n{}",
                audio::describe(blocks)
            )
        });
    (b, b.start - frame)
}

/// Test 4: `support` capped at 2 (`max_calls = 2`), its only agent not ready: two callers
/// press 1 and wait; a third presses 1 and hears the full-queue apology with the choice
/// (as long as rendered), presses 2 and hears the goodbye, then ringdesk hangs up. The
/// first two stay queued, the log says the queue was full, and the third caller's note
/// says what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_caller_to_a_queue_capped_at_two_hears_the_apology_and_chooses() {
    let server = Server::start(Options::agents(&["ana"]).max_calls(2)).await;
    let phone = agent::signed_in_not_ready(&server, "ana", "agent_answer_hangup.xml").await;

    let first = caller_until_bye(&server, "caller-0", ROBERT_NORMAL);
    server.wait_queued(1, QUEUE_WAIT).await;
    let second = caller_until_bye(&server, "caller-1", MARY_NORMAL);
    server.wait_queued(2, QUEUE_WAIT).await;
    let menus_before = entered(&server, "menu");

    // The third caller listens with the test's RTP socket.
    let rtp = RtpEndpoint::bind(0x0ca1_0003);
    let third = Sipp::new("caller_own_media_expect_bye.xml")
        .service("support")
        .caller(LINDA_HIGH)
        .rtp(rtp.addr())
        .key("codec_pt", Codec::Pcmu.payload_type())
        .key("codec_name", "PCMU")
        .spawn("caller-2", Some(server.sip_addr()), server.dir());
    let Some(from) = rtp.first_sender(Duration::from_secs(10)).await else {
        panic!(
            "no RTP to the third caller\n{}",
            third.wait(END_WAIT).await.report()
        );
    };
    // Welcome, ticket status, menu; once the menu prompt is over, 1.
    let deadline = Instant::now() + QUEUE_WAIT;
    while entered(&server, "menu") == menus_before {
        assert!(
            Instant::now() < deadline,
            "the third caller never reached the menu"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let menu_seen = Instant::now();
    wait_for_prompt_then_quiet(&rtp, from, menu_seen).await;
    let pressed_1 = press(&rtp, from, '1');
    // The apology and the choice; once it is over, 2.
    wait_for_prompt_then_quiet(&rtp, from, pressed_1).await;
    let pressed_2 = press(&rtp, from, '2');
    third
        .wait(END_WAIT)
        .await
        .assert_passed("the third caller: goodbye, then ringdesk's BYE");

    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.contains("queue full") && l.contains("max_calls=2") && l.contains("INFO")),
        "no info line saying the queue was full"
    );
    assert_eq!(
        log.lines()
            .filter(|l| queue::server::is_exit_line(l) && l.contains("exit=\"full\""))
            .count(),
        1,
        "one caller took the queue step's full exit"
    );
    assert_eq!(server.queued_count(), 2, "only the first two were queued");

    // What the third caller heard after each key.
    let heard = Heard::new(&rtp.arrivals(), from);
    let frames = audio::frame_rms(&heard.pcm(Codec::Pcmu));
    let blocks = audio::segments(&frames, BLOCK_GAP);
    eprintln!(
        "blocks heard by the third caller:\n{}",
        audio::describe(&blocks)
    );
    let (apology, after_1) = first_block_from(&blocks, heard.frame_at(pressed_1));
    let (goodbye, after_2) = first_block_from(&blocks, heard.frame_at(pressed_2));
    let expected_apology = render(&[prompts::QUEUE_FULL], Codec::Pcmu).await;
    let expected_goodbye = render(&[prompts::GOODBYE], Codec::Pcmu).await;
    eprintln!(
        "apology {apology} {:.2} s after the 1, rendered {:.2} s; goodbye {goodbye} {:.2} s after the 2, rendered {:.2} s",
        after_1 as f64 * audio::FRAME_SECONDS,
        expected_apology.sound_s(),
        after_2 as f64 * audio::FRAME_SECONDS,
        expected_goodbye.sound_s()
    );
    assert!(
        after_1 as f64 * audio::FRAME_SECONDS <= 3.0,
        "the apology starts within 3 s of the 1"
    );
    assert!(
        (apology.len_s() - expected_apology.sound_s()).abs() <= LENGTH_TOLERANCE,
        "the apology with the choice: heard {:.2} s, rendered {:.2} s",
        apology.len_s(),
        expected_apology.sound_s()
    );
    assert!(
        (goodbye.len_s() - expected_goodbye.sound_s()).abs() <= LENGTH_TOLERANCE,
        "the goodbye: heard {:.2} s, rendered {:.2} s",
        goodbye.len_s(),
        expected_goodbye.sound_s()
    );

    // The first two still wait: the queue holds them, no record of their calls yet.
    let queues: serde_json::Value = server
        .http()
        .get(server.admin_url("/queues"))
        .send()
        .await
        .expect("GET /queues")
        .json()
        .await
        .expect("GET /queues returns queues");
    let support = queues
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["name"] == "support"))
        .unwrap_or_else(|| panic!("no support queue: {queues:#}"));
    assert_eq!(support["calls_queued"], 2, "{support:#}");
    assert_eq!(support["max_calls"], 2, "{support:#}");
    let rec = server.interaction_of(LINDA_HIGH, STATE_WAIT).await;
    assert_eq!(rec["agent_id"], serde_json::Value::Null, "{rec:#}");
    let records = server.interactions().await;
    for number in [ROBERT_NORMAL, MARY_NORMAL] {
        assert!(
            !records.iter().any(|r| r["ani"] == number),
            "{number} still waits, yet has a record: {records:#?}"
        );
    }
    assert!(first.received("BYE").is_empty() && second.received("BYE").is_empty());

    // Linda's ticket gets the note: the queue was full and she chose to hang up.
    let notes = server.new_comments(LINDA_TICKET, 1, STATE_WAIT).await;
    assert_eq!(
        notes.len(),
        1,
        "one note on ticket {LINDA_TICKET}: {notes:#?}"
    );
    assert!(
        notes[0]
            .body
            .contains("Outcome: the queue was full; the caller chose to hang up."),
        "{:?}",
        notes[0].body
    );
    assert!(
        notes[0].body.contains("Keys pressed: 12."),
        "{:?}",
        notes[0].body
    );
    drop(phone);
}
