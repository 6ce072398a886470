//! `[admin]`: where the admin HTTP API listens, who may use it (bearer tokens, each with a
//! role) and which host names it answers to. Checked at load: a non-loopback address
//! without a token is refused, so the API is never open on a network by accident.

use anyhow::{bail, Result};
use ringdesk_secret::Secret;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Shortest token accepted from the config (a generated one has 64 characters).
pub const MIN_TOKEN_LEN: usize = 24;
/// Longest token, host name list entry, and token name.
const MAX_TOKEN_LEN: usize = 256;
const MAX_HOST_LEN: usize = 253;
const MAX_TOKENS: usize = 64;

/// `[admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
    /// Host names clients use to reach the API. Requests whose `Host` is an IP address,
    /// or `localhost` on a loopback listen address, are always accepted; other names
    /// must be listed (a DNS-rebinding page names its own host).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Where `serve` writes the token it generates when no `[[admin.tokens]]` is
    /// configured (default: beside the store, `<store path>.admin-token`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Bearer tokens (`[[admin.tokens]]`).
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Whether the pages' session cookies are marked `Secure` (sent over HTTPS only).
    /// Absent: yes unless `listen` is a loopback address (a network address belongs
    /// behind a TLS-terminating proxy); `false` must be asked for there.
    #[serde(default)]
    pub secure_cookies: Option<bool>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: default_admin_listen(),
            hosts: Vec::new(),
            token_file: None,
            tokens: Vec::new(),
            secure_cookies: None,
        }
    }
}

impl AdminConfig {
    /// Whether session cookies are `Secure`: as configured, else on any address but
    /// loopback.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
            .unwrap_or(!self.listen.ip().is_loopback())
    }
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8089))
}

/// `[[admin.tokens]]`: one bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (logged when it is used to change something; never the token).
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub token: Option<Secret>,
    /// Environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `GET` only: records, queues, agents, metrics (wallboards, Prometheus).
    Read,
    /// Everything, including agent states and the outbox.
    Admin,
}

impl Role {
    /// The configuration word (`read`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Admin => "admin",
        }
    }
}

/// A token read from the config or the environment.
#[derive(Debug, Clone)]
pub struct AdminToken {
    pub name: String,
    pub role: Role,
    pub secret: Secret,
}

impl AdminConfig {
    /// The configured tokens, read now (a missing environment variable is an error at
    /// start, not a refused request later).
    pub fn resolve_tokens(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<AdminToken>> {
        let mut out: Vec<AdminToken> = Vec::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let at = format!("[[admin.tokens]] #{} ({:?})", i + 1, t.name);
            if t.name.is_empty() || t.name.len() > 64 || t.name.chars().any(char::is_control) {
                bail!("{at}: name must be 1-64 printable characters");
            }
            if out.iter().any(|o| o.name == t.name) {
                bail!("{at}: another token has the same name");
            }
            let secret = ringdesk_secret::from_config(
                t.token.as_ref(),
                t.token_env.as_deref(),
                env,
                MAX_TOKEN_LEN,
            )
            .map_err(|e| anyhow::anyhow!("{at}: token: {e}"))?;
            if secret.expose().len() < MIN_TOKEN_LEN {
                bail!(
                    "{at}: token is shorter than {MIN_TOKEN_LEN} characters; make one with `openssl rand -hex 32`"
                );
            }
            if secret.expose().contains(' ') {
                bail!("{at}: token must not contain spaces");
            }
            if out.iter().any(|o| o.secret == secret) {
                bail!("{at}: the same token is configured twice");
            }
            out.push(AdminToken {
                name: t.name.clone(),
                role: t.role,
                secret,
            });
        }
        Ok(out)
    }

    /// Checks what can be checked without the network; `origin` names the file.
    pub fn validate(&self, origin: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        if self.tokens.len() > MAX_TOKENS {
            bail!("{origin}: [admin] at most {MAX_TOKENS} tokens");
        }
        let tokens = self
            .resolve_tokens(env)
            .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        for h in &self.hosts {
            let ok = !h.is_empty()
                && h.len() <= MAX_HOST_LEN
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if !ok {
                bail!("{origin}: [admin] hosts: {h:?} is not a host name (letters, digits, '.', '-'; no port)");
            }
        }
        if tokens.is_empty() && !self.listen.ip().is_loopback() {
            bail!(
                "{origin}: [admin] listen = \"{}\" is reachable from the network, but no [[admin.tokens]] is configured: anyone could read call records and change agent states. Add a token (e.g. name = \"ops\", role = \"admin\", token_env = \"RINGDESK_ADMIN_TOKEN\") or listen on 127.0.0.1",
                self.listen
            );
        }
        Ok(())
    }

    /// Where the generated token is written (and the CLI looks for it).
    pub fn token_file(&self, store_path: &Path) -> PathBuf {
        self.token_file.clone().unwrap_or_else(|| {
            let mut name = store_path.as_os_str().to_owned();
            name.push(".admin-token");
            PathBuf::from(name)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AdminConfig {
        toml::from_str(text).expect("valid [admin]")
    }

    fn env(var: &str) -> Option<String> {
        (var == "OPS_TOKEN").then(|| "e".repeat(40))
    }

    #[test]
    fn tokens_come_from_the_file_or_the_environment_with_their_roles() {
        let c = parse(
            "listen = \"0.0.0.0:8089\"\n\
             [[tokens]]\nname = \"ops\"\nrole = \"admin\"\ntoken_env = \"OPS_TOKEN\"\n\
             [[tokens]]\nname = \"wallboard\"\nrole = \"read\"\ntoken = \"wallboard-token-0123456789abcdef\"\n",
        );
        c.validate("t.toml", &env).unwrap();
        let t = c.resolve_tokens(&env).unwrap();
        assert_eq!((t[0].name.as_str(), t[0].role), ("ops", Role::Admin));
        assert_eq!(t[0].secret.expose(), "e".repeat(40));
        assert_eq!(t[1].role, Role::Read);
        assert!(!format!("{t:?}").contains("wallboard-token"));
    }

    #[test]
    fn a_network_address_without_a_token_is_refused() {
        let err = parse("listen = \"0.0.0.0:8089\"\n")
            .validate("t.toml", &env)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.toml: [admin] listen = \"0.0.0.0:8089\""),
            "{err}"
        );
        assert!(err.contains("no [[admin.tokens]]"), "{err}");
        parse("listen = \"127.0.0.1:8089\"\n")
            .validate("t.toml", &env)
            .unwrap();
        parse("listen = \"[::1]:8089\"\n")
            .validate("t.toml", &env)
            .unwrap();
    }

    #[test]
    fn weak_missing_or_repeated_tokens_are_refused_without_showing_them() {
        let cases = [
            ("[[tokens]]\nname = \"a\"\nrole = \"read\"\ntoken = \"short-secret\"\n", "shorter than 24"),
            ("[[tokens]]\nname = \"a\"\nrole = \"read\"\ntoken_env = \"NOPE\"\n", "NOPE is not set"),
            ("[[tokens]]\nname = \"a\"\nrole = \"read\"\n", "missing"),
            (
                "[[tokens]]\nname = \"a\"\nrole = \"read\"\ntoken = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n\
                 [[tokens]]\nname = \"b\"\nrole = \"admin\"\ntoken = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n",
                "configured twice",
            ),
            (
                "[[tokens]]\nname = \"a\"\nrole = \"read\"\ntoken = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n\
                 [[tokens]]\nname = \"a\"\nrole = \"admin\"\ntoken = \"bbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n",
                "same name",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text)
                .validate("t.toml", &env)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{text}: {err}");
            assert!(
                !err.contains("short-secret") && !err.contains("aaaa"),
                "{err}"
            );
        }
        assert!(toml::from_str::<AdminConfig>(
            "[[tokens]]\nname = \"a\"\nrole = \"root\"\ntoken = \"x\"\n"
        )
        .is_err());
    }

    #[test]
    fn hosts_are_plain_names() {
        parse("hosts = [\"ringdesk.example.com\", \"wallboard-1\"]\n")
            .validate("t.toml", &env)
            .unwrap();
        for bad in ["\"a:80\"", "\"\"", "\"a b\"", "\"*.example.com\""] {
            let text = format!("hosts = [{bad}]\n");
            assert!(parse(&text).validate("t.toml", &env).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_token_file_sits_beside_the_store_unless_configured() {
        let c = parse("");
        assert_eq!(
            c.token_file(Path::new("/var/lib/ringdesk/r.sqlite")),
            PathBuf::from("/var/lib/ringdesk/r.sqlite.admin-token")
        );
        let c = parse("token_file = \"/run/ringdesk/token\"\n");
        assert_eq!(
            c.token_file(Path::new("x")),
            PathBuf::from("/run/ringdesk/token")
        );
    }
}
