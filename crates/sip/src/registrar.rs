//! The agent registrar core (sans-IO): digest-authenticates REGISTER requests against the
//! configured agent credentials, keeps each agent's contacts with their expiry, and reports
//! agents logging in (first contact) and out (last contact removed or lapsed).
//!
//! No socket, no clock: every call takes `now`; the caller drains [`Registrar::poll_event`]
//! and calls [`Registrar::handle_timeout`] at [`Registrar::poll_timeout`].

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::contact::ContactList;
use crate::contact_hosts::canonical;
use crate::digest::{self, DigestError};
use crate::identity::bounded_to;
use crate::lockout::Lockouts;
use crate::nonce::{NonceCheck, Nonces};
use crate::path::received_of;
use crate::registrar_config::{AgentCredential, RegistrarConfig};

/// Most sources whose failed attempts are counted at once.
pub const MAX_TRACKED_SOURCES: usize = 4096;

/// The transport a REGISTER arrived on (and the one to call the contact back on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS (SIPS): the agent is called back over the connection it registered on.
    Tls,
}

/// A REGISTER request, reduced to what the registrar needs (built by the SIP adapter).
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// Where it came from (rate limiting, NAT-friendly calling back).
    pub source: SocketAddr,
    /// The transport it came on.
    pub transport: Transport,
    /// The user part of the `To` URI (the address of record).
    pub aor_user: String,
    /// The `Authorization` header value, if any (never logged).
    pub authorization: Option<String>,
    /// The `Contact` headers.
    pub contacts: ContactList,
    /// The `Expires` header, if any.
    pub expires: Option<u32>,
    /// The `Path` URIs (RFC 3327), top first; believed only from a configured proxy
    /// ([`RegistrarConfig::proxies`]).
    pub path: Vec<String>,
}

/// The registrar's answer to a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterReply {
    /// `401 Unauthorized` with one `WWW-Authenticate` value per algorithm.
    Challenge {
        /// The header values, in order of preference.
        www_authenticate: Vec<String>,
    },
    /// `403 Forbidden`: bad credentials, unknown user, someone else's AOR, too many
    /// failures from this source, a locked account, or a contact pointing at a host the
    /// agent may not use (which of these is not revealed).
    Forbidden,
    /// `400 Bad Request`.
    BadRequest(&'static str),
    /// `200 OK` listing every current contact as a `Contact` header value
    /// (`<uri>;expires=N`).
    Ok {
        /// The `Contact` header values.
        contacts: Vec<String>,
    },
}

/// An agent logging in or out, for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrarEvent {
    /// A new contact was registered for `agent` (not sent for refreshes).
    Registered {
        /// The agent id.
        agent: String,
        /// The contact URI.
        contact: String,
    },
    /// `agent` has no contact left (unregistered explicitly, or every contact lapsed).
    Unregistered {
        /// The agent id.
        agent: String,
    },
}

/// One registered contact of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentContact {
    /// The contact URI the agent registered.
    pub uri: String,
    /// The address the REGISTER came from (where to send requests behind NAT); through a
    /// proxy, the address the proxy got it from (its Path's `received`).
    pub source: SocketAddr,
    /// The transport it came on.
    pub transport: Transport,
    /// The route to the agent when it registered through a configured proxy (the Path
    /// URIs, top first); empty when it registered directly.
    pub path: Vec<String>,
    /// When the binding lapses unless refreshed.
    pub expires_at: Instant,
    /// When this contact was first registered (latest is preferred).
    pub registered_at: Instant,
}

struct Failures {
    window_start: Instant,
    count: u32,
}

/// The registrar state for every configured agent.
pub struct Registrar {
    config: RegistrarConfig,
    nonces: Nonces,
    bindings: HashMap<String, Vec<AgentContact>>,
    failures: HashMap<IpAddr, Failures>,
    lockouts: Lockouts,
    lockouts_started: u64,
    contacts_refused: u64,
    events: VecDeque<RegistrarEvent>,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("realm", &self.config.realm)
            .field("agents", &self.config.agents.len())
            .field("registered", &self.bindings.len())
            .finish_non_exhaustive()
    }
}

/// A password no agent has, so that unknown users cost the same work as known ones.
const DUMMY_PASSWORD: &str = "\u{0}ringdesk-no-such-user";

impl Registrar {
    /// A registrar for `config`. `key` must be random per process (it authenticates the
    /// nonces); `now` is the current time.
    pub fn new(config: RegistrarConfig, key: [u8; 32], now: Instant) -> Registrar {
        Registrar {
            nonces: Nonces::new(key, now, config.nonce_ttl),
            lockouts: Lockouts::new(config.lockout),
            lockouts_started: 0,
            contacts_refused: 0,
            config,
            bindings: HashMap::new(),
            failures: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    /// The realm challenged with.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// Replace the agent credential table. Agents no longer configured lose their contacts
    /// (reported as [`RegistrarEvent::Unregistered`]).
    pub fn set_agents(&mut self, agents: Vec<AgentCredential>) {
        self.config.agents = agents;
        let agents = &self.config.agents;
        self.lockouts
            .retain(|username| agents.iter().any(|a| a.username == username));
        let known: Vec<String> = self.bindings.keys().cloned().collect();
        for agent in known {
            if !self.config.agents.iter().any(|a| a.agent == agent) {
                self.bindings.remove(&agent);
                self.events
                    .push_back(RegistrarEvent::Unregistered { agent });
            }
        }
    }

    /// Account lockouts started since the registrar was created.
    pub fn lockouts_started(&self) -> u64 {
        self.lockouts_started
    }

    /// REGISTERs refused because a contact pointed at a host the agent may not use.
    pub fn contacts_refused(&self) -> u64 {
        self.contacts_refused
    }

    /// The next event for the runtime, if any.
    pub fn poll_event(&mut self) -> Option<RegistrarEvent> {
        self.events.pop_front()
    }

    /// When the next contact lapses ([`Registrar::handle_timeout`] should be called then).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.bindings
            .values()
            .flatten()
            .map(|contact| contact.expires_at)
            .min()
    }

    /// Remove every contact lapsed at `now`; agents left without one are unregistered.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for (agent, contacts) in &mut self.bindings {
            contacts.retain(|contact| contact.expires_at > now);
            if contacts.is_empty() {
                gone.push(agent.clone());
            }
        }
        gone.sort();
        for agent in gone {
            self.bindings.remove(&agent);
            tracing::info!(agent = %agent, "agent registration lapsed");
            self.events
                .push_back(RegistrarEvent::Unregistered { agent });
        }
    }

    /// `agent`'s current contacts, most recently registered first.
    pub fn contacts(&self, agent: &str) -> Vec<AgentContact> {
        let mut contacts = self.bindings.get(agent).cloned().unwrap_or_default();
        contacts.sort_by_key(|c| std::cmp::Reverse(c.registered_at));
        contacts
    }

    /// Agents with at least one contact.
    pub fn registered_agents(&self) -> Vec<String> {
        let mut agents: Vec<String> = self.bindings.keys().cloned().collect();
        agents.sort();
        agents
    }

    fn challenge(&mut self, now: Instant, stale: bool) -> RegisterReply {
        let nonce = self.nonces.issue(now);
        RegisterReply::Challenge {
            www_authenticate: self
                .config
                .algorithms
                .iter()
                .map(|alg| digest::challenge(&self.config.realm, &nonce, *alg, stale))
                .collect(),
        }
    }

    fn blocked(&mut self, source: IpAddr, now: Instant) -> bool {
        let window = self.config.failure_window;
        match self.failures.get(&source) {
            Some(f) if now.saturating_duration_since(f.window_start) > window => {
                self.failures.remove(&source);
                false
            }
            Some(f) => f.count >= self.config.max_failures,
            None => false,
        }
    }

    fn record_failure(&mut self, source: IpAddr, now: Instant) {
        if self.failures.len() >= MAX_TRACKED_SOURCES && !self.failures.contains_key(&source) {
            let window = self.config.failure_window;
            self.failures
                .retain(|_, f| now.saturating_duration_since(f.window_start) <= window);
            if self.failures.len() >= MAX_TRACKED_SOURCES {
                if let Some(oldest) = self
                    .failures
                    .iter()
                    .min_by_key(|(_, f)| f.window_start)
                    .map(|(ip, _)| *ip)
                {
                    self.failures.remove(&oldest);
                }
            }
        }
        let entry = self.failures.entry(source).or_insert(Failures {
            window_start: now,
            count: 0,
        });
        entry.count = entry.count.saturating_add(1);
    }

    /// Authenticate and apply one REGISTER received at `now`.
    pub fn handle_register(&mut self, now: Instant, request: &RegisterRequest) -> RegisterReply {
        let (agent_addr, path) = self.through_proxy(request);
        let source = agent_addr.ip();
        if self.blocked(source, now) {
            tracing::info!(%source, "REGISTER refused: too many failed attempts");
            return RegisterReply::Forbidden;
        }
        let Some(header) = request.authorization.as_deref() else {
            return self.challenge(now, false);
        };
        let auth = match digest::parse_authorization(header) {
            Ok(auth) => auth,
            Err(DigestError::NotDigest | DigestError::UnsupportedAlgorithm) => {
                return self.challenge(now, false)
            }
            Err(error) => {
                tracing::info!(%source, %error, "REGISTER with a malformed Authorization");
                return RegisterReply::BadRequest("malformed Authorization header");
            }
        };
        if auth.realm != self.config.realm || !self.config.algorithms.contains(&auth.algorithm) {
            return self.challenge(now, false);
        }
        let credential = self
            .config
            .agents
            .iter()
            .find(|c| c.username == auth.username)
            .cloned();
        let credential = credential.as_ref();
        let password = credential.map_or(DUMMY_PASSWORD, |c| c.password.expose());
        let valid = digest::verify(&auth, "REGISTER", password);
        if let Some(c) = credential.filter(|c| self.lockouts.is_locked(&c.username, now)) {
            tracing::info!(
                "REGISTER refused: account locked: user={:?} source={source}",
                bounded_to(&c.username, 64)
            );
            return RegisterReply::Forbidden;
        }
        let (agent, username, contact_hosts) = match credential {
            Some(c) if valid && c.username == request.aor_user => {
                (c.agent.clone(), c.username.clone(), c.contact_hosts.clone())
            }
            _ => {
                self.record_failure(source, now);
                // Source first: the username is the client's, quoted and escaped ({:?}),
                // so a crafted one cannot pose as another source to a log filter.
                tracing::info!(
                    "REGISTER authentication failed: source={source} user={:?}",
                    bounded_to(&auth.username, 64)
                );
                if let Some(c) = credential.filter(|_| !valid) {
                    let username = c.username.clone();
                    if let Some(locked) = self.lockouts.record_failure(&username, now) {
                        self.lockouts_started += 1;
                        tracing::warn!(
                            "REGISTER account locked: user={:?} source={source} failures={} locked_for={}s",
                            bounded_to(&username, 64),
                            locked.failures,
                            locked.duration.as_secs_f64().ceil()
                        );
                    }
                }
                return RegisterReply::Forbidden;
            }
        };
        let nc = auth.qop.as_ref().map(|(nc, _)| *nc);
        match self.nonces.check(&auth.nonce, nc, now) {
            NonceCheck::Fresh => self.nonces.mark_used(&auth.nonce, nc, now),
            NonceCheck::Stale => return self.challenge(now, true),
            NonceCheck::Invalid => return self.challenge(now, false),
        }
        self.lockouts.record_success(&username);
        if let ContactList::List(specs) = &request.contacts {
            let default_gone = request.expires == Some(0);
            let refused = specs.iter().find(|spec| {
                let removal = spec.expires == Some(0) || (spec.expires.is_none() && default_gone);
                !removal && !contact_hosts.allows(&spec.uri, source)
            });
            if let Some(spec) = refused {
                self.contacts_refused += 1;
                tracing::warn!(
                    "REGISTER refused: contact host not allowed: user={:?} source={source} contact={:?}",
                    bounded_to(&username, 64),
                    bounded_to(&spec.uri, 128)
                );
                return RegisterReply::Forbidden;
            }
        }
        self.apply(now, &agent, request, agent_addr, &path)
    }

    /// Where the agent is and the route back to it. A REGISTER relayed by a configured
    /// proxy with a Path: the top Path URI's `received` (else the proxy itself) and the
    /// Path; any other REGISTER: its source, and its Path (if any) is ignored, so nobody
    /// can make ringdesk send an agent's INVITEs (the screen pop) through a host of theirs.
    fn through_proxy(&self, request: &RegisterRequest) -> (SocketAddr, Vec<String>) {
        let Some(top) = request.path.first() else {
            return (request.source, Vec::new());
        };
        let ip = canonical(request.source.ip());
        if !self.config.proxies.iter().any(|net| net.contains(&ip)) {
            tracing::debug!(source = %request.source, "REGISTER with a Path from no configured proxy: Path ignored");
            return (request.source, Vec::new());
        }
        let agent = received_of(top).map_or(request.source, |a| {
            SocketAddr::new(canonical(a.ip()), a.port())
        });
        (agent, request.path.clone())
    }

    fn apply(
        &mut self,
        now: Instant,
        agent: &str,
        request: &RegisterRequest,
        source: SocketAddr,
        path: &[String],
    ) -> RegisterReply {
        let had_contacts = self.bindings.get(agent).is_some_and(|c| !c.is_empty());
        match &request.contacts {
            ContactList::Star => {
                if request.expires != Some(0) {
                    return RegisterReply::BadRequest("Contact: * requires Expires: 0");
                }
                self.bindings.remove(agent);
            }
            ContactList::List(specs) => {
                let default = request
                    .expires
                    .map(|s| Duration::from_secs(u64::from(s)))
                    .unwrap_or(self.config.default_expires);
                let max_contacts = self.config.max_contacts_per_agent.max(1);
                let min = self.config.min_expires;
                let max = self.config.max_expires;
                let contacts = self.bindings.entry(agent.to_owned()).or_default();
                for spec in specs {
                    let expires = spec
                        .expires
                        .map(|s| Duration::from_secs(u64::from(s)))
                        .unwrap_or(default);
                    if expires.is_zero() {
                        contacts.retain(|c| c.uri != spec.uri);
                        continue;
                    }
                    let expires_at = now + expires.clamp(min, max);
                    if let Some(existing) = contacts.iter_mut().find(|c| c.uri == spec.uri) {
                        existing.expires_at = expires_at;
                        existing.source = source;
                        existing.transport = request.transport;
                        existing.path = path.to_vec();
                        continue;
                    }
                    if contacts.len() >= max_contacts {
                        if let Some(oldest) = contacts
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, c)| c.registered_at)
                            .map(|(i, _)| i)
                        {
                            contacts.remove(oldest);
                        }
                    }
                    contacts.push(AgentContact {
                        uri: spec.uri.clone(),
                        source,
                        transport: request.transport,
                        path: path.to_vec(),
                        expires_at,
                        registered_at: now,
                    });
                    tracing::info!(agent = %agent, "agent contact registered");
                    self.events.push_back(RegistrarEvent::Registered {
                        agent: agent.to_owned(),
                        contact: spec.uri.clone(),
                    });
                }
                if contacts.is_empty() {
                    self.bindings.remove(agent);
                }
            }
        }
        if had_contacts && !self.bindings.contains_key(agent) {
            tracing::info!(agent = %agent, "agent unregistered");
            self.events.push_back(RegistrarEvent::Unregistered {
                agent: agent.to_owned(),
            });
        }
        RegisterReply::Ok {
            contacts: self
                .contacts(agent)
                .iter()
                .map(|c| {
                    let left = c.expires_at.saturating_duration_since(now).as_secs();
                    format!("<{}>;expires={left}", c.uri)
                })
                .collect(),
        }
    }
}

#[cfg(test)]
#[path = "registrar_tests.rs"]
mod tests;
