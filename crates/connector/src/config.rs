//! Connector configuration as written in the binary's TOML (`[connectors.<name>]` tables):
//! serde types only. Checking and resolving secrets lives in `resolve.rs`.

use crate::secret::Secret;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Default time budget of a request when neither the flow nor the config gives one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a response body.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// One `[connectors.<name>]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Base URL every request path is joined to, e.g. `https://acme.zendesk.com`.
    pub base_url: String,
    /// Time budget of a request (all attempts) when the flow gives none (humantime, e.g. `"5s"`).
    #[serde(default, deserialize_with = "opt_duration")]
    pub timeout: Option<Duration>,
    /// Longest single attempt (humantime). Defaults to the whole budget.
    #[serde(default, deserialize_with = "opt_duration")]
    pub attempt_timeout: Option<Duration>,
    /// Cap on a response body in bytes (default 1 MiB); a larger body is a failure.
    #[serde(default)]
    pub max_response_bytes: Option<usize>,
    /// How requests authenticate.
    #[serde(default)]
    pub auth: AuthConfig,
}

/// `auth = { type = "...", ... }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// No `Authorization` header.
    #[default]
    None,
    /// Zendesk API token: `Authorization: Basic base64("{email}/token:{token}")`.
    ZendeskApiToken {
        email: String,
        #[serde(default)]
        token: Option<Secret>,
        #[serde(default)]
        token_env: Option<String>,
    },
    /// A fixed bearer token.
    Bearer {
        #[serde(default)]
        token: Option<Secret>,
        #[serde(default)]
        token_env: Option<String>,
    },
    /// OAuth 2.0 client-credentials grant; the access token is cached and refreshed.
    OauthClientCredentials {
        token_url: String,
        client_id: String,
        #[serde(default)]
        client_secret: Option<Secret>,
        #[serde(default)]
        client_secret_env: Option<String>,
        #[serde(default)]
        scope: Option<String>,
        /// How the token request body is encoded: `form` (RFC 6749, default) or `json`.
        #[serde(default)]
        request_format: TokenRequestFormat,
    },
}

/// Encoding of the OAuth token request body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRequestFormat {
    /// `application/x-www-form-urlencoded` (RFC 6749 section 4.4.2).
    #[default]
    Form,
    /// `application/json` (as Zendesk's own examples show).
    Json,
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("invalid duration {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Root {
        connectors: BTreeMap<String, ConnectorConfig>,
    }

    #[test]
    fn parses_the_documented_examples() {
        let text = r#"
[connectors.zendesk]
base_url = "https://acme.zendesk.com"
timeout = "5s"
auth = { type = "zendesk_api_token", email = "ops@acme.com", token_env = "ZENDESK_API_TOKEN" }

[connectors.oauth]
base_url = "https://acme.zendesk.com"
auth = { type = "oauth_client_credentials", token_url = "https://acme.zendesk.com/oauth/tokens", client_id = "ringdesk", client_secret_env = "ZENDESK_CLIENT_SECRET", scope = "read write" }

[connectors.plain]
base_url = "http://127.0.0.1:8080"
attempt_timeout = "750ms"
auth = { type = "none" }
"#;
        let root: Root = toml::from_str(text).expect("valid config");
        let z = &root.connectors["zendesk"];
        assert_eq!(z.timeout, Some(Duration::from_secs(5)));
        match &z.auth {
            AuthConfig::ZendeskApiToken {
                email, token_env, ..
            } => {
                assert_eq!(email, "ops@acme.com");
                assert_eq!(token_env.as_deref(), Some("ZENDESK_API_TOKEN"));
            }
            other => panic!("unexpected auth {other:?}"),
        }
        match &root.connectors["oauth"].auth {
            AuthConfig::OauthClientCredentials {
                scope,
                request_format,
                ..
            } => {
                assert_eq!(scope.as_deref(), Some("read write"));
                assert_eq!(*request_format, TokenRequestFormat::Form);
            }
            other => panic!("unexpected auth {other:?}"),
        }
        let p = &root.connectors["plain"];
        assert_eq!(p.attempt_timeout, Some(Duration::from_millis(750)));
        assert!(matches!(p.auth, AuthConfig::None));
    }

    #[test]
    fn rejects_unknown_fields_and_bad_durations() {
        let unknown = "base_url = \"https://x\"\nretries = 3\n";
        assert!(toml::from_str::<ConnectorConfig>(unknown).is_err());
        let bad = "base_url = \"https://x\"\ntimeout = \"soon\"\n";
        let err = toml::from_str::<ConnectorConfig>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("soon"), "{err}");
        let bad_auth = "base_url = \"https://x\"\nauth = { type = \"basic\" }\n";
        assert!(toml::from_str::<ConnectorConfig>(bad_auth).is_err());
    }

    #[test]
    fn inline_secret_is_hidden_in_debug() {
        let text =
            "base_url = \"https://x\"\nauth = { type = \"bearer\", token = \"tok-SECRET-1\" }\n";
        let cfg: ConnectorConfig = toml::from_str(text).expect("valid");
        assert!(!format!("{cfg:?}").contains("tok-SECRET-1"));
    }
}
