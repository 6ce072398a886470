//! Browser sessions for the admin pages (the wallboard): a page cannot send an
//! `Authorization` header with `EventSource`, so a supervisor exchanges a token for a
//! session cookie (`POST /session`). The cookie's value is 32 random bytes; the session
//! keeps the token's name and role, expires after a fixed time, and can be ended
//! (`DELETE /session`). Bounded: the oldest sessions are forgotten beyond the cap. Time is
//! passed in.

use super::admin_access::Granted;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name.
pub const COOKIE: &str = "ringdesk_session";
/// How long a session lasts.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once; beyond it the oldest is ended.
const MAX_SESSIONS: usize = 1024;

struct Entry {
    granted: Granted,
    created: Instant,
}

/// The live sessions.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session for `granted`; returns the cookie value.
    pub fn create(&self, granted: Granted, now: Instant) -> String {
        let id: String = rand::random::<[u8; 32]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut map = self.lock();
        map.retain(|_, e| now.saturating_duration_since(e.created) < LIFETIME);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.created)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            id.clone(),
            Entry {
                granted,
                created: now,
            },
        );
        id
    }

    /// Who the session `id` belongs to, while it lasts.
    pub fn check(&self, id: &str, now: Instant) -> Option<Granted> {
        if id.len() != 64 {
            return None;
        }
        let mut map = self.lock();
        let entry = map.get(id)?;
        if now.saturating_duration_since(entry.created) >= LIFETIME {
            map.remove(id);
            return None;
        }
        Some(entry.granted.clone())
    }

    /// Ends the session `id` (nothing when there is none).
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// The session cookie's value in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` value of a new session: the browser sends it back only to this
/// origin (`SameSite=Strict`), never to scripts (`HttpOnly`), and only over TLS when the
/// API is served over TLS (`secure`).
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;

    fn granted() -> Granted {
        Granted {
            name: "wallboard".into(),
            role: Role::Read,
        }
    }

    #[test]
    fn a_session_lasts_its_lifetime_and_ends_when_asked() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let id = s.create(granted(), t0);
        assert_eq!(id.len(), 64);
        assert_eq!(s.check(&id, t0 + LIFETIME / 2), Some(granted()));
        assert_eq!(s.check(&id, t0 + LIFETIME), None);
        let id = s.create(granted(), t0);
        s.end(&id);
        assert_eq!(s.check(&id, t0), None);
        assert_eq!(s.check("short", t0), None);
        assert_ne!(s.create(granted(), t0), s.create(granted(), t0));
    }

    #[test]
    fn sessions_are_bounded_and_the_oldest_goes_first() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let first = s.create(granted(), t0);
        for i in 1..=MAX_SESSIONS as u64 {
            s.create(granted(), t0 + Duration::from_millis(i));
        }
        assert_eq!(s.lock().len(), MAX_SESSIONS);
        assert_eq!(s.check(&first, t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn the_cookie_is_read_from_a_header_and_set_with_its_flags() {
        assert_eq!(
            from_cookie_header("a=1; ringdesk_session=abc ; b=2"),
            Some("abc")
        );
        assert_eq!(from_cookie_header("ringdesk_sessionx=1"), None);
        let c = set_cookie("abc", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(set_cookie("abc", true).ends_with("; Secure"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
