//! `[records]`: how long call records are kept.
//!
//! ```toml
//! [records]
//! keep_days = 90     # 0: keep forever (asked for explicitly; warned about at start)
//! ```
//!
//! A record holds the caller's number, the customer's helpdesk ids and what happened on
//! the call: personal data, which data-protection law (GDPR art. 5(1)(e), LGPD art. 15)
//! says must not be kept longer than needed. So records expire by default, after 90 days:
//! long enough for monthly reporting and a quarter's disputes, short enough that a leak
//! of the file exposes one quarter, not the service's whole history. `ringdesk serve`
//! purges on a schedule (`runtime/retention.rs`); `ringdesk interactions purge` does it
//! by hand. Outbox items still to deliver are never purged.

use anyhow::{bail, Result};
use serde::Deserialize;

/// Days kept when the file says nothing.
pub const DEFAULT_KEEP_DAYS: u32 = 90;
/// Longest retention that can be configured (100 years; use 0 for "forever").
pub const MAX_KEEP_DAYS: u32 = 36_500;

/// `[records]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsConfig {
    /// Days a call record is kept after the call arrived; 0 keeps records forever.
    #[serde(default = "default_keep_days")]
    pub keep_days: u32,
}

impl Default for RecordsConfig {
    fn default() -> Self {
        RecordsConfig {
            keep_days: DEFAULT_KEEP_DAYS,
        }
    }
}

fn default_keep_days() -> u32 {
    DEFAULT_KEEP_DAYS
}

impl RecordsConfig {
    pub(super) fn validate(&self, origin: &str) -> Result<()> {
        if self.keep_days > MAX_KEEP_DAYS {
            bail!(
                "{origin}: [records] keep_days = {}: at most {MAX_KEEP_DAYS} (0 keeps records forever)",
                self.keep_days
            );
        }
        Ok(())
    }

    /// Days kept, or `None` when records are kept forever.
    pub fn keep_days(&self) -> Option<u32> {
        (self.keep_days > 0).then_some(self.keep_days)
    }
}

/// Records that arrived before this are old enough to purge, `days` before `now`.
pub fn cutoff(now: jiff::Timestamp, days: u32) -> Result<jiff::Timestamp> {
    let hours = i64::from(days.min(MAX_KEEP_DAYS)) * 24;
    Ok(now.checked_sub(jiff::SignedDuration::from_hours(hours))?)
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    #[test]
    fn records_expire_after_90_days_unless_configured() {
        let c = Config::parse("", "r.toml").unwrap();
        assert_eq!(c.records.keep_days(), Some(90));
        let c = Config::parse("[records]\nkeep_days = 30\n", "r.toml").unwrap();
        assert_eq!(c.records.keep_days(), Some(30));
        let c = Config::parse("[records]\nkeep_days = 0\n", "r.toml").unwrap();
        assert_eq!(c.records.keep_days(), None, "0 keeps forever");
    }

    #[test]
    fn the_shipped_example_shows_the_default() {
        let c = Config::parse(super::super::EXAMPLE, "config.example.toml").unwrap();
        assert_eq!(c.records, RecordsConfig::default());
        assert!(super::super::EXAMPLE.contains("[records]\n"));
    }

    #[test]
    fn bad_keep_days_names_the_file_and_key() {
        let e = Config::parse("[records]\nkeep_days = 40000\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("r.toml:") && e.contains("[records] keep_days"),
            "{e}"
        );
        let e = Config::parse("[records]\nkeep_days = -1\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:2:"), "{e}");
        let e = Config::parse("[records]\nkeep = 3\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("keep"), "{e}");
    }

    #[test]
    fn the_cutoff_is_whole_days_before_now() {
        let now = jiff::Timestamp::from_second(1_790_000_000).unwrap();
        let c = cutoff(now, 2).unwrap();
        assert_eq!(now.as_second() - c.as_second(), 2 * 86_400);
    }
}
