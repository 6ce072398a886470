//! Who may use the admin API, as one pure decision per request: the `Host` it names
//! (DNS rebinding), its bearer token (or a browser session made from one: the wallboard)
//! and the token's role, and for changes a JSON body (a cross-site form post cannot send
//! one, nor the `Authorization` header) and, for a session, no foreign `Origin`.
//! `admin.rs` applies it to every route but `GET /health`.

use crate::config::{AdminToken, Role};
use std::net::IpAddr;

/// What the API accepts.
#[derive(Debug, Clone)]
pub struct Access {
    tokens: Vec<AdminToken>,
    /// Configured host names, lower case.
    hosts: Vec<String>,
    /// `localhost` is accepted (a loopback listen address).
    localhost: bool,
}

/// A request, as far as access is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub host: Option<&'a str>,
    pub authorization: Option<&'a str>,
    /// `GET` or `HEAD`: reads; anything else changes something.
    pub read_only: bool,
    pub content_type: Option<&'a str>,
    /// The browser session the request's cookie names, when it is live (used only when no
    /// `Authorization` header is sent).
    pub session: Option<&'a Granted>,
    /// The `Origin` header, if any.
    pub origin: Option<&'a str>,
}

/// Why a request is refused. `as_str` is the word logged (for fail2ban) and returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Host` missing or not one of ours.
    Host,
    /// No `Authorization: Bearer` header.
    NoToken,
    /// A token that is not configured.
    BadToken,
    /// A read-only token asked to change something.
    ReadOnly,
    /// A change without a JSON body type.
    NotJson,
    /// A change made with a session cookie from a page of another origin.
    CrossOrigin,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Host => "unknown_host",
            Refusal::NoToken => "no_token",
            Refusal::BadToken => "bad_token",
            Refusal::ReadOnly => "read_only_token",
            Refusal::NotJson => "not_json",
            Refusal::CrossOrigin => "cross_origin",
        }
    }

    /// The HTTP status: 401 asks for credentials, 403 refuses them, 415 the body type,
    /// 421 a request meant for another host.
    pub fn status(self) -> u16 {
        match self {
            Refusal::Host => 421,
            Refusal::NoToken | Refusal::BadToken => 401,
            Refusal::ReadOnly | Refusal::CrossOrigin => 403,
            Refusal::NotJson => 415,
        }
    }

    /// What the client is told.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Host => "this Host is not one of the admin API's names ([admin] hosts)",
            Refusal::NoToken => "send the token: Authorization: Bearer <token>",
            Refusal::BadToken => "unknown token",
            Refusal::ReadOnly => "this token may only read (role = \"read\")",
            Refusal::NotJson => "changes take a JSON body (Content-Type: application/json)",
            Refusal::CrossOrigin => "a session's changes must come from the API's own pages",
        }
    }
}

/// Who was let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub name: String,
    pub role: Role,
}

impl Access {
    pub fn new(tokens: Vec<AdminToken>, hosts: &[String], listen: IpAddr) -> Access {
        Access {
            tokens,
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            localhost: listen.is_loopback(),
        }
    }

    /// Whether `host` (a `Host` header value) names this API.
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host.trim());
        if name.is_empty() {
            return false;
        }
        // An address cannot be rebound: a rebinding page reaches us under its own name.
        let literal = name.trim_start_matches('[').trim_end_matches(']');
        if literal.parse::<IpAddr>().is_ok() {
            return true;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        (self.localhost && name == "localhost") || self.hosts.contains(&name)
    }

    /// Whether `origin` (an `Origin` header) is a page of another site: a session's
    /// changes must come from the API's own pages.
    pub fn foreign_origin(&self, origin: Option<&str>) -> bool {
        origin.is_some_and(|o| !self.host_allowed(origin_host(o)))
    }

    /// The decision for one request.
    pub fn check(&self, asked: Asked<'_>) -> Result<Granted, Refusal> {
        if !asked.host.is_some_and(|h| self.host_allowed(h)) {
            return Err(Refusal::Host);
        }
        let granted = match (asked.authorization, asked.session) {
            (Some(authorization), _) => {
                self.token(bearer(authorization).ok_or(Refusal::NoToken)?)?
            }
            (None, Some(session)) => {
                // SameSite=Strict already keeps the cookie off other sites' requests;
                // a change must also not come from a page of another origin.
                let foreign = asked
                    .origin
                    .is_some_and(|o| !self.host_allowed(origin_host(o)));
                if !asked.read_only && foreign {
                    return Err(Refusal::CrossOrigin);
                }
                session.clone()
            }
            (None, None) => return Err(Refusal::NoToken),
        };
        if !asked.read_only {
            if granted.role != Role::Admin {
                return Err(Refusal::ReadOnly);
            }
            if !asked.content_type.is_some_and(is_json) {
                return Err(Refusal::NotJson);
            }
        }
        Ok(granted)
    }

    /// Who `presented` (a bearer token) is.
    pub fn token(&self, presented: &str) -> Result<Granted, Refusal> {
        // Every token is compared, in constant time each: the answer's timing says
        // nothing about how much of a token was right.
        let mut found = None;
        for t in &self.tokens {
            if constant_time_eq(t.secret.expose().as_bytes(), presented.as_bytes()) {
                found = Some(t);
            }
        }
        let token = found.ok_or(Refusal::BadToken)?;
        Ok(Granted {
            name: token.name.clone(),
            role: token.role,
        })
    }
}

/// `scheme://host[:port]` → `host[:port]` (an `Origin` header; `null` stays as it is and
/// names no host of ours).
fn origin_host(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, rest)| rest)
}

/// `host:port`, `[v6]:port`, `[v6]` or `host` → the host part.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().map_or("", |h| &host[..h.len() + 2]);
    }
    match host.rsplit_once(':') {
        // More than one colon and no brackets: a bare IPv6 address.
        Some((h, _)) if !h.contains(':') => h,
        _ => host,
    }
}

/// The token of an `Authorization: Bearer <token>` value.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringdesk_secret::Secret;

    const ADMIN: &str = "admin-token-0123456789abcdef";
    const READ: &str = "read-token-0123456789abcdefg";

    fn access(listen: &str, hosts: &[&str]) -> Access {
        let tokens = vec![
            AdminToken {
                name: "ops".into(),
                role: Role::Admin,
                secret: Secret::new(ADMIN),
            },
            AdminToken {
                name: "wallboard".into(),
                role: Role::Read,
                secret: Secret::new(READ),
            },
        ];
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        Access::new(tokens, &hosts, listen.parse().unwrap())
    }

    fn asked<'a>(
        host: &'a str,
        auth: Option<&'a str>,
        read_only: bool,
        ct: Option<&'a str>,
    ) -> Asked<'a> {
        Asked {
            host: Some(host),
            authorization: auth,
            read_only,
            content_type: ct,
            session: None,
            origin: None,
        }
    }

    #[test]
    fn roles_decide_who_reads_and_who_changes() {
        let a = access("127.0.0.1", &[]);
        let admin = format!("Bearer {ADMIN}");
        let read = format!("bearer {READ}");
        let json = Some("application/json; charset=utf-8");
        let host = "127.0.0.1:8089";
        assert_eq!(
            a.check(asked(host, Some(&admin), true, None)).unwrap().role,
            Role::Admin
        );
        assert_eq!(
            a.check(asked(host, Some(&admin), false, json))
                .unwrap()
                .name,
            "ops"
        );
        assert_eq!(
            a.check(asked(host, Some(&read), true, None)).unwrap().name,
            "wallboard"
        );
        assert_eq!(
            a.check(asked(host, Some(&read), false, json)),
            Err(Refusal::ReadOnly)
        );
        assert_eq!(
            a.check(asked(host, None, true, None)),
            Err(Refusal::NoToken)
        );
        assert_eq!(
            a.check(asked(host, Some("Basic abc"), true, None)),
            Err(Refusal::NoToken)
        );
        let wrong = format!("Bearer {}x", &ADMIN[..ADMIN.len() - 1]);
        assert_eq!(
            a.check(asked(host, Some(&wrong), true, None)),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            a.check(asked(host, Some("Bearer x"), true, None)),
            Err(Refusal::BadToken)
        );
    }

    #[test]
    fn changes_take_json_only() {
        let a = access("127.0.0.1", &[]);
        let admin = format!("Bearer {ADMIN}");
        for ct in [
            None,
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("text/plain"),
            Some("application/jsonx"),
        ] {
            assert_eq!(
                a.check(asked("localhost:8089", Some(&admin), false, ct)),
                Err(Refusal::NotJson),
                "{ct:?}"
            );
        }
    }

    #[test]
    fn hosts_are_addresses_localhost_on_loopback_or_configured_names() {
        let a = access("127.0.0.1", &["Ringdesk.Example.com"]);
        for ok in [
            "127.0.0.1:8089",
            "127.0.0.1",
            "[::1]:8089",
            "::1",
            "10.1.2.3:80",
            "localhost:8089",
            "LOCALHOST",
            "ringdesk.example.com:8089",
            "ringdesk.example.com.",
        ] {
            assert!(a.host_allowed(ok), "{ok}");
        }
        for bad in [
            "attacker.example:8089",
            "",
            ":8089",
            "localhost.attacker.example",
            "ringdesk.example.com.evil",
        ] {
            assert!(!a.host_allowed(bad), "{bad}");
        }
        let admin = format!("Bearer {ADMIN}");
        let no_host = Asked {
            host: None,
            authorization: Some(&admin),
            read_only: true,
            content_type: None,
            session: None,
            origin: None,
        };
        assert_eq!(a.check(no_host), Err(Refusal::Host));
        // Not on loopback: localhost is some other machine's name for itself.
        assert!(!access("10.0.0.5", &[]).host_allowed("localhost:8089"));
    }

    #[test]
    fn a_session_reads_and_changes_as_its_token_but_never_from_another_origin() {
        let a = access("127.0.0.1", &[]);
        let admin = Granted {
            name: "ops".into(),
            role: Role::Admin,
        };
        let read = Granted {
            name: "wallboard".into(),
            role: Role::Read,
        };
        let with = |session, read_only, origin| Asked {
            host: Some("127.0.0.1:8089"),
            authorization: None,
            read_only,
            content_type: Some("application/json"),
            session,
            origin,
        };
        assert_eq!(a.check(with(Some(&read), true, None)), Ok(read.clone()));
        assert_eq!(
            a.check(with(Some(&read), false, Some("http://127.0.0.1:8089"))),
            Err(Refusal::ReadOnly)
        );
        assert_eq!(
            a.check(with(Some(&admin), false, Some("http://127.0.0.1:8089"))),
            Ok(admin.clone())
        );
        for foreign in ["https://evil.example", "null", "http://localhost.evil:8089"] {
            assert_eq!(
                a.check(with(Some(&admin), false, Some(foreign))),
                Err(Refusal::CrossOrigin),
                "{foreign}"
            );
        }
        assert_eq!(a.check(with(None, true, None)), Err(Refusal::NoToken));
        // A bearer header wins over a session: a wrong token is not rescued by a cookie.
        let mut asked = with(Some(&admin), true, None);
        asked.authorization = Some("Bearer wrong-token");
        assert_eq!(a.check(asked), Err(Refusal::BadToken));
    }
}
