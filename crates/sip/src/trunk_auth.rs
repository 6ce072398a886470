//! Digest authentication of a trunk's INVITEs, for carriers that authenticate: a trunk with
//! credentials (`[[trunks]] username`, `password`) must answer a `401` challenge on every
//! new call, on top of coming from its addresses. Sans-IO: the time is passed in; nonces
//! are the registrar's kind (keyed, aged, never accepted twice).

use std::time::{Duration, Instant};

use crate::digest::{self, DigestAlgorithm, DigestError};
use crate::nonce::{NonceCheck, Nonces};
use crate::secret::Secret;

/// How long a challenge's nonce is good for.
const NONCE_TTL: Duration = Duration::from_secs(60);

/// A trunk's digest credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkCredentials {
    pub username: String,
    pub password: Secret,
}

/// What an INVITE from a trunk with credentials gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrunkAuthVerdict {
    /// Authenticated: the call goes on.
    Accept,
    /// `401` with these `WWW-Authenticate` values (no credentials yet, or a stale nonce).
    Challenge(Vec<String>),
    /// `403`: wrong credentials (the word is logged for fail2ban).
    Refuse(&'static str),
}

/// Challenges and checks trunks' INVITEs.
pub(crate) struct TrunkAuth {
    realm: String,
    algorithms: Vec<DigestAlgorithm>,
    nonces: Nonces,
}

impl TrunkAuth {
    /// `key` must be random per process.
    pub(crate) fn new(
        realm: &str,
        algorithms: Vec<DigestAlgorithm>,
        key: [u8; 32],
        epoch: Instant,
    ) -> TrunkAuth {
        TrunkAuth {
            realm: realm.to_owned(),
            algorithms,
            nonces: Nonces::new(key, epoch, NONCE_TTL),
        }
    }

    fn challenge(&mut self, now: Instant, stale: bool) -> TrunkAuthVerdict {
        let nonce = self.nonces.issue(now);
        TrunkAuthVerdict::Challenge(
            self.algorithms
                .iter()
                .map(|alg| digest::challenge(&self.realm, &nonce, *alg, stale))
                .collect(),
        )
    }

    /// Checks the INVITE's `Authorization` header (`None`: absent) against `credentials`.
    pub(crate) fn check(
        &mut self,
        now: Instant,
        credentials: &TrunkCredentials,
        authorization: Option<&str>,
    ) -> TrunkAuthVerdict {
        let Some(header) = authorization else {
            return self.challenge(now, false);
        };
        let auth = match digest::parse_authorization(header) {
            Ok(auth) => auth,
            Err(DigestError::NotDigest | DigestError::UnsupportedAlgorithm) => {
                return self.challenge(now, false)
            }
            Err(_) => return TrunkAuthVerdict::Refuse("malformed_authorization"),
        };
        if auth.realm != self.realm || !self.algorithms.contains(&auth.algorithm) {
            return self.challenge(now, false);
        }
        let nc = auth.qop.as_ref().map(|(nc, _)| *nc);
        match self.nonces.check(&auth.nonce, nc, now) {
            NonceCheck::Fresh => {}
            NonceCheck::Stale => return self.challenge(now, true),
            NonceCheck::Invalid => return self.challenge(now, false),
        }
        if auth.username != credentials.username
            || !digest::verify(&auth, "INVITE", credentials.password.expose())
        {
            return TrunkAuthVerdict::Refuse("trunk_auth_failed");
        }
        self.nonces.mark_used(&auth.nonce, nc, now);
        TrunkAuthVerdict::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> TrunkCredentials {
        TrunkCredentials {
            username: "carrier".into(),
            password: Secret::new("trunk-password-1234".to_owned()),
        }
    }

    /// A client's answer to `challenge` with `password`, as a phone computes it.
    fn answer(challenge: &str, password: &str, nc: u32) -> String {
        let nonce = challenge
            .split("nonce=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap();
        let mut auth = digest::parse_authorization(&format!(
            "Digest username=\"carrier\", realm=\"ringdesk\", nonce=\"{nonce}\", uri=\"sip:support@192.0.2.1\", response=\"x\", qop=auth, nc={nc:08x}, cnonce=\"c1\""
        ))
        .unwrap();
        auth.response = digest::expected_response(&auth, "INVITE", password);
        format!(
            "Digest username=\"carrier\", realm=\"ringdesk\", nonce=\"{nonce}\", uri=\"sip:support@192.0.2.1\", response=\"{}\", qop=auth, nc={nc:08x}, cnonce=\"c1\"",
            auth.response
        )
    }

    #[test]
    fn an_invite_must_answer_the_challenge_once_per_nonce_count() {
        let t0 = Instant::now();
        let mut a = TrunkAuth::new("ringdesk", vec![DigestAlgorithm::Md5], [3; 32], t0);
        let TrunkAuthVerdict::Challenge(ch) = a.check(t0, &creds(), None) else {
            panic!("no challenge");
        };
        assert_eq!(ch.len(), 1);
        let good = answer(&ch[0], "trunk-password-1234", 1);
        assert_eq!(a.check(t0, &creds(), Some(&good)), TrunkAuthVerdict::Accept);
        // The same answer again is a replay: challenged afresh (stale), not accepted.
        assert!(matches!(
            a.check(t0, &creds(), Some(&good)),
            TrunkAuthVerdict::Challenge(c) if c[0].contains("stale=true")
        ));
        let TrunkAuthVerdict::Challenge(ch) = a.check(t0, &creds(), None) else {
            panic!("no challenge");
        };
        let wrong = answer(&ch[0], "guess", 1);
        assert_eq!(
            a.check(t0, &creds(), Some(&wrong)),
            TrunkAuthVerdict::Refuse("trunk_auth_failed")
        );
        // A nonce past its lifetime is stale.
        let late = answer(&ch[0], "trunk-password-1234", 2);
        assert!(matches!(
            a.check(
                t0 + NONCE_TTL + Duration::from_secs(1),
                &creds(),
                Some(&late)
            ),
            TrunkAuthVerdict::Challenge(_)
        ));
        // A forged nonce is not ours: challenged, never accepted.
        let forged = good.replace("nonce=\"", "nonce=\"0");
        assert!(matches!(
            a.check(t0, &creds(), Some(&forged)),
            TrunkAuthVerdict::Challenge(_) | TrunkAuthVerdict::Refuse(_)
        ));
        assert_eq!(
            a.check(t0, &creds(), Some("Digest nonsense")),
            TrunkAuthVerdict::Refuse("malformed_authorization")
        );
    }
}
