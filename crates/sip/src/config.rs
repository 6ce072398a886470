//! Configuration of the SIP server: where to listen, limits, routing and forwarded headers.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::counts::SipCounters;
use crate::flood_config::FloodConfig;
use crate::headers::DEFAULT_FORWARDED_HEADERS;
use crate::registrar_config::RegistrarConfig;
use crate::shed::ShedSwitch;
use crate::trust::TrustConfig;

/// The runtime's routing callback: DNIS → flow name, `None` for unknown numbers.
pub type RouteFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Maps a dialled number (DNIS) to the name of the flow that serves it; `None` means the
/// number is unknown and the call is refused with `404 Not Found`.
#[derive(Clone, Default)]
pub enum Router {
    /// Every number is accepted; calls carry no route name.
    #[default]
    All,
    /// Exact DNIS → flow name table.
    Table(HashMap<String, String>),
    /// A callback supplied by the runtime.
    Callback(RouteFn),
}

impl Router {
    /// `Ok(None)` when routing is not configured, `Ok(Some(flow))` when the DNIS routes,
    /// `Err(())` when it does not (answer 404).
    pub(crate) fn route(&self, dnis: &str) -> Result<Option<String>, ()> {
        match self {
            Router::All => Ok(None),
            Router::Table(table) => table.get(dnis).cloned().map(Some).ok_or(()),
            Router::Callback(callback) => callback(dnis).map(Some).ok_or(()),
        }
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Router::All => f.write_str("Router::All"),
            Router::Table(table) => write!(f, "Router::Table({} entries)", table.len()),
            Router::Callback(_) => f.write_str("Router::Callback"),
        }
    }
}

/// SIP over TLS: where to listen and what certificate to present. `Debug` never shows the
/// key.
#[derive(Clone)]
pub struct TlsListen {
    /// Address to listen on (port 0 picks a free port).
    pub bind: SocketAddr,
    /// The address written in Contact when it differs from `bind` (NAT, 0.0.0.0).
    pub external: Option<SocketAddr>,
    /// The certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// The private key (PKCS#8 or PKCS#1), PEM.
    pub key_pem: Vec<u8>,
}

impl fmt::Debug for TlsListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsListen")
            .field("bind", &self.bind)
            .field("external", &self.external)
            .field("key_pem", &"***")
            .finish_non_exhaustive()
    }
}

/// How the SIP server listens and what it accepts. Build it with [`SipConfig::new`] and
/// change fields (non-exhaustive: registrar and outbound settings will be added).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SipConfig {
    /// Address to listen on. Port 0 picks a free port (UDP first, TCP on the same port).
    pub bind: SocketAddr,
    /// Address written in Contact and Via when it differs from `bind` (NAT, 0.0.0.0).
    pub external: Option<SocketAddr>,
    /// Listen on UDP.
    pub udp: bool,
    /// Listen on TCP.
    pub tcp: bool,
    /// Listen on TLS too (SIPS), with this address and certificate.
    pub tls: Option<TlsListen>,
    /// User-Agent / Server string.
    pub user_agent: String,
    /// Most concurrent calls; the next INVITE gets `503` with `Retry-After`.
    pub max_calls: usize,
    /// Seconds announced in `Retry-After` when overloaded (call limit, full event queue,
    /// or shedding).
    pub retry_after_secs: u32,
    /// Load shedding: while this switch is on, new INVITEs get `503` with `Retry-After`;
    /// calls in progress are not touched. Keep a clone to turn it on and off.
    pub shed: ShedSwitch,
    /// DNIS routing.
    pub router: Router,
    /// Header names forwarded to the flow (every `X-` header is forwarded too).
    pub forwarded_headers: Vec<String>,
    /// Capacity of the event channel to the runtime. When it is full, new calls get `503`.
    pub event_capacity: usize,
    /// Most headers accepted in an INVITE (more: `400`).
    pub max_headers: usize,
    /// Largest request body accepted (more: `413`).
    pub max_body: usize,
    /// RFC 3261 timer T1 (round-trip estimate, default 500 ms). Retransmission intervals
    /// and the 64*T1 transaction timeouts (e.g. a 200 OK never ACKed) derive from it.
    /// Accepted range: 10 ms to 10 s.
    pub timer_t1: Duration,
    /// The agent registrar: credentials, realm, expiry bounds. With no agents configured
    /// every REGISTER ends in `403 Forbidden`.
    pub registrar: RegistrarConfig,
    /// Trusted trunks and what other sources' INVITEs get (default: loopback is the
    /// one trunk, others are refused with `403`).
    pub trust: TrustConfig,
    /// Flood defence: per-source rate limits and bans, stream connection caps.
    pub flood: FloodConfig,
    /// What the defences refused (flood guard and registrar), kept current by the server.
    /// Keep a clone to serve metrics.
    pub counters: SipCounters,
}

impl SipConfig {
    /// Defaults for listening on `bind`: UDP and TCP, 100 calls, every number routed.
    pub fn new(bind: SocketAddr) -> Self {
        SipConfig {
            bind,
            external: None,
            udp: true,
            tcp: true,
            tls: None,
            user_agent: concat!("ringdesk/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_calls: 100,
            retry_after_secs: 30,
            shed: ShedSwitch::new(),
            router: Router::All,
            forwarded_headers: DEFAULT_FORWARDED_HEADERS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            event_capacity: 1024,
            max_headers: 100,
            max_body: crate::MAX_SDP_BYTES,
            timer_t1: Duration::from_millis(500),
            registrar: RegistrarConfig::default(),
            trust: TrustConfig::default(),
            flood: FloodConfig::default(),
            counters: SipCounters::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests for DNIS routing.
    use super::*;

    #[test]
    fn no_routing_accepts_every_number() {
        assert_eq!(Router::All.route("anything"), Ok(None));
        assert_eq!(Router::default().route(""), Ok(None));
    }

    #[test]
    fn table_routes_known_numbers_only() {
        let router = Router::Table(HashMap::from([("1000".to_owned(), "main".to_owned())]));
        assert_eq!(router.route("1000"), Ok(Some("main".to_owned())));
        assert_eq!(router.route("1001"), Err(()));
        assert_eq!(router.route(""), Err(()));
    }

    #[test]
    fn callback_decides() {
        let router = Router::Callback(Arc::new(|dnis: &str| {
            dnis.starts_with("800").then(|| format!("tollfree-{dnis}"))
        }));
        assert_eq!(router.route("8001"), Ok(Some("tollfree-8001".to_owned())));
        assert_eq!(router.route("9001"), Err(()));
        assert_eq!(format!("{router:?}"), "Router::Callback");
    }

    #[test]
    fn defaults_listen_on_both_transports() {
        let config = SipConfig::new("127.0.0.1:5060".parse().unwrap());
        assert!(config.udp && config.tcp);
        assert!(config.max_calls > 0 && config.event_capacity > 0);
        assert!(config
            .forwarded_headers
            .iter()
            .any(|h| h == "P-Asserted-Identity"));
    }
}
