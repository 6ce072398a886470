//! `GET /api/v2/search.json` and `GET /api/v2/users/search.json`.

use super::paging::{links, params, Page, MAX_SEARCH_RESULTS};
use super::respond;
use crate::sandbox::query::{self, QueryError, Record};
use crate::sandbox::state::Shared;
use crate::types::{SearchResponse, SearchResult, SortBy, SortOrder, UsersResponse};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::BTreeMap;
use std::sync::Arc;

struct Parsed {
    query: query::Query,
    sort_by: Option<SortBy>,
    order: Option<SortOrder>,
    page: Page,
}

/// A refused search: 400 with a reason, or 422 past the result window.
enum Refused {
    Bad(String),
    TooDeep,
}

impl Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Bad(reason) => respond::bad_search(&reason),
            Refused::TooDeep => respond::error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "Invalid search: Requested response size was greater than Search Response Limits",
            ),
        }
    }
}

fn parse_request(p: &BTreeMap<String, String>) -> Result<Parsed, Refused> {
    let bad = |s: &str| Refused::Bad(s.to_owned());
    let q = p
        .get("query")
        .ok_or_else(|| bad("the query parameter is required"))?;
    let query = query::parse(q).map_err(|e| match e {
        QueryError::TooLong => bad("the query is too long"),
        other => Refused::Bad(other.to_string()),
    })?;
    let sort_by = match p.get("sort_by").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(SortBy::parse(s).ok_or_else(|| bad("unknown sort_by"))?),
    };
    let order = match p.get("sort_order").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(SortOrder::parse(s).ok_or_else(|| bad("sort_order must be asc or desc"))?),
    };
    let page = Page::from_params(p).map_err(bad)?;
    if page.offset().saturating_add(page.per_page) > MAX_SEARCH_RESULTS {
        return Err(Refused::TooDeep);
    }
    Ok(Parsed {
        query,
        sort_by,
        order,
        page,
    })
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// `GET /api/v2/search.json?query=&sort_by=&sort_order=&page=&per_page=`.
pub async fn search(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let p = params(raw.as_deref());
    let req = match parse_request(&p) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    let g = shared.lock();
    let all = g
        .store
        .search(&req.query, false, req.sort_by, req.order, now());
    let results = req
        .page
        .slice(&all)
        .iter()
        .map(|r| match r {
            Record::User(u) => SearchResult::User((*u).clone()),
            Record::Ticket(t) => SearchResult::Ticket((*t).clone()),
        })
        .collect();
    let (next_page, previous_page) = links(
        &headers,
        "/api/v2/search.json",
        &p,
        req.page,
        all.len(),
        MAX_SEARCH_RESULTS,
    );
    let body = SearchResponse {
        results,
        count: all.len() as u64,
        next_page,
        previous_page,
        facets: None,
    };
    drop(g);
    Json(body).into_response()
}

/// `GET /api/v2/users/search.json?query=`: the same engine, users only.
pub async fn users_search(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let p = params(raw.as_deref());
    let req = match parse_request(&p) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    let g = shared.lock();
    let all = g
        .store
        .search(&req.query, true, req.sort_by, req.order, now());
    let users = req
        .page
        .slice(&all)
        .iter()
        .filter_map(|r| match r {
            Record::User(u) => Some((*u).clone()),
            Record::Ticket(_) => None,
        })
        .collect();
    let (next_page, previous_page) = links(
        &headers,
        "/api/v2/users/search.json",
        &p,
        req.page,
        all.len(),
        MAX_SEARCH_RESULTS,
    );
    let body = UsersResponse {
        users,
        next_page,
        previous_page,
        count: all.len() as u64,
    };
    drop(g);
    Json(body).into_response()
}
