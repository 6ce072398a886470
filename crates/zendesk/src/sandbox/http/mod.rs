//! The sandbox's HTTP surface: routes, the middleware pipeline and the handlers.

mod admin;
mod idempotent;
mod middleware;
mod oauth;
mod paging;
mod respond;
mod search;
mod tickets;
mod users;

use super::state::SandboxState;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

async fn fallback() -> Response {
    respond::invalid_endpoint()
}

/// The sandbox as an axum `Router` over `state` (for embedding in another server;
/// [`super::spawn`] serves it on a listener).
pub fn router(state: &SandboxState) -> Router {
    let shared = state.shared.clone();
    let api = Router::new()
        .route("/api/v2/search.json", get(search::search))
        .route("/api/v2/users/search.json", get(search::users_search))
        .route("/api/v2/users/me.json", get(users::me))
        .route("/api/v2/users.json", post(users::create))
        .route("/api/v2/users/{id}", get(users::show))
        .route(
            "/api/v2/users/{id}/tickets/requested.json",
            get(tickets::requested),
        )
        .route("/api/v2/tickets.json", post(tickets::create))
        .route(
            "/api/v2/tickets/{id}",
            get(tickets::show).put(tickets::update),
        )
        .route("/api/v2/tickets/{id}/comments.json", get(tickets::comments))
        .route_layer(from_fn_with_state(shared.clone(), middleware::auth));
    let public = api
        .route("/oauth/tokens", post(oauth::tokens))
        .route_layer(from_fn_with_state(shared.clone(), middleware::pipeline));
    let admin = Router::new()
        .route(
            "/__sandbox/faults",
            get(admin::get_faults).post(admin::set_faults),
        )
        .route("/__sandbox/stats", get(admin::stats))
        .route("/__sandbox/reset", post(admin::reset))
        .route("/__sandbox/expire-tokens", post(admin::expire_tokens));
    public
        .merge(admin)
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}
