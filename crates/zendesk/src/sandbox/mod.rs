//! The Zendesk-compatible sandbox server (axum): the endpoints ringdesk's flows use, with
//! Zendesk's auth schemes, response shapes and error bodies, a count-based rate limit,
//! `Idempotency-Key` on creation, injectable faults, and admin endpoints under `/__sandbox/`. Seeded from a data file
//! (default: the embedded demo data).

mod auth;
mod config;
pub mod data;
pub mod faults;
mod http;
pub mod idempotency;
pub mod query;
mod ratelimit;
mod state;
pub mod stats;
mod store;

pub use config::{SandboxConfig, DEFAULT_TOKEN_TTL_SECS};
pub use data::{ApiToken, Credentials, DataError, DataSet, OAuthClient, DEMO_DATA};
pub use faults::{ErrorFault, Faults, FaultsError, HangFault, LostResponse};
pub use http::router;
pub use state::{SandboxError, SandboxState};
pub use stats::Stats;

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`SandboxHandle::shutdown`] waits for open connections to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running sandbox. Dereferences to its [`SandboxState`]. Dropping the handle without
/// [`SandboxHandle::shutdown`] leaves the server running until the runtime stops.
#[derive(Debug)]
pub struct SandboxHandle {
    state: SandboxState,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::ops::Deref for SandboxHandle {
    type Target = SandboxState;

    fn deref(&self) -> &SandboxState {
        &self.state
    }
}

impl SandboxHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`: the base URL to give a Zendesk client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The state handle (also reachable through `Deref`).
    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// Stop accepting, release hanging requests, let open requests finish (at most
    /// [`SHUTDOWN_GRACE`]), and wait for the server task.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.shared.release_hangs();
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(SandboxError::Io(e)),
            Ok(Err(join)) => Err(SandboxError::Task(join.to_string())),
            Err(_) => {
                self.task.abort();
                Err(SandboxError::Task(
                    "connections still open after the grace period; aborted".to_owned(),
                ))
            }
        }
    }
}

/// Start a sandbox on `listener` (bind `127.0.0.1:0` for tests) as a tokio task.
pub async fn spawn(
    config: SandboxConfig,
    listener: TcpListener,
) -> Result<SandboxHandle, SandboxError> {
    let state = SandboxState::new(&config)?;
    let addr = listener.local_addr()?;
    let app = router(&state);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "Zendesk sandbox listening");
    Ok(SandboxHandle {
        state,
        addr,
        stop: Some(stop),
        task,
    })
}
