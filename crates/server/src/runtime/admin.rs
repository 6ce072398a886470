//! The admin HTTP API: interaction records, the outbox (list, retry, drop), and
//! Prometheus metrics. Listens on `[admin] listen` (loopback by default). Every route
//! but `GET /health` needs a bearer token (`admin_access.rs` decides who may do what).

use super::acd::AcdHandle;
use super::admin_access::{Access, Asked, Refusal};
use super::admin_session::{self, Sessions};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ringdesk_acd::RequestedState;
use ringdesk_sip::ShedSwitch;
use ringdesk_store::{EndReason, InteractionFilter, OutboxFilter, OutboxState, Store};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest request body (the API takes small JSON objects only).
const MAX_BODY: usize = 16 * 1024;

/// The OpenAPI description of this API, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route of [`router`], as (method, path): the OpenAPI description must list exactly
/// these (a unit test compares them; an end-to-end test calls each on a running server).
/// Adding a route means adding it here and to `openapi.json`.
#[cfg(test)]
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/agents"),
    ("GET", "/queues"),
    ("GET", "/flows"),
    ("POST", "/agents/{id}/state"),
    ("GET", "/interactions"),
    ("GET", "/interactions/{call_id}"),
    ("GET", "/outbox"),
    ("POST", "/outbox/{id}/retry"),
    ("POST", "/outbox/{id}/drop"),
    ("GET", "/metrics"),
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/events"),
    ("POST", "/session"),
    ("DELETE", "/session"),
    ("GET", "/wallboard"),
    ("GET", "/wallboard.js"),
    ("GET", "/desk"),
    ("GET", "/desk.js"),
    ("POST", "/desk/session"),
    ("DELETE", "/desk/session"),
    ("GET", "/desk/events"),
    ("POST", "/desk/state"),
    ("POST", "/desk/note"),
    ("GET", "/desk-phone.js"),
    ("POST", "/desk/phone/answer"),
    ("POST", "/desk/phone/decline"),
    ("POST", "/desk/phone/hangup"),
];

/// The wallboard page and its script (embedded: ringdesk needs no web server or Node.js).
pub const WALLBOARD: &str = include_str!("wallboard.html");
pub const WALLBOARD_JS: &str = include_str!("wallboard.js");
/// The pages' content security policy (wallboard, agent desktop): their own script only,
/// no framing, requests to this origin only.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
/// How often the event stream looks for a change (it sends only changes, and a comment
/// every 15 s to keep proxies from closing it).
const EVENTS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// What the handlers reach.
#[derive(Clone)]
pub struct AdminState {
    pub store: Store,
    pub acd: AcdHandle,
    /// The load governor's switch, for the overload metrics.
    pub shed: ShedSwitch,
    /// Tokens, roles and host names.
    pub access: Arc<Access>,
    /// What the SIP server's flood defence and registrar refused, for the metrics.
    pub sip: ringdesk_sip::SipCounters,
    /// Browser sessions (the wallboard), made from a token by `POST /session`.
    pub sessions: Arc<Sessions>,
    /// The agent desktop (its own sessions, from agents' passwords).
    pub desk: super::desk_api::DeskState,
    /// The SIP server, once bound (for the calls in progress).
    pub sip_server: Arc<std::sync::OnceLock<Arc<ringdesk_sip::SipServer>>>,
    /// The configured flows (their pictures) and today's calls per node.
    pub flows: Arc<Vec<Arc<ringdesk_flow::Flow>>>,
    pub flow_counts: Arc<super::flow_stats::FlowCounts>,
    /// Session cookies marked `Secure` (`[admin] secure_cookies`).
    pub secure_cookies: bool,
}

/// Starts the API; returns the address it listens on.
pub async fn serve(listen: SocketAddr, state: AdminState) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("admin API stopped: {e}");
        }
    });
    Ok(addr)
}

pub fn router(state: AdminState) -> Router {
    let access = (state.access.clone(), state.sessions.clone());
    Router::new()
        .route("/", get(index))
        .route("/agents", get(list_agents))
        .route("/queues", get(list_queues))
        .route("/flows", get(list_flows))
        .route("/agents/{id}/state", post(set_agent_state))
        .route("/interactions", get(list_interactions))
        .route("/interactions/{call_id}", get(show_interaction))
        .route("/outbox", get(list_outbox))
        .route("/outbox/{id}/retry", post(retry))
        .route("/outbox/{id}/drop", post(drop_item))
        .route("/metrics", get(metrics))
        .route("/events", get(events))
        // An unknown path: one recognisable answer (tests tell it from an unknown id),
        // behind the guard like the rest.
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .layer(axum::middleware::from_fn_with_state(access, guard))
        // After the guard: a load balancer's probe needs no token, and learns nothing;
        // the API's description is no secret.
        .route("/health", get(|| async { "ok\n" }))
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        // The page holds no data: it asks for a token, then reads through its session.
        .route("/wallboard", get(wallboard))
        .route("/wallboard.js", get(wallboard_js))
        .route("/session", post(log_in).delete(log_out))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state.clone())
        // The agent desktop guards itself (an agent's session, not a token).
        .merge(
            super::desk_api::routes()
                .layer(DefaultBodyLimit::max(MAX_BODY))
                .with_state(state.desk),
        )
}

/// Refuses what `Access` refuses, logging the source and the reason (one line a
/// fail2ban filter can match: `admin API refused source=<ip> reason=<word>`), and logs
/// every change with the name of the token that made it.
async fn guard(
    State((access, sessions)): State<(Arc<Access>, Arc<Sessions>)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let read_only = matches!(*request.method(), Method::GET | Method::HEAD);
    let path: String = request.uri().path().chars().take(128).collect();
    // Decided before any await: the request's body is not `Sync`, so no borrow of the
    // request may live across one.
    let decision = {
        let text = |name| request.headers().get(name).and_then(|v| v.to_str().ok());
        let session = text(header::COOKIE)
            .and_then(|h| admin_session::from_cookie_header(h, admin_session::COOKIE))
            .and_then(|id| sessions.check(id, std::time::Instant::now()));
        access.check(Asked {
            host: text(header::HOST),
            authorization: text(header::AUTHORIZATION),
            read_only,
            content_type: text(header::CONTENT_TYPE),
            session: session.as_ref(),
            origin: text(header::ORIGIN),
        })
    };
    match decision {
        Ok(granted) => {
            if !read_only {
                tracing::info!(token = %granted.name, method = %request.method(), path = ?path, "admin API change");
            }
            next.run(request).await
        }
        Err(refusal) => {
            tracing::warn!(
                "admin API refused source={} reason={} method={} path={path:?}",
                peer.ip(),
                refusal.as_str(),
                request.method()
            );
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
            let mut response = error(status, refusal.message());
            if status == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"ringdesk admin\""),
                );
            }
            response
        }
    }
}

/// `POST /session` `{"token": "..."}`: a session cookie for the token's role (the Host
/// is checked, the body must be JSON, a wrong token is logged like any refusal).
async fn log_in(
    State(s): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if !text(header::HOST).is_some_and(|h| s.access.host_allowed(h)) {
        return refused(peer, Refusal::Host, "POST", "/session");
    }
    if !text(header::CONTENT_TYPE).is_some_and(super::admin_access::is_json) {
        return refused(peer, Refusal::NotJson, "POST", "/session");
    }
    #[derive(Deserialize)]
    struct Login {
        token: String,
    }
    let Ok(login) = serde_json::from_slice::<Login>(&body) else {
        return error(StatusCode::BAD_REQUEST, "expected {\"token\": \"...\"}");
    };
    match s.access.token(login.token.trim()) {
        Ok(granted) => {
            tracing::info!(token = %granted.name, source = %peer.ip(), "admin API session opened");
            let role = granted.role;
            let id = s.sessions.create(granted, std::time::Instant::now());
            let cookie = admin_session::set_cookie(admin_session::COOKIE, &id, s.secure_cookies);
            (
                [(header::SET_COOKIE, cookie)],
                Json(serde_json::json!({ "role": role.as_str() })),
            )
                .into_response()
        }
        Err(refusal) => refused(peer, refusal, "POST", "/session"),
    }
}

/// `DELETE /session`: ends the session the cookie names, and clears the cookie.
async fn log_out(State(s): State<AdminState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(id) = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| admin_session::from_cookie_header(h, admin_session::COOKIE))
    {
        s.sessions.end(id);
    }
    (
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            admin_session::clear_cookie(admin_session::COOKIE),
        )],
    )
        .into_response()
}

/// The refusal line (fail2ban) and answer for a request the guard did not see.
pub(super) fn refused(peer: SocketAddr, refusal: Refusal, method: &str, path: &str) -> Response {
    tracing::warn!(
        "admin API refused source={} reason={} method={method} path={path:?}",
        peer.ip(),
        refusal.as_str()
    );
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    error(status, refusal.message())
}

/// An embedded page, under the pages' content security policy.
pub(super) fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// An embedded page's script.
pub(super) fn script(js: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        js,
    )
        .into_response()
}

async fn wallboard() -> Response {
    page(WALLBOARD)
}

async fn wallboard_js() -> Response {
    script(WALLBOARD_JS)
}

/// Dead outbox items the wallboard lists (with retry and drop), newest first.
const WALLBOARD_DEAD_ITEMS: u32 = 20;

/// What the wallboard shows: queues, agents, the outbox's health and its dead items
/// (what was asked, never the body: a note holds personal data).
async fn snapshot(s: &AdminState) -> serde_json::Value {
    let dead = s
        .store
        .outbox_list(OutboxFilter {
            states: vec![OutboxState::Dead],
            ordering_key: None,
            limit: Some(WALLBOARD_DEAD_ITEMS),
        })
        .await
        .unwrap_or_default();
    let dead: Vec<serde_json::Value> = dead
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "request": format!("{} {}", e.item.method, e.item.path),
                "attempts": e.attempts,
                "last_status": e.last_status,
                "last_error": e.last_error.as_deref().map(|t| t.chars().take(200).collect::<String>()),
            })
        })
        .collect();
    let outbox = match s.store.outbox_counts().await {
        Ok(c) => serde_json::json!({
            "backlog": c.backlog(),
            "dead": c.dead,
            "uncertain": c.uncertain,
            "dead_items": dead,
        }),
        Err(_) => serde_json::Value::Null,
    };
    let queues = s.acd.queues().await;
    let agents = s.acd.agents().await;
    // Calls in progress: waiting or ringing in a queue, talking to an agent, and the rest
    // (in the flow: greeting, menu, lookups).
    let queued: u32 = queues.iter().map(|q| q.calls_queued).sum();
    let talking = agents.iter().filter(|a| a.state == "busy").count();
    let calls = s.sip_server.get().map(|sip| {
        let all = sip.active_calls();
        serde_json::json!({
            "in_progress": all,
            "queued": queued,
            "talking": talking,
            "in_flow": all.saturating_sub(queued as usize + talking),
        })
    });
    // Who each busy agent is talking to (the caller's number and name).
    let agents: Vec<serde_json::Value> = agents
        .iter()
        .map(|a| {
            let mut v = serde_json::to_value(a).unwrap_or_default();
            if let (Some(call), Some(o)) = (&a.call, v.as_object_mut()) {
                let pop = s.desk.hub.pop(call);
                o.insert("caller".into(), pop.ani.into());
                o.insert("caller_name".into(), pop.caller_name.into());
            }
            v
        })
        .collect();
    serde_json::json!({
        "queues": queues,
        "agents": agents,
        "calls": calls,
        "flows_today": s.flow_counts.today(jiff::Zoned::now().date()),
        "outbox": outbox,
    })
}

/// `GET /events`: Server-Sent Events, one `snapshot` event at once and one at each change
/// (looked for every second).
async fn events(State(s): State<AdminState>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let stream = futures_util::stream::unfold((s, None::<String>), |(s, last)| async move {
        loop {
            if last.is_some() {
                tokio::time::sleep(EVENTS_EVERY).await;
            }
            let snap = snapshot(&s).await;
            let key = without_clocks(&snap);
            if last.as_deref() != Some(key.as_str()) {
                let event = Event::default().event("snapshot").data(snap.to_string());
                return Some((Ok::<_, std::convert::Infallible>(event), (s, Some(key))));
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response()
}

/// A snapshot as text without the figures that change every second (an agent's time in
/// state and wrap-up left): the event streams send a snapshot when the rest changes, and
/// the pages count those figures on from the last one.
pub(super) fn without_clocks(v: &serde_json::Value) -> String {
    let mut v = v.clone();
    let strip = |a: &mut serde_json::Value| {
        if let Some(o) = a.as_object_mut() {
            o.remove("seconds_in_state");
            o.remove("wrap_up_left_seconds");
        }
    };
    if let Some(list) = v.get_mut("agents").and_then(|a| a.as_array_mut()) {
        list.iter_mut().for_each(strip);
    }
    if let Some(agent) = v.get_mut("agent") {
        strip(agent);
    }
    v.to_string()
}

/// Every configured flow as a graph (nodes, exits, each node's text in the file and how
/// many calls entered it today), for the wallboard's picture.
async fn list_flows(State(s): State<AdminState>) -> Response {
    let today = s.flow_counts.today(jiff::Zoned::now().date());
    let flows: Vec<serde_json::Value> = s
        .flows
        .iter()
        .map(|f| {
            let counts = today.get(f.name());
            let mut v = serde_json::to_value(f.graph()).unwrap_or_default();
            if let Some(nodes) = v.get_mut("nodes").and_then(|n| n.as_array_mut()) {
                for n in nodes {
                    let name = n["name"].as_str().unwrap_or_default().to_string();
                    let count = counts.and_then(|c| c.get(&name)).copied().unwrap_or(0);
                    n["today"] = count.into();
                }
            }
            v
        })
        .collect();
    Json(flows).into_response()
}

async fn list_queues(State(s): State<AdminState>) -> Response {
    Json(s.acd.queues().await).into_response()
}

async fn list_agents(State(s): State<AdminState>) -> Response {
    Json(s.acd.agents().await).into_response()
}

/// `{"state": "available"}` or `{"state": "not_ready", "reason": "lunch"}`.
#[derive(Debug, Deserialize)]
pub struct StateChange {
    state: String,
    reason: Option<String>,
}

async fn set_agent_state(
    State(s): State<AdminState>,
    Path(id): Path<String>,
    Json(change): Json<StateChange>,
) -> Response {
    let requested = match change.state.as_str() {
        "available" => RequestedState::Available,
        "not_ready" => RequestedState::NotReady {
            reason: change.reason.unwrap_or_else(|| "not ready".into()),
        },
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown state {other:?}: available or not_ready"),
            )
        }
    };
    match s.acd.set_state(&id, requested).await {
        Ok(()) => Json(serde_json::json!({ "agent": id, "state": change.state })).into_response(),
        Err(e) => error(StatusCode::CONFLICT, e),
    }
}

async fn index() -> &'static str {
    "ringdesk admin API\n\
     GET  /interactions?since=&until=&ani=&ticket=&outcome=&limit=\n\
     GET  /interactions/{call_id}\n\
     GET  /outbox?state=pending|in_flight|uncertain|delivered|dead|dropped\n\
     POST /outbox/{id}/retry\n\
     POST /outbox/{id}/drop\n\
     GET  /queues\n\
     GET  /agents\n\
     GET  /flows   (every flow as a graph, with today's calls per node)\n\
     POST /agents/{id}/state   {\"state\": \"available\" | \"not_ready\", \"reason\": \"...\"}\n\
     GET  /metrics\n\
     GET  /health   (no token)\n\
     GET  /openapi.json   (no token: this API described in OpenAPI 3.1)\n\
     GET  /events   (Server-Sent Events: queues, agents, outbox at each change)\n\
     POST /session {\"token\": \"...\"} / DELETE /session   (a browser session cookie)\n\
     GET  /wallboard   (the supervisor's live page)\n\
     GET  /desk   (the agent desktop: agents sign in with their SIP password)\n\
     Every other request: Authorization: Bearer <token>; changes need role admin and a\n\
     JSON body (Content-Type: application/json).\n"
}

pub(super) fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": message.to_string() })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct InteractionQuery {
    since: Option<String>,
    until: Option<String>,
    ani: Option<String>,
    ticket: Option<String>,
    outcome: Option<String>,
    limit: Option<u32>,
}

/// Builds a store filter from text parameters (shared with the CLI).
pub fn interaction_filter(
    since: Option<&str>,
    until: Option<&str>,
    ani: Option<String>,
    ticket: Option<String>,
    outcome: Option<&str>,
    limit: Option<u32>,
) -> Result<InteractionFilter, String> {
    let ts = |s: &str| {
        s.parse::<jiff::Timestamp>()
            .map_err(|e| format!("bad time {s:?} (RFC 3339, e.g. 2026-11-24T10:00:00Z): {e}"))
    };
    Ok(InteractionFilter {
        since: since.map(ts).transpose()?,
        until: until.map(ts).transpose()?,
        ani,
        ticket_id: ticket,
        end_reason: outcome
            .map(|o| {
                EndReason::parse(o).ok_or_else(|| {
                    let all: Vec<&str> = EndReason::ALL.iter().map(|r| r.as_str()).collect();
                    format!("unknown outcome {o:?}; one of {}", all.join(", "))
                })
            })
            .transpose()?,
        limit,
        offset: None,
    })
}

async fn list_interactions(
    State(AdminState { store, .. }): State<AdminState>,
    Query(q): Query<InteractionQuery>,
) -> Response {
    let filter = match interaction_filter(
        q.since.as_deref(),
        q.until.as_deref(),
        q.ani,
        q.ticket,
        q.outcome.as_deref(),
        q.limit,
    ) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match store.list_interactions(filter).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn show_interaction(
    State(AdminState { store, .. }): State<AdminState>,
    Path(call_id): Path<String>,
) -> Response {
    match store.get_interaction(&call_id).await {
        Ok(Some(i)) => Json(i).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such call"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct OutboxQuery {
    state: Option<String>,
    limit: Option<u32>,
}

async fn list_outbox(
    State(AdminState { store, .. }): State<AdminState>,
    Query(q): Query<OutboxQuery>,
) -> Response {
    let states = match q.state.as_deref().map(OutboxState::parse) {
        None => vec![],
        Some(Some(s)) => vec![s],
        Some(None) => return error(StatusCode::BAD_REQUEST, "unknown state"),
    };
    let filter = OutboxFilter {
        states,
        ordering_key: None,
        limit: q.limit,
    };
    match store.outbox_list(filter).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn retry(
    State(AdminState { store, .. }): State<AdminState>,
    Path(id): Path<i64>,
) -> Response {
    match store.outbox_retry(id, jiff::Timestamp::now()).await {
        Ok(e) => Json(e).into_response(),
        Err(e) => error(StatusCode::CONFLICT, e),
    }
}

async fn drop_item(
    State(AdminState { store, .. }): State<AdminState>,
    Path(id): Path<i64>,
) -> Response {
    match store.outbox_drop(id, jiff::Timestamp::now()).await {
        Ok(e) => Json(e).into_response(),
        Err(e) => error(StatusCode::CONFLICT, e),
    }
}

async fn metrics(
    State(AdminState {
        store, shed, sip, ..
    }): State<AdminState>,
) -> Response {
    match store.outbox_counts().await {
        Ok(c) => {
            let mut out = String::from(
                "# HELP ringdesk_outbox_items Outbox items by state.\n# TYPE ringdesk_outbox_items gauge\n",
            );
            for (state, n) in [
                ("pending", c.pending),
                ("in_flight", c.in_flight),
                ("uncertain", c.uncertain),
                ("delivered", c.delivered),
                ("dead", c.dead),
                ("dropped", c.dropped),
            ] {
                out.push_str(&format!("ringdesk_outbox_items{{state=\"{state}\"}} {n}\n"));
            }
            out.push_str(&format!(
                "# HELP ringdesk_outbox_backlog Items still to deliver.\n# TYPE ringdesk_outbox_backlog gauge\nringdesk_outbox_backlog {}\n",
                c.backlog()
            ));
            out.push_str(&format!(
                "# HELP ringdesk_overload_shedding 1 while the load governor refuses new calls with 503.\n# TYPE ringdesk_overload_shedding gauge\nringdesk_overload_shedding {}\n",
                u8::from(shed.is_shedding())
            ));
            out.push_str(&format!(
                "# HELP ringdesk_calls_refused_overload_total New calls refused with 503 by the load governor.\n# TYPE ringdesk_calls_refused_overload_total counter\nringdesk_calls_refused_overload_total {}\n",
                shed.refused()
            ));
            let sip = sip.snapshot();
            let w = store.write_stats();
            for (name, help, n) in [
                ("ringdesk_sip_requests_refused_total", "SIP requests and datagrams dropped unanswered: source over a per-source rate limit, or banned.", sip.requests_refused),
                ("ringdesk_sip_bans_total", "SIP sources banned for going over a rate limit.", sip.bans),
                ("ringdesk_sip_connections_refused_total", "TCP connections refused: source banned, or a connection cap reached.", sip.connections_refused),
                ("ringdesk_sip_register_lockouts_total", "Agent accounts locked after failed REGISTERs.", sip.lockouts),
                ("ringdesk_sip_register_contacts_refused_total", "REGISTERs refused: a contact pointed at a host the agent may not use.", sip.contacts_refused),
                ("ringdesk_records_write_failures_total", "Call-record writes that failed (each failed attempt: disk full, I/O error).", w.failures),
                ("ringdesk_records_write_retries_total", "Call-record writes attempted again after a failure.", w.retries),
                ("ringdesk_records_lost_total", "Call records given up on after their retries or abandoned at shutdown (each logged with its call id).", w.lost),
            ] {
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {n}\n"));
            }
            crate::runtime::rtp_metrics::render(&mut out);
            crate::runtime::bridge_metrics::render(&mut out);
            crate::runtime::phone_metrics::render(&mut out);
            crate::runtime::queue_metrics::render(&mut out);
            ([("content-type", "text/plain; version=0.0.4")], out).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::acd::{Dialer, OfferResult};

    /// Every offer fails at once (no phones in this test).
    struct Unreachable;

    impl Dialer for Unreachable {
        fn offer(&self, ring: &crate::runtime::acd::Ring<'_>, acd: AcdHandle) -> u64 {
            acd.offer_result(ring.call, ring.agent, OfferResult::Failed);
            0
        }
        fn cancel(&self, _: u64) {}
    }

    const ADMIN_TOKEN: &str = "admin-token-for-the-tests-0123456789";
    const READ_TOKEN: &str = "read-token-for-the-tests-0123456789";

    fn client(token: &str) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {token}").parse().unwrap();
        headers.insert(reqwest::header::AUTHORIZATION, value);
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    }

    async fn start() -> (String, AcdHandle, ShedSwitch, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("r.sqlite")).unwrap();
        let config = crate::config::Config::parse(
            "[[agents]]\nid = \"ana\"\nname = \"Ana\"\npassword = \"p\"\nqueues = [\"support\"]\n",
            "t.toml",
        )
        .unwrap();
        let acd = AcdHandle::spawn(&config.acd(), Arc::new(Unreachable)).unwrap();
        let shed = ShedSwitch::new();
        let access = Arc::new(Access::new(
            vec![
                crate::config::AdminToken {
                    name: "ops".into(),
                    role: crate::config::Role::Admin,
                    secret: ringdesk_secret::Secret::new(ADMIN_TOKEN),
                },
                crate::config::AdminToken {
                    name: "wallboard".into(),
                    role: crate::config::Role::Read,
                    secret: ringdesk_secret::Secret::new(READ_TOKEN),
                },
            ],
            &["ringdesk.example.com".to_owned()],
            "127.0.0.1".parse().unwrap(),
        ));
        let connectors = ringdesk_connector::Connectors::from_config(&Default::default()).unwrap();
        let hub = super::super::desk::DeskHub::new(
            connectors,
            Arc::new(ringdesk_session::NoHelpdesk),
            store.clone(),
        );
        let passwords = [("ana".to_string(), ringdesk_secret::Secret::new("p"))].into();
        let desk = super::super::desk_api::DeskState::new(
            hub,
            acd.clone(),
            access.clone(),
            super::super::desk_api::Logins::new(passwords, Default::default()),
            vec!["Break".into()],
        );
        let addr = serve(
            "127.0.0.1:0".parse().unwrap(),
            AdminState {
                store,
                acd: acd.clone(),
                shed: shed.clone(),
                access,
                sip: Default::default(),
                sessions: Default::default(),
                desk,
                sip_server: Default::default(),
                flows: Arc::new(vec![Arc::new(
                    ringdesk_flow::load_str(
                        include_str!("../../../../flows/zendesk-ticket-status.yaml"),
                        "default.yaml",
                    )
                    .unwrap(),
                )]),
                flow_counts: Arc::new(super::super::flow_stats::FlowCounts::new([])),
                secure_cookies: false,
            },
        )
        .await
        .unwrap();
        (format!("http://{addr}"), acd, shed, dir)
    }

    /// The (method, path) pairs the OpenAPI description lists.
    fn described() -> std::collections::BTreeSet<(String, String)> {
        let spec: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert_eq!(spec["openapi"], "3.1.0");
        let mut out = std::collections::BTreeSet::new();
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                assert!(
                    operation["summary"].is_string() && operation["responses"].is_object(),
                    "{method} {path} has a summary and responses"
                );
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn the_openapi_description_lists_exactly_the_routes() {
        let routes: std::collections::BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(described(), routes);
    }

    /// Each described operation exists on the running server (a request with the admin
    /// token never gets the unknown-route answer or 405), and an undescribed path does
    /// not; the description itself is served without a token.
    #[tokio::test]
    async fn every_described_operation_is_served() {
        let (base, _acd, _shed, _dir) = start().await;
        let http = client(ADMIN_TOKEN);
        for (method, path) in described() {
            let url = format!(
                "{base}{}",
                path.replace("{id}", "1").replace("{call_id}", "x")
            );
            let request = match method.as_str() {
                "GET" => http.get(&url),
                "POST" => http
                    .post(&url)
                    .json(&serde_json::json!({"state": "available"})),
                "DELETE" => http.delete(&url),
                other => panic!("{other} {path}: a method the test does not send"),
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            if path == "/events" {
                // A stream: its headers are enough.
                assert_eq!(status, 200);
                continue;
            }
            let body = response.text().await.unwrap();
            assert_ne!(status, 405, "{method} {path}");
            assert!(
                !body.contains("no such route"),
                "{method} {path}: {status} {body}"
            );
        }
        let r = http
            .get(format!("{base}/no/such/thing"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.text().await.unwrap().contains("no such route"));
        let anonymous = reqwest::get(format!("{base}/openapi.json")).await.unwrap();
        assert_eq!(anonymous.status(), 200);
        assert_eq!(anonymous.text().await.unwrap(), OPENAPI);
        // Unknown paths stay behind the guard.
        assert_eq!(
            reqwest::get(format!("{base}/no/such/thing"))
                .await
                .unwrap()
                .status(),
            401
        );
    }

    /// The session cookie of a `POST /session` answer (asserting its flags).
    fn session_cookie(response: &reqwest::Response) -> String {
        let set = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .expect("a Set-Cookie")
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
            "{set}"
        );
        set.split(';').next().unwrap().to_owned()
    }

    #[tokio::test]
    async fn a_token_opens_a_session_the_wallboard_reads_through() {
        let (base, acd, _shed, _dir) = start().await;
        let http = reqwest::Client::new();
        let login = |token: &str, content_type: &str, host: Option<&str>| {
            let mut r = http
                .post(format!("{base}/session"))
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(serde_json::json!({ "token": token }).to_string());
            if let Some(host) = host {
                r = r.header(reqwest::header::HOST, host);
            }
            r.send()
        };
        // Refusals: unknown token, a form post, a foreign Host; no cookie in any.
        for (token, ct, host, status) in [
            ("not-a-token", "application/json", None, 401),
            (READ_TOKEN, "application/x-www-form-urlencoded", None, 415),
            (READ_TOKEN, "application/json", Some("evil.example"), 421),
        ] {
            let r = login(token, ct, host).await.unwrap();
            assert_eq!(r.status(), status, "{token} {ct} {host:?}");
            assert!(r.headers().get(reqwest::header::SET_COOKIE).is_none());
        }
        let read = login(READ_TOKEN, "application/json", None).await.unwrap();
        assert_eq!(read.status(), 200);
        let read = session_cookie(&read);
        let with = |cookie: &str, r: reqwest::RequestBuilder| {
            r.header(reqwest::header::COOKIE, cookie.to_owned())
        };
        assert_eq!(
            with(&read, http.get(format!("{base}/agents")))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let change = |cookie: &str, origin: &str| {
            with(cookie, http.post(format!("{base}/agents/ana/state")))
                .header(reqwest::header::ORIGIN, origin.to_owned())
                .json(&serde_json::json!({"state": "available"}))
                .send()
        };
        assert_eq!(
            change(&read, &base).await.unwrap().status(),
            403,
            "a read session cannot change"
        );
        let admin = session_cookie(&login(ADMIN_TOKEN, "application/json", None).await.unwrap());
        assert_eq!(
            change(&admin, "https://evil.example")
                .await
                .unwrap()
                .status(),
            403,
            "cross-origin"
        );
        acd.registered("ana");
        assert_eq!(
            change(&admin, &base).await.unwrap().status(),
            200,
            "same origin"
        );

        // The event stream: a snapshot at once, another when something changes.
        let mut stream = with(&read, http.get(format!("{base}/events")))
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200);
        assert!(stream.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut seen = String::new();
        let mut next_snapshot = async |seen: &mut String| -> serde_json::Value {
            loop {
                if let Some(end) = seen.find("\n\n") {
                    let event: String = seen.drain(..end + 2).collect();
                    if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                        assert!(event.contains("event: snapshot"), "{event}");
                        return serde_json::from_str(data).unwrap();
                    }
                    continue;
                }
                let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), stream.chunk())
                    .await
                    .expect("an event within 5 s")
                    .unwrap()
                    .expect("the stream stays open");
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        let first = next_snapshot(&mut seen).await;
        assert_eq!(first["queues"][0]["name"], "support");
        assert_eq!(first["agents"][0]["state"], "available");
        assert_eq!(first["outbox"]["backlog"], 0);
        assert_eq!(first["outbox"]["dead_items"], serde_json::json!([]));
        let r = with(&admin, http.post(format!("{base}/agents/ana/state")))
            .header(reqwest::header::ORIGIN, base.clone())
            .json(&serde_json::json!({"state": "not_ready", "reason": "lunch"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let second = next_snapshot(&mut seen).await;
        assert_eq!(second["agents"][0]["state"], "not_ready");

        // Signed out: the session no longer reads, and the cookie is cleared.
        let out = with(&read, http.delete(format!("{base}/session")))
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 204);
        assert!(out.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        assert_eq!(
            with(&read, http.get(format!("{base}/agents")))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
        // The page itself loads without a session, under a strict content policy.
        let page = http.get(format!("{base}/wallboard")).send().await.unwrap();
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("<script src=\"/wallboard.js\">") && html.contains("aria-live"));
        let js = http
            .get(format!("{base}/wallboard.js"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(js.contains("EventSource(\"/events\")") && !js.contains("innerHTML"));
    }

    #[tokio::test]
    async fn agents_queues_and_state_changes_over_http() {
        let (base, acd, shed, _dir) = start().await;
        let http = client(ADMIN_TOKEN);
        let get = |path: &str| {
            let url = format!("{base}{path}");
            let http = http.clone();
            async move {
                http.get(url)
                    .send()
                    .await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(get("/agents").await[0]["state"], "logged_out");
        let q = get("/queues").await;
        assert_eq!(q[0]["name"], "support");
        assert_eq!(q[0]["agents_logged_in"], 0);
        // Logged out: cannot be made available.
        let r = http
            .post(format!("{base}/agents/ana/state"))
            .json(&serde_json::json!({"state": "available"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        acd.registered("ana");
        let r = http
            .post(format!("{base}/agents/ana/state"))
            .json(&serde_json::json!({"state": "not_ready", "reason": "lunch"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let a = get("/agents").await;
        assert_eq!(
            (a[0]["state"].as_str(), a[0]["reason"].as_str()),
            (Some("not_ready"), Some("lunch"))
        );
        assert_eq!(get("/queues").await[0]["agents_logged_in"], 1);
        let r = http
            .post(format!("{base}/agents/ana/state"))
            .json(&serde_json::json!({"state": "dancing"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let metrics = || async {
            http.get(format!("{base}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        let m = metrics().await;
        assert!(m.contains("ringdesk_outbox_backlog 0"), "{m}");
        assert!(m.contains("\nringdesk_overload_shedding 0\n"), "{m}");
        assert!(
            m.contains("\nringdesk_calls_refused_overload_total 0\n"),
            "{m}"
        );
        shed.set(true);
        let m = metrics().await;
        assert!(m.contains("\nringdesk_overload_shedding 1\n"), "{m}");
    }

    #[tokio::test]
    async fn without_the_right_token_role_body_and_host_nothing_changes() {
        let (base, acd, _shed, _dir) = start().await;
        acd.registered("ana");
        let state = || async {
            let a: serde_json::Value = client(READ_TOKEN)
                .get(format!("{base}/agents"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            a[0]["state"].as_str().unwrap_or_default().to_owned()
        };
        let before = state().await;
        assert_eq!(before, "available");
        let url = format!("{base}/agents/ana/state");
        let body = serde_json::json!({"state": "not_ready", "reason": "forged"});
        // No token, a wrong one: 401, with the scheme to use.
        let r = reqwest::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"ringdesk admin\""
        );
        for path in ["/agents", "/interactions", "/outbox", "/metrics", "/"] {
            let r = reqwest::get(format!("{base}{path}")).await.unwrap();
            assert_eq!(r.status(), 401, "GET {path}");
        }
        let drop_url = format!("{base}/outbox/1/drop");
        let retry_url = format!("{base}/outbox/1/retry");
        let json = Some("application/json");
        let form = Some("application/x-www-form-urlencoded");
        let form_body = "state=not_ready&reason=forged";
        let json_body = body.to_string();
        // (why, token, url, Host, Content-Type, body, status)
        let cases = [
            (
                "a wrong token",
                "not-the-token-0123456789abcdef",
                &url,
                None,
                json,
                json_body.as_str(),
                401,
            ),
            (
                "a read-only token changing",
                READ_TOKEN,
                &url,
                None,
                json,
                json_body.as_str(),
                403,
            ),
            (
                "a read-only token dropping",
                READ_TOKEN,
                &drop_url,
                None,
                json,
                "{}",
                403,
            ),
            (
                "a cross-site form post, token and all",
                ADMIN_TOKEN,
                &url,
                None,
                form,
                form_body,
                415,
            ),
            (
                "a change with no body type",
                ADMIN_TOKEN,
                &retry_url,
                None,
                None,
                "",
                415,
            ),
            (
                "another site's name (DNS rebinding)",
                ADMIN_TOKEN,
                &url,
                Some("attacker.example:8089"),
                json,
                json_body.as_str(),
                421,
            ),
        ];
        for (why, token, url, host, content_type, text, status) in cases {
            let mut request = client(token).post(url.as_str()).body(text.to_owned());
            if let Some(h) = host {
                request = request.header("host", h);
            }
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status().as_u16(), status, "{why}");
        }
        assert_eq!(state().await, before, "nothing changed");
        // The configured name is accepted; the change goes through.
        let r = client(ADMIN_TOKEN)
            .post(&url)
            .header("host", "ringdesk.example.com:8089")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(state().await, "not_ready");
        // The health check needs nothing.
        let r = reqwest::get(format!("{base}/health")).await.unwrap();
        assert_eq!(
            (r.status().as_u16(), r.text().await.unwrap()),
            (200, "ok\n".into())
        );
        // Bodies are bounded.
        let r = client(ADMIN_TOKEN)
            .post(&url)
            .header("content-type", "application/json")
            .body(vec![b' '; 64 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
    }
}
