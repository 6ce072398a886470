//! Routing scenarios on virtual time: priority, longest available, ring-no-answer,
//! rejection, wrap-up, skills, registration lapses.

mod common;

use common::*;
use ringdesk_acd::{
    AcdError, AgentState, AgentStatus, ChangeCause, Output, QueueConfig, RequestedState,
    REASON_REJECTED, REASON_RING_NO_ANSWER,
};

fn queue(wrap: u64) -> QueueConfig {
    QueueConfig {
        ring_timeout: secs(15),
        wrap_up: secs(wrap),
        ..QueueConfig::default()
    }
}

#[test]
fn urgent_caller_after_two_normal_callers_is_offered_first() {
    let mut h = Harness::new(&[("q", queue(0))], vec![agent("a", &["q"], &[])]);
    assert!(offers(&h.enqueue("n1", "q", 5)).is_empty());
    h.advance(secs(1));
    assert!(offers(&h.enqueue("n2", "q", 5)).is_empty());
    h.advance(secs(1));
    assert!(offers(&h.enqueue("urgent", "q", 1)).is_empty());
    assert_eq!(offers(&h.login("a")), vec![offer("urgent", "a")]);
    h.answer("urgent", "a");
    assert_eq!(offers(&h.end("urgent")), vec![offer("n1", "a")]);
    h.answer("n1", "a");
    assert_eq!(offers(&h.end("n1")), vec![offer("n2", "a")]);
}

#[test]
fn longest_available_agent_gets_the_next_call() {
    let agents = vec![
        agent("a", &["q"], &[]),
        agent("b", &["q"], &[]),
        agent("c", &["q"], &[]),
    ];
    let mut h = Harness::new(&[("q", queue(0))], agents);
    // Available order: b, c, a.
    h.login("b");
    h.advance(secs(1));
    h.login("c");
    h.advance(secs(1));
    h.login("a");
    h.advance(secs(1));
    assert_eq!(offers(&h.enqueue("c1", "q", 5)), vec![offer("c1", "b")]);
    assert_eq!(offers(&h.enqueue("c2", "q", 5)), vec![offer("c2", "c")]);
    h.answer("c1", "b");
    h.advance(secs(5));
    // b finishes first, but a has been available longer.
    h.end("c1");
    assert_eq!(offers(&h.enqueue("c3", "q", 5)), vec![offer("c3", "a")]);
    assert_eq!(offers(&h.enqueue("c4", "q", 5)), vec![offer("c4", "b")]);
}

#[test]
fn ring_no_answer_makes_the_agent_not_ready_and_moves_the_call_to_the_head() {
    let agents = vec![agent("a", &["q"], &[]), agent("b", &["q"], &[])];
    let mut h = Harness::new(&[("q", queue(0))], agents);
    h.login("a");
    assert_eq!(offers(&h.enqueue("c1", "q", 5)), vec![offer("c1", "a")]);
    h.advance(secs(1));
    assert!(offers(&h.enqueue("c2", "q", 5)).is_empty());
    assert_eq!(h.acd.poll_timeout(), Some(h.t0 + secs(15)));
    assert!(
        h.advance(secs(13)).is_empty(),
        "nothing before the ring timeout"
    );
    let out = h.advance(secs(1));
    assert_eq!(
        out.first(),
        Some(&Output::CancelOffer {
            call: cid("c1"),
            agent: aid("a")
        })
    );
    assert!(out.iter().any(|o| matches!(o,
        Output::AgentStateChanged { agent, to: AgentStatus::NotReady, cause: ChangeCause::RingNoAnswer, reason: Some(r), .. }
            if agent == &aid("a") && r == REASON_RING_NO_ANSWER)));
    assert_eq!(
        h.acd.agent_state(&aid("a")),
        Some(AgentState::NotReady {
            reason: REASON_RING_NO_ANSWER.into()
        })
    );
    let info = h.acd.queue_info(h.now, "q", Some(&cid("c1"))).unwrap();
    assert_eq!(info.position, Some(1), "back at the head");
    // The next agent gets c1, not the later c2.
    assert_eq!(offers(&h.login("b")), vec![offer("c1", "b")]);
    // A late answer from a is refused.
    assert_eq!(
        h.acd.offer_answered(h.now, &cid("c1"), &aid("a")),
        Err(AcdError::NotOffered)
    );
}

#[test]
fn rejection_skips_to_the_next_agent() {
    let agents = vec![agent("a", &["q"], &[]), agent("b", &["q"], &[])];
    let mut h = Harness::new(&[("q", queue(0))], agents);
    h.login("a");
    h.advance(secs(1));
    h.login("b");
    assert_eq!(offers(&h.enqueue("c1", "q", 5)), vec![offer("c1", "a")]);
    h.acd.offer_rejected(h.now, &cid("c1"), &aid("a")).unwrap();
    let out = h.drain();
    assert!(
        !out.iter().any(|o| matches!(o, Output::CancelOffer { .. })),
        "a rejected INVITE needs no CANCEL"
    );
    assert_eq!(offers(&out), vec![offer("c1", "b")]);
    assert_eq!(
        h.acd.agent_state(&aid("a")),
        Some(AgentState::NotReady {
            reason: REASON_REJECTED.into()
        })
    );
    // A failed offer is handled the same way.
    h.acd.offer_failed(h.now, &cid("c1"), &aid("b")).unwrap();
    let out = h.drain();
    assert!(offers(&out).is_empty());
    assert_eq!(
        h.acd.agent_state(&aid("b")).map(|s| s.status()),
        Some(AgentStatus::NotReady)
    );
    // Back to available: a gets the waiting call.
    h.acd
        .set_agent_state(h.now, &aid("a"), RequestedState::Available)
        .unwrap();
    assert_eq!(offers(&h.drain()), vec![offer("c1", "a")]);
}

#[test]
fn wrap_up_then_available() {
    let mut h = Harness::new(&[("q", queue(30))], vec![agent("a", &["q"], &[])]);
    h.login("a");
    h.enqueue("c1", "q", 5);
    h.answer("c1", "a");
    assert_eq!(
        h.acd.agent_state(&aid("a")),
        Some(AgentState::Busy { call: cid("c1") })
    );
    h.advance(secs(100));
    let out = h.end("c1");
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CallEnded { handled, .. } if *handled == secs(100))));
    assert_eq!(h.acd.agent_state(&aid("a")), Some(AgentState::WrapUp));
    h.enqueue("c2", "q", 5);
    assert_eq!(h.acd.poll_timeout(), Some(h.now + secs(30)));
    assert!(offers(&h.advance(secs(29))).is_empty());
    let out = h.advance(secs(1));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::AgentStateChanged {
            to: AgentStatus::Available,
            cause: ChangeCause::WrapUpEnded,
            ..
        }
    )));
    assert_eq!(offers(&out), vec![offer("c2", "a")]);
}

#[test]
fn a_skill_request_goes_to_a_qualified_agent_and_blocks_nobody() {
    let agents = vec![
        agent("en", &["q"], &["en"]),
        agent("pt", &["q"], &["pt", "en"]),
    ];
    let mut h = Harness::new(&[("q", queue(0))], agents);
    h.login("en");
    h.acd
        .enqueue(
            h.now,
            ringdesk_acd::EnqueueRequest::new("br", "q", 1).with_skills(["pt"]),
        )
        .unwrap();
    assert!(offers(&h.drain()).is_empty(), "en cannot take a pt call");
    // A later, lower-priority call without skills is not blocked by it.
    assert_eq!(offers(&h.enqueue("any", "q", 9)), vec![offer("any", "en")]);
    assert_eq!(offers(&h.login("pt")), vec![offer("br", "pt")]);
}

#[test]
fn an_agent_serving_two_queues_takes_the_higher_priority_then_the_older_call() {
    let agents = vec![agent("a", &["sales", "support"], &[])];
    let mut h = Harness::new(&[("sales", queue(0)), ("support", queue(0))], agents);
    h.enqueue("s1", "sales", 5);
    h.advance(secs(1));
    h.enqueue("t1", "support", 5);
    h.enqueue("t2", "support", 2);
    assert_eq!(offers(&h.login("a")), vec![offer("t2", "a")]);
    h.answer("t2", "a");
    assert_eq!(offers(&h.end("t2")), vec![offer("s1", "a")]);
}

#[test]
fn a_lapsed_registration_logs_out_and_releases_the_offer() {
    let agents = vec![agent("a", &["q"], &[]), agent("b", &["q"], &[])];
    let mut h = Harness::new(&[("q", queue(0))], agents);
    h.login("a");
    h.advance(secs(1));
    h.login("b");
    h.enqueue("c1", "q", 5);
    h.acd.agent_unregistered(h.now, &aid("a")).unwrap();
    let out = h.drain();
    assert_eq!(
        out.first(),
        Some(&Output::CancelOffer {
            call: cid("c1"),
            agent: aid("a")
        })
    );
    assert_eq!(offers(&out), vec![offer("c1", "b")]);
    assert_eq!(h.acd.agent_state(&aid("a")), Some(AgentState::LoggedOut));
    // Busy agent whose registration lapses finishes the call, then is logged out.
    h.answer("c1", "b");
    h.acd.agent_unregistered(h.now, &aid("b")).unwrap();
    assert_eq!(
        h.acd.agent_state(&aid("b")),
        Some(AgentState::Busy { call: cid("c1") })
    );
    h.end("c1");
    assert_eq!(h.acd.agent_state(&aid("b")), Some(AgentState::LoggedOut));
    assert_eq!(
        h.acd
            .set_agent_state(h.now, &aid("b"), RequestedState::Available),
        Err(AcdError::LoggedOut)
    );
}

#[test]
fn admin_state_changes_are_checked() {
    let mut h = Harness::new(&[("q", queue(0))], vec![agent("a", &["q"], &[])]);
    h.login("a");
    let nr = |r: &str| RequestedState::NotReady { reason: r.into() };
    assert_eq!(
        h.acd.set_agent_state(h.now, &aid("a"), nr("")),
        Err(AcdError::InvalidReason)
    );
    assert_eq!(
        h.acd.set_agent_state(h.now, &aid("zz"), nr("lunch")),
        Err(AcdError::UnknownAgent)
    );
    h.acd
        .set_agent_state(h.now, &aid("a"), nr("lunch"))
        .unwrap();
    assert!(offers(&h.enqueue("c1", "q", 5)).is_empty());
    h.acd
        .set_agent_state(h.now, &aid("a"), RequestedState::Available)
        .unwrap();
    assert_eq!(offers(&h.drain()), vec![offer("c1", "a")]);
    assert_eq!(
        h.acd
            .set_agent_state(h.now, &aid("a"), RequestedState::Available),
        Err(AcdError::NotAllowed(AgentStatus::Reserved))
    );
    // Not ready while ringing withdraws the offer.
    h.acd
        .set_agent_state(h.now, &aid("a"), nr("break"))
        .unwrap();
    let out = h.drain();
    assert!(out.iter().any(|o| matches!(o, Output::CancelOffer { .. })));
    assert_eq!(h.acd.queue_info(h.now, "q", None).unwrap().calls_queued, 1);
}

#[test]
fn a_caller_hanging_up_after_the_answer_ends_the_call() {
    let mut h = Harness::new(&[("q", queue(0))], vec![agent("a", &["q"], &[])]);
    h.login("a");
    h.enqueue("c1", "q", 5);
    h.answer("c1", "a");
    h.advance(secs(42));
    h.acd.caller_abandoned(h.now, &cid("c1")).unwrap();
    let out = h.drain();
    assert!(out.contains(&Output::CallEnded {
        call: cid("c1"),
        agent: aid("a"),
        by: ringdesk_acd::Party::Caller,
        handled: secs(42)
    }));
    assert_eq!(h.acd.agent_state(&aid("a")), Some(AgentState::Available));
    assert_eq!(
        h.acd
            .call_ended(h.now, &cid("c1"), ringdesk_acd::Party::Agent),
        Err(AcdError::UnknownCall)
    );
}

#[test]
fn inputs_about_unknown_or_wrong_parties_are_refused() {
    let agents = vec![agent("a", &["q"], &[]), agent("b", &["q"], &[])];
    let mut h = Harness::new(&[("q", queue(0))], agents);
    assert_eq!(
        h.acd.agent_registered(h.now, &aid("nobody")),
        Err(AcdError::UnknownAgent)
    );
    h.login("a");
    h.enqueue("c1", "q", 5);
    assert_eq!(
        h.acd.offer_answered(h.now, &cid("c1"), &aid("b")),
        Err(AcdError::NotOffered)
    );
    assert_eq!(
        h.acd.offer_rejected(h.now, &cid("zz"), &aid("a")),
        Err(AcdError::UnknownCall)
    );
    assert_eq!(
        h.acd
            .call_ended(h.now, &cid("c1"), ringdesk_acd::Party::Agent),
        Err(AcdError::NotConnected)
    );
    // Nothing changed.
    assert_eq!(
        h.acd.agent_state(&aid("a")),
        Some(AgentState::Reserved { call: cid("c1") })
    );
    assert!(h.drain().is_empty());
}

#[test]
fn queues_and_agents_can_be_added_at_run_time() {
    let mut h = Harness::new(&[], vec![]);
    h.acd.add_queue("late", queue(0)).unwrap();
    assert!(h.acd.add_queue("late", queue(0)).is_err());
    assert!(h.acd.add_agent(&agent("x", &["nope"], &[])).is_err());
    h.acd
        .add_agent(&agent("x", &["late", "late"], &[]))
        .unwrap();
    assert!(h.acd.add_agent(&agent("x", &["late"], &[])).is_err());
    assert_eq!(offers(&h.enqueue("c1", "late", 5)), vec![]);
    assert_eq!(offers(&h.login("x")), vec![offer("c1", "x")]);
    let info = h.acd.queue_info(h.now, "late", None).unwrap();
    assert_eq!(info.agents_logged_in, 1, "a queue listed twice counts once");
}

/// In a cluster an agent whose phone only one node reaches (a desktop page's phone, a TLS
/// connection) takes only that node's calls; an agent reachable from anywhere takes any.
#[test]
fn an_agent_reachable_at_one_site_takes_only_that_sites_calls() {
    use ringdesk_acd::EnqueueRequest;
    let agents = vec![agent("page", &["q"], &[]), agent("phone", &["q"], &[])];
    let mut h = Harness::new(&[("q", queue(0))], agents);
    let enqueue_at = |h: &mut Harness, call: &str, site: &str| {
        h.acd
            .enqueue(h.now, EnqueueRequest::new(call, "q", 5).with_site(site))
            .expect("queued");
        h.drain()
    };
    h.acd
        .set_agent_site(h.now, &aid("page"), Some("node-a".into()))
        .unwrap();
    h.login("page");
    h.advance(secs(1));
    // A call on node B waits: the only available agent is reachable on node A only.
    assert!(offers(&enqueue_at(&mut h, "on-b", "node-b")).is_empty());
    // A later call on node A goes to her at once.
    assert_eq!(
        offers(&enqueue_at(&mut h, "on-a", "node-a")),
        vec![offer("on-a", "page")]
    );
    // An agent reachable from anywhere takes the waiting call on B.
    assert_eq!(offers(&h.login("phone")), vec![offer("on-b", "phone")]);
    h.answer("on-a", "page");
    h.answer("on-b", "phone");
    // Two more calls on B, one on A; the page agent, free again, takes A's, not B's
    // earlier one; the phone agent, free, takes B's in order.
    assert!(offers(&enqueue_at(&mut h, "b2", "node-b")).is_empty());
    assert!(offers(&enqueue_at(&mut h, "b3", "node-b")).is_empty());
    h.advance(secs(1));
    assert!(offers(&enqueue_at(&mut h, "a2", "node-a")).is_empty());
    assert_eq!(offers(&h.end("on-a")), vec![offer("a2", "page")]);
    assert_eq!(offers(&h.end("on-b")), vec![offer("b2", "phone")]);
    // Reachable from anywhere again (her phone now registered with a contact): after her
    // call she takes B's waiting call.
    h.acd.set_agent_site(h.now, &aid("page"), None).unwrap();
    h.answer("a2", "page");
    assert_eq!(offers(&h.end("a2")), vec![offer("b3", "page")]);
    // A site must be a name.
    assert!(h
        .acd
        .enqueue(h.now, EnqueueRequest::new("bad", "q", 5).with_site(""))
        .is_err());
}

#[test]
fn a_call_lost_with_its_node_ends_in_whatever_phase_it_was() {
    let agents = vec![agent("a", &["q"], &[]), agent("b", &["q"], &[])];
    let mut h = Harness::new(&[("q", queue(0))], agents);
    h.login("a");
    h.login("b");
    assert_eq!(
        offers(&h.enqueue("talking", "q", 5)),
        vec![offer("talking", "a")]
    );
    h.answer("talking", "a");
    assert_eq!(
        offers(&h.enqueue("ringing", "q", 5)),
        vec![offer("ringing", "b")]
    );
    assert!(offers(&h.enqueue("waiting", "q", 5)).is_empty());
    h.drain();
    // Bridged: ended by the system, its agent named.
    let now = h.now;
    assert_eq!(h.acd.call_lost(now, &cid("talking")), Ok(Some(aid("a"))));
    assert!(h.drain().iter().any(|o| matches!(o,
        Output::CallEnded { call, by: ringdesk_acd::Party::System, .. } if *call == cid("talking"))));
    // Ringing: abandoned, its agent named and no longer reserved for it.
    assert_eq!(h.acd.call_lost(now, &cid("ringing")), Ok(Some(aid("b"))));
    let out = h.drain();
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Abandoned { call, .. } if *call == cid("ringing"))));
    assert!(!matches!(
        h.acd.agent_state(&aid("b")),
        Some(AgentState::Reserved { call }) if call == cid("ringing")
    ));
    // Waiting, or ringing an agent freed meanwhile: the agent it was offered to, if any.
    let expected = ["a", "b"].into_iter().map(aid).find(|a| {
        matches!(h.acd.agent_state(a), Some(AgentState::Reserved { call }) if call == cid("waiting"))
    });
    assert_eq!(h.acd.call_lost(now, &cid("waiting")), Ok(expected));
    // An unknown call is an error, not a panic.
    assert!(h.acd.call_lost(now, &cid("nobody")).is_err());
    assert_eq!(h.acd.call_count(), 0);
}
