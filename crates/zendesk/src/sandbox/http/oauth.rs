//! `POST /oauth/tokens`: the OAuth client-credentials grant (JSON or form body), issuing
//! Bearer tokens with a configurable lifetime.

use crate::sandbox::state::Shared;
use crate::types::{OAuthToken, Role};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Deserialize, Default)]
struct TokenRequest {
    #[serde(default)]
    grant_type: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn parse(headers: &HeaderMap, body: &[u8]) -> Option<TokenRequest> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        if let Ok(r) = serde_json::from_slice(body) {
            return Some(r);
        }
    }
    let mut r = TokenRequest::default();
    let mut any = false;
    for (k, v) in url::form_urlencoded::parse(body).take(16) {
        any = true;
        let v = Some(v.into_owned());
        match k.as_ref() {
            "grant_type" => r.grant_type = v,
            "client_id" => r.client_id = v,
            "client_secret" => r.client_secret = v,
            "scope" => r.scope = v,
            "expires_in" => r.expires_in = v.and_then(|s| s.parse().ok()),
            _ => {}
        }
    }
    any.then_some(r)
}

/// Issue a token for a known client.
pub async fn tokens(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(req) = parse(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter or is otherwise malformed.",
        );
    };
    if req.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        );
    }
    let (Some(id), Some(secret)) = (req.client_id, req.client_secret) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter or is otherwise malformed.",
        );
    };
    let mut g = shared.lock();
    let inner = &mut *g;
    let data = inner.store.data();
    let client = data
        .credentials
        .oauth_clients
        .iter()
        .find(|c| c.client_id == id && c.client_secret.expose() == secret);
    let user = client.and_then(|c| match &c.user_email {
        Some(e) => data.user_by_email(e).map(|u| u.id),
        None => data
            .users
            .values()
            .find(|u| u.role == Role::Admin)
            .map(|u| u.id),
    });
    let Some(user) = user else {
        drop(g);
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
        );
    };
    let ttl = match req.expires_in {
        Some(asked) => Duration::from_secs(asked).min(shared.token_ttl),
        None => shared.token_ttl,
    };
    let access_token = inner.tokens.issue(user, Instant::now(), ttl);
    drop(g);
    let scope = req
        .scope
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .unwrap_or_else(|| "read write".to_owned());
    Json(OAuthToken {
        access_token,
        token_type: "bearer".to_owned(),
        scope: Some(scope),
        expires_in: Some(ttl.as_secs()),
    })
    .into_response()
}
