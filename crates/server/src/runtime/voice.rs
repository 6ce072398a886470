//! The voice front: binds the SIP server, routes each incoming call to its flow and a
//! call task, and forwards the call's later SIP events (DTMF INFO, re-INVITE, hang-up)
//! to that task.

use super::call::{self, Incoming, Shared};
use super::flows::FlowTable;
use super::msg::{InfoBody, Msg};
use crate::config::{caller_identity, PersonalData};
use ringdesk_sip::{CallId, Router, ShedSwitch, SipConfig, SipEvent, SipServer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How the SIP side is set up.
pub struct VoiceConfig {
    pub listen: SocketAddr,
    pub max_calls: usize,
    /// Ring this long before answering (lets a caller CANCEL; 0 answers at once).
    pub answer_delay: Duration,
    /// Agent SIP credentials (id, password, allowed contact hosts) for the registrar.
    pub agents: Vec<ringdesk_sip::AgentCredential>,
    /// Per-source request limits, bans and TCP connection caps (`[sip.limits]`).
    pub flood: ringdesk_sip::FloodConfig,
    /// Per-account REGISTER lockout (`[sip.limits] register_*`).
    pub lockout: ringdesk_sip::LockoutConfig,
    /// Where the SIP server publishes what its defences refused (for /metrics).
    pub counters: ringdesk_sip::SipCounters,
    /// While on, new calls get 503 with Retry-After (the load governor's switch).
    pub shed: ShedSwitch,
    /// Trusted trunks and what other sources get.
    pub trust: ringdesk_sip::TrustConfig,
    /// Each trunk's `personal_data` (when the flow may speak a caller's details).
    pub personal_data: HashMap<String, PersonalData>,
    /// SIP over TLS (`[sip.tls]`), when configured.
    pub tls: Option<ringdesk_sip::TlsListen>,
    /// The digest algorithms REGISTERs are challenged with (`[sip] digest_algorithms`).
    pub digest: Vec<ringdesk_sip::DigestAlgorithm>,
    /// Proxies whose REGISTERs' Path is believed (`[sip] proxies`).
    pub proxies: Vec<ringdesk_sip::IpNet>,
}

/// Binds SIP; returns the server (for its address) and the dispatcher future to run.
pub async fn start(
    config: VoiceConfig,
    flows: Arc<FlowTable>,
    shared: Arc<Shared>,
) -> anyhow::Result<(SipServer, impl std::future::Future<Output = ()>)> {
    let mut sip = SipConfig::new(config.listen);
    sip.max_calls = config.max_calls;
    sip.shed = config.shed.clone();
    sip.trust = config.trust.clone();
    sip.tls = config.tls.clone();
    let table = flows.clone();
    sip.router = Router::Callback(Arc::new(move |dnis: &str| {
        table.route(dnis).map(|f| f.name().to_string())
    }));
    sip.registrar.agents = config.agents.clone();
    sip.registrar.lockout = config.lockout;
    sip.registrar.algorithms = config.digest.clone();
    sip.registrar.proxies = config.proxies.clone();
    sip.flood = config.flood.clone();
    sip.counters = config.counters.clone();
    let (server, events) = SipServer::bind(sip).await?;
    let dispatcher = dispatch(
        events,
        flows,
        shared,
        config.answer_delay,
        config.personal_data,
    );
    Ok((server, dispatcher))
}

async fn dispatch(
    mut events: mpsc::Receiver<SipEvent>,
    flows: Arc<FlowTable>,
    shared: Arc<Shared>,
    answer_delay: Duration,
    personal_data: HashMap<String, PersonalData>,
) {
    let mut calls: HashMap<CallId, mpsc::UnboundedSender<Msg>> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<CallId>();
    loop {
        tokio::select! {
            Some(id) = done_rx.recv() => { calls.remove(&id); }
            ev = events.recv() => {
                let Some(ev) = ev else { return };
                match ev {
                    SipEvent::IncomingCall { call, ani, caller, dnis, headers, .. } => {
                        let policy = caller.trunk.as_ref().and_then(|t| personal_data.get(t).copied());
                        let identity = caller_identity(policy, caller.verstat.as_deref());
                        let Some(flow) = flows.route(&dnis) else {
                            let _ = call.reject(404);
                            continue;
                        };
                        let id = call.id();
                        let (tx, rx) = mpsc::unbounded_channel();
                        calls.insert(id, tx.clone());
                        let shared = shared.clone();
                        let done = done_tx.clone();
                        tokio::spawn(async move {
                            if !answer_delay.is_zero() {
                                tokio::time::sleep(answer_delay).await;
                            }
                            let inc = Incoming { call, ani, dnis, headers, identity };
                            call::run(shared, flow, inc, tx, rx).await;
                            let _ = done.send(id);
                        });
                    }
                    SipEvent::CallEstablished { .. } => {}
                    SipEvent::Dtmf { call, content_type, body } => {
                        forward(&calls, call, Msg::Info(Box::new(InfoBody { content_type, body })));
                    }
                    SipEvent::Reinvite { call, offer, .. } => {
                        let hold = offer.is_hold();
                        forward(&calls, call, Msg::Reinvite { remote: Box::new(offer.remote_addr), hold });
                    }
                    SipEvent::RemoteHangup { call } | SipEvent::Cancelled { call } | SipEvent::Lost { call } => {
                        forward(&calls, call, Msg::Hangup);
                    }
                    SipEvent::AgentRegistered { agent, .. } => {
                        tracing::info!(agent, "agent logged in (registered)");
                        shared.dialer.phones().sip_registration(&agent, true, &shared.acd);
                    }
                    SipEvent::AgentUnregistered { agent } => {
                        tracing::info!(agent, "agent's registration ended");
                        shared.dialer.phones().sip_registration(&agent, false, &shared.acd);
                    }
                    other => shared.dialer.on_event(&other, &shared.acd),
                }
            }
        }
    }
}

fn forward(calls: &HashMap<CallId, mpsc::UnboundedSender<Msg>>, call: CallId, msg: Msg) {
    if let Some(tx) = calls.get(&call) {
        let _ = tx.send(msg);
    }
}
