//! Per-account lockout (sans-IO): after `max_failures` failed authentications of one
//! account (REGISTER, or the agent desktop's sign-in, each with its own table) within
//! `window`, from any source, the account is locked for `duration`; each further lockout
//! doubles the time, up to `max_duration`. While locked, even the right password is
//! refused. A success forgets the account's failures and backoff.
//!
//! Only configured accounts are tracked (failures for unknown usernames lock nothing), so
//! memory is bounded by the agent table. No clock: every call takes `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How failed REGISTERs lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutConfig {
    /// Failed authentications of one account (from any source) within `window` that lock
    /// it. 0 turns account lockout off. Default 5.
    pub max_failures: u32,
    /// Failures older than this are forgotten. Default 10 minutes.
    pub window: Duration,
    /// Length of the first lockout. Default 60 s.
    pub duration: Duration,
    /// Longest lockout (each lockout doubles the one before, up to this). Default 1 hour.
    pub max_duration: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures: 5,
            window: Duration::from_secs(600),
            duration: Duration::from_secs(60),
            max_duration: Duration::from_secs(3600),
        }
    }
}

/// A lockout that just began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// Failures that led to it.
    pub failures: u32,
    /// How long it lasts.
    pub duration: Duration,
}

#[derive(Debug, Default)]
struct Account {
    /// Failures counted since `window_start`.
    failures: u32,
    window_start: Option<Instant>,
    /// Lockouts so far (the next one lasts `duration * 2^lockouts`).
    lockouts: u32,
    locked_until: Option<Instant>,
}

/// Failure counts and lockouts of every configured account.
#[derive(Debug, Default)]
pub struct Lockouts {
    config: LockoutConfig,
    accounts: HashMap<String, Account>,
}

impl Lockouts {
    pub fn new(config: LockoutConfig) -> Lockouts {
        Lockouts {
            config,
            accounts: HashMap::new(),
        }
    }

    /// Whether `username` is locked at `now`.
    pub fn is_locked(&self, username: &str, now: Instant) -> bool {
        self.accounts
            .get(username)
            .and_then(|a| a.locked_until)
            .is_some_and(|until| now < until)
    }

    /// When `username`'s lockout ends, if it is locked at `now`.
    pub fn locked_until(&self, username: &str, now: Instant) -> Option<Instant> {
        self.accounts
            .get(username)
            .and_then(|a| a.locked_until)
            .filter(|until| now < *until)
    }

    /// Count one failed authentication of the configured account `username`; returns the
    /// lockout it starts, if any. Failures while locked are not counted (the lockout does
    /// not grow while an attacker keeps trying; the next one, after it, is doubled).
    pub fn record_failure(&mut self, username: &str, now: Instant) -> Option<Locked> {
        let config = self.config;
        if config.max_failures == 0 || self.is_locked(username, now) {
            return None;
        }
        let account = self.accounts.entry(username.to_owned()).or_default();
        let expired = account
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) > config.window);
        if expired {
            account.window_start = Some(now);
            account.failures = 0;
        }
        account.failures = account.failures.saturating_add(1);
        if account.failures < config.max_failures {
            return None;
        }
        let factor = 1u32
            .checked_shl(account.lockouts.min(31))
            .unwrap_or(u32::MAX);
        let duration = config
            .duration
            .saturating_mul(factor)
            .min(config.max_duration.max(config.duration));
        let failures = account.failures;
        account.lockouts = account.lockouts.saturating_add(1);
        account.locked_until = Some(now + duration);
        account.failures = 0;
        account.window_start = None;
        Some(Locked { failures, duration })
    }

    /// `username` registered successfully: forget its failures and backoff.
    pub fn record_success(&mut self, username: &str) {
        self.accounts.remove(username);
    }

    /// Forget accounts no longer configured.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.accounts.retain(|name, _| keep(name));
    }
}

#[cfg(test)]
mod tests {
    //! Lockout after N failures, doubling backoff with a cap, reset on success, on virtual
    //! time.
    use super::*;

    fn config() -> LockoutConfig {
        LockoutConfig {
            max_failures: 3,
            window: Duration::from_secs(60),
            duration: Duration::from_secs(10),
            max_duration: Duration::from_secs(25),
        }
    }

    fn fail_until_locked(l: &mut Lockouts, now: Instant) -> Locked {
        assert_eq!(l.record_failure("ana", now), None);
        assert_eq!(l.record_failure("ana", now), None);
        l.record_failure("ana", now).expect("third failure locks")
    }

    #[test]
    fn locks_after_max_failures_and_unlocks_after_the_duration() {
        let mut l = Lockouts::new(config());
        let t0 = Instant::now();
        let locked = fail_until_locked(&mut l, t0);
        assert_eq!(locked.failures, 3);
        assert_eq!(locked.duration, Duration::from_secs(10));
        assert!(l.is_locked("ana", t0 + Duration::from_secs(9)));
        assert!(!l.is_locked("bob", t0));
        // Failures while locked neither count nor extend.
        assert_eq!(l.record_failure("ana", t0 + Duration::from_secs(5)), None);
        assert!(!l.is_locked("ana", t0 + Duration::from_secs(10)));
    }

    #[test]
    fn each_lockout_doubles_up_to_the_cap_and_success_resets() {
        let mut l = Lockouts::new(config());
        let mut t = Instant::now();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let locked = fail_until_locked(&mut l, t);
            seen.push(locked.duration.as_secs());
            t += locked.duration;
        }
        assert_eq!(seen, [10, 20, 25]);
        l.record_success("ana");
        assert_eq!(fail_until_locked(&mut l, t).duration.as_secs(), 10);
    }

    #[test]
    fn failures_outside_the_window_are_forgotten_and_zero_turns_it_off() {
        let mut l = Lockouts::new(config());
        let t0 = Instant::now();
        l.record_failure("ana", t0);
        l.record_failure("ana", t0);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(l.record_failure("ana", later), None);
        assert!(!l.is_locked("ana", later));
        let mut off = Lockouts::new(LockoutConfig {
            max_failures: 0,
            ..config()
        });
        for _ in 0..100 {
            assert_eq!(off.record_failure("ana", t0), None);
        }
        assert!(!off.is_locked("ana", t0));
    }
}
