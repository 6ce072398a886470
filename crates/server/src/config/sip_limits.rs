//! `[sip.limits]`: the flood defence (per-source request rates and bans, TCP connection
//! caps) and the per-account REGISTER lockout, as the config file holds them.
//!
//! ```toml
//! [sip.limits]
//! invite_rate = 50.0            # new INVITEs per second per source (0: no limit)
//! invite_burst = 200
//! ban = "10m"                   # a source over a limit is ignored this long
//! register_max_failures = 5     # failed REGISTERs that lock an account (0: never)
//! ```
//!
//! Defaults are the SIP crate's ([`ringdesk_sip::FloodConfig`], [`ringdesk_sip::LockoutConfig`]),
//! except `exempt`: the loopback addresses, so a proxy or test tool on the same host is
//! never banned.

use anyhow::{bail, Result};
use ringdesk_sip::{FloodConfig, LockoutConfig, Rate};
use serde::Deserialize;
use std::time::Duration;

/// Longest ban or lockout.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most sources tracked.
const MAX_SOURCES: usize = 1_000_000;
/// Highest rate accepted (requests per second).
const MAX_RATE: f64 = 1_000_000.0;

/// `[sip.limits]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipLimitsConfig {
    pub options_rate: f64,
    pub options_burst: u32,
    pub register_rate: f64,
    pub register_burst: u32,
    pub invite_rate: f64,
    pub invite_burst: u32,
    pub other_rate: f64,
    pub other_burst: u32,
    #[serde(with = "humantime_serde")]
    pub ban: Duration,
    pub max_sources: usize,
    pub max_tcp_connections_per_source: usize,
    pub max_tcp_connections: usize,
    pub exempt: Vec<String>,
    pub register_max_failures: u32,
    #[serde(with = "humantime_serde")]
    pub register_failure_window: Duration,
    #[serde(with = "humantime_serde")]
    pub register_lockout: Duration,
    #[serde(with = "humantime_serde")]
    pub register_lockout_max: Duration,
}

impl Default for SipLimitsConfig {
    fn default() -> Self {
        let flood = FloodConfig::default();
        let lockout = LockoutConfig::default();
        SipLimitsConfig {
            options_rate: flood.options.per_second,
            options_burst: flood.options.burst,
            register_rate: flood.register.per_second,
            register_burst: flood.register.burst,
            invite_rate: flood.invite.per_second,
            invite_burst: flood.invite.burst,
            other_rate: flood.other.per_second,
            other_burst: flood.other.burst,
            ban: flood.ban,
            max_sources: flood.max_sources,
            max_tcp_connections_per_source: flood.max_connections_per_source,
            max_tcp_connections: flood.max_connections,
            exempt: vec!["127.0.0.0/8".into(), "::1".into()],
            register_max_failures: lockout.max_failures,
            register_failure_window: lockout.window,
            register_lockout: lockout.duration,
            register_lockout_max: lockout.max_duration,
        }
    }
}

impl SipLimitsConfig {
    /// Checks every bound; errors name the file and the key.
    pub fn validate(&self, origin: &str) -> Result<()> {
        for (key, rate, burst) in [
            ("options", self.options_rate, self.options_burst),
            ("register", self.register_rate, self.register_burst),
            ("invite", self.invite_rate, self.invite_burst),
            ("other", self.other_rate, self.other_burst),
        ] {
            if !(0.0..=MAX_RATE).contains(&rate) {
                bail!(
                    "{origin}: [sip.limits] {key}_rate must be between 0 (no limit) and {MAX_RATE}"
                );
            }
            if rate > 0.0 && burst == 0 {
                bail!("{origin}: [sip.limits] {key}_burst must be at least 1");
            }
        }
        for (key, value) in [
            ("ban", self.ban),
            ("register_failure_window", self.register_failure_window),
            ("register_lockout", self.register_lockout),
            ("register_lockout_max", self.register_lockout_max),
        ] {
            if value > MAX_DURATION {
                bail!("{origin}: [sip.limits] {key} must be at most 7 days");
            }
        }
        if self.register_max_failures > 0 {
            if self.register_lockout.is_zero() || self.register_failure_window.is_zero() {
                bail!("{origin}: [sip.limits] register_lockout and register_failure_window must be positive (register_max_failures = 0 turns the lockout off)");
            }
            if self.register_lockout_max < self.register_lockout {
                bail!(
                    "{origin}: [sip.limits] register_lockout_max must be at least register_lockout"
                );
            }
        }
        if self.max_sources == 0 || self.max_sources > MAX_SOURCES {
            bail!("{origin}: [sip.limits] max_sources must be between 1 and {MAX_SOURCES}");
        }
        self.flood()
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{origin}: [sip.limits] exempt: {e}"))
    }

    /// The SIP server's flood defence.
    pub fn flood(&self) -> Result<FloodConfig, ringdesk_sip::ContactHostsError> {
        let mut flood = FloodConfig::default();
        flood.options = Rate::new(self.options_rate, self.options_burst);
        flood.register = Rate::new(self.register_rate, self.register_burst);
        flood.invite = Rate::new(self.invite_rate, self.invite_burst);
        flood.other = Rate::new(self.other_rate, self.other_burst);
        flood.ban = self.ban;
        flood.max_sources = self.max_sources;
        flood.max_connections_per_source = self.max_tcp_connections_per_source;
        flood.max_connections = self.max_tcp_connections;
        flood.exempt = self
            .exempt
            .iter()
            .map(|entry| ringdesk_sip::parse_net(entry))
            .collect::<Result<_, _>>()?;
        Ok(flood)
    }

    /// The registrar's per-account lockout.
    pub fn lockout(&self) -> LockoutConfig {
        LockoutConfig {
            max_failures: self.register_max_failures,
            window: self.register_failure_window,
            duration: self.register_lockout,
            max_duration: self.register_lockout_max,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Defaults, parsing and validation of `[sip.limits]`.
    use super::*;
    use crate::config::Config;

    #[test]
    fn defaults_are_the_sip_crates_with_loopback_exempt() {
        let c = Config::parse("", "r.toml").unwrap();
        let flood = c.sip.limits.flood().unwrap();
        let mut expected = FloodConfig::default();
        expected.exempt = vec![
            ringdesk_sip::parse_net("127.0.0.0/8").unwrap(),
            ringdesk_sip::parse_net("::1").unwrap(),
        ];
        assert_eq!(flood, expected);
        assert_eq!(c.sip.limits.lockout(), LockoutConfig::default());
    }

    /// The shipped example shows every key with its real default.
    #[test]
    fn the_example_shows_every_key_with_its_default() {
        let c = Config::parse(crate::config::EXAMPLE, "config.example.toml").unwrap();
        assert_eq!(c.sip.limits, SipLimitsConfig::default());
        let start = crate::config::EXAMPLE.find("[sip.limits]").unwrap();
        let section = &crate::config::EXAMPLE[start..];
        let section = &section[..section[1..].find("\n[").map_or(section.len(), |i| i + 1)];
        for key in [
            "options_rate",
            "options_burst",
            "register_rate",
            "register_burst",
            "invite_rate",
            "invite_burst",
            "other_rate",
            "other_burst",
            "ban",
            "max_sources",
            "max_tcp_connections_per_source",
            "max_tcp_connections",
            "exempt",
            "register_max_failures",
            "register_failure_window",
            "register_lockout",
            "register_lockout_max",
        ] {
            assert!(
                section.contains(&format!("\n{key} = ")),
                "{key} not in the example"
            );
        }
    }

    #[test]
    fn every_key_is_read() {
        let c = Config::parse(
            "[sip.limits]\noptions_rate = 1.5\noptions_burst = 3\nregister_rate = 2\nregister_burst = 4\n\
             invite_rate = 0\ninvite_burst = 0\nother_rate = 5\nother_burst = 6\nban = \"30s\"\n\
             max_sources = 10\nmax_tcp_connections_per_source = 2\nmax_tcp_connections = 9\n\
             exempt = [\"10.0.0.0/8\"]\nregister_max_failures = 3\nregister_failure_window = \"1m\"\n\
             register_lockout = \"2s\"\nregister_lockout_max = \"10s\"\n",
            "r.toml",
        )
        .unwrap();
        let flood = c.sip.limits.flood().unwrap();
        assert_eq!(flood.options, Rate::new(1.5, 3));
        assert_eq!(flood.register, Rate::new(2.0, 4));
        assert!(!flood.invite.is_limited());
        assert_eq!(flood.other, Rate::new(5.0, 6));
        assert_eq!(flood.ban, Duration::from_secs(30));
        assert_eq!(flood.max_sources, 10);
        assert_eq!(flood.max_connections_per_source, 2);
        assert_eq!(flood.max_connections, 9);
        assert_eq!(flood.exempt.len(), 1);
        let lockout = c.sip.limits.lockout();
        assert_eq!(lockout.max_failures, 3);
        assert_eq!(lockout.window, Duration::from_secs(60));
        assert_eq!(lockout.duration, Duration::from_secs(2));
        assert_eq!(lockout.max_duration, Duration::from_secs(10));
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let err = |text: &str| {
            Config::parse(&format!("[sip.limits]\n{text}\n"), "r.toml")
                .unwrap_err()
                .to_string()
        };
        assert!(err("invite_rate = -1").contains("invite_rate"));
        assert!(err("options_burst = 0").contains("options_burst"));
        assert!(err("exempt = [\"pbx.example.com\"]").contains("exempt"));
        assert!(err("max_sources = 0").contains("max_sources"));
        assert!(
            err("register_lockout = \"10s\"\nregister_lockout_max = \"5s\"")
                .contains("register_lockout_max")
        );
        assert!(err("ban = \"30d\"").contains("ban"));
        assert!(err("bogus = 1").starts_with("r.toml:2:"));
    }
}
