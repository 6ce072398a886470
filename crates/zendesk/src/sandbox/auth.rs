//! Zendesk authentication for the sandbox: API-token Basic auth and OAuth Bearer tokens
//! issued by the client-credentials grant. Email+password Basic auth is refused, as Zendesk
//! removed it. Pure: the token table and "now" are passed in.

use super::data::{Credentials, DataSet};
use crate::Secret;
use base64::Engine as _;
use rand::RngCore;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most live OAuth tokens kept; the ones expiring soonest are dropped beyond it.
pub const MAX_TOKENS: usize = 10_000;

/// Longest Authorization header considered.
const MAX_AUTH_HEADER: usize = 4096;

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// Missing or wrong Basic credentials (or email+password): `Couldn't authenticate you`.
    Basic,
    /// Unknown, expired or malformed Bearer token: `invalid_token`.
    Bearer,
}

/// An issued OAuth access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The user it acts as.
    pub user_id: u64,
    /// When it stops working.
    pub expires_at: Instant,
}

/// Live OAuth tokens.
#[derive(Debug, Default)]
pub struct Tokens {
    live: HashMap<String, IssuedToken>,
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// Issue a token for `user_id` valid for `ttl` from `now`.
    pub fn issue(&mut self, user_id: u64, now: Instant, ttl: Duration) -> Secret {
        self.live.retain(|_, t| t.expires_at > now);
        while self.live.len() >= MAX_TOKENS {
            let Some(k) = self
                .live
                .iter()
                .min_by_key(|(_, t)| t.expires_at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.live.remove(&k);
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.live.insert(
            token.clone(),
            IssuedToken {
                user_id,
                expires_at: now + ttl,
            },
        );
        Secret::new(token)
    }

    /// Expire every token now.
    pub fn expire_all(&mut self) {
        self.live.clear();
    }

    fn check(&mut self, token: &str, now: Instant) -> Option<u64> {
        let t = self.live.get(token)?;
        if t.expires_at > now {
            return Some(t.user_id);
        }
        self.live.remove(token);
        None
    }
}

fn check_basic(encoded: &str, creds: &Credentials, data: &DataSet) -> Option<u64> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (user, secret) = raw.split_once(':')?;
    // Only "{email}/token:{api_token}": email+password is refused.
    let email = user.strip_suffix("/token")?;
    let ok = creds.api_tokens.iter().any(|t| {
        t.email.eq_ignore_ascii_case(email) && ct_eq(t.token.expose().as_bytes(), secret.as_bytes())
    });
    if !ok {
        return None;
    }
    data.user_by_email(email).map(|u| u.id)
}

/// Authenticate an Authorization header value; returns the acting user's id.
pub fn authenticate(
    header: Option<&str>,
    creds: &Credentials,
    data: &DataSet,
    tokens: &mut Tokens,
    now: Instant,
) -> Result<u64, Denial> {
    let Some(h) = header.filter(|h| h.len() <= MAX_AUTH_HEADER) else {
        return Err(Denial::Basic);
    };
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        check_basic(rest, creds, data).ok_or(Denial::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        tokens.check(rest.trim(), now).ok_or(Denial::Bearer)
    } else {
        Err(Denial::Basic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn schemes() {
        let data = DataSet::demo().unwrap();
        let creds = data.credentials.clone();
        let tok = creds.api_tokens[0].clone();
        let mut tokens = Tokens::default();
        let now = Instant::now();
        let auth =
            |h: Option<&str>, tokens: &mut Tokens, now| authenticate(h, &creds, &data, tokens, now);
        let good = tok.authorization();
        assert_eq!(auth(Some(good.expose()), &mut tokens, now), Ok(1));
        let wrong = basic(&format!("{}/token:nope", tok.email));
        assert_eq!(auth(Some(&wrong), &mut tokens, now), Err(Denial::Basic));
        // email:password with the right secret as "password" is still refused.
        let pw = basic(&format!("{}:{}", tok.email, tok.token.expose()));
        assert_eq!(auth(Some(&pw), &mut tokens, now), Err(Denial::Basic));
        assert_eq!(auth(None, &mut tokens, now), Err(Denial::Basic));
        assert_eq!(
            auth(Some("Basic !!!"), &mut tokens, now),
            Err(Denial::Basic)
        );
        assert_eq!(auth(Some("Digest x"), &mut tokens, now), Err(Denial::Basic));

        let t = tokens.issue(1, now, Duration::from_secs(10));
        let bearer = format!("Bearer {}", t.expose());
        assert_eq!(auth(Some(&bearer), &mut tokens, now), Ok(1));
        assert_eq!(
            auth(Some(&bearer), &mut tokens, now + Duration::from_secs(10)),
            Err(Denial::Bearer)
        );
        assert_eq!(
            auth(Some("Bearer nope"), &mut tokens, now),
            Err(Denial::Bearer)
        );
    }
}
