//! Zendesk-shaped error responses of the sandbox.

use crate::sandbox::auth::Denial;
use crate::sandbox::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// `{"error": code, "description": description}` with `status`.
pub fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "description": description })),
    )
        .into_response()
}

/// 404 RecordNotFound.
pub fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found")
}

/// 404 for paths that are not endpoints.
pub fn invalid_endpoint() -> Response {
    error(StatusCode::NOT_FOUND, "InvalidEndpoint", "Not found")
}

/// 400 for a body that is not the expected JSON.
pub fn bad_body() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidRequest",
        "The request body is not valid JSON of the expected shape",
    )
}

/// 400 for a refused search.
pub fn bad_search(reason: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid",
        &format!("Invalid search: {reason}"),
    )
}

/// 401 as Zendesk sends it.
pub fn unauthorized(d: Denial) -> Response {
    match d {
        Denial::Basic => {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": "Couldn't authenticate you" })),
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Web Password\""),
            );
            r
        }
        Denial::Bearer => (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "error": "invalid_token",
                "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."
            })),
        )
            .into_response(),
    }
}

/// Map a store error: 404, or 422 RecordInvalid with per-field details.
pub fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NotFound => not_found(),
        StoreError::Invalid {
            field,
            description,
            code,
        } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "RecordInvalid",
                "description": "Record validation errors",
                "details": { field: [{ "description": description, "error": code }] }
            })),
        )
            .into_response(),
        StoreError::Full => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "RecordInvalid",
            "The sandbox holds too many records",
        ),
    }
}

/// The answer of an injected error fault.
pub fn fault(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code: String = status
        .canonical_reason()
        .unwrap_or("Error")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    error(status, &code, "Injected by the ringdesk Zendesk sandbox")
}
