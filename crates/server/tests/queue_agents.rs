//! Queue end-to-end tests of agent login and of how queued and bridged calls end, with
//! real SIP peers (SIPp): a wrong REGISTER password is refused, a caller with no agent
//! logged in takes the flow's no-agent exit, a caller who hangs up while an agent's phone
//! rings cancels the offer, and an agent who hangs up first ends the caller's call and
//! goes through wrap-up back to available.

mod queue;

use queue::agent;
use queue::demo::{ROBERT_NORMAL, ROBERT_TICKET};
use queue::ports::free_port;
use queue::server::{Options, Server};
use queue::sipp::Sipp;
use std::time::Duration;

/// Longest wait for an offer to reach a phone.
const OFFER_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for a SIPp run to finish once its call should be over.
const END_WAIT: Duration = Duration::from_secs(60);
/// Longest wait for an agent state, a record or a note to show.
const STATE_WAIT: Duration = Duration::from_secs(15);

/// Test 4: a REGISTER with a wrong password gets 403 and leaves the agent logged out; the
/// same softphone with the right password then logs in (the refusal was the password's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_register_password_is_refused_and_the_agent_stays_logged_out() {
    let server = Server::start(Options::agents(&["ana"])).await;
    let contact_port = free_port();
    let refused = agent::register_with(
        &server,
        "register_refused.xml",
        "ana",
        "not-the-password",
        contact_port,
    )
    .await;
    refused.assert_passed("REGISTER with a wrong password answered 403");
    let ana = server.agent("ana").await;
    assert_eq!(ana.state, "logged_out", "{ana:?}");

    let password = server.agent_spec("ana").password;
    agent::register_with(&server, "register.xml", "ana", &password, contact_port)
        .await
        .assert_passed("REGISTER with the right password");
    server
        .wait_agent_state("ana", "available", STATE_WAIT)
        .await;
}

/// Test 5: no agent logged in: the caller who presses 1 hears the no-agent menu, presses
/// 2 and gets the goodbye and BYE; the record says no_agent and the ticket's private note
/// says the caller chose to hang up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agent_logged_in_takes_the_availability_exit() {
    let server = Server::start(Options::agents(&["ana"])).await;
    Sipp::new("caller_press1_then2_expect_bye.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .run("caller", server.sip_addr(), server.dir())
        .await
        .assert_passed("press 1 with no agent, then 2: BYE");
    let rec = server.interaction_of(ROBERT_NORMAL, STATE_WAIT).await;
    assert_eq!(rec["end_reason"], "no_agent", "{rec:#}");
    assert!(rec["agent_id"].is_null(), "no agent took the call: {rec:#}");
    let notes = server.new_comments(ROBERT_TICKET, 1, STATE_WAIT).await;
    assert_eq!(
        notes.len(),
        1,
        "one note on ticket {ROBERT_TICKET}: {notes:#?}"
    );
    assert!(!notes[0].public, "the note is private: {:?}", notes[0]);
    assert!(
        notes[0]
            .body
            .contains("no agent was logged in; the caller chose to hang up"),
        "{:?}",
        notes[0].body
    );
    assert_eq!(server.agent("ana").await.state, "logged_out");
}

/// Test 6a: the caller hangs up in queue while the agent's phone rings (the ring timeout is
/// far away): the phone gets CANCEL (and answers 487), the agent goes from reserved back
/// to available, and the record says the caller ended the call with no agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_hanging_up_in_queue_cancels_the_ringing_offer() {
    let server = Server::start(Options::agents(&["ana"]).ring_timeout("60s")).await;
    let phone = agent::phone(
        &server,
        "ana",
        "agent_ring_forever.xml",
        1,
        Duration::ZERO,
        &[],
    );
    agent::log_in(&server, "ana", &phone).await;
    // Pressed 2 s after the answer; hangs up 4 s later, while the phone rings.
    let caller = Sipp::new("caller_press1_hangup.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .pause(Duration::from_secs(4))
        .spawn("caller", Some(server.sip_addr()), server.dir());
    phone.wait_received("INVITE", 1, OFFER_WAIT).await;
    server.wait_agent_state("ana", "reserved", STATE_WAIT).await;
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller hangs up in queue");
    let run = phone.wait(END_WAIT).await;
    run.assert_passed("ana's phone gets CANCEL");
    assert_eq!(run.received("CANCEL").len(), 1, "{}", run.report());
    server
        .wait_agent_state("ana", "available", STATE_WAIT)
        .await;
    let rec = server.interaction_of(ROBERT_NORMAL, STATE_WAIT).await;
    assert_eq!(rec["end_reason"], "caller", "{rec:#}");
    assert!(rec["agent_answered_at"].is_null(), "{rec:#}");
}

/// Test 6b: the agent hangs up first: the caller gets ringdesk's BYE, the agent goes
/// busy → wrap-up → available, and the note says the agent ended the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_hanging_up_first_ends_the_call_and_wraps_up() {
    let server = Server::start(Options::agents(&["ana"]).wrap_up("3s")).await;
    let phone = agent::phone(
        &server,
        "ana",
        "agent_answer_hangup.xml",
        1,
        Duration::from_secs(2),
        &[],
    );
    agent::log_in(&server, "ana", &phone).await;
    let caller = Sipp::new("caller_press1_wait_bye.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .spawn("caller", Some(server.sip_addr()), server.dir());
    phone.wait_received("INVITE", 1, OFFER_WAIT).await;
    server.wait_agent_state("ana", "busy", STATE_WAIT).await;
    phone
        .wait(END_WAIT)
        .await
        .assert_passed("ana answers, then hangs up");
    // The BYE may still be in ringdesk's hands at the first look: busy until then.
    let states: Vec<String> = server
        .states_until("ana", "available", STATE_WAIT)
        .await
        .into_iter()
        .skip_while(|s| s == "busy")
        .collect();
    assert_eq!(
        states,
        ["wrap_up", "available"],
        "ana's states after hanging up"
    );
    caller
        .wait(END_WAIT)
        .await
        .assert_passed("the caller gets BYE after the agent hung up");
    let rec = server.interaction_of(ROBERT_NORMAL, STATE_WAIT).await;
    assert_eq!(rec["end_reason"], "agent", "{rec:#}");
    assert_eq!(rec["agent_id"], "ana", "{rec:#}");
    let notes = server.new_comments(ROBERT_TICKET, 1, STATE_WAIT).await;
    assert_eq!(notes.len(), 1, "one note: {notes:#?}");
    for expected in ["Agent: Ana Agent", "Ended by: the agent."] {
        assert!(
            notes[0].body.contains(expected),
            "the note lacks {expected:?}: {:?}",
            notes[0].body
        );
    }
}
