//! Admin endpoints under `/__sandbox/` (no Zendesk auth): faults, stats, reset, token
//! expiry. They exist only in the sandbox, never on Zendesk.

use super::respond;
use crate::sandbox::faults::Faults;
use crate::sandbox::state::{SandboxState, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

fn state(shared: Arc<Shared>) -> SandboxState {
    SandboxState { shared }
}

/// `GET /__sandbox/faults`.
pub async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(state(shared).faults()).into_response()
}

/// `POST /__sandbox/faults` with a [`Faults`] JSON (`{}` clears).
pub async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return respond::error(StatusCode::BAD_REQUEST, "InvalidFaults", &e.to_string()),
    };
    let st = state(shared);
    match st.set_faults(faults) {
        Ok(()) => Json(st.faults()).into_response(),
        Err(e) => respond::error(StatusCode::BAD_REQUEST, "InvalidFaults", &e.to_string()),
    }
}

/// `GET /__sandbox/stats`.
pub async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(state(shared).stats()).into_response()
}

/// `POST /__sandbox/reset`.
pub async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    state(shared).reset();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /__sandbox/expire-tokens`.
pub async fn expire_tokens(State(shared): State<Arc<Shared>>) -> Response {
    state(shared).expire_oauth_tokens();
    StatusCode::NO_CONTENT.into_response()
}
