//! An in-process Zendesk sandbox on 127.0.0.1:0 for one test, with a request recorder in
//! front of it: every request's method, path and raw query as they arrived on the wire.

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use ringdesk_zendesk::sandbox::{router, DataSet, SandboxConfig, SandboxState};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the sandbox received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The raw (still percent-encoded) query string, if any.
    pub raw_query: Option<String>,
    /// The response status (`None` while the request hangs or if it never finished).
    pub status: Option<u16>,
}

impl Recorded {
    /// The decoded query parameters.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.raw_query
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The decoded value of the `query` parameter (searches).
    pub fn search_query(&self) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v)
    }
}

type Log = Arc<Mutex<Vec<Recorded>>>;

/// A running sandbox; stopped (hanging requests released) when dropped.
pub struct Sandbox {
    state: SandboxState,
    url: String,
    log: Log,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// The demo data, no faults, no rate limit.
    pub async fn start() -> Sandbox {
        Sandbox::with_config(SandboxConfig::default()).await
    }

    /// The demo data changed by `edit` (statuses, priorities...).
    pub async fn with_data(edit: impl FnOnce(&mut DataSet)) -> Sandbox {
        let mut data = DataSet::demo().expect("demo data loads");
        edit(&mut data);
        Sandbox::with_config(SandboxConfig {
            data: Some(data),
            ..SandboxConfig::default()
        })
        .await
    }

    /// Any configuration (rate limit, faults from the start...).
    pub async fn with_config(config: SandboxConfig) -> Sandbox {
        let state = SandboxState::new(&config).expect("sandbox configuration is valid");
        let log: Log = Arc::default();
        let recorder = {
            let log = log.clone();
            move |req: Request, next: Next| {
                let log = log.clone();
                async move { record(log, req, next).await }
            }
        };
        let app = router(&state).layer(middleware::from_fn(recorder));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("listener address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sandbox {
            state,
            url: format!("http://{addr}"),
            log,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The sandbox state: records, stats, faults.
    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// Every request so far, in arrival order (admin endpoints included).
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Requests to the Zendesk API (`/api/...`), in arrival order.
    pub fn api_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/"))
            .collect()
    }

    /// The decoded `query` of every search request, in arrival order.
    pub fn search_queries(&self) -> Vec<String> {
        self.api_requests()
            .iter()
            .filter(|r| r.path == "/api/v2/search.json")
            .map(|r| r.search_query().unwrap_or_default())
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Releases requests held by a hang fault, then stops serving.
        self.state.clear_faults();
        self.task.abort();
    }
}

async fn record(log: Log, req: Request, next: Next) -> Response {
    let entry = Recorded {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        raw_query: req.uri().query().map(str::to_string),
        status: None,
    };
    let index = match log.lock() {
        Ok(mut l) => {
            l.push(entry);
            Some(l.len() - 1)
        }
        Err(_) => None,
    };
    let response = next.run(req).await;
    if let (Some(i), Ok(mut l)) = (index, log.lock()) {
        if let Some(r) = l.get_mut(i) {
            r.status = Some(response.status().as_u16());
        }
    }
    response
}
