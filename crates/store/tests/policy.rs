//! The delivery policy as a table: every status class, transport outcome, backoff growth,
//! the cap, jitter bounds, Retry-After and the attempt budget.

use std::time::Duration;

use jiff::Timestamp;
use ringdesk_store::{classify_status, Decision, DeliveryOutcome, RetryPolicy, StatusClass};

fn now() -> Timestamp {
    Timestamp::from_second(1_790_000_000).unwrap()
}

fn resp(status: u16, retry_after: Option<u64>) -> DeliveryOutcome {
    DeliveryOutcome::Response {
        status,
        retry_after: retry_after.map(Duration::from_secs),
        body: String::new(),
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(600),
        max_attempts: None,
    }
}

fn delay(d: Decision) -> (Duration, bool) {
    match d {
        Decision::Retry { at, uncertain } => {
            let ms = at.as_millisecond() - now().as_millisecond();
            (Duration::from_millis(u64::try_from(ms).unwrap()), uncertain)
        }
        other => panic!("expected retry, got {other:?}"),
    }
}

#[test]
fn every_status_is_classified() {
    for status in 0..=1000u16 {
        let expected = match status {
            200..=299 => StatusClass::Success,
            408 | 425 | 429 => StatusClass::Retry,
            500 | 502 | 504 => StatusClass::RetryUncertain,
            501 | 505 => StatusClass::Permanent,
            503 | 506..=599 => StatusClass::Retry,
            _ => StatusClass::Permanent,
        };
        assert_eq!(classify_status(status), expected, "status {status}");
    }
}

#[test]
fn decision_table() {
    let p = policy();
    let table: Vec<(DeliveryOutcome, Option<bool>)> = vec![
        // (outcome, None = not retried / Some(uncertain))
        (resp(200, None), None),
        (resp(201, None), None),
        (resp(204, None), None),
        (resp(301, None), None),
        (resp(400, None), None),
        (resp(401, None), None),
        (resp(403, None), None),
        (resp(404, None), None),
        (resp(409, None), None),
        (resp(422, None), None),
        (resp(408, None), Some(false)),
        (resp(429, None), Some(false)),
        (resp(429, Some(3)), Some(false)),
        (resp(503, Some(3)), Some(false)),
        (resp(500, None), Some(true)),
        (resp(502, None), Some(true)),
        (resp(504, None), Some(true)),
        (resp(501, None), None),
        (
            DeliveryOutcome::ConnectFailed {
                message: "refused".into(),
            },
            Some(false),
        ),
        (
            DeliveryOutcome::Timeout {
                message: "read".into(),
            },
            Some(true),
        ),
        (
            DeliveryOutcome::Invalid {
                message: "no connector".into(),
            },
            None,
        ),
    ];
    for (outcome, expect) in table {
        let d = p.decide(1, &outcome, now(), 0.5);
        match (expect, d) {
            (None, Decision::Delivered) => {
                let DeliveryOutcome::Response { status, .. } = outcome else {
                    panic!("{outcome:?}")
                };
                assert!((200..300).contains(&status));
            }
            (None, Decision::Dead) => {
                if let DeliveryOutcome::Response { status, .. } = outcome {
                    assert!(!(200..300).contains(&status));
                }
            }
            (Some(u), Decision::Retry { uncertain, at }) => {
                assert_eq!(uncertain, u, "{outcome:?}");
                assert!(at > now());
            }
            (e, d) => panic!("{outcome:?}: expected {e:?}, got {d:?}"),
        }
    }
}

#[test]
fn backoff_doubles_within_jitter_bounds_and_caps() {
    let p = policy();
    for attempt in 1..=40u32 {
        let full = Duration::from_secs(1u64 << (attempt - 1).min(20)).min(p.cap);
        for j in [0.0, 0.25, 0.5, 0.999, 1.0] {
            let (d, uncertain) = delay(p.decide(attempt, &resp(503, None), now(), j));
            assert!(!uncertain);
            assert!(
                d >= full / 2,
                "attempt {attempt} jitter {j}: {d:?} < {:?}",
                full / 2
            );
            assert!(d <= full, "attempt {attempt} jitter {j}: {d:?} > {full:?}");
        }
        let lo = p.backoff(attempt, 0.0);
        let hi = p.backoff(attempt, 1.0);
        assert_eq!(lo, full / 2);
        assert_eq!(hi, full);
    }
    // Growth until the cap.
    assert_eq!(p.backoff(1, 1.0), Duration::from_secs(1));
    assert_eq!(p.backoff(2, 1.0), Duration::from_secs(2));
    assert_eq!(p.backoff(6, 1.0), Duration::from_secs(32));
    assert_eq!(p.backoff(7, 1.0), Duration::from_secs(60));
    assert_eq!(p.backoff(u32::MAX, 1.0), Duration::from_secs(60));
    // Out-of-range jitter is clamped, NaN is the middle.
    assert_eq!(p.backoff(3, -4.0), p.backoff(3, 0.0));
    assert_eq!(p.backoff(3, 9.0), p.backoff(3, 1.0));
    assert_eq!(p.backoff(3, f64::NAN), p.backoff(3, 0.5));
    // Attempt 0 (never happens) behaves like the first.
    assert_eq!(p.backoff(0, 1.0), Duration::from_secs(1));
}

#[test]
fn retry_after_is_honoured_and_capped() {
    let p = policy();
    for attempt in [1u32, 5, 30] {
        for j in [0.0, 0.5, 1.0] {
            let (d, _) = delay(p.decide(attempt, &resp(429, Some(30)), now(), j));
            assert!(d >= Duration::from_secs(30), "{d:?}");
            assert!(d <= Duration::from_secs(31), "{d:?}");
        }
    }
    // A hostile Retry-After of a year is cut to max_retry_after (+ jitter).
    let (d, _) = delay(p.decide(1, &resp(429, Some(365 * 86400)), now(), 0.0));
    assert_eq!(d, Duration::from_secs(600));
    // Retry-After: 0 still waits a little jitter at most one base.
    let (d, _) = delay(p.decide(1, &resp(429, Some(0)), now(), 1.0));
    assert_eq!(d, Duration::from_secs(1));
}

#[test]
fn attempt_budget_sends_to_dead() {
    let p = RetryPolicy {
        max_attempts: Some(3),
        ..policy()
    };
    assert!(matches!(
        p.decide(2, &resp(503, None), now(), 0.5),
        Decision::Retry { .. }
    ));
    assert_eq!(p.decide(3, &resp(503, None), now(), 0.5), Decision::Dead);
    assert_eq!(
        p.decide(
            3,
            &DeliveryOutcome::Timeout {
                message: String::new()
            },
            now(),
            0.5
        ),
        Decision::Dead
    );
    // Success is success even on the last attempt.
    assert_eq!(
        p.decide(3, &resp(200, None), now(), 0.5),
        Decision::Delivered
    );
}

#[test]
fn far_future_saturates() {
    let p = RetryPolicy {
        cap: Duration::MAX,
        max_retry_after: Duration::MAX,
        ..policy()
    };
    let d = p.decide(200, &resp(503, None), Timestamp::MAX, 1.0);
    assert_eq!(
        d,
        Decision::Retry {
            at: Timestamp::MAX,
            uncertain: false
        }
    );
}
