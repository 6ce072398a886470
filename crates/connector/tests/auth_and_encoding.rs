//! Over real HTTP: the exact Authorization bytes of each scheme, hostile query values
//! arriving as exactly one parameter, and paths that would leave the base never sent.

#[allow(dead_code)] // each test binary uses a different subset of the helpers
mod common;

use axum::routing::any;
use axum::Router;
use common::{connectors, get, record, serve, Log};
use ringdesk_connector::{FailureKind, HttpOutcome, Method};

fn echo_router(log: Log) -> Router {
    Router::new().fallback(any(move |req: axum::extract::Request| {
        let log = log.clone();
        async move {
            record(&log, req).await;
            "{\"ok\":true}"
        }
    }))
}

#[tokio::test]
async fn zendesk_api_token_header_exact_bytes() {
    let log = Log::default();
    let addr = serve(echo_router(log.clone())).await;
    let c = connectors(
        &format!(
            "[zendesk]\nbase_url = \"http://{addr}\"\nauth = {{ type = \"zendesk_api_token\", email = \"ops@acme.com\", token_env = \"ZD_TOKEN\" }}\n"
        ),
        &[("ZD_TOKEN", "6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv")],
    );
    let out = c.execute(get("zendesk", "/api/v2/users/me.json")).await;
    let resp = out.response().expect("a response");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.attempts, 1);
    assert_eq!(resp.body, "{\"ok\":true}");
    let seen = log.all();
    assert_eq!(seen.len(), 1);
    // echo -n 'ops@acme.com/token:6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv' | base64 -w0
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(&b"Basic b3BzQGFjbWUuY29tL3Rva2VuOjZ3aUlCV2JHa0JNbzFtUkRNdVZ3a3cxRVBzTmtlVWo5NVBJejJha3Y="[..])
    );
    assert_eq!(seen[0].path, "/api/v2/users/me.json");
}

#[tokio::test]
async fn bearer_and_none_headers() {
    let log = Log::default();
    let addr = serve(echo_router(log.clone())).await;
    let c = connectors(
        &format!(
            "[b]\nbase_url = \"http://{addr}\"\nauth = {{ type = \"bearer\", token = \"abc.def\" }}\n\
             [n]\nbase_url = \"http://{addr}/prefix\"\n"
        ),
        &[],
    );
    assert!(c.execute(get("b", "/x")).await.response().is_some());
    assert!(c.execute(get("n", "/y")).await.response().is_some());
    let seen = log.all();
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(&b"Bearer abc.def"[..])
    );
    assert_eq!(seen[1].authorization, None);
    assert_eq!(seen[1].path, "/prefix/y");
}

#[tokio::test]
async fn hostile_query_values_arrive_as_one_parameter_each() {
    let log = Log::default();
    let addr = serve(echo_router(log.clone())).await;
    let c = connectors(&format!("[zd]\nbase_url = \"http://{addr}\"\n"), &[]);
    let query = vec![
        ("query".to_owned(), "1 type:ticket&x=y".to_owned()),
        ("path".to_owned(), "../".to_owned()),
        (
            "name".to_owned(),
            "Jo\u{e3}o \u{d6}zt\u{fc}rk \u{1f4de}#?=+%".to_owned(),
        ),
    ];
    let mut req = get("zd", "/api/v2/search.json");
    req.query = query.clone();
    let out = c.execute(req).await;
    assert_eq!(out.response().map(|r| r.status), Some(200));
    let seen = log.all();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/api/v2/search.json");
    let raw = seen[0].raw_query.clone().expect("query present");
    let got: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(got, query, "raw query was {raw}");
}

#[tokio::test]
async fn escaping_paths_are_never_sent() {
    let log = Log::default();
    let addr = serve(echo_router(log.clone())).await;
    let c = connectors(&format!("[zd]\nbase_url = \"http://{addr}/api\"\n"), &[]);
    for path in [
        "/../admin",
        "//evil.example/x",
        "http://evil.example/",
        "/a/%2e%2e/b",
        "/a?b=c",
    ] {
        let out = c.execute(get("zd", path)).await;
        let f = out
            .failure()
            .unwrap_or_else(|| panic!("{path} was accepted"));
        assert_eq!(f.kind, FailureKind::Other, "{path}");
        assert_eq!(f.attempts, 0, "{path}");
    }
    assert_eq!(log.len(), 0);
}

#[tokio::test]
async fn body_method_and_content_type_are_sent() {
    let log = Log::default();
    let addr = serve(echo_router(log.clone())).await;
    let c = connectors(&format!("[zd]\nbase_url = \"http://{addr}\"\n"), &[]);
    let mut req = get("zd", "/api/v2/tickets/7.json");
    req.method = Method::Put;
    req.body = Some(r#"{"ticket":{"comment":{"body":"hi","public":false}}}"#.to_owned());
    assert!(c.execute(req).await.response().is_some());
    let seen = log.all();
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        seen[0].body,
        br#"{"ticket":{"comment":{"body":"hi","public":false}}}"#
    );
}

#[tokio::test]
async fn unknown_connector_is_its_own_failure() {
    let c = connectors("[zd]\nbase_url = \"http://127.0.0.1:9\"\n", &[]);
    match c.execute(get("nope", "/")).await {
        HttpOutcome::Failure(f) => {
            assert_eq!(f.kind, FailureKind::UnknownConnector);
            assert_eq!(f.attempts, 0);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn oversized_body_is_a_failure() {
    let addr = serve(Router::new().fallback(any(|| async { "x".repeat(1001) }))).await;
    let c = connectors(
        &format!("[zd]\nbase_url = \"http://{addr}\"\nmax_response_bytes = 1000\n"),
        &[],
    );
    let out = c.execute(get("zd", "/big")).await;
    let f = out.failure().expect("failure");
    assert_eq!(f.kind, FailureKind::Other);
    assert!(f.message.contains("1000"), "{}", f.message);
    let ok = serve(Router::new().fallback(any(|| async { "x".repeat(1000) }))).await;
    let c = connectors(
        &format!("[zd]\nbase_url = \"http://{ok}\"\nmax_response_bytes = 1000\n"),
        &[],
    );
    assert_eq!(
        c.execute(get("zd", "/big"))
            .await
            .response()
            .map(|r| r.body.len()),
        Some(1000)
    );
}
