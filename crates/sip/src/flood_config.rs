//! Configuration of the flood defence: per-source token buckets for new out-of-dialog
//! requests (OPTIONS, REGISTER, INVITE and the rest counted apart), the ban for a source
//! over its limit, the size of the source table, and the caps on stream connections.
//!
//! The defaults are far above what a PBX trunk or an office of agents sends, and far below
//! what SIP scanners send (hundreds of requests a second).

use std::time::Duration;

use ipnet::IpNet;

/// A token bucket: `per_second` tokens added each second, up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained requests per second. 0 (or less): no limit for this kind.
    pub per_second: f64,
    /// Requests accepted at once from a quiet source.
    pub burst: u32,
}

impl Rate {
    /// `per_second` sustained, `burst` at once.
    pub const fn new(per_second: f64, burst: u32) -> Rate {
        Rate { per_second, burst }
    }

    /// Whether this kind of request is limited at all.
    pub fn is_limited(&self) -> bool {
        self.per_second > 0.0
    }
}

/// How new requests and connections are limited per source (IP address).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FloodConfig {
    /// Out-of-dialog OPTIONS (keep-alives, scanners). Default 10/s, burst 50.
    pub options: Rate,
    /// REGISTER (agents behind one office NAT share an address). Default 20/s, burst 200.
    pub register: Rate,
    /// New INVITEs (a trunk carries every call). Default 50/s, burst 200.
    pub invite: Rate,
    /// Every other out-of-dialog request. Default 20/s, burst 100.
    pub other: Rate,
    /// How long a source over a limit is ignored (every packet and connection from it is
    /// dropped silently). 0: only the requests over the limit are dropped. Default 10 min.
    pub ban: Duration,
    /// Most sources tracked at once; the oldest are forgotten first (banned ones last).
    /// Default 16384 (about 2 MiB).
    pub max_sources: usize,
    /// Most open stream (TCP) connections from one IP address. 0: no cap. Default 32.
    pub max_connections_per_source: usize,
    /// Most open stream (TCP) connections in all, agent legs included. 0: no cap.
    /// Default 2000.
    pub max_connections: usize,
    /// Sources never limited, banned or capped per source (an SBC in front, a monitoring
    /// host). Default: none.
    pub exempt: Vec<IpNet>,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig {
            options: Rate::new(10.0, 50),
            register: Rate::new(20.0, 200),
            invite: Rate::new(50.0, 200),
            other: Rate::new(20.0, 100),
            ban: Duration::from_secs(600),
            max_sources: 16_384,
            max_connections_per_source: 32,
            max_connections: 2000,
            exempt: Vec::new(),
        }
    }
}

impl FloodConfig {
    /// No request limits and no connection caps (tests and trusted networks only).
    pub fn unlimited() -> FloodConfig {
        let off = Rate::new(0.0, 0);
        FloodConfig {
            options: off,
            register: off,
            invite: off,
            other: off,
            max_connections_per_source: 0,
            max_connections: 0,
            ..FloodConfig::default()
        }
    }
}

impl FloodConfig {
    /// Whether `ip` is exempt from the per-source limits.
    pub(crate) fn is_exempt(&self, ip: std::net::IpAddr) -> bool {
        let ip = crate::contact_hosts::canonical(ip);
        self.exempt.iter().any(|net| net.contains(&ip))
    }
}
