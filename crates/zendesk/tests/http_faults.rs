//! The sandbox over real HTTP under stress: the rate limit's 429 with Retry-After, injected
//! faults (5xx, latency, hangs cut by a client timeout), the admin endpoints, and hostile
//! search input.

mod common;

use common::*;
use ringdesk_zendesk::sandbox::{ErrorFault, Faults, HangFault, SandboxConfig};
use ringdesk_zendesk::ZendeskError;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sb = start(SandboxConfig {
        rate_limit_per_minute: Some(3),
        ..SandboxConfig::default()
    })
    .await;
    let url = format!("{}/api/v2/users/me.json", sb.base_url());
    for remaining in ["2", "1", "0"] {
        let r = http()
            .get(&url)
            .header("authorization", token_auth().expose())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-rate-limit"], "3");
        assert_eq!(r.headers()["x-rate-limit-remaining"], remaining);
    }
    let r = http()
        .get(&url)
        .header("authorization", token_auth().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let secs: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert_eq!(r.headers()["x-rate-limit-remaining"], "0");

    // The typed client surfaces it with the parsed Retry-After.
    match client(&sb).ticket(2).await {
        Err(e @ ZendeskError::RateLimited { .. }) => {
            let ra = e.retry_after().unwrap();
            assert!(ra >= Duration::from_secs(1) && ra <= Duration::from_secs(60));
            assert!(e.is_retryable());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sb.stats().rate_limited, 2);
    // Admin endpoints are not rate limited; reset opens a new window.
    let reset = http()
        .post(format!("{}/__sandbox/reset", sb.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(client(&sb).me().await.unwrap().id, 1);
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn error_faults_for_n_requests_on_a_path_prefix() {
    let sb = demo().await;
    let c = client(&sb);
    sb.set_faults(Faults {
        error: Some(ErrorFault {
            status: 503,
            count: Some(2),
            fraction: None,
        }),
        path_prefix: Some("/api/v2/search".into()),
        ..Faults::default()
    })
    .unwrap();
    // Another path is untouched.
    assert_eq!(c.ticket(2).await.unwrap().id, 2);
    for _ in 0..2 {
        let e = c.search_users_by_phone("5511987650101").await.unwrap_err();
        assert_eq!(e.status(), Some(503));
        assert!(e.is_retryable());
    }
    assert_eq!(
        c.search_users_by_phone("5511987650101")
            .await
            .unwrap()
            .len(),
        1
    );
    let st = sb.stats();
    assert_eq!(st.faulted, 2);
    assert_eq!(st.by_status.get(&503), Some(&2));
    assert_eq!(st.endpoint("GET /api/v2/search.json"), 3);
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn admin_endpoint_sets_fraction_faults_and_reports_stats() {
    let sb = demo().await;
    let base = sb.base_url();
    let set = http()
        .post(format!("{base}/__sandbox/faults"))
        .json(&json!({"error": {"status": 500, "fraction": 0.5}, "method": "GET"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let c = client(&sb);
    let mut failures = 0;
    for _ in 0..6 {
        if let Err(e) = c.ticket(3).await {
            assert_eq!(e.status(), Some(500));
            failures += 1;
        }
    }
    assert_eq!(failures, 3);
    let bad = http()
        .post(format!("{base}/__sandbox/faults"))
        .json(&json!({"error": {"status": 200}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let stats: Value = http()
        .get(format!("{base}/__sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["by_endpoint"]["GET /api/v2/tickets/{id}.json"], 6);
    assert_eq!(stats["faulted"], 3);
    // `{}` clears.
    http()
        .post(format!("{base}/__sandbox/faults"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    for _ in 0..4 {
        c.ticket(3).await.unwrap();
    }
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn latency_is_added() {
    let sb = start(SandboxConfig {
        faults: Faults {
            latency_ms: 300,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let started = Instant::now();
    client(&sb).me().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A client whose timeout is shorter than the latency times out.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let c =
        ringdesk_zendesk::ZendeskClient::with_http_client(impatient, &sb.base_url(), &token_auth())
            .unwrap();
    assert!(c.me().await.unwrap_err().is_timeout());
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn hang_is_cut_by_the_client_timeout_then_service_resumes() {
    let sb = demo().await;
    sb.set_faults(Faults {
        hang: Some(HangFault { count: Some(1) }),
        ..Faults::default()
    })
    .unwrap();
    let timeout = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let c =
        ringdesk_zendesk::ZendeskClient::with_http_client(timeout, &sb.base_url(), &token_auth())
            .unwrap();
    let e = c.ticket(2).await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(e.is_retryable());
    // Only one request hangs.
    assert_eq!(c.ticket(2).await.unwrap().id, 2);
    assert_eq!(sb.stats().hung, 1);
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn hang_until_cleared_and_shutdown_releases_hangs() {
    let sb = demo().await;
    sb.set_faults(Faults {
        hang: Some(HangFault { count: None }),
        ..Faults::default()
    })
    .unwrap();
    let c = client(&sb);
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.ticket(5).await }
    });
    // Wait until the sandbox has the request hanging (no sleep: poll the counter).
    while sb.stats().hung == 0 {
        tokio::task::yield_now().await;
    }
    sb.clear_faults();
    assert_eq!(pending.await.unwrap().unwrap().id, 5);

    sb.set_faults(Faults {
        hang: Some(HangFault { count: None }),
        ..Faults::default()
    })
    .unwrap();
    let pending = tokio::spawn(async move { c.ticket(5).await });
    while sb.stats().hung < 2 {
        tokio::task::yield_now().await;
    }
    sb.shutdown().await.unwrap();
    // The hung request was released and answered (or its connection closed): never stuck.
    let _ = pending.await.unwrap();
}

#[tokio::test]
async fn hostile_queries_are_answered_without_panic_or_leak() {
    let sb = demo().await;
    let c = client(&sb);
    let url = format!("{}/api/v2/search.json", sb.base_url());
    let get = |q: String| {
        let url = url.clone();
        async move {
            http()
                .get(&url)
                .query(&[("query", q)])
                .header("authorization", token_auth().expose())
                .send()
                .await
                .unwrap()
        }
    };
    // A caller ID that tries to turn the user search into a ticket dump.
    for q in [
        "role:end-user phone:1 type:ticket",
        "1 type:ticket",
        "type:user 1 type:ticket",
        "role:end-user phone:5511987650101 OR type:ticket",
        "type:user +",
        "type:user *",
        "type:user ção 名前 😀",
        "type:user \u{0}\u{202e}",
        "role:end-user phone:*",
    ] {
        let r = get(q.to_owned()).await;
        assert!(
            r.status() == 200 || r.status() == 400,
            "{q:?}: {}",
            r.status()
        );
        if r.status() == 200 {
            let body: Value = r.json().await.unwrap();
            let results = body["results"].as_array().unwrap();
            assert!(
                results.iter().all(|x| x["result_type"] != "ticket"),
                "{q:?} leaked tickets: {body}"
            );
            assert!(results.len() <= 1, "{q:?} returned {}", results.len());
        }
    }
    let long = get("9".repeat(5000)).await;
    assert_eq!(long.status(), 400);
    let body: Value = long.json().await.unwrap();
    assert_eq!(body["error"], "invalid");
    let unbalanced = get("type:user \"5511".to_owned()).await;
    assert_eq!(unbalanced.status(), 400);
    let missing = http()
        .get(&url)
        .header("authorization", token_auth().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    // The typed client refuses non-digits before sending.
    assert!(matches!(
        c.search_users_by_phone("1 type:ticket").await,
        Err(ZendeskError::InvalidInput(_))
    ));
    // Unknown paths and malformed bodies answer Zendesk-like errors, never panics.
    let r = http()
        .get(format!("{}/api/v2/nope.json", sb.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http()
        .put(format!("{}/api/v2/tickets/2.json", sb.base_url()))
        .header("authorization", token_auth().expose())
        .body("{\"ticket\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http()
        .get(format!("{}/api/v2/tickets/abc.json", sb.base_url()))
        .header("authorization", token_auth().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // And the sandbox is still fine.
    assert_eq!(c.me().await.unwrap().id, 1);
    sb.shutdown().await.unwrap();
}
