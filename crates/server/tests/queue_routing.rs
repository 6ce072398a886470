//! Queue end-to-end tests of routing, with real SIP peers: SIPp callers press 1 in the
//! default flow and wait in queue `support`; agents log in by SIP REGISTER and their
//! phones are SIPp UASes. Covers priority (an urgent caller overtakes earlier normal
//! callers), longest-available order across three agents, and ring-no-answer and 486
//! moving the call on while making the agents not ready.

mod queue;

use queue::agent;
use queue::demo::{BRUNO_URGENT, MARY_NORMAL, ROBERT_NORMAL, SHARED_NORMAL};
use queue::server::{Options, Server};
use queue::sipp::{Message, Sipp, SippProc};
use std::time::Duration;

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
