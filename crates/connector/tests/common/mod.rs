//! Shared helpers for the connector's HTTP tests: a tiny axum server on 127.0.0.1:0, a
//! request log the handlers write to, and connectors built from TOML text.

use axum::Router;
use ringdesk_connector::{ConnectorConfig, Connectors, HttpRequest, Method, RetryPolicy};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a handler saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    pub raw_query: Option<String>,
    pub authorization: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Requests seen by a test server, in arrival order.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn push(&self, seen: Seen) {
        self.0.lock().expect("log lock").push(seen);
    }
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().expect("log lock").clone()
    }
    pub fn len(&self) -> usize {
        self.0.lock().expect("log lock").len()
    }
}

/// Record an axum request (parts and body) into `log`.
pub async fn record(log: &Log, req: axum::extract::Request) -> Seen {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .expect("test body")
        .to_vec();
    let seen = Seen {
        at: Instant::now(),
        path: parts.uri.path().to_owned(),
        raw_query: parts.uri.query().map(str::to_owned),
        authorization: parts
            .headers
            .get("authorization")
            .map(|v| v.as_bytes().to_vec()),
        content_type: parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    };
    log.push(seen.clone());
    seen
}

/// Serve `router` on an ephemeral loopback port; the server lives as long as the runtime.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A loopback address with nothing listening on it.
pub async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr
}

/// Short backoff so tests run fast.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        min_attempt_time: Duration::from_millis(10),
    }
}

/// Connectors from `[connectors.*]`-style TOML (a map of name to table) with a fake env.
pub fn connectors(toml_text: &str, env: &[(&str, &str)]) -> Connectors {
    let configs: BTreeMap<String, ConnectorConfig> =
        toml::from_str(toml_text).expect("test config parses");
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |var: &str| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
    Connectors::from_config_with_env(&configs, &lookup)
        .expect("test config resolves")
        .with_retry_policy(fast_policy())
}

/// A GET request through `connector`.
pub fn get(connector: &str, path: &str) -> HttpRequest {
    HttpRequest {
        connector: connector.to_owned(),
        method: Method::Get,
        path: path.to_owned(),
        query: vec![],
        headers: vec![],
        body: None,
        timeout: Some(Duration::from_secs(5)),
        retries: 0,
    }
}
