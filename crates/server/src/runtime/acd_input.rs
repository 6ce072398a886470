//! The routing core's inputs as the shared queue's log carries them (decision 0019): what
//! a node appends, and what every node applies to its copy of the core in the log's order.
//! Also the clock that turns a row's time (the database's, in Unix milliseconds) into the
//! `Instant` the core takes, the same way for every row of a run.

use ringdesk_acd::{AvailabilityCheck as Check, Party, RequestedState};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// An agent's UDP contact, registered with the node that appended it: what another node
/// needs to ring the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRef {
    pub uri: String,
    pub source: SocketAddr,
    /// The proxy route it registered through (RFC 3327 Path, top first); absent when it
    /// registered with the node directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
}

/// How an offer ended, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferEnd {
    Answered,
    Rejected,
    Failed,
}

/// One input of the routing core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Input {
    /// A call asks for a queue; the node that appended it holds the call's media.
    Enqueue {
        call: String,
        queue: String,
        priority: u8,
        check: Check,
        skills: Vec<String>,
    },
    /// The call left (caller hung up, or the bridged call ended).
    Left { call: String, by: Party },
    /// The agent is reachable through the node that appended it (a SIP registration, with
    /// its contact, or a desktop page's phone).
    Registered {
        agent: String,
        contact: Option<ContactRef>,
    },
    /// The agent is no longer reachable through the node that appended it.
    Unregistered { agent: String },
    /// An agent or supervisor asked for a state; `req` pairs the answer with the asker.
    SetState {
        agent: String,
        /// `None`: available; `Some(reason)`: not ready.
        not_ready: Option<String>,
        req: u64,
    },
    /// How the offer of `call` to `agent` ended.
    OfferResult {
        call: String,
        agent: String,
        result: OfferEnd,
    },
    /// A timer of the core is due (any node may say so; a tick with nothing due is no-op).
    Tick,
    /// The node stopped (its lease ran out, or it started again): its calls end, the agents
    /// reachable only through it are logged out.
    NodeGone { node: String },
}

impl Input {
    pub fn requested(not_ready: &Option<String>) -> RequestedState {
        match not_ready {
            None => RequestedState::Available,
            Some(reason) => RequestedState::NotReady {
                reason: reason.clone(),
            },
        }
    }
}

/// Turns the log's times (Unix milliseconds on the database's clock) into `Instant`s: the
/// row appended `d` after the base maps to `d` after the base's `Instant`. Rows older than
/// the machine's monotonic clock can express map to the earliest it can.
#[derive(Debug, Clone, Copy)]
pub struct LogClock {
    base: Instant,
    base_ms: i64,
}

impl LogClock {
    /// `db_now_ms` read at `now`.
    pub fn new(now: Instant, db_now_ms: i64) -> LogClock {
        LogClock {
            base: now,
            base_ms: db_now_ms,
        }
    }

    /// The database's time this clock started at (rows at or after it were appended
    /// during this run).
    pub fn base_ms(&self) -> i64 {
        self.base_ms
    }

    /// The `Instant` of a row's `at_ms`.
    pub fn at(&self, at_ms: i64) -> Instant {
        let delta = Duration::from_millis(at_ms.abs_diff(self.base_ms));
        if at_ms >= self.base_ms {
            self.base.checked_add(delta).unwrap_or(self.base)
        } else {
            let mut back = delta;
            // The monotonic clock starts at boot: halve until it can go back that far.
            loop {
                if let Some(t) = self.base.checked_sub(back) {
                    return t;
                }
                if back.is_zero() {
                    return self.base;
                }
                back /= 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_read_back_as_written() {
        let inputs = [
            Input::Enqueue {
                call: "c1".into(),
                queue: "support".into(),
                priority: 9,
                check: Check::LoggedIn,
                skills: vec!["pt".into()],
            },
            Input::Registered {
                agent: "ann".into(),
                contact: Some(ContactRef {
                    uri: "sip:ann@127.0.0.1:5070".into(),
                    source: "127.0.0.1:5070".parse().unwrap(),
                    path: vec!["sip:10.0.0.5;lr;received=sip%3A127.0.0.1%3A5070".into()],
                }),
            },
            Input::Registered {
                agent: "bo".into(),
                contact: Some(ContactRef {
                    uri: "sip:bo@127.0.0.1:5072".into(),
                    source: "127.0.0.1:5072".parse().unwrap(),
                    path: Vec::new(),
                }),
            },
            Input::SetState {
                agent: "ann".into(),
                not_ready: Some("lunch".into()),
                req: 7,
            },
            Input::Tick,
            Input::NodeGone {
                node: "b:5060".into(),
            },
        ];
        for input in inputs {
            let text = serde_json::to_string(&input).unwrap();
            assert_eq!(
                serde_json::from_str::<Input>(&text).unwrap(),
                input,
                "{text}"
            );
        }
        // The store writes `node_gone` itself: the two must agree.
        let gone: Input = serde_json::from_str(&ringdesk_store::node_gone_body("a:1")).unwrap();
        assert_eq!(gone, Input::NodeGone { node: "a:1".into() });
        // The wire names of who ended a call and of the queue's check are the log's
        // format: rows written by earlier versions read the same.
        let left: Input =
            serde_json::from_str(r#"{"kind":"left","call":"c1","by":"caller"}"#).unwrap();
        assert_eq!(
            left,
            Input::Left {
                call: "c1".into(),
                by: Party::Caller
            }
        );
        let enqueue: Input = serde_json::from_str(
            r#"{"kind":"enqueue","call":"c1","queue":"q","priority":5,"check":"logged_in","skills":[]}"#,
        )
        .unwrap();
        assert!(matches!(
            enqueue,
            Input::Enqueue {
                check: Check::LoggedIn,
                ..
            }
        ));
        // A contact logged before Path existed reads as one without a route.
        let old: Input = serde_json::from_str(
            r#"{"kind":"registered","agent":"bo","contact":{"uri":"sip:bo@127.0.0.1:5072","source":"127.0.0.1:5072"}}"#,
        )
        .unwrap();
        assert!(matches!(old, Input::Registered { contact: Some(c), .. } if c.path.is_empty()));
        // Unknown kinds are refused, not guessed.
        assert!(serde_json::from_str::<Input>(r#"{"kind":"reboot"}"#).is_err());
    }

    #[test]
    fn the_log_clock_keeps_the_rows_distances() {
        let now = Instant::now();
        let clock = LogClock::new(now, 1_000_000);
        assert_eq!(clock.at(1_000_000), now);
        assert_eq!(clock.at(1_000_250), now + Duration::from_millis(250));
        assert_eq!(clock.at(1_000_000 - 40), now - Duration::from_millis(40));
        // Far before boot: no panic, not after the base.
        assert!(clock.at(i64::MIN / 2) <= now);
    }
}
