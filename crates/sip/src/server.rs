//! The SIP server: opens the UDP/TCP transports of `rsipstack`, and runs the two tasks that
//! turn SIP into [`SipEvent`]s (new requests, dialog state changes).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::Method;
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::TransportLayer;
use rsipstack::EndpointBuilder;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::call::CallInner;
use crate::config::SipConfig;
use crate::counts::SecurityCounts;
use crate::error::SipError;
use crate::event::SipEvent;
use crate::flood::FloodGuard;
use crate::registrar::{AgentContact, Registrar};
use crate::registrar_config::AgentCredential;
use crate::shared::Shared;
use crate::transport_guard::TransportGuard;

/// A running SIP server. Dropping it (or calling [`SipServer::shutdown`]) stops it.
pub struct SipServer {
    pub(crate) shared: Arc<Shared>,
    cancel: CancellationToken,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for SipServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipServer")
            .field("local_addr", &self.local_addr)
            .field("active_calls", &self.active_calls())
            .finish()
    }
}

impl SipServer {
    /// Listen on `config.bind` (UDP and/or TCP, same port) and start serving. Must be called
    /// inside a tokio runtime. Returns the server and the channel of events for the runtime.
    pub async fn bind(
        config: SipConfig,
    ) -> Result<(SipServer, mpsc::Receiver<SipEvent>), SipError> {
        if !config.udp && !config.tcp {
            return Err(SipError::Config("enable at least one of udp and tcp"));
        }
        if config.max_calls == 0 || config.event_capacity == 0 {
            return Err(SipError::Config(
                "max_calls and event_capacity must be positive",
            ));
        }
        let t1 = config.timer_t1;
        if t1 < Duration::from_millis(10) || t1 > Duration::from_secs(10) {
            return Err(SipError::Config("timer_t1 must be between 10 ms and 10 s"));
        }
        let option = EndpointOption {
            t1,
            t2: Duration::from_secs(4).max(t1),
            t1x64: t1 * 64,
            ..EndpointOption::default()
        };
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let flood = Arc::new(Mutex::new(FloodGuard::new(config.flood.clone())));
        transport.set_whitelist(TransportGuard {
            guard: flood.clone(),
            counters: config.counters.clone(),
            layer: Arc::downgrade(&transport.inner),
        });
        let (udp_socket, local_addr) = bind_sockets(&config).await?;
        if let Some(socket) = udp_socket {
            let udp = UdpConnection::from_socket(
                Arc::new(socket),
                config.external,
                Some(cancel.child_token()),
            )
            .await
            .map_err(|e| bind_error("udp", local_addr, e))?;
            transport.add_transport(udp.into());
        }
        if config.tcp {
            let tcp = TcpListenerConnection::new(local_addr, config.external)
                .await
                .map_err(|e| bind_error("tcp", local_addr, e))?;
            transport.add_transport(tcp.into());
        }
        // (bound, written in Contact)
        let tls_addrs = match &config.tls {
            Some(tls) => Some(crate::tls::listen(&transport, tls).await?),
            None => None,
        };
        let tls_addr = tls_addrs.map(|(_, contact)| contact);
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent(&config.user_agent)
            .with_option(option)
            .with_allows(vec![
                Method::Invite,
                Method::Ack,
                Method::Bye,
                Method::Cancel,
                Method::Options,
                Method::Info,
                Method::Update,
                Method::Register,
            ])
            .build();
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|_| SipError::Config("SIP endpoint has no incoming channel"))?;
        let dialog_layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_sender, state_receiver) = dialog_layer.new_dialog_state_channel();
        let (events, events_rx) = mpsc::channel(config.event_capacity);
        let config_realm = config.registrar.realm.clone();
        let config_algorithms = config.registrar.algorithms.clone();
        let registrar = Registrar::new(
            config.registrar.clone(),
            rand::random::<[u8; 32]>(),
            std::time::Instant::now(),
        );
        let shared = Arc::new(Shared {
            registrar: Mutex::new(registrar),
            registrar_changed: tokio::sync::Notify::new(),
            local_addr,
            tls_addr,
            config,
            dialog_layer,
            state_sender,
            calls: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            events,
            flood,
            trunk_auth: Mutex::new(crate::trunk_auth::TrunkAuth::new(
                &config_realm,
                config_algorithms,
                rand::random::<[u8; 32]>(),
                std::time::Instant::now(),
            )),
        });

        let serve_cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = endpoint.serve() => {}
                _ = serve_cancel.cancelled() => {}
            }
        });
        tokio::spawn(crate::requests::run(
            shared.clone(),
            incoming,
            cancel.clone(),
        ));
        tokio::spawn(crate::registrar_task::run(shared.clone(), cancel.clone()));
        if let Some((bound, _)) = tls_addrs {
            crate::tls::wait_listening(bound).await?;
        }
        tokio::spawn(crate::dialog_events::run(
            shared.clone(),
            state_receiver,
            cancel.clone(),
        ));
        tracing::info!(%local_addr, udp = shared.config.udp, tcp = shared.config.tcp, tls = ?tls_addr, "SIP server listening");
        Ok((
            SipServer {
                shared,
                cancel,
                local_addr,
            },
            events_rx,
        ))
    }

    /// The address the server listens on (with the port actually bound).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The TLS listener's address (as written in Contact), when SIP over TLS is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.shared.tls_addr
    }

    /// Calls offered or in progress.
    pub fn active_calls(&self) -> usize {
        self.shared.calls().len()
    }

    /// The registered contacts of `agent`, most recently registered first.
    pub fn agent_contacts(&self, agent: &str) -> Vec<AgentContact> {
        self.shared.registrar().contacts(agent)
    }

    /// Agents with at least one registered contact, sorted.
    pub fn registered_agents(&self) -> Vec<String> {
        self.shared.registrar().registered_agents()
    }

    /// Replace the agent credential table (agents added or removed at run time). Agents no
    /// longer present are logged out ([`SipEvent::AgentUnregistered`]).
    pub fn set_agents(&self, agents: Vec<AgentCredential>) {
        self.shared.registrar().set_agents(agents);
        self.shared.registrar_changed.notify_one();
    }

    /// What the flood defence and the registrar refused since the server started.
    pub fn security_counts(&self) -> SecurityCounts {
        self.shared.config.counters.snapshot()
    }

    pub(crate) fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stop listening and processing. Calls in progress are not hung up.
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }
}

impl Drop for SipServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Bind the UDP socket ourselves (so port 0 yields the real port) and check that TCP can
/// listen on the same address: the library binds TCP later, in its serve task, so this probe
/// makes bind errors surface here. With port 0, a port whose TCP side is taken is skipped.
async fn bind_sockets(
    config: &SipConfig,
) -> Result<(Option<tokio::net::UdpSocket>, SocketAddr), SipError> {
    let udp_error = |source| SipError::Bind {
        transport: "udp",
        addr: config.bind,
        source,
    };
    let attempts = if config.bind.port() == 0 { 16 } else { 1 };
    let mut last_error = None;
    for _ in 0..attempts {
        let (socket, addr) = if config.udp {
            let socket = tokio::net::UdpSocket::bind(config.bind)
                .await
                .map_err(udp_error)?;
            let addr = socket.local_addr().map_err(udp_error)?;
            (Some(socket), addr)
        } else {
            (None, config.bind)
        };
        if !config.tcp {
            return Ok((socket, addr));
        }
        match TcpListener::bind(addr) {
            Ok(probe) => {
                let addr = probe.local_addr().unwrap_or(addr);
                return Ok((socket, addr));
            }
            Err(source) => last_error = Some(source),
        }
    }
    Err(SipError::Bind {
        transport: "tcp",
        addr: config.bind,
        source: last_error.unwrap_or_else(|| std::io::Error::other("no port free for TCP")),
    })
}

fn bind_error(transport: &'static str, addr: SocketAddr, error: rsipstack::Error) -> SipError {
    SipError::Bind {
        transport,
        addr,
        source: std::io::Error::other(error.to_string()),
    }
}

impl Shared {
    /// Register a new call if the limit allows it.
    pub(crate) fn insert_call(&self, key: String, call: Arc<CallInner>) -> bool {
        let mut calls = self.calls();
        if calls.len() >= self.config.max_calls {
            return false;
        }
        calls.insert(key, call);
        true
    }

    pub(crate) fn find_call(&self, key: &str) -> Option<Arc<CallInner>> {
        self.calls().get(key).cloned()
    }

    pub(crate) fn remove_call(&self, key: &str) -> Option<Arc<CallInner>> {
        self.calls().remove(key)
    }
}
