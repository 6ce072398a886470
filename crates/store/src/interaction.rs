//! The interaction record: what happened on one call, answered or not, and how to filter them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One call, as recorded when it ends (or provisionally earlier: recording again replaces it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Unique call id (the primary key).
    pub call_id: String,
    /// Caller id as received.
    pub ani: String,
    /// Called number.
    pub dnis: String,
    /// Helpdesk (Zendesk) user the caller was matched to.
    pub user_id: Option<String>,
    /// Helpdesk ticket the call was about.
    pub ticket_id: Option<String>,
    /// Language the flow spoke (BCP 47).
    pub language: Option<String>,
    /// Keys pressed in menus and the nodes they led to, in order.
    pub menu_path: Vec<MenuStep>,
    /// Queue the call was placed in.
    pub queue: Option<String>,
    /// Queue priority, 1 (highest) to 10.
    pub priority: Option<u8>,
    /// When the INVITE arrived.
    pub arrived_at: Timestamp,
    /// When ringdesk answered the caller.
    pub answered_at: Option<Timestamp>,
    /// When the call entered a queue.
    pub queued_at: Option<Timestamp>,
    /// When it was first offered to an agent.
    pub offered_at: Option<Timestamp>,
    /// When an agent answered.
    pub agent_answered_at: Option<Timestamp>,
    /// When the call ended.
    pub ended_at: Option<Timestamp>,
    /// Seconds spent waiting in queue; derived from the times when `None` at record time.
    pub wait_seconds: Option<f64>,
    /// Seconds talking to an agent; derived from the times when `None` at record time.
    pub talk_seconds: Option<f64>,
    /// Agent who answered.
    pub agent_id: Option<String>,
    /// That agent's display name.
    pub agent_name: Option<String>,
    /// Who or what ended the call.
    pub end_reason: Option<EndReason>,
    /// Free text about the end (SIP reason, error summary).
    pub end_detail: Option<String>,
    /// Flow errors met during the call.
    pub flow_errors: Vec<FlowErrorRecord>,
    /// What the bridge did with the call's RTP, per direction (`None`: never bridged).
    /// A call bridged more than once (an agent left, the flow queued it again) adds up.
    #[serde(default)]
    pub media: Option<BridgeMedia>,
}

impl Interaction {
    /// A record with only the mandatory fields set.
    pub fn new(
        call_id: impl Into<String>,
        ani: impl Into<String>,
        dnis: impl Into<String>,
        arrived_at: Timestamp,
    ) -> Self {
        Interaction {
            call_id: call_id.into(),
            ani: ani.into(),
            dnis: dnis.into(),
            user_id: None,
            ticket_id: None,
            language: None,
            menu_path: Vec::new(),
            queue: None,
            priority: None,
            arrived_at,
            answered_at: None,
            queued_at: None,
            offered_at: None,
            agent_answered_at: None,
            ended_at: None,
            wait_seconds: None,
            talk_seconds: None,
            agent_id: None,
            agent_name: None,
            end_reason: None,
            end_detail: None,
            flow_errors: Vec::new(),
            media: None,
        }
    }

    /// Wait time: from queued to agent answer (or to the end when no agent answered).
    pub fn derived_wait_seconds(&self) -> Option<f64> {
        let start = self.queued_at?;
        let stop = self.agent_answered_at.or(self.ended_at)?;
        Some(seconds_between(start, stop))
    }

    /// Talk time: from agent answer to the end.
    pub fn derived_talk_seconds(&self) -> Option<f64> {
        Some(seconds_between(self.agent_answered_at?, self.ended_at?))
    }
}

fn seconds_between(a: Timestamp, b: Timestamp) -> f64 {
    let ms = b.as_millisecond().saturating_sub(a.as_millisecond()).max(0);
    ms as f64 / 1000.0
}

/// One menu choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuStep {
    /// The key pressed (`0`-`9`, `*`, `#`), or `timeout` / `invalid`.
    pub key: String,
    /// The node it led to.
    pub node: String,
}

/// The RTP packets of a bridged call, each direction counted where it arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeMedia {
    /// Arrived on the caller's leg while bridged, for the agent.
    #[serde(default)]
    pub caller_to_agent: PacketCounts,
    /// Arrived on the agent's leg, for the caller.
    #[serde(default)]
    pub agent_to_caller: PacketCounts,
}

impl BridgeMedia {
    /// Both directions of `self` and `other` added (saturating).
    pub fn plus(self, other: BridgeMedia) -> BridgeMedia {
        BridgeMedia {
            caller_to_agent: self.caller_to_agent.plus(other.caller_to_agent),
            agent_to_caller: self.agent_to_caller.plus(other.agent_to_caller),
        }
    }
}

/// One direction of a bridge: every packet received is relayed or dropped for one
/// reason, so `received` is `relayed` plus the drops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PacketCounts {
    /// Datagrams read from the leg's socket.
    pub received: u64,
    /// Sent on to the other leg.
    pub relayed: u64,
    /// Dropped: from a source other than the one the leg is locked on (strict RTP).
    pub unknown_source: u64,
    /// Dropped: from a source still proving itself at the start of the leg (strict RTP).
    pub learning: u64,
    /// Dropped: not RTP, longer than the largest datagram read, or a damaged RFC 4733
    /// event.
    pub malformed: u64,
    /// Dropped: a payload type the leg did not negotiate (comfort noise, another codec).
    pub not_negotiated: u64,
    /// Dropped: an RFC 4733 event, and the other leg accepts none.
    pub event_refused: u64,
    /// Dropped: the other leg's media address is not known.
    pub no_destination: u64,
    /// Dropped: failed SRTP authentication (forged, replayed, damaged or plain).
    pub srtp_failed: u64,
    /// Dropped: the socket refused the send (buffer full: EAGAIN/ENOBUFS, unreachable).
    pub send_failed: u64,
}

impl PacketCounts {
    /// Every field of `self` and `other` added (saturating).
    pub fn plus(self, o: PacketCounts) -> PacketCounts {
        PacketCounts {
            received: self.received.saturating_add(o.received),
            relayed: self.relayed.saturating_add(o.relayed),
            unknown_source: self.unknown_source.saturating_add(o.unknown_source),
            learning: self.learning.saturating_add(o.learning),
            malformed: self.malformed.saturating_add(o.malformed),
            not_negotiated: self.not_negotiated.saturating_add(o.not_negotiated),
            event_refused: self.event_refused.saturating_add(o.event_refused),
            no_destination: self.no_destination.saturating_add(o.no_destination),
            srtp_failed: self.srtp_failed.saturating_add(o.srtp_failed),
            send_failed: self.send_failed.saturating_add(o.send_failed),
        }
    }

    /// Packets dropped, for any reason.
    pub fn dropped(&self) -> u64 {
        [
            self.unknown_source,
            self.learning,
            self.malformed,
            self.not_negotiated,
            self.event_refused,
            self.no_destination,
            self.srtp_failed,
            self.send_failed,
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }
}

/// A flow error met during the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowErrorRecord {
    pub node: String,
    pub message: String,
}

/// Who or what ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The caller hung up.
    Caller,
    /// The agent hung up.
    Agent,
    /// The flow disconnected the call.
    Flow,
    /// No agent was logged in or available.
    NoAgent,
    /// The caller waited the queue's maximum time.
    MaxWait,
    /// An error ended the call.
    Error,
}

impl EndReason {
    /// All reasons, for CLI help and parsing.
    pub const ALL: [EndReason; 6] = [
        EndReason::Caller,
        EndReason::Agent,
        EndReason::Flow,
        EndReason::NoAgent,
        EndReason::MaxWait,
        EndReason::Error,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Caller => "caller",
            EndReason::Agent => "agent",
            EndReason::Flow => "flow",
            EndReason::NoAgent => "no_agent",
            EndReason::MaxWait => "max_wait",
            EndReason::Error => "error",
        }
    }

    /// Parses [`EndReason::as_str`] output.
    pub fn parse(s: &str) -> Option<EndReason> {
        EndReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Which interactions to list. Empty filter = the most recent ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InteractionFilter {
    /// Arrived at or after.
    pub since: Option<Timestamp>,
    /// Arrived before.
    pub until: Option<Timestamp>,
    /// Exact caller id.
    pub ani: Option<String>,
    /// Exact ticket id.
    pub ticket_id: Option<String>,
    /// How the call ended.
    pub end_reason: Option<EndReason>,
    /// At most this many rows (default 100, capped at [`InteractionFilter::MAX_LIMIT`]).
    pub limit: Option<u32>,
    /// Skip this many rows (newest first).
    pub offset: Option<u32>,
}

impl InteractionFilter {
    /// Default page size.
    pub const DEFAULT_LIMIT: u32 = 100;
    /// Largest page size.
    pub const MAX_LIMIT: u32 = 1000;

    /// The page size actually used.
    pub fn effective_limit(&self) -> u32 {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .clamp(1, Self::MAX_LIMIT)
    }
}
