//! `ringdesk serve` as a child process on a given store file, its `zendesk` connector
//! pointed at a test sandbox, SIP and admin API on free loopback ports. Its outbox worker
//! runs for the process's lifetime; the tests stop it with SIGKILL.

use super::bin::command;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Child;

/// How long the server may take to start (it pre-renders the flow's prompts with
/// espeak-ng first). A safety net, not a timing assertion.
const START_LIMIT: Duration = Duration::from_secs(90);

/// A running `ringdesk serve`; killed when dropped.
pub struct Serve {
    child: Child,
    stderr: Arc<Mutex<String>>,
    /// `http://127.0.0.1:<port>` of the admin API, as the server printed it.
    admin: String,
    /// Sends the admin token the server generated.
    http: reqwest::Client,
}

impl Serve {
    /// Writes a configuration in `dir` and starts the server; returns once it reports
    /// that it answers calls (its outbox worker is running by then).
    pub async fn start(dir: &Path, store: &Path, zendesk_url: &str) -> Serve {
        let config = dir.join("serve.toml");
        let text = format!(
            r#"[sip]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[connectors.zendesk]
base_url = "{zendesk_url}"
auth = {{ type = "zendesk_api_token", email = "admin@ringdesk.example", token = "demo-api-token-not-a-secret" }}
[store]
path = "{}"
"#,
            store.display()
        );
        std::fs::write(&config, text).expect("write serve.toml");
        let mut cmd = command();
        cmd.arg("serve").arg("--config").arg(&config);
        let mut child = cmd.spawn().expect("ringdesk serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut reader = None;
        if let Some(mut err) = child.stderr.take() {
            let sink = stderr.clone();
            reader = Some(tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }));
        }
        let out = child.stdout.take().expect("serve stdout is piped");
        let ready = async {
            let mut lines = BufReader::new(out).lines();
            let (mut admin, mut token) = (None, None);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some((_, url)) = line.split_once("admin API and metrics: ") {
                    admin = Some(url.trim().trim_end_matches('/').to_string());
                }
                if let Some((_, rest)) = line.split_once("admin token: ") {
                    let path = rest.split(" (").next().unwrap_or_default();
                    token = std::fs::read_to_string(path).ok();
                }
                if line.starts_with("Ctrl-C stops") {
                    // Keep draining stdout so the server never blocks on a full pipe.
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    return admin.zip(token);
                }
            }
            None
        };
        let started = tokio::time::timeout(START_LIMIT, ready).await;
        let started = started.ok().flatten();
        let ok = started.is_some();
        let (admin, token) = started.unwrap_or_default();
        let mut serve = Serve {
            child,
            stderr,
            admin,
            http: super::serve_child::admin_client(Some(token.trim())),
        };
        if !ok {
            let _ = serve.child.start_kill();
            let status = serve.child.wait().await;
            if let Some(r) = reader {
                let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
            }
            panic!(
                "ringdesk serve did not start ({status:?}):\n{}",
                serve.stderr()
            );
        }
        serve
    }

    /// The admin API's base URL.
    pub fn admin(&self) -> &str {
        &self.admin
    }

    /// `GET {admin}{path}` as JSON (asserting 200).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let url = format!("{}{path}", self.admin);
        let r = self.http.get(&url).send().await.expect("admin API answers");
        assert_eq!(r.status().as_u16(), 200, "GET {url}");
        r.json().await.expect("admin API JSON")
    }

    /// The first `snapshot` event of `GET {admin}/events` (the wallboard's stream), as
    /// JSON.
    pub async fn first_snapshot(&self) -> serde_json::Value {
        let url = format!("{}/events", self.admin);
        let mut r = self.http.get(&url).send().await.expect("admin API answers");
        assert_eq!(r.status().as_u16(), 200, "GET {url}");
        let mut seen = String::new();
        loop {
            // Complete events only: the text before the last blank line.
            let complete = seen.rfind("\n\n").map_or("", |end| &seen[..end]);
            if let Some(data) = complete
                .split("\n\n")
                .find(|e| e.contains("event: snapshot"))
                .and_then(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            {
                return serde_json::from_str(data).expect("snapshot JSON");
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), r.chunk())
                .await
                .expect("a snapshot within 10 s")
                .expect("the stream reads")
                .expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// `GET {admin}/metrics`.
    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.admin);
        let r = self.http.get(&url).send().await.expect("admin API answers");
        assert_eq!(r.status().as_u16(), 200, "GET {url}");
        r.text().await.expect("metrics text")
    }

    /// `POST {admin}{path}`; returns the status and JSON body.
    pub async fn post(&self, path: &str) -> (u16, serde_json::Value) {
        let url = format!("{}{path}", self.admin);
        let r = self
            .http
            .post(&url)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("admin API answers");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or_default())
    }

    /// What it logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// SIGKILL, and wait for it to be gone.
    pub async fn kill(mut self) -> String {
        let _ = self.child.kill().await;
        self.stderr()
    }
}
