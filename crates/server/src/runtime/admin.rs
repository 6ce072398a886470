//! The admin HTTP API: interaction records, the outbox (list, retry, drop), and
//! Prometheus metrics. Listens on `[admin] listen` (loopback by default).

use super::acd::AcdHandle;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ringdesk_acd::RequestedState;
use ringdesk_sip::ShedSwitch;
use ringdesk_store::{EndReason, InteractionFilter, OutboxFilter, OutboxState, Store};
use serde::Deserialize;
use std::net::SocketAddr;

/// What the handlers reach.
#[derive(Clone)]
pub struct AdminState {
    pub store: Store,
    pub acd: AcdHandle,
    /// The load governor's switch, for the overload metrics.
    pub shed: ShedSwitch,
}

/// Starts the API; returns the address it listens on.
pub async fn serve(listen: SocketAddr, state: AdminState) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = router(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("admin API stopped: {e}");
        }
    });
    Ok(addr)
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/agents", get(list_agents))
        .route("/queues", get(list_queues))
        .route("/agents/{id}/state", post(set_agent_state))
        .route("/interactions", get(list_interactions))
        .route("/interactions/{call_id}", get(show_interaction))
        .route("/outbox", get(list_outbox))
        .route("/outbox/{id}/retry", post(retry))
        .route("/outbox/{id}/drop", post(drop_item))
        .route("/metrics", get(metrics))
        .with_state(state)
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
     POST /agents/{id}/state   {\"state\": \"available\" | \"not_ready\", \"reason\": \"...\"}\n\
     GET  /metrics\n"
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
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

async fn metrics(State(AdminState { store, shed, .. }): State<AdminState>) -> Response {
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
            crate::runtime::rtp_metrics::render(&mut out);
            ([("content-type", "text/plain; version=0.0.4")], out).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::acd::{Dialer, OfferResult};
    use std::sync::Arc;

    /// Every offer fails at once (no phones in this test).
    struct Unreachable;

    impl Dialer for Unreachable {
        fn offer(&self, call: &str, agent: &str, _: &str, _: &str, acd: AcdHandle) -> u64 {
            acd.offer_result(call, agent, OfferResult::Failed);
            0
        }
        fn cancel(&self, _: u64) {}
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
        let addr = serve(
            "127.0.0.1:0".parse().unwrap(),
            AdminState {
                store,
                acd: acd.clone(),
                shed: shed.clone(),
            },
        )
        .await
        .unwrap();
        (format!("http://{addr}"), acd, shed, dir)
    }

    #[tokio::test]
    async fn agents_queues_and_state_changes_over_http() {
        let (base, acd, shed, _dir) = start().await;
        let http = reqwest::Client::new();
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
}
