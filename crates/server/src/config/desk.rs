//! `[desk]`: the agent desktop (`GET /desk` on the admin API's listener).
//!
//! ```toml
//! [desk]
//! reasons = ["Break", "Lunch", "Meeting", "Training"]   # what "Not ready" offers
//! phone_ip = "192.0.2.10"   # where browsers reach the in-page phone's media
//! ```
//!
//! `phone_ip` is the one ICE candidate offered to browsers (ringdesk is ICE-lite), so it
//! must be an address the agents' browsers can reach; by default `[sip] listen`'s address.
//! When neither is a concrete address (`0.0.0.0`) the in-page phone is off and calls ring
//! on desk phones only.
//!
//! Agents sign in with their `[[agents]]` id and SIP password; failed sign-ins lock the
//! agent's desktop sign-in as `[sip.limits]` locks REGISTER (`register_*`), separately.

use anyhow::{bail, Result};
use serde::Deserialize;

/// Longest reason, in characters (the routing core's limit is larger).
const MAX_REASON_CHARS: usize = 40;
/// Most reasons offered.
const MAX_REASONS: usize = 20;

/// `[desk]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskConfig {
    /// The not-ready reasons an agent picks from.
    #[serde(default = "default_reasons")]
    pub reasons: Vec<String>,
    /// Where browsers reach the in-page phone's media (see the module docs).
    #[serde(default)]
    pub phone_ip: Option<std::net::IpAddr>,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            reasons: default_reasons(),
            phone_ip: None,
        }
    }
}

fn default_reasons() -> Vec<String> {
    ["Break", "Lunch", "Meeting", "Training"]
        .map(String::from)
        .to_vec()
}

impl DeskConfig {
    pub(super) fn validate(&self, origin: &str) -> Result<()> {
        if self.reasons.is_empty() || self.reasons.len() > MAX_REASONS {
            bail!("{origin}: [desk] reasons: between 1 and {MAX_REASONS} reasons");
        }
        for r in &self.reasons {
            let n = r.chars().count();
            if r.trim() != r || n == 0 || n > MAX_REASON_CHARS || r.chars().any(char::is_control) {
                bail!(
                    "{origin}: [desk] reasons: {r:?}: 1 to {MAX_REASON_CHARS} characters, no control characters or surrounding spaces"
                );
            }
        }
        if let Some(ip) = self
            .phone_ip
            .filter(|ip| ip.is_unspecified() || ip.is_multicast())
        {
            bail!("{origin}: [desk] phone_ip: {ip} is not an address a browser can reach");
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = self.reasons.iter().find(|r| !seen.insert(r.as_str())) {
            bail!("{origin}: [desk] reasons: {dup:?} is listed twice");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn reasons_have_a_default_and_bad_ones_name_the_file() {
        let c = Config::parse("", "d.toml").unwrap();
        assert_eq!(c.desk.reasons, ["Break", "Lunch", "Meeting", "Training"]);
        let c = Config::parse("[desk]\nreasons = [\"Coaching\"]\n", "d.toml").unwrap();
        assert_eq!(c.desk.reasons, ["Coaching"]);
        for bad in [
            "[]",
            "[\"\"]",
            "[\"a\", \"a\"]",
            "[\" a\"]",
            "[\"a\\u0007\"]",
        ] {
            let err = Config::parse(&format!("[desk]\nreasons = {bad}\n"), "d.toml")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("d.toml: [desk] reasons"), "{bad}: {err}");
        }
    }
}
