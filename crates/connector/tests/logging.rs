//! The per-attempt debug line: one per attempt, naming connector, method, path and status,
//! never the query values or a credential.

#[allow(dead_code)] // each test binary uses a different subset of the helpers
mod common;

use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;
use common::{connectors, get, serve};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_line_per_attempt_without_query_or_secret() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so a thread-local default sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);

    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let addr = serve(Router::new().fallback(any(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                (StatusCode::SERVICE_UNAVAILABLE, "busy")
            } else {
                (StatusCode::OK, "ok")
            }
        }
    })))
    .await;
    let c = connectors(
        &format!(
            "[zendesk]\nbase_url = \"http://{addr}\"\nauth = {{ type = \"bearer\", token = \"Log-5ecr3t-TT\" }}\n"
        ),
        &[],
    );
    let mut req = get("zendesk", "/api/v2/search.json");
    req.query = vec![("query".into(), "role:end-user phone:5511987654321".into())];
    req.retries = 1;
    assert_eq!(c.execute(req).await.response().map(|r| r.status), Some(200));

    let text = String::from_utf8(buffer.0.lock().expect("lock").clone()).expect("utf8");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("connector attempt"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("status=503") && lines[1].contains("status=200"),
        "{text}"
    );
    for line in &lines {
        assert!(line.contains("connector=zendesk"), "{line}");
        assert!(line.contains("method=GET"), "{line}");
        assert!(line.contains("path=/api/v2/search.json"), "{line}");
        assert!(line.contains("elapsed_ms="), "{line}");
    }
    assert!(
        !text.contains("5511987654321"),
        "query value logged: {text}"
    );
    assert!(!text.contains("Log-5ecr3t-TT"), "secret logged: {text}");
}
