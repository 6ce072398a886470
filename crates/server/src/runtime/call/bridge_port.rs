//! The bridge port of a call: takes the agent's answered leg, relays RTP both ways
//! between it and the caller's leg, and takes it down (with a BYE to the agent when the
//! caller's side ends it).

use super::super::bridge::{self, Relay, Source};
use super::super::msg::Msg;
use super::super::rtp_metrics::Leg;
use super::super::rtp_socket::RtpSocket;
use super::media::{media_codec, MediaPort};
use super::shared::Shared;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The agent side of a call.
#[derive(Default)]
pub(super) struct BridgePort {
    /// The queue reported this leg answered; the session has not bridged it yet.
    answered: Option<u64>,
    up: Option<Up>,
}

/// A bridge in place.
struct Up {
    handle: super::super::agents::LegHandle,
    relay: tokio::task::JoinHandle<()>,
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
        caller.bridge_to.set(Some(Arc::new(Relay {
            socket: agent_socket.clone(),
            dest: m.remote_addr,
            codec: agent_codec,
            payload_type: m.payload_type,
            telephone_event_pt: m.telephone_event_pt,
        })));
        let relay = tokio::spawn(bridge::agent_to_caller(
            agent_socket,
            Source {
                codec: agent_codec,
                telephone_event_pt: m.telephone_event_pt,
            },
            m.remote_addr,
            caller.bridge_to.clone(),
            caller.socket.clone(),
            caller.dest.clone(),
            caller.caller_media,
        ));
        self.up = Some(Up {
            handle: answered.handle,
            relay,
        });
        Ok(())
    }

    /// Takes the bridge down; `hang_up_agent`: the agent's leg gets a BYE (an answered
    /// leg that was never bridged too).
    pub fn end(&mut self, shared: &Shared, caller: &MediaPort, hang_up_agent: bool) {
        let handle = if let Some(up) = self.up.take() {
            up.relay.abort();
            caller.bridge_to.set(None);
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
}
