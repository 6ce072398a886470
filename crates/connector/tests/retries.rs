//! Over real HTTP: what is retried (5xx, 429, connect errors, timeouts), what is not (other
//! 4xx), Retry-After honoured or given up on, and the whole activity kept within its budget.

#[allow(dead_code)] // each test binary uses a different subset of the helpers
mod common;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;
use common::{closed_port, connectors, get, record, serve, Log};
use ringdesk_connector::FailureKind;
use std::time::Duration;

/// A server answering the i-th request with `script[i]` (the last entry repeats).
fn scripted(log: Log, script: Vec<(u16, Option<&'static str>)>) -> Router {
    Router::new().fallback(any(move |req: axum::extract::Request| {
        let log = log.clone();
        let script = script.clone();
        async move {
            record(&log, req).await;
            let i = log.len().saturating_sub(1).min(script.len() - 1);
            let (status, retry_after) = script[i];
            let mut headers = HeaderMap::new();
            if let Some(v) = retry_after {
                headers.insert("retry-after", HeaderValue::from_static(v));
            }
            let status = StatusCode::from_u16(status).expect("valid status");
            (status, headers, format!("answer {i}")).into_response()
        }
    }))
}

fn plain(addr: std::net::SocketAddr) -> String {
    format!("[zd]\nbase_url = \"http://{addr}\"\n")
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let log = Log::default();
    let addr = serve(scripted(
        log.clone(),
        vec![(500, None), (503, None), (200, None)],
    ))
    .await;
    let c = connectors(&plain(addr), &[]);
    let mut req = get("zd", "/api/v2/search.json");
    req.retries = 3;
    let out = c.execute(req).await;
    let r = out.response().expect("response");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "answer 2");
    assert_eq!(r.attempts, 3);
    assert_eq!(log.len(), 3);
}

#[tokio::test]
async fn retries_exhausted_returns_last_server_error() {
    let log = Log::default();
    let addr = serve(scripted(log.clone(), vec![(502, None)])).await;
    let c = connectors(&plain(addr), &[]);
    let mut req = get("zd", "/x");
    req.retries = 2;
    let out = c.execute(req).await;
    assert_eq!(
        out.response().map(|r| (r.status, r.attempts)),
        Some((502, 3))
    );
    assert_eq!(log.len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for status in [400u16, 401, 403, 404, 422] {
        let log = Log::default();
        let addr = serve(scripted(log.clone(), vec![(status, None), (200, None)])).await;
        let c = connectors(&plain(addr), &[]);
        let mut req = get("zd", "/api/v2/users/1.json");
        req.retries = 5;
        let out = c.execute(req).await;
        assert_eq!(
            out.response().map(|r| (r.status, r.attempts)),
            Some((status, 1))
        );
        assert_eq!(log.len(), 1, "status {status}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let log = Log::default();
    let addr = serve(scripted(log.clone(), vec![(429, Some("1")), (200, None)])).await;
    let c = connectors(&plain(addr), &[]);
    let mut req = get("zd", "/api/v2/search.json");
    req.retries = 1;
    req.timeout = Some(Duration::from_secs(5));
    let out = c.execute(req).await;
    assert_eq!(
        out.response().map(|r| (r.status, r.attempts)),
        Some((200, 2))
    );
    let seen = log.all();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(
        gap >= Duration::from_secs(1),
        "server saw the retry after {gap:?}"
    );
}

#[tokio::test]
async fn retry_after_beyond_budget_gives_up_with_the_429() {
    let log = Log::default();
    let addr = serve(scripted(log.clone(), vec![(429, Some("30")), (200, None)])).await;
    let c = connectors(&plain(addr), &[]);
    let mut req = get("zd", "/api/v2/search.json");
    req.retries = 3;
    req.timeout = Some(Duration::from_secs(2));
    let out = c.execute(req).await;
    let r = out.response().expect("the 429 itself");
    assert_eq!((r.status, r.attempts), (429, 1));
    assert!(
        r.elapsed < Duration::from_secs(2),
        "gave up at once, not after waiting"
    );
    assert_eq!(
        r.headers
            .iter()
            .find(|(k, _)| k == "retry-after")
            .map(|(_, v)| v.as_str()),
        Some("30")
    );
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let addr = closed_port().await;
    let c = connectors(&plain(addr), &[]);
    let mut req = get("zd", "/api/v2/search.json");
    req.retries = 2;
    req.query = vec![("query".into(), "phone:5511999990000".into())];
    let out = c.execute(req).await;
    let f = out.failure().expect("failure");
    assert_eq!(f.kind, FailureKind::Connect);
    assert_eq!(f.attempts, 3);
    assert!(
        !f.message.contains("5511999990000"),
        "query leaked: {}",
        f.message
    );
    assert!(
        !f.message.contains("127.0.0.1"),
        "URL leaked: {}",
        f.message
    );
}

#[tokio::test]
async fn hanging_server_times_out_within_budget() {
    let log = Log::default();
    let hang_log = log.clone();
    let router = Router::new().fallback(any(move |req: axum::extract::Request| {
        let log = hang_log.clone();
        async move {
            record(&log, req).await;
            std::future::pending::<()>().await;
            "never"
        }
    }));
    let addr = serve(router).await;
    let c = connectors(&plain(addr), &[]);
    let budget = Duration::from_millis(400);
    let mut req = get("zd", "/slow");
    req.timeout = Some(budget);
    req.retries = 3;
    let out = c.execute(req).await;
    let f = out.failure().expect("failure");
    assert_eq!(f.kind, FailureKind::Timeout);
    assert_eq!(f.attempts, 1, "the single attempt used the whole budget");
    assert!(f.elapsed >= budget, "{:?}", f.elapsed);
    // Stays within the budget (slack only for scheduling, not another attempt).
    assert!(
        f.elapsed < budget + Duration::from_secs(1),
        "{:?}",
        f.elapsed
    );
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn attempt_timeout_allows_retries_within_budget() {
    let log = Log::default();
    let hang_log = log.clone();
    let router = Router::new().fallback(any(move |req: axum::extract::Request| {
        let log = hang_log.clone();
        async move {
            record(&log, req).await;
            if log.len() < 3 {
                std::future::pending::<()>().await;
            }
            "finally"
        }
    }));
    let addr = serve(router).await;
    let c = connectors(
        &format!("[zd]\nbase_url = \"http://{addr}\"\nattempt_timeout = \"100ms\"\n"),
        &[],
    );
    let mut req = get("zd", "/slow");
    req.timeout = Some(Duration::from_secs(3));
    req.retries = 3;
    let out = c.execute(req).await;
    let r = out.response().expect("third attempt answers");
    assert_eq!((r.status, r.attempts, r.body.as_str()), (200, 3, "finally"));
}
