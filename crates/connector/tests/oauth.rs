//! Over real HTTP: OAuth client credentials — the token request, one fetch for many calls
//! (sequential and concurrent), refresh on expiry, refresh and single retry on a 401.

#[allow(dead_code)] // each test binary uses a different subset of the helpers
mod common;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, post};
use axum::Router;
use common::{connectors, get, record, serve, Log};
use ringdesk_connector::{Connectors, FailureKind};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

const CLIENT_SECRET: &str = "cs-Zq81-very-secret";

/// Token endpoint handing out `tok-1`, `tok-2`, ... with the i-th `expires_in` (last repeats;
/// `None` omits it); the API accepts any issued token not in `revoked`.
#[derive(Clone)]
struct AuthServer {
    token_log: Log,
    api_log: Log,
    expires: Vec<Option<u64>>,
    revoked: Arc<Mutex<HashSet<String>>>,
}

impl AuthServer {
    fn new(expires: Vec<Option<u64>>) -> Self {
        Self {
            token_log: Log::default(),
            api_log: Log::default(),
            expires,
            revoked: Arc::default(),
        }
    }

    fn revoke(&self, token: &str) {
        self.revoked.lock().expect("lock").insert(token.to_owned());
    }

    fn router(&self) -> Router {
        let tokens = self.clone();
        let api = self.clone();
        Router::new()
            .route(
                "/oauth/tokens",
                post(move |req: axum::extract::Request| {
                    let s = tokens.clone();
                    async move {
                        record(&s.token_log, req).await;
                        // Keep the fetch in flight a moment so concurrent callers overlap it.
                        tokio::task::yield_now().await;
                        let n = s.token_log.len();
                        let exp = s.expires[(n - 1).min(s.expires.len() - 1)];
                        let body = match exp {
                            Some(e) => format!(
                                r#"{{"access_token":"tok-{n}","token_type":"bearer","expires_in":{e}}}"#
                            ),
                            None => format!(r#"{{"access_token":"tok-{n}","token_type":"bearer"}}"#),
                        };
                        ([("content-type", "application/json")], body)
                    }
                }),
            )
            .fallback(any(move |req: axum::extract::Request| {
                let s = api.clone();
                async move {
                    let seen = record(&s.api_log, req).await;
                    let auth = String::from_utf8(seen.authorization.unwrap_or_default())
                        .unwrap_or_default();
                    let token = auth.strip_prefix("Bearer ").unwrap_or("");
                    let issued = s.token_log.len();
                    let valid = (1..=issued).any(|i| token == format!("tok-{i}"))
                        && !s.revoked.lock().expect("lock").contains(token);
                    if valid {
                        (StatusCode::OK, format!("hello {token}")).into_response()
                    } else {
                        (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_token"}"#).into_response()
                    }
                }
            }))
    }

    fn api_tokens(&self) -> Vec<String> {
        self.api_log
            .all()
            .into_iter()
            .map(|s| String::from_utf8(s.authorization.unwrap_or_default()).unwrap_or_default())
            .collect()
    }
}

fn oauth_connectors(addr: std::net::SocketAddr, format: &str) -> Connectors {
    connectors(
        &format!(
            "[zd]\nbase_url = \"http://{addr}\"\nauth = {{ type = \"oauth_client_credentials\", token_url = \"http://{addr}/oauth/tokens\", client_id = \"ringdesk\", client_secret_env = \"ZD_SECRET\", scope = \"read write\", request_format = \"{format}\" }}\n"
        ),
        &[("ZD_SECRET", CLIENT_SECRET)],
    )
}

#[tokio::test]
async fn token_request_is_client_credentials_form() {
    let server = AuthServer::new(vec![Some(3600)]);
    let addr = serve(server.router()).await;
    let c = oauth_connectors(addr, "form");
    let out = c.execute(get("zd", "/api/v2/users/me.json")).await;
    assert_eq!(out.response().map(|r| r.body.as_str()), Some("hello tok-1"));
    let token_req = &server.token_log.all()[0];
    assert_eq!(
        token_req.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let mut fields: Vec<(String, String)> = url::form_urlencoded::parse(&token_req.body)
        .into_owned()
        .collect();
    fields.sort();
    let mut want = vec![
        ("client_id".to_owned(), "ringdesk".to_owned()),
        ("client_secret".to_owned(), CLIENT_SECRET.to_owned()),
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("scope".to_owned(), "read write".to_owned()),
    ];
    want.sort();
    assert_eq!(fields, want);
    assert_eq!(server.api_tokens(), vec!["Bearer tok-1"]);
}

#[tokio::test]
async fn token_request_as_json() {
    let server = AuthServer::new(vec![Some(3600)]);
    let addr = serve(server.router()).await;
    let c = oauth_connectors(addr, "json");
    assert!(c.execute(get("zd", "/x")).await.response().is_some());
    let token_req = &server.token_log.all()[0];
    assert_eq!(token_req.content_type.as_deref(), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&token_req.body).expect("json body");
    assert_eq!(v["grant_type"], "client_credentials");
    assert_eq!(v["client_secret"], CLIENT_SECRET);
    assert_eq!(v["scope"], "read write");
}

#[tokio::test]
async fn one_token_fetch_serves_many_calls() {
    let server = AuthServer::new(vec![Some(3600)]);
    let addr = serve(server.router()).await;
    let c = oauth_connectors(addr, "form");
    // Concurrent first calls: single flight.
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let c = c.clone();
        tasks.push(tokio::spawn(
            async move { c.execute(get("zd", "/a")).await },
        ));
    }
    for t in tasks {
        let out = t.await.expect("task");
        assert_eq!(out.response().map(|r| r.status), Some(200));
    }
    // Then sequential calls reuse the cache.
    for _ in 0..5 {
        assert_eq!(
            c.execute(get("zd", "/b"))
                .await
                .response()
                .map(|r| r.status),
            Some(200)
        );
    }
    assert_eq!(server.token_log.len(), 1);
    assert_eq!(server.api_log.len(), 17);
    assert!(server.api_tokens().iter().all(|t| t == "Bearer tok-1"));
}

#[tokio::test]
async fn expired_token_is_refreshed() {
    // First token expires at once, the second lives an hour.
    let server = AuthServer::new(vec![Some(0), Some(3600)]);
    let addr = serve(server.router()).await;
    let c = oauth_connectors(addr, "form");
    for _ in 0..3 {
        assert_eq!(
            c.execute(get("zd", "/a"))
                .await
                .response()
                .map(|r| r.status),
            Some(200)
        );
    }
    assert_eq!(server.token_log.len(), 2);
    assert_eq!(
        server.api_tokens(),
        vec!["Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]
    );
}

#[tokio::test]
async fn refused_token_is_dropped_refetched_and_retried_once() {
    let server = AuthServer::new(vec![None]);
    let addr = serve(server.router()).await;
    let c = oauth_connectors(addr, "form");
    assert_eq!(
        c.execute(get("zd", "/a"))
            .await
            .response()
            .map(|r| r.attempts),
        Some(1)
    );
    server.revoke("tok-1");
    let out = c.execute(get("zd", "/a")).await;
    let r = out.response().expect("response");
    assert_eq!(
        (r.status, r.attempts, r.body.as_str()),
        (200, 2, "hello tok-2")
    );
    assert_eq!(server.token_log.len(), 2);
    assert_eq!(
        server.api_tokens(),
        vec!["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    );
}

#[tokio::test]
async fn persistent_401_refetches_only_once() {
    let server = AuthServer::new(vec![Some(3600)]);
    let addr = serve(server.router()).await;
    let c = oauth_connectors(addr, "form");
    // Revoke the first two tokens in advance: the refetch also gets refused.
    server.revoke("tok-1");
    server.revoke("tok-2");
    let mut req = get("zd", "/a");
    req.retries = 3;
    let out = c.execute(req).await;
    let r = out.response().expect("the 401 itself");
    assert_eq!((r.status, r.attempts), (401, 2));
    assert_eq!(server.token_log.len(), 2);
}

#[tokio::test]
async fn token_endpoint_refusal_is_a_failure_without_secrets() {
    let router = Router::new().route(
        "/oauth/tokens",
        post(|| async {
            (
                StatusCode::UNAUTHORIZED,
                format!(r#"{{"error":"invalid_client","echo":"{CLIENT_SECRET}"}}"#),
            )
        }),
    );
    let addr = serve(router).await;
    let c = oauth_connectors(addr, "form");
    let out = c.execute(get("zd", "/a")).await;
    let f = out.failure().expect("failure");
    assert_eq!(f.kind, FailureKind::Other);
    assert!(
        f.message.contains("401") && f.message.contains("invalid_client"),
        "{}",
        f.message
    );
    assert!(!f.message.contains(CLIENT_SECRET));
    assert!(!format!("{out:?}").contains(CLIENT_SECRET));
}
