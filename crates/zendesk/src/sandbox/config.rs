//! The sandbox configuration: data, credentials, rate limit, OAuth token lifetime and
//! faults. Deserializable so the server binary can read it from its TOML file.

use super::data::{Credentials, DataError, DataSet};
use super::faults::Faults;
use serde::Deserialize;
use std::path::PathBuf;

/// Default OAuth access token lifetime (seconds).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 7200;
/// Longest OAuth token lifetime (one year); longer configured values are clamped.
pub const MAX_TOKEN_TTL_SECS: u64 = 31_536_000;

/// How to run a sandbox. `SandboxConfig::default()` serves the demo data, unlimited.
///
/// TOML example:
/// ```toml
/// data_file = "my-customers.json"   # default: the embedded demo data
/// rate_limit_per_minute = 200       # default: unlimited
/// oauth_token_expires_in_secs = 60  # default: 7200
/// [faults]
/// latency_ms = 250
/// error = { status = 503, fraction = 0.1 }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// A data file (see `crates/zendesk/data/README.md`); `None`: the demo data.
    #[serde(default)]
    pub data_file: Option<PathBuf>,
    /// Data given in code; takes precedence over `data_file`.
    #[serde(skip)]
    pub data: Option<DataSet>,
    /// Credentials replacing those of the data file.
    #[serde(default)]
    pub credentials: Option<Credentials>,
    /// Requests a minute before 429 (`None`: unlimited).
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// Lifetime of issued OAuth tokens, in seconds (0: they expire at once).
    #[serde(default = "default_ttl")]
    pub oauth_token_expires_in_secs: u64,
    /// Faults active from the start.
    #[serde(default)]
    pub faults: Faults,
}

fn default_ttl() -> u64 {
    DEFAULT_TOKEN_TTL_SECS
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            data_file: None,
            data: None,
            credentials: None,
            rate_limit_per_minute: None,
            oauth_token_expires_in_secs: DEFAULT_TOKEN_TTL_SECS,
            faults: Faults::default(),
        }
    }
}

impl SandboxConfig {
    /// The data set this configuration serves (data, else data file, else demo), with the
    /// configured credentials applied.
    pub fn resolve_data(&self) -> Result<DataSet, DataError> {
        let mut data = match (&self.data, &self.data_file) {
            (Some(d), _) => d.clone(),
            (None, Some(path)) => DataSet::load(path)?,
            (None, None) => DataSet::demo()?,
        };
        if let Some(c) = &self.credentials {
            data.replace_credentials("sandbox configuration", c.clone())?;
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_from_toml() {
        let c: SandboxConfig = toml::from_str(
            r#"
            rate_limit_per_minute = 3
            oauth_token_expires_in_secs = 5
            [faults]
            latency_ms = 10
            path_prefix = "/api/v2/search"
            error = { status = 503, count = 2 }
            [credentials]
            api_tokens = [{ email = "admin@ringdesk.example", token = "t0k3n-from-config" }]
            "#,
        )
        .unwrap();
        assert_eq!(c.rate_limit_per_minute, Some(3));
        assert_eq!(c.faults.error.as_ref().map(|e| e.status), Some(503));
        assert!(!format!("{c:?}").contains("t0k3n-from-config"));
        let d = c.resolve_data().unwrap();
        assert_eq!(
            d.credentials.api_tokens[0].token.expose(),
            "t0k3n-from-config"
        );
        assert!(d.credentials.oauth_clients.is_empty());

        let bad: SandboxConfig = toml::from_str(
            r#"[credentials]
            api_tokens = [{ email = "ana.souza@example.com", token = "x" }]"#,
        )
        .unwrap();
        let e = bad.resolve_data().unwrap_err().to_string();
        assert!(e.starts_with("sandbox configuration:"), "{e}");
        assert!(toml::from_str::<SandboxConfig>("unknown = 1").is_err());
    }

    #[test]
    fn missing_data_file_is_named() {
        let c = SandboxConfig {
            data_file: Some("/nonexistent/zd.json".into()),
            ..SandboxConfig::default()
        };
        assert!(c
            .resolve_data()
            .unwrap_err()
            .to_string()
            .starts_with("/nonexistent/zd.json"));
    }
}
