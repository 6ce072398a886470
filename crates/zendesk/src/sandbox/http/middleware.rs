//! The request pipeline in front of the sandbox endpoints: counting, injected faults
//! (latency, errors, hangs), the rate limit with Zendesk's headers, and authentication.

use super::respond;
use crate::sandbox::auth::authenticate;
use crate::sandbox::faults::Action;
use crate::sandbox::ratelimit::Verdict;
use crate::sandbox::state::Shared;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;
use std::time::Instant;

/// The user a request is authenticated as.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub u64);

/// `GET /api/v2/tickets/{id}.json` style label of a request.
fn endpoint_label(req: &Request) -> String {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("?", MatchedPath::as_str);
    let suffix = if path.ends_with("/{id}") { ".json" } else { "" };
    format!("{} {path}{suffix}", req.method())
}

fn count_status(shared: &Shared, status: StatusCode) {
    shared.lock().stats.status(status.as_u16());
}

/// Counting, faults and rate limit (all public endpoints, including `/oauth/tokens`).
pub async fn pipeline(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let label = endpoint_label(&req);
    // Subscribe before deciding, so a release between the two is not missed.
    let mut release = shared.release.subscribe();
    let decision = {
        let mut g = shared.lock();
        g.stats.request(&label);
        g.faults.decide(req.method().as_str(), req.uri().path())
    };
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.action {
        Action::Hang => {
            shared.lock().stats.hung += 1;
            // Released when faults change, on reset or on shutdown.
            let _ = release.changed().await;
        }
        Action::Error(code) => {
            shared.lock().stats.faulted += 1;
            let r = respond::fault(code);
            count_status(&shared, r.status());
            return r;
        }
        Action::ServeThenError(code) => {
            let served = next.run(req).await;
            shared.lock().stats.faulted += 1;
            tracing::debug!(applied = %served.status(), answered = code, "sandbox: response lost");
            let r = respond::fault(code);
            count_status(&shared, r.status());
            return r;
        }
        Action::Serve => {}
    }
    let verdict = shared.lock().limiter.check(Instant::now());
    let resp = match verdict {
        Some(Verdict::Limit {
            limit,
            retry_after_secs,
        }) => {
            shared.lock().stats.rate_limited += 1;
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(serde_json::json!({
                    "error": "APIRateLimitExceeded",
                    "description": format!("Number of allowed API requests per minute exceeded ({limit})")
                })),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            rate_headers(&mut r, limit, 0);
            r
        }
        Some(Verdict::Allow { limit, remaining }) => {
            let mut r = next.run(req).await;
            rate_headers(&mut r, limit, remaining);
            r
        }
        None => next.run(req).await,
    };
    count_status(&shared, resp.status());
    resp
}

fn rate_headers(r: &mut Response, limit: u32, remaining: u32) {
    r.headers_mut()
        .insert("x-rate-limit", HeaderValue::from(limit));
    r.headers_mut()
        .insert("x-rate-limit-remaining", HeaderValue::from(remaining));
}

/// Zendesk authentication for `/api/v2/*`.
pub async fn auth(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let result = {
        let mut g = shared.lock();
        let inner = &mut *g;
        let data = inner.store.data();
        authenticate(
            header,
            &data.credentials,
            data,
            &mut inner.tokens,
            Instant::now(),
        )
    };
    match result {
        Ok(user) => {
            req.extensions_mut().insert(AuthUser(user));
            next.run(req).await
        }
        Err(d) => {
            shared.lock().stats.unauthorized += 1;
            respond::unauthorized(d)
        }
    }
}
