//! Configuration of the agent registrar: the credential table (agent id, SIP username,
//! password, allowed contact hosts), the digest realm and algorithms, expiry bounds, the
//! per-source failure rate limit and the per-account lockout.

use std::time::Duration;

use crate::contact_hosts::ContactHosts;
use crate::digest::DigestAlgorithm;
use crate::lockout::LockoutConfig;
use crate::secret::Secret;
use ipnet::IpNet;

/// One agent's SIP credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentCredential {
    /// The agent id (as the routing core knows it); events name the agent by it.
    pub agent: String,
    /// The SIP username (digest username and AOR user) the agent's softphone uses.
    pub username: String,
    /// The SIP password.
    pub password: Secret,
    /// Where the agent's registered contacts may point (default: only the address each
    /// REGISTER comes from). A REGISTER naming another host is refused with `403`.
    pub contact_hosts: ContactHosts,
}

impl AgentCredential {
    /// Credentials whose SIP username is the agent id.
    pub fn new(agent: impl Into<String>, password: Secret) -> AgentCredential {
        let agent = agent.into();
        AgentCredential {
            username: agent.clone(),
            agent,
            password,
            contact_hosts: ContactHosts::source_only(),
        }
    }

    /// The same credentials, with these allowed contact hosts.
    pub fn with_contact_hosts(mut self, contact_hosts: ContactHosts) -> AgentCredential {
        self.contact_hosts = contact_hosts;
        self
    }
}

/// How the registrar authenticates and keeps registrations.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegistrarConfig {
    /// Digest realm (default `ringdesk`).
    pub realm: String,
    /// Who may register.
    pub agents: Vec<AgentCredential>,
    /// Algorithms challenged with, in order of preference (RFC 8760: one `WWW-Authenticate`
    /// per algorithm). Default: MD5 then SHA-256 (MD5 first because many phones only read
    /// the first challenge).
    pub algorithms: Vec<DigestAlgorithm>,
    /// Shortest registration kept (shorter requests are raised to it). Default 60 s.
    pub min_expires: Duration,
    /// Longest registration kept (longer requests are lowered to it). Default 3600 s.
    pub max_expires: Duration,
    /// Registration time when the request names none. Default 3600 s.
    pub default_expires: Duration,
    /// How long a nonce is accepted before `stale=true`. Default 300 s.
    pub nonce_ttl: Duration,
    /// Most contacts per agent; a new one beyond it replaces the oldest. Default 5.
    pub max_contacts_per_agent: usize,
    /// Failed authentications from one IP address tolerated per window. Default 10.
    pub max_failures: u32,
    /// The rate-limit window. Default 60 s.
    pub failure_window: Duration,
    /// Per-account lockout after failed authentications from any source.
    pub lockout: LockoutConfig,
    /// SIP proxies in front of ringdesk (Kamailio) whose REGISTERs' `Path` (RFC 3327) is
    /// believed: the agent is then rung through that route, and its address is the one
    /// the proxy saw (the Path's `received`). Default: none (Path ignored).
    pub proxies: Vec<IpNet>,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            realm: "ringdesk".to_owned(),
            agents: Vec::new(),
            algorithms: vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256],
            min_expires: Duration::from_secs(60),
            max_expires: Duration::from_secs(3600),
            default_expires: Duration::from_secs(3600),
            nonce_ttl: Duration::from_secs(300),
            max_contacts_per_agent: 5,
            max_failures: 10,
            failure_window: Duration::from_secs(60),
            lockout: LockoutConfig::default(),
            proxies: Vec::new(),
        }
    }
}

impl RegistrarConfig {
    /// Defaults with these agents.
    pub fn with_agents(agents: Vec<AgentCredential>) -> RegistrarConfig {
        RegistrarConfig {
            agents,
            ..RegistrarConfig::default()
        }
    }
}
