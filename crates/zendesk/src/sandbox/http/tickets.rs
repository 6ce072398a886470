//! Ticket endpoints: show, update (comments really stored), create, comments, and a
//! user's requested tickets.

use super::idempotent;
use super::middleware::AuthUser;
use super::paging::{links, params, Page};
use super::respond;
use crate::sandbox::state::Shared;
use crate::types::{
    CommentsResponse, NewTicket, TicketEnvelope, TicketResponse, TicketUpdate, TicketsResponse,
};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::sync::Arc;

/// `"123.json"` → 123.
pub fn json_id(segment: &str) -> Option<u64> {
    segment.strip_suffix(".json")?.parse().ok()
}

/// `GET /api/v2/tickets/{id}.json`.
pub async fn show(State(shared): State<Arc<Shared>>, Path(seg): Path<String>) -> Response {
    let Some(id) = json_id(&seg) else {
        return respond::not_found();
    };
    let ticket = shared.lock().store.ticket(id).cloned();
    match ticket {
        Some(ticket) => Json(TicketResponse { ticket }).into_response(),
        None => respond::not_found(),
    }
}

/// `PUT /api/v2/tickets/{id}.json` with `{"ticket": {"comment": {...}, "status": ...}}`.
pub async fn update(
    State(shared): State<Arc<Shared>>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    Path(seg): Path<String>,
    body: Bytes,
) -> Response {
    let Some(id) = json_id(&seg) else {
        return respond::not_found();
    };
    let Ok(env) = serde_json::from_slice::<TicketEnvelope<TicketUpdate>>(&body) else {
        return respond::bad_body();
    };
    let result = shared
        .lock()
        .store
        .update_ticket(id, &env.ticket, user, jiff::Timestamp::now());
    match result {
        Ok(ticket) => Json(TicketResponse { ticket }).into_response(),
        Err(e) => respond::store_error(e),
    }
}

/// `POST /api/v2/tickets.json`, honouring `Idempotency-Key`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(AuthUser(user)): Extension<AuthUser>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(env) = serde_json::from_slice::<TicketEnvelope<NewTicket>>(&body) else {
        return respond::bad_body();
    };
    let path = "/api/v2/tickets.json";
    idempotent::serve(&shared, &headers, "POST", path, &body, |g| {
        match g
            .store
            .create_ticket(&env.ticket, user, jiff::Timestamp::now())
        {
            Ok(ticket) => created(&TicketResponse { ticket }),
            Err(e) => Err(Box::new(respond::store_error(e))),
        }
    })
}

/// A 201 with `value` as JSON.
pub fn created<T: serde::Serialize>(value: &T) -> Result<idempotent::Created, Box<Response>> {
    serde_json::to_vec(value)
        .map(|body| (StatusCode::CREATED, body))
        .map_err(|_| {
            Box::new(respond::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "cannot encode",
            ))
        })
}

/// `GET /api/v2/tickets/{id}/comments.json`.
pub async fn comments(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(seg): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Ok(id) = seg.parse::<u64>() else {
        return respond::not_found();
    };
    let p = params(raw.as_deref());
    let Ok(page) = Page::from_params(&p) else {
        return respond::bad_body();
    };
    let all = shared.lock().store.comments(id).map(<[_]>::to_vec);
    let Some(all) = all else {
        return respond::not_found();
    };
    let path = format!("/api/v2/tickets/{id}/comments.json");
    let (next_page, previous_page) = links(&headers, &path, &p, page, all.len(), usize::MAX);
    Json(CommentsResponse {
        comments: page.slice(&all).to_vec(),
        next_page,
        previous_page,
        count: all.len() as u64,
    })
    .into_response()
}

/// `GET /api/v2/users/{id}/tickets/requested.json`.
pub async fn requested(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(seg): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Ok(id) = seg.parse::<u64>() else {
        return respond::not_found();
    };
    let p = params(raw.as_deref());
    let Ok(page) = Page::from_params(&p) else {
        return respond::bad_body();
    };
    let all: Option<Vec<_>> = shared
        .lock()
        .store
        .requested_tickets(id)
        .map(|v| v.into_iter().cloned().collect());
    let Some(all) = all else {
        return respond::not_found();
    };
    let path = format!("/api/v2/users/{id}/tickets/requested.json");
    let (next_page, previous_page) = links(&headers, &path, &p, page, all.len(), usize::MAX);
    Json(TicketsResponse {
        tickets: page.slice(&all).to_vec(),
        next_page,
        previous_page,
        count: all.len() as u64,
    })
    .into_response()
}
