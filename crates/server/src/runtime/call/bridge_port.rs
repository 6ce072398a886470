//! The bridge port of a call: takes the agent's answered leg, relays RTP both ways
//! between it and the caller's leg, and takes it down (with a BYE to the agent when the
//! caller's side ends it). Each bridge's packet counters go into the process-wide totals
//! when it ends, and into the call's record (summed over its bridges).

use super::super::bridge::{self, Relay, Source};
use super::super::bridge_metrics::{self, BridgeCounters};
use super::super::msg::Msg;
use super::super::rtp_metrics::Leg;
use super::super::rtp_socket::{RtpSocket, SocketDrops};
use super::media::{media_codec, MediaPort};
use super::shared::Shared;
use ringdesk_store::BridgeMedia;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The agent side of a call.
#[derive(Default)]
pub(super) struct BridgePort {
    /// The queue reported this leg answered; the session has not bridged it yet.
    answered: Option<u64>,
    up: Option<Up>,
    /// What the call's bridges that ended did with its RTP (for the record).
    media: Option<BridgeMedia>,
}

/// A bridge in place.
struct Up {
    handle: super::super::agents::LegHandle,
    relay: tokio::task::JoinHandle<()>,
    counts: Arc<BridgeCounters>,
    agent_socket: Arc<RtpSocket>,
    /// What the caller's socket had dropped when the bridge started.
    caller_drops: SocketDrops,
}

impl BridgePort {
    /// The queue says the agent on `leg` answered.
    pub fn answered(&mut self, leg: u64) {
        self.answered = Some(leg);
    }

    /// Connects the caller's media to the answered agent leg, both ways.
    pub fn start(
        &mut self,
        shared: &Shared,
        caller: &MediaPort,
        tx: &mpsc::UnboundedSender<Msg>,
        agent: &str,
    ) -> anyhow::Result<()> {
        let leg = self
            .answered
            .take()
            .ok_or_else(|| anyhow::anyhow!("no answered leg for agent {agent}"))?;
        let answered = shared
            .dialer
            .take_answered(leg, tx.clone())
            .ok_or_else(|| anyhow::anyhow!("agent leg {leg} is not answered"))?;
        let agent_socket = RtpSocket::new(answered.socket, Leg::Agent)
            .and_then(|s| s.secure(answered.media.srtp.as_ref()).map(|()| s));
        let agent_socket = match agent_socket {
            Ok(s) => Arc::new(s),
            Err(e) => {
                tokio::spawn(answered.handle.hangup());
                return Err(e.into());
            }
        };
        let m = &answered.media;
        let agent_codec = media_codec(m.codec);
        let counts = Arc::new(BridgeCounters::default());
        let caller_drops = caller.socket.drops();
        caller.bridge_to.set(Some(Arc::new(Relay {
            socket: agent_socket.clone(),
            dest: m.remote_addr,
            codec: agent_codec,
            payload_type: m.payload_type,
            telephone_event_pt: m.telephone_event_pt,
            counts: counts.clone(),
        })));
        let (codec, payload_type, telephone_event_pt) = caller.caller_media;
        let relay = tokio::spawn(bridge::agent_to_caller(
            agent_socket.clone(),
            Source {
                codec: agent_codec,
                telephone_event_pt: m.telephone_event_pt,
            },
            m.remote_addr,
            caller.bridge_to.clone(),
            Relay {
                socket: caller.socket.clone(),
                // Replaced at each packet by where the caller's RTP goes then.
                dest: (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
                codec,
                payload_type,
                telephone_event_pt,
                counts: counts.clone(),
            },
            caller.dest.clone(),
        ));
        self.up = Some(Up {
            handle: answered.handle,
            relay,
            counts,
            agent_socket,
            caller_drops,
        });
        Ok(())
    }

    /// Takes the bridge down; `hang_up_agent`: the agent's leg gets a BYE (an answered
    /// leg that was never bridged too).
    pub fn end(&mut self, shared: &Shared, caller: &MediaPort, hang_up_agent: bool) {
        let handle = if let Some(up) = self.up.take() {
            up.relay.abort();
            caller.bridge_to.set(None);
            let m = up.counts.snapshot(
                caller.socket.drops().since(up.caller_drops),
                up.agent_socket.drops(),
            );
            bridge_metrics::bridge_ended(&m);
            self.media = Some(self.media.map_or(m, |before| before.plus(m)));
            Some(up.handle)
        } else {
            let leg = self.answered.take();
            leg.and_then(|leg| {
                let (tx, _) = mpsc::unbounded_channel();
                shared.dialer.take_answered(leg, tx).map(|a| a.handle)
            })
        };
        if let (Some(handle), true) = (handle, hang_up_agent) {
            tokio::spawn(handle.hangup());
        }
    }

    /// What the call's bridges did with its RTP, once they are down (`None`: never
    /// bridged).
    pub fn media(&self) -> Option<BridgeMedia> {
        self.media
    }
}
