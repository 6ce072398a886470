//! What a call starts from: what the server shares with every call ([`Shared`]), what
//! the network delivered ([`Incoming`]), and the clock the call reads.

use super::super::acd::AcdHandle;
use super::super::agents::SipDialer;
use super::super::media_worker::MediaWorker;
use super::super::prompts::Prompts;
use ringdesk_connector::Connectors;
use ringdesk_session::Helpdesk;
use ringdesk_sip::CallHandle;
use std::net::IpAddr;
use std::sync::Arc;

/// What the server shares with every call.
pub struct Shared {
    pub media: MediaWorker,
    pub prompts: Arc<Prompts>,
    pub connectors: Connectors,
    /// The queue (routing core task) and the agent dialer.
    pub acd: AcdHandle,
    pub dialer: Arc<SipDialer>,
    /// What agents are shown of each queued call (phones' headers, the desktop).
    pub desk: Arc<super::super::desk::DeskHub>,
    /// Calls per flow node today (the wallboard's flow picture).
    pub flow_counts: Arc<super::super::flow_stats::FlowCounts>,
    /// Interaction records and the durable outbox.
    pub store: ringdesk_store::Store,
    /// Address RTP sockets bind to.
    pub rtp_ip: IpAddr,
    /// Variables every call starts with (language, region, the helpdesk's).
    pub extra: std::collections::BTreeMap<String, serde_json::Value>,
    /// What ringdesk knows of the helpdesk around the flow (screen pop, note marker).
    pub helpdesk: Arc<dyn Helpdesk>,
}

/// The caller side of a call, as the network delivered it.
pub struct Incoming {
    pub call: CallHandle,
    pub ani: String,
    pub dnis: String,
    pub headers: Vec<(String, String)>,
    /// How far the caller ID is believed (the flow's `caller_identity`).
    pub identity: crate::config::CallerIdentity,
}

/// Now, for the session (the call's only clock).
pub(super) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}
