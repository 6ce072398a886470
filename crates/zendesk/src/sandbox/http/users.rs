//! User endpoints: `me`, show, create.

use super::idempotent;
use super::middleware::AuthUser;
use super::respond;
use super::tickets::{created, json_id};
use crate::sandbox::state::Shared;
use crate::types::{NewUser, UserEnvelope, UserResponse};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::sync::Arc;

/// `GET /api/v2/users/me.json`.
pub async fn me(
    State(shared): State<Arc<Shared>>,
    Extension(AuthUser(id)): Extension<AuthUser>,
) -> Response {
    let user = shared.lock().store.user(id).cloned();
    match user {
        Some(user) => Json(UserResponse { user }).into_response(),
        None => respond::not_found(),
    }
}

/// `GET /api/v2/users/{id}.json`.
pub async fn show(State(shared): State<Arc<Shared>>, Path(seg): Path<String>) -> Response {
    let Some(id) = json_id(&seg) else {
        return respond::not_found();
    };
    let user = shared.lock().store.user(id).cloned();
    match user {
        Some(user) => Json(UserResponse { user }).into_response(),
        None => respond::not_found(),
    }
}

/// `POST /api/v2/users.json` with `{"user": {"name": ..., ...}}`, honouring
/// `Idempotency-Key`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(env) = serde_json::from_slice::<UserEnvelope<NewUser>>(&body) else {
        return respond::bad_body();
    };
    let path = "/api/v2/users.json";
    idempotent::serve(&shared, &headers, "POST", path, &body, |g| {
        match g.store.create_user(&env.user, jiff::Timestamp::now()) {
            Ok(user) => created(&UserResponse { user }),
            Err(e) => Err(Box::new(respond::store_error(e))),
        }
    })
}
