//! Checks a [`ConnectorConfig`] and resolves its secrets (inline or from an environment
//! variable) into a ready-to-use [`Resolved`] connector.

use crate::config::{
    AuthConfig, ConnectorConfig, TokenRequestFormat, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
};
use crate::error::ConfigError;
use crate::secret::Secret;
use std::time::Duration;
use url::Url;

/// Longest accepted time budget or attempt timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest accepted response cap.
pub const MAX_RESPONSE_CAP: usize = 64 * 1024 * 1024;
/// Longest accepted connector name.
const MAX_NAME_LEN: usize = 64;
/// Longest accepted secret, email, client id or scope.
const MAX_FIELD_LEN: usize = 4096;

/// A checked connector with its secrets resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub base_url: Url,
    pub timeout: Duration,
    pub attempt_timeout: Option<Duration>,
    pub max_response_bytes: usize,
    pub auth: ResolvedAuth,
}

/// Authentication with secrets in hand.
#[derive(Debug, Clone)]
pub enum ResolvedAuth {
    None,
    /// Precomputed `Basic ...` header value.
    Basic(Secret),
    /// A fixed bearer token.
    Bearer(Secret),
    OAuth(OAuthSettings),
}

/// Settings of an OAuth client-credentials connector.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: Option<String>,
    pub request_format: TokenRequestFormat,
}

/// Check `config` for connector `name`, reading secrets from `env` when the config names a variable.
pub fn resolve(
    name: &str,
    config: &ConnectorConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, ConfigError> {
    check_name(name)?;
    let base_url = parse_url(name, "base_url", &config.base_url)?;
    if base_url.query().is_some() || base_url.fragment().is_some() {
        return Err(ConfigError::invalid(
            name,
            "base_url",
            "must not have a query or fragment",
        ));
    }
    let timeout = config.timeout.unwrap_or(DEFAULT_TIMEOUT);
    check_timeout(name, "timeout", timeout)?;
    if let Some(t) = config.attempt_timeout {
        check_timeout(name, "attempt_timeout", t)?;
    }
    let max_response_bytes = config
        .max_response_bytes
        .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES);
    if max_response_bytes == 0 || max_response_bytes > MAX_RESPONSE_CAP {
        return Err(ConfigError::invalid(
            name,
            "max_response_bytes",
            format!("must be between 1 and {MAX_RESPONSE_CAP}"),
        ));
    }
    let auth = resolve_auth(name, &config.auth, env)?;
    Ok(Resolved {
        base_url,
        timeout,
        attempt_timeout: config.attempt_timeout,
        max_response_bytes,
        auth,
    })
}

fn check_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            name,
            "name",
            "must be 1-64 characters of A-Z a-z 0-9 _ -",
        ))
    }
}

fn check_timeout(name: &str, field: &'static str, t: Duration) -> Result<(), ConfigError> {
    if t.is_zero() || t > MAX_TIMEOUT {
        return Err(ConfigError::invalid(
            name,
            field,
            format!("must be more than 0 and at most {}s", MAX_TIMEOUT.as_secs()),
        ));
    }
    Ok(())
}

fn parse_url(name: &str, field: &'static str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text)
        .map_err(|e| ConfigError::invalid(name, field, format!("not a URL: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ConfigError::invalid(
            name,
            field,
            "scheme must be http or https",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the URL: it holds credentials.
        return Err(ConfigError::invalid(
            name,
            field,
            "must not contain credentials; use `auth`",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::invalid(name, field, "must have a host"));
    }
    Ok(url)
}

fn resolve_auth(
    name: &str,
    auth: &AuthConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedAuth, ConfigError> {
    use base64::Engine as _;
    match auth {
        AuthConfig::None => Ok(ResolvedAuth::None),
        AuthConfig::ZendeskApiToken {
            email,
            token,
            token_env,
        } => {
            check_text(name, "auth.email", email)?;
            if email.contains(':') {
                return Err(ConfigError::invalid(
                    name,
                    "auth.email",
                    "must not contain ':'",
                ));
            }
            let token = secret(
                name,
                "auth.token",
                token.as_ref(),
                token_env.as_deref(),
                env,
            )?;
            let raw = format!("{email}/token:{}", token.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
            Ok(ResolvedAuth::Basic(Secret::new(format!("Basic {encoded}"))))
        }
        AuthConfig::Bearer { token, token_env } => {
            let token = secret(
                name,
                "auth.token",
                token.as_ref(),
                token_env.as_deref(),
                env,
            )?;
            Ok(ResolvedAuth::Bearer(token))
        }
        AuthConfig::OauthClientCredentials {
            token_url,
            client_id,
            client_secret,
            client_secret_env,
            scope,
            request_format,
        } => {
            let token_url = parse_url(name, "auth.token_url", token_url)?;
            check_text(name, "auth.client_id", client_id)?;
            if let Some(s) = scope {
                check_text(name, "auth.scope", s)?;
            }
            let client_secret = secret(
                name,
                "auth.client_secret",
                client_secret.as_ref(),
                client_secret_env.as_deref(),
                env,
            )?;
            Ok(ResolvedAuth::OAuth(OAuthSettings {
                token_url,
                client_id: client_id.clone(),
                client_secret,
                scope: scope.clone(),
                request_format: *request_format,
            }))
        }
    }
}

fn check_text(name: &str, field: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() || value.len() > MAX_FIELD_LEN || value.chars().any(char::is_control) {
        return Err(ConfigError::invalid(
            name,
            field,
            "must be non-empty, printable and at most 4096 bytes",
        ));
    }
    Ok(())
}

/// Exactly one of an inline value and an environment variable name; the value must be
/// non-empty, printable (it goes into a header) and bounded.
fn secret(
    name: &str,
    field: &'static str,
    inline: Option<&Secret>,
    var: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, ConfigError> {
    let value = ringdesk_secret::inline_or_env(inline, var, env).map_err(|error| match error {
        ringdesk_secret::SourceError::MissingEnv(var) => ConfigError::MissingEnv {
            connector: name.to_owned(),
            field,
            var,
        },
        other => ConfigError::invalid(name, field, other.to_string()),
    })?;
    let printable = value.expose().bytes().all(|b| (0x20..0x7f).contains(&b));
    if value.is_empty() || value.expose().len() > MAX_FIELD_LEN || !printable {
        // Describe the problem, never the value.
        return Err(ConfigError::invalid(
            name,
            field,
            "must be non-empty printable ASCII of at most 4096 bytes",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> ConnectorConfig {
        toml::from_str(text).expect("valid toml")
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn api_token_becomes_basic_header() {
        let c = cfg("base_url = \"https://acme.zendesk.com\"\nauth = { type = \"zendesk_api_token\", email = \"ops@acme.com\", token_env = \"ZD\" }\n");
        let env = |v: &str| (v == "ZD").then(|| "abc123".to_owned());
        let r = resolve("zendesk", &c, &env).expect("resolves");
        match r.auth {
            // base64("ops@acme.com/token:abc123")
            ResolvedAuth::Basic(h) => {
                assert_eq!(h.expose(), "Basic b3BzQGFjbWUuY29tL3Rva2VuOmFiYzEyMw==")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.timeout, DEFAULT_TIMEOUT);
        assert_eq!(r.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
    }

    #[test]
    fn missing_env_names_connector_field_and_variable() {
        let c = cfg("base_url = \"https://x.example\"\nauth = { type = \"bearer\", token_env = \"NOPE_VAR\" }\n");
        let err = resolve("helpdesk", &c, &no_env).unwrap_err();
        assert_eq!(
            err,
            ConfigError::MissingEnv {
                connector: "helpdesk".into(),
                field: "auth.token",
                var: "NOPE_VAR".into()
            }
        );
        let text = err.to_string();
        assert!(
            text.contains("helpdesk") && text.contains("NOPE_VAR") && text.contains("auth.token")
        );
    }

    #[test]
    fn both_or_neither_secret_sources_refused() {
        let both = cfg("base_url = \"https://x.example\"\nauth = { type = \"bearer\", token = \"t0psecret\", token_env = \"V\" }\n");
        let env = |_: &str| Some("other-secret".to_owned());
        let err = resolve("c", &both, &env).unwrap_err().to_string();
        assert!(err.contains("auth.token"), "{err}");
        assert!(!err.contains("t0psecret") && !err.contains("other-secret"));
        let neither = cfg("base_url = \"https://x.example\"\nauth = { type = \"bearer\" }\n");
        assert!(matches!(
            resolve("c", &neither, &no_env),
            Err(ConfigError::Invalid {
                field: "auth.token",
                ..
            })
        ));
    }

    #[test]
    fn secret_with_newline_refused_without_echo() {
        let env = |_: &str| Some("abc\r\nX-Evil: 1".to_owned());
        let c = cfg(
            "base_url = \"https://x.example\"\nauth = { type = \"bearer\", token_env = \"V\" }\n",
        );
        let err = resolve("c", &c, &env).unwrap_err().to_string();
        assert!(!err.contains("X-Evil"), "{err}");
    }

    #[test]
    fn base_url_checks() {
        let cases = [
            ("ftp://x.example", "scheme"),
            ("not a url", "not a URL"),
            ("https://user:pw-SECRET@x.example", "credentials"),
            ("https://x.example/?a=1", "query"),
        ];
        for (url, expect) in cases {
            let c = cfg(&format!("base_url = \"{url}\"\n"));
            let err = resolve("zd", &c, &no_env).unwrap_err().to_string();
            assert!(
                err.contains(expect) && err.contains("base_url") && err.contains("zd"),
                "{url}: {err}"
            );
            assert!(!err.contains("pw-SECRET"), "{err}");
        }
    }

    #[test]
    fn bad_names_and_timeouts_refused() {
        let c = cfg("base_url = \"https://x.example\"\n");
        assert!(resolve("", &c, &no_env).is_err());
        assert!(resolve("a b", &c, &no_env).is_err());
        let zero = cfg("base_url = \"https://x.example\"\ntimeout = \"0s\"\n");
        assert!(matches!(
            resolve("c", &zero, &no_env),
            Err(ConfigError::Invalid {
                field: "timeout",
                ..
            })
        ));
        let huge = cfg("base_url = \"https://x.example\"\nattempt_timeout = \"1h\"\n");
        assert!(matches!(
            resolve("c", &huge, &no_env),
            Err(ConfigError::Invalid {
                field: "attempt_timeout",
                ..
            })
        ));
        let cap = cfg("base_url = \"https://x.example\"\nmax_response_bytes = 0\n");
        assert!(resolve("c", &cap, &no_env).is_err());
    }

    #[test]
    fn oauth_resolves_and_hides_secret() {
        let c = cfg("base_url = \"https://x.example\"\nauth = { type = \"oauth_client_credentials\", token_url = \"https://x.example/oauth/tokens\", client_id = \"rd\", client_secret = \"cs-VALUE-9\", scope = \"read\" }\n");
        let r = resolve("zd", &c, &no_env).expect("resolves");
        assert!(!format!("{r:?}").contains("cs-VALUE-9"));
        assert!(
            matches!(r.auth, ResolvedAuth::OAuth(ref o) if o.client_secret.expose() == "cs-VALUE-9")
        );
    }
}
