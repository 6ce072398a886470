//! The bridge's packet counters: for each bridged call and direction (caller to agent,
//! agent to caller), every datagram that arrived on the source leg and what became of it,
//! relayed or dropped and why; and the process-wide totals for `/metrics`.
//!
//! Each direction is counted by the one task that receives it (the caller's receive task
//! in `rtp_rx.rs`, the agent leg's relay task in `bridge.rs`), in Relaxed atomics of a
//! struct the call allocates once per bridge: no lock and no allocation per packet, and
//! the two directions on cache lines of their own. What a socket drops before anyone sees
//! the packet (failed SRTP, too long: `RtpSocket::drops`) is added when the bridge ends.
//! A bridge's counts go into the totals when it ends (nothing shared by all calls is
//! written per packet) and into the call's interaction record (`ringdesk_store::BridgeMedia`).

use super::rtp_socket::SocketDrops;
use ringdesk_store::{BridgeMedia, PacketCounts};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// What became of one received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sent on to the other leg.
    Relayed,
    /// From a source other than the one the leg is locked on (strict RTP).
    UnknownSource,
    /// From a source still proving itself at the start of the leg (strict RTP).
    Learning,
    /// Not RTP, too long, or a damaged RFC 4733 event.
    Malformed,
    /// A payload type the leg did not negotiate.
    NotNegotiated,
    /// An RFC 4733 event, and the other leg accepts none.
    EventRefused,
    /// The other leg's media address is not known.
    NoDestination,
    /// Failed SRTP authentication (counted by the socket).
    SrtpFailed,
    /// The socket refused the send (buffer full, unreachable...).
    SendFailed,
}

/// How many outcomes there are.
const OUTCOMES: usize = 9;

impl Outcome {
    /// Every outcome, in the order `/metrics` lists them.
    pub const ALL: [Outcome; OUTCOMES] = [
        Outcome::Relayed,
        Outcome::UnknownSource,
        Outcome::Learning,
        Outcome::Malformed,
        Outcome::NotNegotiated,
        Outcome::EventRefused,
        Outcome::NoDestination,
        Outcome::SrtpFailed,
        Outcome::SendFailed,
    ];

    /// The name in `/metrics` and in the record.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Relayed => "relayed",
            Outcome::UnknownSource => "unknown_source",
            Outcome::Learning => "learning",
            Outcome::Malformed => "malformed",
            Outcome::NotNegotiated => "not_negotiated",
            Outcome::EventRefused => "event_refused",
            Outcome::NoDestination => "no_destination",
            Outcome::SrtpFailed => "srtp_failed",
            Outcome::SendFailed => "send_failed",
        }
    }

    /// This outcome's field of the record's counts.
    fn field(self, c: &mut PacketCounts) -> &mut u64 {
        match self {
            Outcome::Relayed => &mut c.relayed,
            Outcome::UnknownSource => &mut c.unknown_source,
            Outcome::Learning => &mut c.learning,
            Outcome::Malformed => &mut c.malformed,
            Outcome::NotNegotiated => &mut c.not_negotiated,
            Outcome::EventRefused => &mut c.event_refused,
            Outcome::NoDestination => &mut c.no_destination,
            Outcome::SrtpFailed => &mut c.srtp_failed,
            Outcome::SendFailed => &mut c.send_failed,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One direction's counters. Aligned so that the two directions of a call, bumped by
/// tasks that may run on different cores, never share a cache line.
#[derive(Debug)]
#[repr(align(128))]
pub struct Direction {
    received: AtomicU64,
    outcomes: [AtomicU64; OUTCOMES],
}

impl Default for Direction {
    fn default() -> Self {
        Direction::new()
    }
}

impl Direction {
    const fn new() -> Direction {
        Direction {
            received: AtomicU64::new(0),
            outcomes: [const { AtomicU64::new(0) }; OUTCOMES],
        }
    }

    /// One datagram arrived and met `outcome`.
    pub fn count(&self, outcome: Outcome) {
        self.received.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.outcomes.get(outcome.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts so far.
    pub fn snapshot(&self) -> PacketCounts {
        let mut c = PacketCounts {
            received: self.received.load(Ordering::Relaxed),
            ..PacketCounts::default()
        };
        for o in Outcome::ALL {
            if let Some(n) = self.outcomes.get(o.index()) {
                *o.field(&mut c) = n.load(Ordering::Relaxed);
            }
        }
        c
    }

    /// Adds `c` (a finished bridge's counts) to these.
    fn add(&self, c: &PacketCounts) {
        let mut c = *c;
        self.received.fetch_add(c.received, Ordering::Relaxed);
        for o in Outcome::ALL {
            if let Some(n) = self.outcomes.get(o.index()) {
                n.fetch_add(*o.field(&mut c), Ordering::Relaxed);
            }
        }
    }
}

/// A bridged call's counters, one direction per receiving task.
#[derive(Debug, Default)]
pub struct BridgeCounters {
    /// Counted by the caller's receive task.
    pub caller_to_agent: Direction,
    /// Counted by the agent leg's relay task.
    pub agent_to_caller: Direction,
}

impl BridgeCounters {
    /// The counts so far, with what each leg's socket dropped before anyone saw it
    /// (`caller`, `agent`: [`SocketDrops`] over the bridge's time).
    pub fn snapshot(&self, caller: SocketDrops, agent: SocketDrops) -> BridgeMedia {
        BridgeMedia {
            caller_to_agent: with_socket_drops(self.caller_to_agent.snapshot(), caller),
            agent_to_caller: with_socket_drops(self.agent_to_caller.snapshot(), agent),
        }
    }
}

/// `c` with the datagrams its socket dropped: received, and failed SRTP or malformed.
fn with_socket_drops(mut c: PacketCounts, d: SocketDrops) -> PacketCounts {
    let dropped = d.srtp_failed.saturating_add(d.too_long);
    c.received = c.received.saturating_add(dropped);
    c.srtp_failed = c.srtp_failed.saturating_add(d.srtp_failed);
    c.malformed = c.malformed.saturating_add(d.too_long);
    c
}

/// Process-wide totals of the bridges that ended: caller to agent, agent to caller.
static TOTALS: [Direction; 2] = [Direction::new(), Direction::new()];

/// A bridge ended with `m`: its counts go into the process-wide totals.
pub fn bridge_ended(m: &BridgeMedia) {
    let [to_agent, to_caller] = &TOTALS;
    to_agent.add(&m.caller_to_agent);
    to_caller.add(&m.agent_to_caller);
}

/// The process-wide totals of the bridges that ended since the start.
pub fn totals() -> BridgeMedia {
    let [to_agent, to_caller] = &TOTALS;
    BridgeMedia {
        caller_to_agent: to_agent.snapshot(),
        agent_to_caller: to_caller.snapshot(),
    }
}

/// Appends the totals in the Prometheus text format.
pub fn render(out: &mut String) {
    let t = totals();
    let directions = [
        ("caller_to_agent", t.caller_to_agent),
        ("agent_to_caller", t.agent_to_caller),
    ];
    out.push_str(
        "# HELP ringdesk_bridge_packets_received_total RTP datagrams that arrived on a bridged call's leg, by direction; added when each bridge ends.\n# TYPE ringdesk_bridge_packets_received_total counter\n",
    );
    for (name, c) in &directions {
        let _ = writeln!(
            out,
            "ringdesk_bridge_packets_received_total{{direction=\"{name}\"}} {}",
            c.received
        );
    }
    out.push_str(
        "# HELP ringdesk_bridge_packets_total What became of the RTP datagrams of bridged calls, by direction: relayed, or dropped and why (unknown_source, learning, malformed, not_negotiated, event_refused, no_destination, srtp_failed, send_failed); the outcomes of a direction add up to its received total. Added when each bridge ends.\n# TYPE ringdesk_bridge_packets_total counter\n",
    );
    for (name, c) in &directions {
        let mut c = *c;
        for o in Outcome::ALL {
            let _ = writeln!(
                out,
                "ringdesk_bridge_packets_total{{direction=\"{name}\",outcome=\"{}\"}} {}",
                o.name(),
                *o.field(&mut c)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_packet_is_received_once_and_meets_one_outcome() {
        let b = BridgeCounters::default();
        for _ in 0..3 {
            b.caller_to_agent.count(Outcome::Relayed);
        }
        b.caller_to_agent.count(Outcome::UnknownSource);
        b.agent_to_caller.count(Outcome::SendFailed);
        let m = b.snapshot(
            SocketDrops::default(),
            SocketDrops {
                srtp_failed: 2,
                too_long: 1,
            },
        );
        let c = m.caller_to_agent;
        assert_eq!((c.received, c.relayed, c.unknown_source), (4, 3, 1));
        assert_eq!(c.dropped(), 1);
        let a = m.agent_to_caller;
        assert_eq!(
            (
                a.received,
                a.relayed,
                a.send_failed,
                a.srtp_failed,
                a.malformed
            ),
            (4, 0, 1, 2, 1)
        );
        assert_eq!(a.received, a.relayed + a.dropped());
    }

    #[test]
    fn every_outcome_has_its_own_field_and_name() {
        let d = Direction::default();
        for o in Outcome::ALL {
            d.count(o);
        }
        let c = d.snapshot();
        assert_eq!(c.received, OUTCOMES as u64);
        assert_eq!(c.relayed + c.dropped(), c.received, "{c:?}");
        let mut names: Vec<_> = Outcome::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OUTCOMES);
        // The record's JSON names its fields as /metrics names the outcomes.
        let json = serde_json::to_value(c).unwrap();
        for o in Outcome::ALL {
            assert_eq!(json[o.name()], 1, "{}", o.name());
        }
    }

    #[test]
    fn an_ended_bridge_adds_to_the_totals_and_shows_in_the_metrics() {
        let before = totals();
        let b = BridgeCounters::default();
        b.caller_to_agent.count(Outcome::Relayed);
        b.caller_to_agent.count(Outcome::UnknownSource);
        b.agent_to_caller.count(Outcome::Relayed);
        bridge_ended(&b.snapshot(SocketDrops::default(), SocketDrops::default()));
        let after = totals();
        // Other tests of this process may end bridges meanwhile: at least ours.
        assert!(after.caller_to_agent.received >= before.caller_to_agent.received + 2);
        assert!(after.caller_to_agent.unknown_source > before.caller_to_agent.unknown_source);
        assert!(after.agent_to_caller.relayed > before.agent_to_caller.relayed);
        let mut out = String::new();
        render(&mut out);
        assert!(out.contains(
            "ringdesk_bridge_packets_total{direction=\"caller_to_agent\",outcome=\"unknown_source\"} "
        ));
        assert!(
            out.contains("ringdesk_bridge_packets_received_total{direction=\"agent_to_caller\"} ")
        );
        assert_eq!(
            out.lines()
                .filter(|l| l.starts_with("ringdesk_bridge_packets_total{"))
                .count(),
            2 * OUTCOMES
        );
    }
}
