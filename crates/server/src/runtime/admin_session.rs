//! Browser sessions for the pages: a page cannot send an `Authorization` header with
//! `EventSource`, so a supervisor exchanges a token for a session cookie (`POST
//! /session`, the wallboard), and an agent their password (`POST /desk/session`, the
//! desktop). The cookie's value is 32 random bytes; the session keeps who it is (a
//! token's name and role, or an agent id), expires after a fixed time, and can be ended.
//! Bounded: the oldest sessions are forgotten beyond the cap. Time is passed in.

use super::admin_access::Granted;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The admin pages' cookie.
pub const COOKIE: &str = "ringdesk_session";
/// The agent desktop's cookie (a separate name: an agent and a supervisor may share a
/// browser).
pub const DESK_COOKIE: &str = "ringdesk_desk";
/// How long a session lasts.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once; beyond it the oldest is ended.
const MAX_SESSIONS: usize = 1024;

struct Entry<T> {
    granted: T,
    created: Instant,
}

/// The live sessions, each holding who it is (`T`).
pub struct Sessions<T = Granted> {
    map: Mutex<HashMap<String, Entry<T>>>,
}

impl<T> Default for Sessions<T> {
    fn default() -> Self {
        Sessions {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> Sessions<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<T>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session for `granted`; returns the cookie value.
    pub fn create(&self, granted: T, now: Instant) -> String {
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
    pub fn check(&self, id: &str, now: Instant) -> Option<T> {
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

    /// Ends every session whose holder `f` picks; returns how many.
    pub fn end_where(&self, mut f: impl FnMut(&T) -> bool) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, e| !f(&e.granted));
        before - map.len()
    }
}

/// The value of the cookie `cookie` in a `Cookie` header, if any.
pub fn from_cookie_header<'a>(header: &'a str, cookie: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` value of a new session: the browser sends it back only to this
/// origin (`SameSite=Strict`), never to scripts (`HttpOnly`), and only over TLS when the
/// API is served over TLS (`secure`).
pub fn set_cookie(cookie: &str, id: &str, secure: bool) -> String {
    format!(
        "{cookie}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(cookie: &str) -> String {
    format!("{cookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
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
        let s: Sessions = Sessions::default();
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
    fn sessions_of_one_holder_can_all_be_ended() {
        let s: Sessions<String> = Sessions::default();
        let t0 = Instant::now();
        let (a1, a2) = (s.create("ana".into(), t0), s.create("ana".into(), t0));
        let b = s.create("bob".into(), t0);
        assert_eq!(s.end_where(|who| who == "ana"), 2);
        assert_eq!((s.check(&a1, t0), s.check(&a2, t0)), (None, None));
        assert_eq!(s.check(&b, t0).as_deref(), Some("bob"));
    }

    #[test]
    fn sessions_are_bounded_and_the_oldest_goes_first() {
        let s: Sessions = Sessions::default();
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
            from_cookie_header("a=1; ringdesk_session=abc ; b=2", COOKIE),
            Some("abc")
        );
        assert_eq!(from_cookie_header("ringdesk_sessionx=1", COOKIE), None);
        assert_eq!(
            from_cookie_header("ringdesk_session=a; ringdesk_desk=b", DESK_COOKIE),
            Some("b")
        );
        let c = set_cookie(COOKIE, "abc", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(set_cookie(COOKIE, "abc", true).ends_with("; Secure"));
        assert!(clear_cookie(DESK_COOKIE).starts_with("ringdesk_desk=;"));
        assert!(clear_cookie(COOKIE).contains("Max-Age=0"));
    }
}
