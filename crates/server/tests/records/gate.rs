//! The Zendesk sandbox (the real one, in this test process on 127.0.0.1:0) behind a gate:
//! every request is logged with its arrival and answer times, status and Retry-After, and
//! ticket updates (`PUT /api/v2/tickets/...`) can be scripted: answered 429 with a
//! Retry-After, or held forever after (or instead of) being applied, to stand for a
//! Zendesk that received a note but whose answer never came back.

use super::notes::marker_in;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use ringdesk_zendesk::sandbox::{router, SandboxConfig, SandboxState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the gate does with the next ticket updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutRule {
    /// Straight to the sandbox.
    Pass,
    /// The next `left` updates are answered 429 with `Retry-After: retry_after_secs`
    /// (not applied), as Zendesk's rate limit does.
    TooMany { left: u32, retry_after_secs: u64 },
    /// The next `left` updates are applied, then never answered.
    HangAfterApply { left: u32 },
    /// The next `left` updates are never applied nor answered.
    HangUnapplied { left: u32 },
    /// The next `left` updates wait `ms` before going to the sandbox (a slow Zendesk).
    Delay { left: u32, ms: u64 },
}

/// One request as the gate saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub arrived: Instant,
    /// When the answer left (`None` while held).
    pub answered: Option<Instant>,
    /// Status of the answer, or of the sandbox's answer for a request held after applying.
    pub status: Option<u16>,
    /// The Retry-After (whole seconds) of the answer.
    pub retry_after: Option<Duration>,
    /// Held forever by a hang rule.
    pub held: bool,
    /// The `ringdesk-ref` marker of a ticket update's note.
    pub marker: Option<String>,
}

impl Hit {
    /// A ticket update (the post-call note).
    pub fn is_note(&self) -> bool {
        self.method == "PUT" && self.path.starts_with("/api/v2/tickets/")
    }
}

#[derive(Default)]
struct Shared {
    log: Mutex<Vec<Hit>>,
    rule: Mutex<Option<PutRule>>,
}

/// A running gated sandbox; the server task is aborted when dropped.
pub struct Gate {
    state: SandboxState,
    url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Gate {
    /// The demo data, no faults, no rate limit, every request passed through.
    pub async fn start() -> Gate {
        Gate::with_config(SandboxConfig::default()).await
    }

    /// Any sandbox configuration.
    pub async fn with_config(config: SandboxConfig) -> Gate {
        let state = SandboxState::new(&config).expect("sandbox configuration is valid");
        let shared = Arc::new(Shared::default());
        let layer = {
            let shared = shared.clone();
            move |req: Request, next: Next| {
                let shared = shared.clone();
                async move { gate(shared, req, next).await }
            }
        };
        let app = router(&state).layer(middleware::from_fn(layer));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("listener address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Gate {
            state,
            url: format!("http://{addr}"),
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The sandbox: tickets, comments, stats, faults.
    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// Replaces the rule for ticket updates.
    pub fn set_rule(&self, rule: PutRule) {
        *lock(&self.shared.rule) = Some(rule);
    }

    /// Every request so far, in arrival order.
    pub fn hits(&self) -> Vec<Hit> {
        lock(&self.shared.log).clone()
    }

    /// Ticket updates so far, in arrival order.
    pub fn note_hits(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(Hit::is_note).collect()
    }

    /// Waits (bounded) until `pred` holds for the log; panics with `what` otherwise.
    pub async fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&[Hit]) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if pred(&lock(&self.shared.log)) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Takes one use of the rule for a ticket update.
fn take(shared: &Shared) -> PutRule {
    let mut g = lock(&shared.rule);
    let rule = g.unwrap_or(PutRule::Pass);
    let (left, next) = match rule {
        PutRule::Pass => return PutRule::Pass,
        PutRule::TooMany {
            left,
            retry_after_secs,
        } => (
            left,
            PutRule::TooMany {
                left: left.saturating_sub(1),
                retry_after_secs,
            },
        ),
        PutRule::HangAfterApply { left } => (
            left,
            PutRule::HangAfterApply {
                left: left.saturating_sub(1),
            },
        ),
        PutRule::HangUnapplied { left } => (
            left,
            PutRule::HangUnapplied {
                left: left.saturating_sub(1),
            },
        ),
        PutRule::Delay { left, ms } => (
            left,
            PutRule::Delay {
                left: left.saturating_sub(1),
                ms,
            },
        ),
    };
    if left == 0 {
        *g = Some(PutRule::Pass);
        return PutRule::Pass;
    }
    *g = Some(next);
    rule
}

/// Largest request body the gate reads (the store bounds bodies at 1 MiB).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Reads the body of a ticket update for its marker and puts it back.
async fn with_marker(req: Request) -> (Request, Option<String>) {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let marker = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["ticket"]["comment"]["body"].as_str().and_then(marker_in));
    (Request::from_parts(parts, Body::from(bytes)), marker)
}

async fn gate(shared: Arc<Shared>, req: Request, next: Next) -> Response {
    let (req, marker) = if req.method() == "PUT" {
        with_marker(req).await
    } else {
        (req, None)
    };
    let hit = Hit {
        marker,
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        arrived: Instant::now(),
        answered: None,
        status: None,
        retry_after: None,
        held: false,
    };
    let rule = if hit.is_note() {
        take(&shared)
    } else {
        PutRule::Pass
    };
    let index = {
        let mut log = lock(&shared.log);
        log.push(hit);
        log.len() - 1
    };
    let update = |f: &dyn Fn(&mut Hit)| {
        if let Some(h) = lock(&shared.log).get_mut(index) {
            f(h);
        }
    };
    match rule {
        PutRule::TooMany {
            retry_after_secs, ..
        } => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(serde_json::json!({
                    "error": "APIRateLimitExceeded",
                    "description": "Number of allowed API requests per minute exceeded"
                })),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            update(&|h| {
                h.status = Some(429);
                h.retry_after = Some(Duration::from_secs(retry_after_secs));
                h.answered = Some(Instant::now());
            });
            r
        }
        PutRule::HangUnapplied { .. } => {
            update(&|h| h.held = true);
            std::future::pending().await
        }
        PutRule::HangAfterApply { .. } => {
            let status = next.run(req).await.status().as_u16();
            update(&|h| {
                h.held = true;
                h.status = Some(status);
            });
            std::future::pending().await
        }
        PutRule::Pass | PutRule::Delay { .. } => {
            if let PutRule::Delay { ms, .. } = rule {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let resp = next.run(req).await;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            update(&|h| {
                h.status = Some(status);
                h.retry_after = retry_after;
                h.answered = Some(Instant::now());
            });
            resp
        }
    }
}

/// A base URL where nothing listens (connections are refused).
pub async fn closed_port_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = l.local_addr().expect("listener address");
    drop(l);
    format!("http://{addr}")
}
