//! Waiting-caller scenarios on virtual time: availability checks, abandonment, maximum
//! wait, announcements, queue figures and wait estimates.

mod common;

use common::*;
use ringdesk_acd::{
    AgentStatus, AvailabilityCheck, EnqueueError, EnqueueRequest, Output, QueueConfig,
    RequestedState,
};

fn checked(check: AvailabilityCheck) -> QueueConfig {
    QueueConfig {
        no_agent_check: check,
        wrap_up: secs(0),
        ..QueueConfig::default()
    }
}

#[test]
fn logged_in_check_refuses_without_agents_and_accepts_with_one() {
    let agents = vec![agent("a", &["q"], &[])];
    let mut h = Harness::new(&[("q", checked(AvailabilityCheck::LoggedIn))], agents);
    let r = h.acd.enqueue(h.now, EnqueueRequest::new("c1", "q", 5));
    assert_eq!(
        r,
        Err(EnqueueError::NoAgents {
            check: AvailabilityCheck::LoggedIn,
            logged_in: 0,
            available: 0
        })
    );
    assert!(!h.acd.has_call(&cid("c1")));
    h.login("a");
    h.acd
        .set_agent_state(
            h.now,
            &aid("a"),
            RequestedState::NotReady {
                reason: "lunch".into(),
            },
        )
        .unwrap();
    h.drain();
    // Logged in but not ready: accepted by the logged-in check.
    assert!(h.enqueue("c1", "q", 5).is_empty());
    assert!(h.acd.has_call(&cid("c1")));
}

#[test]
fn available_check_refuses_when_nobody_is_free_and_can_be_overridden() {
    let agents = vec![agent("a", &["q"], &[]), agent("b", &["q"], &["pt"])];
    let mut h = Harness::new(&[("q", checked(AvailabilityCheck::Available))], agents);
    h.login("a");
    h.login("b");
    // b is available but lacks nothing for a plain call; a pt call has one candidate.
    h.acd
        .set_agent_state(
            h.now,
            &aid("b"),
            RequestedState::NotReady {
                reason: "coaching".into(),
            },
        )
        .unwrap();
    h.drain();
    let pt = EnqueueRequest::new("c1", "q", 5).with_skills(["pt"]);
    assert_eq!(
        h.acd.enqueue(h.now, pt.clone()),
        Err(EnqueueError::NoAgents {
            check: AvailabilityCheck::Available,
            logged_in: 1,
            available: 0
        })
    );
    // The flow activity can switch the check off.
    h.acd
        .enqueue(h.now, pt.with_check(AvailabilityCheck::Off))
        .unwrap();
    h.drain();
    // A plain call: a is available, so it is accepted and offered.
    assert_eq!(offers(&h.enqueue("c2", "q", 5)), vec![offer("c2", "a")]);
    // Now nobody is available for a plain call either.
    assert!(matches!(
        h.acd.enqueue(h.now, EnqueueRequest::new("c3", "q", 5)),
        Err(EnqueueError::NoAgents {
            logged_in: 2,
            available: 0,
            ..
        })
    ));
}

#[test]
fn bad_requests_are_refused() {
    let mut h = Harness::new(&[("q", checked(AvailabilityCheck::Off))], vec![]);
    let e = |h: &mut Harness, r| h.acd.enqueue(h.now, r);
    assert_eq!(
        e(&mut h, EnqueueRequest::new("c", "nope", 5)),
        Err(EnqueueError::UnknownQueue)
    );
    assert_eq!(
        e(&mut h, EnqueueRequest::new("c", "q", 0)),
        Err(EnqueueError::InvalidPriority)
    );
    assert_eq!(
        e(&mut h, EnqueueRequest::new("c", "q", 11)),
        Err(EnqueueError::InvalidPriority)
    );
    assert_eq!(
        e(&mut h, EnqueueRequest::new("", "q", 5)),
        Err(EnqueueError::InvalidCallId)
    );
    assert_eq!(
        e(&mut h, EnqueueRequest::new("x".repeat(300), "q", 5)),
        Err(EnqueueError::InvalidCallId)
    );
    assert_eq!(
        e(&mut h, EnqueueRequest::new("c", "q", 5).with_skills([""])),
        Err(EnqueueError::InvalidSkills)
    );
    e(&mut h, EnqueueRequest::new("c", "q", 5)).unwrap();
    assert_eq!(
        e(&mut h, EnqueueRequest::new("c", "q", 5)),
        Err(EnqueueError::DuplicateCall)
    );
}

#[test]
fn a_full_queue_refuses() {
    let q = QueueConfig {
        max_calls: 2,
        ..QueueConfig::default()
    };
    let mut h = Harness::new(&[("q", q)], vec![]);
    h.enqueue("c1", "q", 5);
    h.enqueue("c2", "q", 5);
    assert_eq!(
        h.acd.enqueue(h.now, EnqueueRequest::new("c3", "q", 5)),
        Err(EnqueueError::QueueFull)
    );
}

#[test]
fn a_full_queue_counts_waiting_and_ringing_calls_not_connected_ones() {
    let q = QueueConfig {
        max_calls: 2,
        no_agent_check: AvailabilityCheck::LoggedIn,
        ..QueueConfig::default()
    };
    let mut h = Harness::new(&[("q", q)], vec![agent("a", &["q"], &[])]);
    assert_eq!(h.acd.queue_config("q").map(|c| c.max_calls), Some(2));
    assert_eq!(h.acd.queue_config("nope"), None);
    h.login("a");
    // c1 rings the agent, c2 waits: the queue is full (checked before the agents).
    assert_eq!(offers(&h.enqueue("c1", "q", 5)), vec![offer("c1", "a")]);
    h.enqueue("c2", "q", 5);
    let full = h.acd.enqueue(h.now, EnqueueRequest::new("c3", "q", 5));
    assert_eq!(full, Err(EnqueueError::QueueFull));
    assert!(
        !h.acd.has_call(&cid("c3")),
        "a refused call leaves no trace"
    );
    assert_eq!(h.acd.queue_info(h.now, "q", None).unwrap().calls_queued, 2);
    // Once c1 is connected only c2 counts: room for one more.
    h.answer("c1", "a");
    h.enqueue("c3", "q", 5);
    assert_eq!(h.acd.queue_info(h.now, "q", None).unwrap().calls_queued, 2);
    assert_eq!(
        h.acd.enqueue(h.now, EnqueueRequest::new("c4", "q", 5)),
        Err(EnqueueError::QueueFull)
    );
}

#[test]
fn abandoned_in_queue_and_while_ringing() {
    let mut h = Harness::new(
        &[("q", checked(AvailabilityCheck::Off))],
        vec![agent("a", &["q"], &[])],
    );
    h.enqueue("w", "q", 5);
    h.advance(secs(7));
    h.acd.caller_abandoned(h.now, &cid("w")).unwrap();
    assert_eq!(
        h.drain(),
        vec![Output::Abandoned {
            call: cid("w"),
            queue: "q".into(),
            waited: secs(7)
        }]
    );
    assert_eq!(h.acd.call_count(), 0);
    assert_eq!(h.acd.poll_timeout(), None, "no timer left behind");

    h.login("a");
    h.advance(secs(10));
    assert_eq!(offers(&h.enqueue("r", "q", 5)), vec![offer("r", "a")]);
    h.enqueue("next", "q", 5);
    h.acd.caller_abandoned(h.now, &cid("r")).unwrap();
    let out = h.drain();
    assert_eq!(
        out.first(),
        Some(&Output::CancelOffer {
            call: cid("r"),
            agent: aid("a")
        })
    );
    assert_eq!(offers(&out), vec![offer("next", "a")]);
    assert!(out.contains(&Output::Abandoned {
        call: cid("r"),
        queue: "q".into(),
        waited: secs(0)
    }));
    assert_eq!(
        h.acd.caller_abandoned(h.now, &cid("r")),
        Err(ringdesk_acd::AcdError::UnknownCall)
    );
}

#[test]
fn max_wait_removes_the_call_and_releases_a_ringing_agent() {
    let q = QueueConfig {
        max_wait: Some(secs(60)),
        ring_timeout: secs(40),
        ..QueueConfig::default()
    };
    let agents = vec![agent("a", &["q"], &[]), agent("b", &["q"], &[])];
    let mut h = Harness::new(&[("q", q)], agents);
    h.enqueue("c1", "q", 5);
    assert!(h.advance(secs(59)).is_empty());
    let out = h.advance(secs(1));
    assert_eq!(
        out,
        vec![Output::MaxWaitReached {
            call: cid("c1"),
            queue: "q".into(),
            waited: secs(60)
        }]
    );
    assert!(!h.acd.has_call(&cid("c1")));

    // Ringing at max wait: the offer is cancelled first and the agent keeps their place.
    h.login("a");
    h.advance(secs(1));
    h.login("b");
    h.advance(secs(1));
    assert_eq!(offers(&h.enqueue("c2", "q", 5)), vec![offer("c2", "a")]);
    // a does not answer within 40 s: b rings.
    assert_eq!(offers(&h.advance(secs(40))), vec![offer("c2", "b")]);
    h.advance(secs(10));
    h.acd
        .set_agent_state(h.now, &aid("a"), RequestedState::Available)
        .unwrap();
    assert!(h.drain().iter().all(|o| !matches!(o, Output::Offer { .. })));
    let out = h.advance(secs(10));
    assert_eq!(
        out,
        vec![
            Output::CancelOffer {
                call: cid("c2"),
                agent: aid("b")
            },
            Output::MaxWaitReached {
                call: cid("c2"),
                queue: "q".into(),
                waited: secs(60)
            },
            Output::AgentStateChanged {
                agent: aid("b"),
                from: AgentStatus::Reserved,
                to: AgentStatus::Available,
                cause: ringdesk_acd::ChangeCause::OfferWithdrawn,
                reason: None
            },
        ]
    );
    // b was available before a went available again, and keeps that place.
    assert_eq!(offers(&h.enqueue("c3", "q", 5)), vec![offer("c3", "b")]);
}

#[test]
fn announcements_follow_the_schedule_with_position() {
    let q = QueueConfig {
        announce_every: Some(secs(30)),
        ring_timeout: secs(60),
        ..QueueConfig::default()
    };
    let mut h = Harness::new(&[("q", q)], vec![agent("a", &["q"], &[])]);
    h.enqueue("c1", "q", 5);
    h.advance(secs(10));
    h.enqueue("c2", "q", 5);
    let mut seen = Vec::new();
    for _ in 0..9 {
        for o in h.advance(secs(10)) {
            if let Output::Announce {
                call,
                position,
                estimated_wait,
            } = o
            {
                assert_eq!(estimated_wait, None, "no history yet");
                seen.push((h.now - h.t0, call.0, position));
            }
        }
    }
    let expect = |t, c: &str, p| (secs(t), c.to_string(), p);
    assert_eq!(
        seen,
        vec![
            expect(30, "c1", 1),
            expect(40, "c2", 2),
            expect(60, "c1", 1),
            expect(70, "c2", 2),
            expect(90, "c1", 1),
            expect(100, "c2", 2),
        ]
    );
    // While c1 rings an agent it is not announced; c2 moves up.
    h.login("a");
    let out = h.advance(secs(30));
    let ann: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Announce { call, position, .. } => Some((call.0.as_str(), *position)),
            _ => None,
        })
        .collect();
    assert_eq!(ann, vec![("c2", 1)]);
}

#[test]
fn queue_info_numbers() {
    let agents = vec![
        agent("a", &["q"], &[]),
        agent("b", &["q"], &[]),
        agent("c", &["q"], &[]),
    ];
    let mut h = Harness::new(&[("q", checked(AvailabilityCheck::Off))], agents);
    let info = h.acd.queue_info(h.now, "q", None).unwrap();
    assert_eq!(
        (info.agents_logged_in, info.calls_queued, info.oldest_wait),
        (0, 0, None)
    );
    assert!(h.acd.queue_info(h.now, "nope", None).is_none());
    h.login("a");
    h.login("b");
    h.acd
        .set_agent_state(
            h.now,
            &aid("b"),
            RequestedState::NotReady {
                reason: "lunch".into(),
            },
        )
        .unwrap();
    h.enqueue("c1", "q", 5);
    h.answer("c1", "a");
    h.advance(secs(5));
    h.enqueue("c2", "q", 5);
    h.advance(secs(5));
    h.enqueue("c3", "q", 5);
    h.advance(secs(2));
    let info = h.acd.queue_info(h.now, "q", Some(&cid("c3"))).unwrap();
    assert_eq!(info.position, Some(2));
    assert_eq!(info.agents_logged_in, 2);
    assert_eq!(info.agents_available, 0);
    assert_eq!(info.calls_queued, 2);
    assert_eq!(info.oldest_wait, Some(secs(7)));
    let info = h.acd.queue_info(h.now, "q", Some(&cid("c1"))).unwrap();
    assert_eq!(info.position, None, "c1 is connected, not queued");
}

#[test]
fn estimate_is_none_without_history_and_sensible_with_it() {
    let q = QueueConfig {
        wrap_up: secs(10),
        ring_timeout: secs(60),
        ..QueueConfig::default()
    };
    let agents = vec![agent("a", &["q"], &[]), agent("b", &["q"], &[])];
    let mut h = Harness::new(&[("q", q)], agents);
    h.login("a");
    assert_eq!(
        h.acd.queue_info(h.now, "q", None).unwrap().estimated_wait,
        None
    );
    h.advance(secs(3));
    h.enqueue("c1", "q", 5);
    h.advance(secs(20));
    h.answer("c1", "a");
    h.advance(secs(290));
    h.end("c1");
    // Handle time 290 s talk + 10 s wrap-up = 300 s; one agent working.
    h.enqueue("c2", "q", 5);
    h.enqueue("c3", "q", 5);
    let est = |h: &Harness, c: &str| {
        h.acd
            .queue_info(h.now, "q", Some(&cid(c)))
            .unwrap()
            .estimated_wait
    };
    assert_eq!(est(&h, "c2"), Some(secs(300)));
    assert_eq!(est(&h, "c3"), Some(secs(600)));
    // A second agent working halves it.
    h.login("b");
    // b took c2 at once; c3 is first in line with two agents working.
    assert_eq!(est(&h, "c3"), Some(secs(150)));
    // Nobody working: fall back to the recent wait (20 s).
    h.acd.agent_unregistered(h.now, &aid("a")).unwrap();
    h.acd.agent_unregistered(h.now, &aid("b")).unwrap();
    h.drain();
    assert_eq!(est(&h, "c3"), Some(secs(20)));
}
