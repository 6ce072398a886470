//! Agent legs: rings a registered agent's softphone for a queued call (SIP INVITE with
//! screen-pop headers), or their browser phone when their desktop page has it on
//! ([`Phones`]), tracks each leg until it is answered, refused or cancelled, and keeps
//! what the bridge needs (the leg's RTP socket and the agent's media).

use super::acd::{AcdHandle, Dialer, OfferResult, Ring};
use super::acd_input::ContactRef;
use super::desk::DeskHub;
use super::phone::Phones;
use ringdesk_sip::{
    AgentMedia, LegId, OutboundCall, OutboundHandle, RemoteContact, SipEvent, SipServer,
    SrtpPolicy, Transport,
};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};

/// An answered agent leg, ready to bridge.
pub struct AnsweredLeg {
    pub socket: std::net::UdpSocket,
    pub media: AgentMedia,
    pub handle: LegHandle,
}

/// How to end an agent leg from our side.
#[derive(Clone)]
pub enum LegHandle {
    Sip(OutboundHandle),
    Browser { leg: u64, phones: Arc<Phones> },
}

impl LegHandle {
    /// Ends the leg: a BYE to a SIP phone, the end of a browser leg.
    pub async fn hangup(self) {
        match self {
            LegHandle::Sip(h) => {
                let _ = h.hangup().await;
            }
            LegHandle::Browser { leg, phones } => phones.end(leg),
        }
    }
}

struct Leg {
    call: String,
    agent: String,
    handle: OutboundHandle,
    socket: Option<std::net::UdpSocket>,
    media: Option<AgentMedia>,
}

/// The SIP dialer: implements the queue's [`Dialer`] with outbound INVITEs.
pub struct SipDialer {
    /// Set once the SIP server is bound (the dialer is built before it).
    sip: OnceLock<Arc<SipServer>>,
    rtp_ip: IpAddr,
    legs: Mutex<HashMap<u64, Leg>>,
    /// Each call's screen pop (shared with the agent desktop).
    desk: Arc<DeskHub>,
    /// Bridged calls' agent hang-ups go to the call task.
    hangups: Mutex<HashMap<u64, tokio::sync::mpsc::UnboundedSender<super::msg::Msg>>>,
    /// Each agent's SRTP policy (`[[agents]] srtp`), and the one for agents not listed.
    srtp: OnceLock<(HashMap<String, SrtpPolicy>, SrtpPolicy)>,
    /// Agents' browser phones: ring there when the page has its phone on.
    phones: Arc<Phones>,
}

/// A browser leg as the bridge sees it: PCMU from and to the relay's loopback socket,
/// no telephone events, no SRTP of its own (the relay does DTLS-SRTP with the browser).
fn browser_media(remote_addr: SocketAddr) -> AgentMedia {
    AgentMedia {
        remote_addr,
        codec: ringdesk_sip::Codec::Pcmu,
        payload_type: 0,
        telephone_event_pt: None,
        direction: ringdesk_sip::Direction::SendRecv,
        srtp: None,
    }
}

fn header_value(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

impl SipDialer {
    pub fn new(rtp_ip: IpAddr, desk: Arc<DeskHub>, phones: Arc<Phones>) -> Arc<SipDialer> {
        Arc::new(SipDialer {
            sip: OnceLock::new(),
            rtp_ip,
            legs: Mutex::new(HashMap::new()),
            desk,
            hangups: Mutex::new(HashMap::new()),
            srtp: OnceLock::new(),
            phones,
        })
    }

    /// The agents' browser phones.
    pub fn phones(&self) -> &Arc<Phones> {
        &self.phones
    }

    /// Sets each agent's SRTP policy and the default (once, at start).
    pub fn set_srtp(&self, agents: HashMap<String, SrtpPolicy>, default: SrtpPolicy) {
        let _ = self.srtp.set((agents, default));
    }

    fn srtp_of(&self, agent: &str) -> SrtpPolicy {
        self.srtp
            .get()
            .map_or(SrtpPolicy::default(), |(agents, default)| {
                agents.get(agent).copied().unwrap_or(*default)
            })
    }

    pub fn set_server(&self, sip: Arc<SipServer>) {
        let _ = self.sip.set(sip);
    }

    /// Takes an answered leg for bridging; `tx` then hears the agent's hang-up.
    pub fn take_answered(
        &self,
        leg: u64,
        tx: tokio::sync::mpsc::UnboundedSender<super::msg::Msg>,
    ) -> Option<AnsweredLeg> {
        if Phones::is_browser_leg(leg) {
            let (socket, remote_addr) = self.phones.take_answered(leg, tx)?;
            return Some(AnsweredLeg {
                socket,
                media: browser_media(remote_addr),
                handle: LegHandle::Browser {
                    leg,
                    phones: self.phones.clone(),
                },
            });
        }
        let mut legs = self.legs.lock().ok()?;
        let l = legs.get_mut(&leg)?;
        let out = AnsweredLeg {
            socket: l.socket.take()?,
            media: l.media.clone()?,
            handle: LegHandle::Sip(l.handle.clone()),
        };
        drop(legs);
        if let Ok(mut h) = self.hangups.lock() {
            h.insert(leg, tx);
        }
        Some(out)
    }

    /// Routes the SIP events of agent legs; `acd` hears offer results.
    pub fn on_event(&self, ev: &SipEvent, acd: &AcdHandle) {
        let (leg, result) = match ev {
            SipEvent::AgentAnswered { leg, media } => {
                if let Ok(mut legs) = self.legs.lock() {
                    if let Some(l) = legs.get_mut(&leg.0) {
                        l.media = Some(media.clone());
                    }
                }
                (leg, Some(OfferResult::Answered { leg: leg.0 }))
            }
            SipEvent::AgentRejected { leg, code } => {
                tracing::info!(%leg, code, "agent refused the call");
                (leg, Some(OfferResult::Rejected))
            }
            SipEvent::AgentFailed { leg, reason } => {
                tracing::info!(%leg, "agent leg failed: {reason}");
                (leg, Some(OfferResult::Failed))
            }
            SipEvent::AgentCancelled { leg } => (leg, None),
            SipEvent::AgentHangup { leg } => {
                if let Some(tx) = self.hangups.lock().ok().and_then(|mut h| h.remove(&leg.0)) {
                    let _ = tx.send(super::msg::Msg::AgentHangup);
                }
                self.remove(leg);
                return;
            }
            _ => return,
        };
        let (call, agent) = match self.legs.lock() {
            Ok(legs) => match legs.get(&leg.0) {
                Some(l) => (l.call.clone(), l.agent.clone()),
                None => return,
            },
            Err(_) => return,
        };
        match result {
            Some(r @ OfferResult::Answered { .. }) => acd.offer_result(&call, &agent, r),
            Some(r) => {
                self.remove(leg);
                acd.offer_result(&call, &agent, r);
            }
            None => self.remove(leg),
        }
    }

    fn remove(&self, leg: &LegId) {
        if let Ok(mut legs) = self.legs.lock() {
            legs.remove(&leg.0);
        }
    }

    fn try_offer(
        &self,
        call: &str,
        agent: &str,
        queue: &str,
        remote: Option<&ContactRef>,
    ) -> Result<u64, String> {
        let sip = self.sip.get().ok_or("SIP is not running")?;
        let socket = std::net::UdpSocket::bind(SocketAddr::new(self.rtp_ip, 0))
            .map_err(|e| format!("cannot open an RTP socket: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("RTP socket: {e}"))?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        self.desk.offered(call);
        let info = self.desk.pop(call);
        let from_user: String = info
            .ani
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "+-_.*#".contains(*c))
            .take(32)
            .collect();
        let mut out = OutboundCall::new(
            agent,
            if from_user.is_empty() {
                "anonymous".to_string()
            } else {
                from_user
            },
            local,
        );
        out.from_display = header_value(&info.caller_name);
        out.srtp = self.srtp_of(agent);
        out.remote_contact = remote.map(|c| RemoteContact {
            uri: c.uri.clone(),
            source: c.source,
            path: c.path.clone(),
        });
        let mut headers = vec![
            ("X-Ringdesk-Queue".to_string(), header_value(queue)),
            ("X-Ringdesk-Caller".to_string(), header_value(&info.ani)),
        ];
        if !info.caller_name.is_empty() {
            headers.push((
                "X-Ringdesk-Caller-Name".into(),
                header_value(&info.caller_name),
            ));
        }
        if !info.ticket_id.is_empty() {
            headers.push(("X-Ringdesk-Ticket".into(), header_value(&info.ticket_id)));
        }
        if !info.ticket_url.is_empty() {
            let url = header_value(&info.ticket_url);
            headers.push(("Call-Info".into(), format!("<{url}>;purpose=info")));
            headers.push(("X-Ringdesk-Ticket-Url".into(), url));
        }
        out.extra_headers = headers;
        let handle = sip.call_agent(out).map_err(|e| e.to_string())?;
        let leg = handle.id().0;
        if let Ok(mut legs) = self.legs.lock() {
            legs.insert(
                leg,
                Leg {
                    call: call.to_string(),
                    agent: agent.to_string(),
                    handle,
                    socket: Some(socket),
                    media: None,
                },
            );
        }
        Ok(leg)
    }
}

impl Dialer for SipDialer {
    fn offer(&self, ring: &Ring<'_>, acd: AcdHandle) -> u64 {
        let Ring {
            call,
            agent,
            queue,
            remote,
            ..
        } = *ring;
        let tried = if self.phones.has_phone(agent) {
            self.desk.offered(call);
            self.phones.ring(call, agent, acd.clone())
        } else {
            self.try_offer(call, agent, queue, remote)
        };
        match tried {
            Ok(leg) => leg,
            Err(e) => {
                tracing::warn!(agent, "cannot ring the agent: {e}");
                acd.offer_result(call, agent, OfferResult::Failed);
                0
            }
        }
    }

    fn release(&self, leg: u64) {
        // Not taken for a bridge: the socket is still here.
        let untaken = self.legs.lock().ok().and_then(|mut legs| {
            let taken = legs.get(&leg).is_none_or(|l| l.socket.is_none());
            if taken {
                None
            } else {
                legs.remove(&leg)
            }
        });
        if let Some(l) = untaken {
            tracing::info!(
                leg,
                agent = l.agent,
                call = l.call,
                "the caller left as the agent answered: hanging up the agent's leg"
            );
            tokio::spawn(async move {
                let _ = l.handle.hangup().await;
            });
        }
    }

    fn contact(&self, agent: &str) -> Option<ContactRef> {
        let sip = self.sip.get()?;
        sip.agent_contacts(agent)
            .into_iter()
            .find(|c| c.transport == Transport::Udp)
            .map(|c| ContactRef {
                uri: c.uri,
                source: c.source,
                path: c.path,
            })
    }

    fn cancel(&self, leg: u64) {
        if Phones::is_browser_leg(leg) {
            self.phones.cancel(leg);
            return;
        }
        let handle = self
            .legs
            .lock()
            .ok()
            .and_then(|mut l| l.remove(&leg))
            .map(|l| l.handle);
        if let Some(h) = handle {
            tokio::spawn(async move {
                let _ = h.cancel().await;
            });
        }
    }
}
