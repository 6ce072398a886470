//! Browser phones: the agents whose desktop page is their phone, the calls ringing or
//! talking there, and whether each agent can be reached at all (a SIP registration or an
//! open page).
//!
//! The page turns its phone on by following `GET /desk/events?phone=on`; while such a
//! stream is open the agent counts as registered, as a SIP REGISTER makes them, and calls
//! ring in the page rather than on the desk phone. [`Phones::ring`] makes a WebRTC leg
//! (`ringdesk-webrtc`, str0m) whose SDP offer the page reads from its event stream; the
//! page answers with `POST /desk/phone/answer`. Once ICE and DTLS are up the routing core
//! hears "answered" and the call task bridges the leg like a SIP agent leg: each browser
//! leg hands the bridge a loopback UDP socket, and [`super::phone_relay`] moves plain RTP
//! between that socket and the browser's DTLS-SRTP (decision 0015). The page closing, ICE
//! failing or the browser's audio stopping mid-call ends the leg as lost: the call task
//! hears `AgentLost` and the flow can put the caller back in the queue.

use super::acd::{AcdHandle, OfferResult};
use super::msg::Msg;
use super::phone_metrics::{self as metrics, Outcome};
use super::phone_relay::{self, Relay};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};

/// Browser leg ids have this bit set: SIP legs count from 1 and never reach it.
pub const BROWSER_LEG: u64 = 1 << 62;
/// Most browser legs at once (ringing or talking).
const MAX_LEGS: usize = 1024;

/// Why a page's request about its phone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no such call is ringing or talking on your phone")]
    UnknownLeg,
    #[error("the call is no longer ringing")]
    NotRinging,
    #[error("the answer was refused: {0}")]
    BadAnswer(String),
}

/// Where a leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Ringing,
    /// Answered by the page; ICE and DTLS under way.
    Connecting,
    /// Media is up: the routing core heard "answered".
    Talking,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Ringing => "ringing",
            Stage::Connecting => "connecting",
            Stage::Talking => "talking",
        }
    }
}

struct Leg {
    agent: String,
    call: String,
    offer: String,
    stage: Stage,
    acd: AcdHandle,
    relay: mpsc::UnboundedSender<phone_relay::Cmd>,
    /// The bridge's end of the loopback pair and where the relay listens, until taken.
    bridge: Option<(UdpSocket, SocketAddr)>,
    /// The call task, once it bridged the leg.
    call_tx: Option<mpsc::UnboundedSender<Msg>>,
}

/// What makes an agent reachable.
#[derive(Debug, Default, Clone, Copy)]
struct Presence {
    sip: bool,
    pages: u32,
}

#[derive(Default)]
struct Inner {
    presence: HashMap<String, Presence>,
    legs: HashMap<u64, Leg>,
}

/// The browser phones of every agent. See the module docs.
pub struct Phones {
    /// The address browsers reach our media at; `None`: browser phones are off.
    ip: Option<IpAddr>,
    next: AtomicU64,
    inner: Mutex<Inner>,
}

impl Phones {
    /// Browser legs' media on `ip` (the one host candidate offered to browsers); `None`
    /// turns the browser phone off (calls ring on desk phones only).
    pub fn new(ip: Option<IpAddr>) -> Arc<Phones> {
        Arc::new(Phones {
            ip: ip.filter(|ip| !ip.is_unspecified()),
            next: AtomicU64::new(1),
            inner: Mutex::default(),
        })
    }

    /// Whether pages may turn their phone on.
    pub fn enabled(&self) -> bool {
        self.ip.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every writer leaves whole values: a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `change` to the agent's presence and tells the routing core when the
    /// agent became reachable or stopped being so.
    fn presence(&self, agent: &str, acd: &AcdHandle, change: impl FnOnce(&mut Presence)) {
        let (before, after) = {
            let mut inner = self.lock();
            let p = inner.presence.entry(agent.to_string()).or_default();
            let before = p.sip || p.pages > 0;
            change(p);
            let after = p.sip || p.pages > 0;
            if !after {
                inner.presence.remove(agent);
            }
            (before, after)
        };
        if after {
            // Also on refreshes, as a SIP re-REGISTER does (logs a logged-out agent in).
            acd.registered(agent);
        } else if before {
            acd.unregistered(agent);
        }
    }

    /// The agent's SIP registration began, was refreshed (`true`) or ended (`false`).
    pub fn sip_registration(&self, agent: &str, on: bool, acd: &AcdHandle) {
        self.presence(agent, acd, |p| p.sip = on);
    }

    /// A page of `agent` turned its phone on (its event stream is open).
    pub fn page_opened(&self, agent: &str, acd: &AcdHandle) {
        if !self.enabled() {
            return;
        }
        self.presence(agent, acd, |p| p.pages = p.pages.saturating_add(1));
        tracing::info!(agent, "browser phone on");
    }

    /// A page of `agent` closed its phone (its event stream ended). When it was the
    /// agent's last, their browser calls end: ringing ones as failed offers, talking ones
    /// as lost.
    pub fn page_closed(&self, agent: &str, acd: &AcdHandle) {
        if !self.enabled() {
            return;
        }
        self.presence(agent, acd, |p| p.pages = p.pages.saturating_sub(1));
        let last = self.lock().presence.get(agent).is_none_or(|p| p.pages == 0);
        if last {
            tracing::info!(agent, "browser phone off");
            let legs: Vec<u64> = self
                .lock()
                .legs
                .iter()
                .filter(|(_, l)| l.agent == agent)
                .map(|(id, _)| *id)
                .collect();
            for leg in legs {
                self.lost(leg, "the page closed");
            }
        }
    }

    /// Whether calls for `agent` ring in a page.
    pub fn has_phone(&self, agent: &str) -> bool {
        self.enabled() && self.lock().presence.get(agent).is_some_and(|p| p.pages > 0)
    }

    /// Whether `leg` is a browser leg.
    pub fn is_browser_leg(leg: u64) -> bool {
        leg & BROWSER_LEG != 0
    }

    /// Rings `agent`'s page for `call`: a new WebRTC leg and its relay task. The leg id,
    /// or why it cannot ring.
    pub fn ring(self: &Arc<Self>, call: &str, agent: &str, acd: AcdHandle) -> Result<u64, String> {
        let ip = self.ip.ok_or("the browser phone is off")?;
        if self.lock().legs.len() >= MAX_LEGS {
            return Err(format!("{MAX_LEGS} browser legs already"));
        }
        let public = UdpSocket::bind(SocketAddr::new(ip, 0))
            .map_err(|e| format!("cannot open a media socket on {ip}: {e}"))?;
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let inner = UdpSocket::bind(SocketAddr::new(loopback, 0))
            .map_err(|e| format!("cannot open a loopback socket: {e}"))?;
        let bridge = UdpSocket::bind(SocketAddr::new(loopback, 0))
            .map_err(|e| format!("cannot open a loopback socket: {e}"))?;
        for s in [&public, &inner, &bridge] {
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
        }
        let inner_addr = inner.local_addr().map_err(|e| e.to_string())?;
        let bridge_addr = bridge.local_addr().map_err(|e| e.to_string())?;
        let id = BROWSER_LEG | self.next.fetch_add(1, Ordering::Relaxed);
        let (relay, offer) =
            Relay::new(id, public, inner, bridge_addr).map_err(|e| e.to_string())?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        self.lock().legs.insert(
            id,
            Leg {
                agent: agent.to_string(),
                call: call.to_string(),
                offer,
                stage: Stage::Ringing,
                acd,
                relay: cmd_tx,
                bridge: Some((bridge, inner_addr)),
                call_tx: None,
            },
        );
        tokio::spawn(relay.run(cmd_rx, self.clone()));
        metrics::leg(Outcome::Rung);
        tracing::info!(
            agent,
            call,
            leg = id ^ BROWSER_LEG,
            "ringing the browser phone"
        );
        Ok(id)
    }

    /// What the page shows of its phone: on or off, and the call ringing or talking
    /// there with the SDP offer to answer.
    pub fn view(&self, agent: &str) -> serde_json::Value {
        let on = self.has_phone(agent);
        let inner = self.lock();
        let leg = inner
            .legs
            .iter()
            .filter(|(_, l)| l.agent == agent)
            .min_by_key(|(id, _)| **id)
            .map(|(id, l)| {
                serde_json::json!({
                    "leg": id.to_string(),
                    "call": l.call,
                    "stage": l.stage.name(),
                    "offer": if l.stage == Stage::Ringing { Some(&l.offer) } else { None },
                })
            });
        serde_json::json!({ "available": self.enabled(), "on": on, "leg": leg })
    }

    /// The page of `agent` answers `leg` with its SDP.
    pub async fn answer(&self, agent: &str, leg: u64, sdp: String) -> Result<(), PhoneError> {
        let relay = {
            let mut inner = self.lock();
            let l = inner
                .legs
                .get_mut(&leg)
                .filter(|l| l.agent == agent)
                .ok_or(PhoneError::UnknownLeg)?;
            if l.stage != Stage::Ringing {
                return Err(PhoneError::NotRinging);
            }
            l.stage = Stage::Connecting;
            l.relay.clone()
        };
        let (reply, answered) = oneshot::channel();
        let _ = relay.send(phone_relay::Cmd::Answer { sdp, reply });
        match answered.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => {
                self.failed(leg, &why);
                Err(PhoneError::BadAnswer(why))
            }
            Err(_) => Err(PhoneError::UnknownLeg),
        }
    }

    /// The page of `agent` declines `leg` while it rings.
    pub fn decline(&self, agent: &str, leg: u64) -> Result<(), PhoneError> {
        let l = {
            let mut inner = self.lock();
            match inner.legs.get(&leg) {
                Some(l) if l.agent == agent && l.stage == Stage::Ringing => {}
                Some(l) if l.agent == agent => return Err(PhoneError::NotRinging),
                _ => return Err(PhoneError::UnknownLeg),
            }
            inner.legs.remove(&leg)
        };
        if let Some(l) = l {
            let _ = l.relay.send(phone_relay::Cmd::Close);
            l.acd.offer_result(&l.call, &l.agent, OfferResult::Rejected);
            metrics::leg(Outcome::Declined);
            tracing::info!(agent, call = l.call, "the agent declined in the browser");
        }
        Ok(())
    }

    /// The page of `agent` hangs up `leg`: a talking call ends as a hang-up, one still
    /// ringing or connecting as declined.
    pub fn hang_up(&self, agent: &str, leg: u64) -> Result<(), PhoneError> {
        let stage = {
            let inner = self.lock();
            match inner.legs.get(&leg) {
                Some(l) if l.agent == agent => l.stage,
                _ => return Err(PhoneError::UnknownLeg),
            }
        };
        if stage == Stage::Ringing {
            return self.decline(agent, leg);
        }
        if let Some(l) = self.lock().legs.remove(&leg) {
            let _ = l.relay.send(phone_relay::Cmd::Close);
            match (&l.call_tx, l.stage) {
                (Some(tx), _) => {
                    let _ = tx.send(Msg::AgentHangup);
                }
                // Answered, not bridged yet: the call task finds no leg and says so.
                (None, Stage::Talking) => {}
                (None, _) => l.acd.offer_result(&l.call, &l.agent, OfferResult::Rejected),
            }
            tracing::info!(agent, call = l.call, "the agent hung up in the browser");
        }
        Ok(())
    }

    /// The routing core withdraws the offer (ring timeout, the caller left).
    pub fn cancel(&self, leg: u64) {
        self.end(leg);
    }

    /// Ends the leg from our side (the caller hung up, the bridge is taken down).
    pub fn end(&self, leg: u64) {
        if let Some(l) = self.lock().legs.remove(&leg) {
            let _ = l.relay.send(phone_relay::Cmd::Close);
        }
    }

    /// The bridge takes the answered leg: its loopback socket and where to send the
    /// caller's audio. `tx` then hears the agent's hang-up or loss.
    pub fn take_answered(
        &self,
        leg: u64,
        tx: mpsc::UnboundedSender<Msg>,
    ) -> Option<(UdpSocket, SocketAddr)> {
        let mut inner = self.lock();
        let l = inner.legs.get_mut(&leg)?;
        if l.stage != Stage::Talking {
            return None;
        }
        let taken = l.bridge.take()?;
        l.call_tx = Some(tx);
        Some(taken)
    }

    /// From the relay: ICE and DTLS are up.
    pub(super) fn connected(&self, leg: u64) {
        let mut inner = self.lock();
        let Some(l) = inner.legs.get_mut(&leg) else {
            return;
        };
        if l.stage == Stage::Connecting {
            l.stage = Stage::Talking;
            l.acd
                .offer_result(&l.call, &l.agent, OfferResult::Answered { leg });
            metrics::leg(Outcome::Connected);
            tracing::info!(agent = l.agent, call = l.call, "browser phone connected");
        }
    }

    /// From the relay or the page: the leg could not be set up (bad answer, no
    /// connection in time): the offer failed, the routing core tries someone else.
    pub(super) fn failed(&self, leg: u64, why: &str) {
        let Some(l) = self.lock().legs.remove(&leg) else {
            return;
        };
        let _ = l.relay.send(phone_relay::Cmd::Close);
        tracing::warn!(
            agent = l.agent,
            call = l.call,
            "browser phone leg failed: {why}"
        );
        match (l.call_tx, l.stage) {
            (Some(tx), _) => {
                let _ = tx.send(Msg::AgentLost);
                metrics::leg(Outcome::Lost);
            }
            (None, Stage::Talking) => metrics::leg(Outcome::Lost),
            (None, _) => {
                l.acd.offer_result(&l.call, &l.agent, OfferResult::Failed);
                metrics::leg(Outcome::Failed);
            }
        }
    }

    /// The browser went away (page closed, ICE lost, no audio): a talking call is lost,
    /// a ringing one failed.
    pub(super) fn lost(&self, leg: u64, why: &str) {
        self.failed(leg, why);
    }
}

#[cfg(test)]
mod tests {
    //! Presence and the page's requests, without a browser (the relay and a real browser
    //! are tested end to end in `tests/browser.rs`).
    use super::*;

    fn acd() -> AcdHandle {
        let config = crate::config::Config::parse(
            "[[agents]]\nid = \"ana\"\nname = \"Ana\"\npassword = \"p\"\nqueues = [\"support\"]\n",
            "t.toml",
        )
        .unwrap();
        AcdHandle::spawn(&config.acd(), Arc::new(crate::runtime::acd::Silent)).unwrap()
    }

    async fn state(acd: &AcdHandle) -> String {
        acd.agent("ana").await.unwrap().state
    }

    #[tokio::test]
    async fn an_agent_is_reachable_while_a_page_or_a_registration_is() {
        let acd = acd();
        let phones = Phones::new(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(state(&acd).await, "logged_out");
        phones.page_opened("ana", &acd);
        assert_eq!(state(&acd).await, "available");
        assert!(phones.has_phone("ana"));
        phones.sip_registration("ana", true, &acd);
        phones.page_closed("ana", &acd);
        // The desk phone is still registered.
        assert_eq!(state(&acd).await, "available");
        assert!(!phones.has_phone("ana"));
        phones.sip_registration("ana", false, &acd);
        assert_eq!(state(&acd).await, "logged_out");
        // Two pages: closing one keeps the phone on.
        phones.page_opened("ana", &acd);
        phones.page_opened("ana", &acd);
        phones.page_closed("ana", &acd);
        assert!(phones.has_phone("ana"));
        assert_eq!(state(&acd).await, "available");
    }

    #[tokio::test]
    async fn a_page_reaches_only_its_own_legs_and_bad_answers_fail_the_offer() {
        let acd = acd();
        let phones = Phones::new(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        phones.page_opened("ana", &acd);
        let leg = phones.ring("call-1", "ana", acd.clone()).unwrap();
        assert!(Phones::is_browser_leg(leg));
        let view = phones.view("ana");
        assert_eq!(view["leg"]["stage"], "ringing", "{view}");
        let offer = view["leg"]["offer"].as_str().unwrap();
        assert!(offer.contains("a=fingerprint:sha-256"), "{offer}");
        assert!(offer.contains("a=ice-lite"), "{offer}");
        assert!(offer.contains("127.0.0.1"), "{offer}");
        // Another agent's page cannot answer, decline or hang up this leg.
        assert_eq!(
            phones.answer("bob", leg, "v=0".into()).await,
            Err(PhoneError::UnknownLeg)
        );
        assert_eq!(phones.decline("bob", leg), Err(PhoneError::UnknownLeg));
        assert_eq!(phones.hang_up("bob", leg), Err(PhoneError::UnknownLeg));
        assert_eq!(phones.view("bob")["leg"], serde_json::Value::Null);
        // Garbage for an answer ends the leg.
        let r = phones.answer("ana", leg, "not sdp".into()).await;
        assert!(matches!(r, Err(PhoneError::BadAnswer(_))), "{r:?}");
        assert_eq!(phones.view("ana")["leg"], serde_json::Value::Null);
        assert_eq!(phones.decline("ana", leg), Err(PhoneError::UnknownLeg));
    }

    #[tokio::test]
    async fn without_an_address_the_browser_phone_is_off() {
        let acd = acd();
        let phones = Phones::new(Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        assert!(!phones.enabled());
        phones.page_opened("ana", &acd);
        assert!(!phones.has_phone("ana"));
        assert!(phones.ring("call-1", "ana", acd.clone()).is_err());
        assert_eq!(phones.view("ana")["available"], false);
    }
}
