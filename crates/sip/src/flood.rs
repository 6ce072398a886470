//! The flood guard (sans-IO): a token bucket per source and kind of new request, a
//! temporary ban for a source over its limit (like Kamailio's `pike` with an `htable` ban
//! list), a bounded table of sources, and the stream-connection caps. No socket, no clock:
//! every call takes `now`.
//!
//! A banned source is dropped silently (no response: a scanner learns nothing and gets no
//! amplification). Each ban is logged once, in a stable format a fail2ban filter can match:
//! `SIP source banned: source=<ip> method=<METHOD> ban=<seconds>s`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use crate::flood_config::{FloodConfig, Rate};

/// The kinds of new request counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Options,
    Register,
    Invite,
    Other,
}

impl RequestKind {
    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            RequestKind::Options => "OPTIONS",
            RequestKind::Register => "REGISTER",
            RequestKind::Invite => "INVITE",
            RequestKind::Other => "other",
        }
    }
}

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Serve it.
    Accept,
    /// Drop it silently (over the limit, or the source is banned).
    Drop,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Take one token at `now`; false when the bucket is empty.
    fn take(&mut self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let burst = f64::from(rate.burst.max(1));
        self.tokens = (self.tokens + elapsed * rate.per_second).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct Source {
    buckets: [Option<Bucket>; 4],
    banned_until: Option<Instant>,
}

impl Source {
    fn is_banned(&self, now: Instant) -> bool {
        self.banned_until.is_some_and(|until| now < until)
    }
}

/// Counts for metrics, since the guard was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FloodCounts {
    /// Requests dropped because their source was over a rate limit or banned.
    pub(crate) requests_refused: u64,
    /// Sources banned.
    pub(crate) bans: u64,
    /// Stream connections refused (source banned, or a connection cap reached).
    pub(crate) connections_refused: u64,
}

/// Per-source limits and bans.
#[derive(Debug)]
pub(crate) struct FloodGuard {
    config: FloodConfig,
    sources: HashMap<IpAddr, Source>,
    /// Sources in the order they were first seen (oldest first), for eviction.
    order: VecDeque<IpAddr>,
    counts: FloodCounts,
}

/// How many of the oldest sources are looked at for one not banned before evicting a
/// banned one anyway.
const EVICTION_SCAN: usize = 8;

impl FloodGuard {
    pub(crate) fn new(config: FloodConfig) -> FloodGuard {
        FloodGuard {
            config,
            sources: HashMap::new(),
            order: VecDeque::new(),
            counts: FloodCounts::default(),
        }
    }

    pub(crate) fn counts(&self) -> FloodCounts {
        self.counts
    }

    /// Whether `ip` is banned at `now`.
    pub(crate) fn is_banned(&self, ip: IpAddr, now: Instant) -> bool {
        self.sources.get(&ip).is_some_and(|s| s.is_banned(now))
    }

    /// A packet or in-dialog request from `ip`: dropped only while `ip` is banned.
    pub(crate) fn check_source(&mut self, ip: IpAddr, now: Instant) -> Verdict {
        if !self.sources.is_empty() && self.is_banned(ip, now) {
            self.counts.requests_refused += 1;
            return Verdict::Drop;
        }
        Verdict::Accept
    }

    /// A new out-of-dialog request of `kind` from `ip` at `now`.
    pub(crate) fn admit(&mut self, ip: IpAddr, kind: RequestKind, now: Instant) -> Verdict {
        let rate = match kind {
            RequestKind::Options => self.config.options,
            RequestKind::Register => self.config.register,
            RequestKind::Invite => self.config.invite,
            RequestKind::Other => self.config.other,
        };
        if self.is_banned(ip, now) {
            self.counts.requests_refused += 1;
            return Verdict::Drop;
        }
        if !rate.is_limited() || self.config.is_exempt(ip) {
            return Verdict::Accept;
        }
        let ban = self.config.ban;
        let (accepted, banned_now) = {
            let source = self.source(ip, now);
            let bucket = source.buckets[kind.index()].get_or_insert(Bucket {
                tokens: f64::from(rate.burst.max(1)),
                last: now,
            });
            if bucket.take(rate, now) {
                (true, false)
            } else if ban.is_zero() {
                (false, false)
            } else {
                source.banned_until = Some(now + ban);
                // Refilled when the ban ends: a fresh start, not the debt of the flood.
                source.buckets = [None; 4];
                (false, true)
            }
        };
        if accepted {
            return Verdict::Accept;
        }
        self.counts.requests_refused += 1;
        if banned_now {
            self.counts.bans += 1;
            tracing::warn!(
                "SIP source banned: source={ip} method={} ban={}s",
                kind.name(),
                ban.as_secs_f64().ceil()
            );
        }
        Verdict::Drop
    }

    /// A new stream connection from `ip`, with `total` stream connections open of which
    /// `from_ip` are from `ip`.
    pub(crate) fn admit_connection(
        &mut self,
        ip: IpAddr,
        total: usize,
        from_ip: usize,
        now: Instant,
    ) -> Verdict {
        let per_source = self.config.max_connections_per_source;
        let overall = self.config.max_connections;
        let exempt = self.config.is_exempt(ip);
        let refused = self.is_banned(ip, now)
            || (!exempt && per_source > 0 && from_ip >= per_source)
            || (overall > 0 && total >= overall);
        if refused {
            self.counts.connections_refused += 1;
            tracing::info!(
                "SIP connection refused: source={ip} open_from_source={from_ip} open={total}"
            );
            return Verdict::Drop;
        }
        Verdict::Accept
    }

    /// The state of `ip`, created (evicting the oldest source when full) if new.
    fn source(&mut self, ip: IpAddr, now: Instant) -> &mut Source {
        if !self.sources.contains_key(&ip) {
            let max = self.config.max_sources.max(1);
            while self.sources.len() >= max {
                self.evict_one(now);
            }
            self.order.push_back(ip);
        }
        self.sources.entry(ip).or_insert(Source {
            buckets: [None; 4],
            banned_until: None,
        })
    }

    /// Forget the oldest source not banned among the first few, else the oldest.
    fn evict_one(&mut self, now: Instant) {
        let scan = EVICTION_SCAN.min(self.order.len());
        let position = (0..scan)
            .find(|&i| {
                self.order
                    .get(i)
                    .and_then(|ip| self.sources.get(ip))
                    .is_none_or(|s| !s.is_banned(now))
            })
            .unwrap_or(0);
        match self.order.remove(position) {
            Some(ip) => {
                self.sources.remove(&ip);
            }
            None => self.sources.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Buckets, bans and the bounded table on virtual time.
    use super::*;
    use std::time::Duration;

    fn config() -> FloodConfig {
        FloodConfig {
            options: Rate::new(2.0, 4),
            invite: Rate::new(1.0, 2),
            ban: Duration::from_secs(30),
            max_sources: 3,
            max_connections_per_source: 2,
            max_connections: 3,
            ..FloodConfig::default()
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_burst_passes_then_the_source_is_banned_for_the_ban_time() {
        let mut g = FloodGuard::new(config());
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(g.admit(ip(1), RequestKind::Options, t0), Verdict::Accept);
        }
        assert_eq!(g.admit(ip(1), RequestKind::Options, t0), Verdict::Drop);
        assert_eq!(g.counts().bans, 1);
        // Banned: every kind, and any packet, until the ban ends.
        let during = t0 + Duration::from_secs(29);
        assert_eq!(g.admit(ip(1), RequestKind::Invite, during), Verdict::Drop);
        assert_eq!(g.check_source(ip(1), during), Verdict::Drop);
        assert_eq!(g.counts().requests_refused, 3);
        // Another source is untouched.
        assert_eq!(g.admit(ip(2), RequestKind::Options, t0), Verdict::Accept);
        let after = t0 + Duration::from_secs(30);
        assert_eq!(g.check_source(ip(1), after), Verdict::Accept);
        assert_eq!(g.admit(ip(1), RequestKind::Options, after), Verdict::Accept);
        assert_eq!(g.counts().bans, 1);
    }

    #[test]
    fn kinds_are_counted_apart_and_refill_at_the_rate() {
        let mut g = FloodGuard::new(FloodConfig {
            ban: Duration::ZERO,
            ..config()
        });
        let t0 = Instant::now();
        for _ in 0..2 {
            assert_eq!(g.admit(ip(1), RequestKind::Invite, t0), Verdict::Accept);
        }
        assert_eq!(g.admit(ip(1), RequestKind::Invite, t0), Verdict::Drop);
        // OPTIONS have their own bucket; no ban configured, so nothing else is dropped.
        assert_eq!(g.admit(ip(1), RequestKind::Options, t0), Verdict::Accept);
        assert_eq!(g.counts().bans, 0);
        // One INVITE a second: one more after a second, not two.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(g.admit(ip(1), RequestKind::Invite, t1), Verdict::Accept);
        assert_eq!(g.admit(ip(1), RequestKind::Invite, t1), Verdict::Drop);
        // A steady rate at the limit is never refused.
        let mut t = t1;
        for _ in 0..100 {
            t += Duration::from_secs(1);
            assert_eq!(g.admit(ip(1), RequestKind::Invite, t), Verdict::Accept);
        }
    }

    #[test]
    fn the_source_table_is_bounded_and_keeps_bans_longest() {
        let mut g = FloodGuard::new(config());
        let t0 = Instant::now();
        for _ in 0..5 {
            g.admit(ip(1), RequestKind::Options, t0);
        }
        assert!(g.is_banned(ip(1), t0));
        for last in 2..=200 {
            g.admit(ip(last), RequestKind::Options, t0);
            assert!(g.sources.len() <= 3 && g.order.len() <= 3);
        }
        assert!(g.is_banned(ip(1), t0), "the banned source was kept");
    }

    #[test]
    fn unlimited_kinds_are_not_tracked() {
        let mut g = FloodGuard::new(FloodConfig::unlimited());
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(g.admit(ip(1), RequestKind::Invite, t0), Verdict::Accept);
        }
        assert!(g.sources.is_empty());
        assert_eq!(
            g.admit_connection(ip(1), 10_000, 10_000, t0),
            Verdict::Accept
        );
    }

    #[test]
    fn exempt_sources_are_never_limited() {
        let mut g = FloodGuard::new(FloodConfig {
            exempt: vec![crate::contact_hosts::parse_net("192.0.2.0/30").unwrap()],
            ..config()
        });
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(g.admit(ip(1), RequestKind::Invite, t0), Verdict::Accept);
        }
        assert_eq!(g.admit_connection(ip(1), 0, 50, t0), Verdict::Accept);
        assert_eq!(g.admit_connection(ip(1), 3, 0, t0), Verdict::Drop);
        for _ in 0..3 {
            g.admit(ip(9), RequestKind::Invite, t0);
        }
        assert!(g.is_banned(ip(9), t0));
    }

    #[test]
    fn connection_caps_per_source_and_overall() {
        let mut g = FloodGuard::new(config());
        let t0 = Instant::now();
        assert_eq!(g.admit_connection(ip(1), 0, 0, t0), Verdict::Accept);
        assert_eq!(g.admit_connection(ip(1), 1, 1, t0), Verdict::Accept);
        assert_eq!(g.admit_connection(ip(1), 2, 2, t0), Verdict::Drop);
        assert_eq!(g.admit_connection(ip(2), 2, 0, t0), Verdict::Accept);
        assert_eq!(g.admit_connection(ip(3), 3, 0, t0), Verdict::Drop);
        assert_eq!(g.counts().connections_refused, 2);
        for _ in 0..5 {
            g.admit(ip(4), RequestKind::Options, t0);
        }
        assert_eq!(g.admit_connection(ip(4), 0, 0, t0), Verdict::Drop);
    }
}
