//! Serving a creation request (`POST /tickets`, `POST /users`) under its
//! `Idempotency-Key`: check, create and remember happen under one lock, so two requests
//! with the same key never both create (see `sandbox/idempotency.rs`).

use super::respond;
use crate::sandbox::idempotency::{fingerprint, valid_key, Kept, Lookup};
use crate::sandbox::state::{Inner, Shared};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// The request header carrying the key.
pub const KEY_HEADER: &str = "idempotency-key";
/// The response header telling whether the key was known (`hit`) or not (`miss`).
pub const LOOKUP_HEADER: &str = "x-idempotency-lookup";

/// A created record's response: its status and JSON body.
pub type Created = (StatusCode, Vec<u8>);

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn tagged(mut r: Response, lookup: &'static str) -> Response {
    r.headers_mut()
        .insert(LOOKUP_HEADER, HeaderValue::from_static(lookup));
    r
}

/// Runs `create` unless the request's key was already served: then the kept response
/// is answered again; a key reused for another request is refused (400).
pub fn serve(
    shared: &Shared,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
    create: impl FnOnce(&mut Inner) -> Result<Created, Box<Response>>,
) -> Response {
    let key = match headers.get(KEY_HEADER).map(HeaderValue::to_str) {
        None => None,
        Some(Ok(k)) if valid_key(k) => Some(k.to_owned()),
        Some(_) => {
            return respond::error(
                StatusCode::BAD_REQUEST,
                "IdempotentRequestError",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        }
    };
    let mut g = shared.lock();
    let Some(key) = key else {
        return match create(&mut g) {
            Ok((status, body)) => json(status, body),
            Err(r) => *r,
        };
    };
    let fp = fingerprint(method, path, body);
    let now = Instant::now();
    match g.idempotency.lookup(&key, fp, now) {
        Lookup::Hit(kept) => {
            g.stats.idempotent_replays += 1;
            let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
            tagged(json(status, kept.body), "hit")
        }
        Lookup::Mismatch => respond::error(
            StatusCode::BAD_REQUEST,
            "IdempotentRequestError",
            "The Idempotency-Key was already used with a different request",
        ),
        Lookup::Miss => match create(&mut g) {
            Ok((status, body)) => {
                if status.is_success() {
                    let kept = Kept {
                        status: status.as_u16(),
                        body: body.clone(),
                    };
                    g.idempotency.remember(&key, fp, kept, now);
                }
                tagged(json(status, body), "miss")
            }
            Err(r) => *r,
        },
    }
}
