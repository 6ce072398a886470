//! The sandbox's shared mutable state (records, tokens, limiter, faults, counters) and
//! `SandboxState`, the cloneable handle tests and the runtime use to read and steer it.

use super::auth::Tokens;
use super::config::SandboxConfig;
use super::data::{DataError, DataSet};
use super::faults::{FaultState, Faults, FaultsError};
use super::idempotency::Idempotency;
use super::ratelimit::RateLimiter;
use super::stats::Stats;
use super::store::Store;
use crate::types::{Comment, Ticket, User};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// Why a sandbox could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The data file or configured credentials are unusable.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The configured faults are invalid.
    #[error("invalid sandbox faults: {0}")]
    Faults(#[from] FaultsError),
    /// The listener could not report its address.
    #[error("sandbox listener: {0}")]
    Io(#[from] std::io::Error),
    /// The server task failed or did not stop in time.
    #[error("sandbox server task: {0}")]
    Task(String),
}

pub(crate) struct Inner {
    pub store: Store,
    pub tokens: Tokens,
    pub limiter: RateLimiter,
    pub faults: FaultState,
    pub stats: Stats,
    /// Creation responses by `Idempotency-Key`.
    pub idempotency: Idempotency,
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Bumped to release hanging requests (faults changed, reset, shutdown).
    pub release: watch::Sender<u64>,
    initial: DataSet,
    pub token_ttl: Duration,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn release_hangs(&self) {
        self.release.send_modify(|g| *g = g.wrapping_add(1));
    }
}

/// A cloneable handle on one sandbox's state: read records and counters, set faults,
/// reset. Build the HTTP app from it with [`super::router`].
#[derive(Clone)]
pub struct SandboxState {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SandboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxState").finish_non_exhaustive()
    }
}

impl SandboxState {
    /// Load the data and set up the state described by `config`.
    pub fn new(config: &SandboxConfig) -> Result<Self, SandboxError> {
        config.faults.validate()?;
        let data = config.resolve_data()?;
        let (release, _) = watch::channel(0);
        let shared = Shared {
            inner: Mutex::new(Inner {
                store: Store::new(data.clone()),
                tokens: Tokens::default(),
                limiter: RateLimiter::new(config.rate_limit_per_minute),
                faults: FaultState::new(config.faults.clone()),
                stats: Stats::default(),
                idempotency: Idempotency::default(),
            }),
            release,
            initial: data,
            token_ttl: Duration::from_secs(
                config
                    .oauth_token_expires_in_secs
                    .min(super::config::MAX_TOKEN_TTL_SECS),
            ),
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }

    /// A ticket's comments, oldest first (`None`: no such ticket).
    pub fn comments(&self, ticket_id: u64) -> Option<Vec<Comment>> {
        self.shared
            .lock()
            .store
            .comments(ticket_id)
            .map(<[_]>::to_vec)
    }

    /// A ticket as stored now.
    pub fn ticket(&self, id: u64) -> Option<Ticket> {
        self.shared.lock().store.ticket(id).cloned()
    }

    /// A user as stored now.
    pub fn user(&self, id: u64) -> Option<User> {
        self.shared.lock().store.user(id).cloned()
    }

    /// The request counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// The active faults.
    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.faults().clone()
    }

    /// Replace the faults (counters restart; hanging requests are released).
    pub fn set_faults(&self, faults: Faults) -> Result<(), FaultsError> {
        faults.validate()?;
        self.shared.lock().faults = FaultState::new(faults);
        self.shared.release_hangs();
        Ok(())
    }

    /// Remove every fault (releases hanging requests).
    pub fn clear_faults(&self) {
        self.shared.lock().faults = FaultState::default();
        self.shared.release_hangs();
    }

    /// Make every issued OAuth token invalid now (to exercise refresh).
    pub fn expire_oauth_tokens(&self) {
        self.shared.lock().tokens.expire_all();
    }

    /// Back to the initial data; faults, counters, rate-limit window, tokens and
    /// idempotency keys cleared.
    pub fn reset(&self) {
        {
            let mut g = self.shared.lock();
            g.store = Store::new(self.shared.initial.clone());
            g.tokens = Tokens::default();
            g.limiter.reset();
            g.faults = FaultState::default();
            g.stats = Stats::default();
            g.idempotency = Idempotency::default();
        }
        self.shared.release_hangs();
    }
}
