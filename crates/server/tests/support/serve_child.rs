//! `ringdesk serve` as a child process for the end-to-end tests: a Zendesk sandbox in the
//! test process (demo data, so a test can inject faults and read notes back), a config
//! file written into a temporary directory, SIP and admin API on free ports read back
//! from the server's startup lines. The child is killed when dropped, even when the test
//! fails; its log is printed then.

use ringdesk_zendesk::sandbox::{self, SandboxConfig, SandboxHandle};
use ringdesk_zendesk::types::Comment;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// The demo API token of the sandbox (crates/zendesk/data/README.md; not a secret).
const DEMO_EMAIL: &str = "admin@ringdesk.example";
const DEMO_TOKEN: &str = "demo-api-token-not-a-secret";
/// The line `ringdesk serve` prints once it answers calls.
const READY: &str = "ringdesk is answering SIP calls on ";
/// Where the same output names the admin API.
const ADMIN: &str = "admin API and metrics: http://";
/// Where it names the file of the admin token it generated (no `[[admin.tokens]]`).
const TOKEN_FILE: &str = "admin token: ";
/// What it prints instead when the config has tokens.
const TOKENS_CONFIGURED: &str = "admin tokens: ";
/// Where it names its SIP over TLS address, when `[sip.tls]` is set.
const TLS: &str = "SIP over TLS: sips:support@";

/// How to run the child.
#[derive(Debug, Clone)]
pub struct Launch {
    /// `RUST_LOG` of the child.
    pub rust_log: String,
    /// Longest wait for the startup lines (prompts are pre-rendered first).
    pub start_timeout: Duration,
    /// Lines of the log printed when a test fails.
    pub tail_lines: usize,
}

/// A running server and its sandbox.
pub struct ServeChild {
    child: Child,
    sip: SocketAddr,
    tls: Option<SocketAddr>,
    admin: SocketAddr,
    /// The generated admin token, when the config has none.
    admin_token: Option<String>,
    sandbox: Option<SandboxHandle>,
    dir: tempfile::TempDir,
    log: PathBuf,
    tail_lines: usize,
    http: reqwest::Client,
}

impl ServeChild {
    /// Starts the sandbox and `ringdesk serve` with the config `config(zendesk_url, dir)`
    /// returns (it must listen on SIP and admin); returns once the server answers calls.
    pub async fn start(launch: &Launch, config: impl FnOnce(&str, &Path) -> String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sandbox listener");
        let sandbox = sandbox::spawn(SandboxConfig::default(), listener)
            .await
            .expect("start the Zendesk sandbox");
        let dir = tempfile::tempdir().expect("temporary directory");
        let config_path = dir.path().join("ringdesk.toml");
        std::fs::write(&config_path, config(&sandbox.base_url(), dir.path()))
            .expect("write the config file");
        let log = dir.path().join("ringdesk.log");
        let log_file = std::fs::File::create(&log).expect("create the server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringdesk"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .current_dir(dir.path())
            .env("RUST_LOG", &launch.rust_log)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .expect("run the ringdesk binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = tokio::time::Instant::now() + launch.start_timeout;
        let mut seen = String::new();
        let (mut sip, mut admin, mut tls) = (None, None, None);
        let (mut token_seen, mut admin_token) = (false, None);
        while sip.is_none() || admin.is_none() || !token_seen {
            let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
                Ok(Ok(Some(line))) => line,
                other => {
                    let _ = child.kill().await;
                    let why = if other.is_err() {
                        format!("did not answer calls within {:?}", launch.start_timeout)
                    } else {
                        "exited before answering calls".to_owned()
                    };
                    panic!(
                        "ringdesk serve {why}\nstdout:\n{seen}\nlog:\n{}",
                        tail(&log, 60)
                    );
                }
            };
            let _ = writeln!(seen, "{line}");
            if let Some(rest) = line.strip_prefix(READY) {
                sip = Some(parse_addr(rest, &line));
            }
            if let Some((_, rest)) = line.split_once(TLS) {
                tls = Some(parse_addr(
                    rest.split(' ').next().unwrap_or_default(),
                    &line,
                ));
            }
            if let Some((_, rest)) = line.split_once(ADMIN) {
                admin = Some(parse_addr(rest.trim_end_matches('/'), &line));
            }
            if let Some((_, rest)) = line.split_once(TOKEN_FILE) {
                let path = rest.split(" (").next().unwrap_or_default();
                let text = std::fs::read_to_string(dir.path().join(path))
                    .unwrap_or_else(|e| panic!("read the admin token file {path:?}: {e}"));
                admin_token = Some(text.trim().to_owned());
                token_seen = true;
            }
            token_seen |= line.contains(TOKENS_CONFIGURED);
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServeChild {
            child,
            sip: sip.expect("SIP address read"),
            tls,
            admin: admin.expect("admin address read"),
            sandbox: Some(sandbox),
            dir,
            log,
            tail_lines: launch.tail_lines,
            http: admin_client(admin_token.as_deref()),
            admin_token,
        }
    }

    /// Where ringdesk answers SIP over TLS, when its config has `[sip.tls]`.
    pub fn tls_addr(&self) -> SocketAddr {
        self.tls.expect("the server listens on TLS ([sip.tls])")
    }

    /// Where ringdesk answers SIP (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
    }

    /// Where the admin API listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
    }

    /// An HTTP client for the admin API (10 s timeout), sending the generated admin
    /// token when the server made one.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The admin token the server generated (none when its config has tokens).
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// The admin API's URL of `path` (starting with `/`).
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// `GET /metrics` of the admin API (Prometheus text).
    pub async fn metrics(&self) -> String {
        let resp = self
            .http
            .get(self.admin_url("/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        assert!(
            resp.status().is_success(),
            "GET /metrics: {}",
            resp.status()
        );
        resp.text().await.expect("metrics text")
    }

    /// Waits up to `wait` until `/metrics` has the sample line `line` (`name value`);
    /// returns whether it did.
    pub async fn wait_metric(&self, line: &str, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if self.metrics().await.lines().any(|l| l.trim() == line) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The sandbox: faults, tickets, comments.
    pub fn sandbox(&self) -> &SandboxHandle {
        self.sandbox.as_ref().expect("sandbox running until drop")
    }

    /// A directory that lives as long as the server (scenario logs, recordings).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log so far (tracing output).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// True while the child process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The server's process id (none once it has been killed and reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`...) to the server's process, without waiting.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the server runs").to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} {pid}: {status}");
    }

    /// `kill -9` of the server (SIGKILL: no shutdown of any kind), waiting until the
    /// process is gone. The sandbox and the directory stay until drop.
    pub async fn kill_9(&mut self) {
        self.child.kill().await.expect("SIGKILL ringdesk serve");
    }

    /// The comments added to `ticket` since the demo data (those authored through the
    /// API), waiting up to `wait` for at least `at_least` of them (the note is posted by
    /// the durable outbox after the call ends).
    pub async fn new_comments(&self, ticket: u64, at_least: usize, wait: Duration) -> Vec<Comment> {
        let data = ringdesk_zendesk::sandbox::DataSet::demo().expect("demo data loads");
        let seeded = data.comments.get(&ticket).map_or(0, Vec::len);
        let deadline = Instant::now() + wait;
        loop {
            let all = self.sandbox().comments(ticket).unwrap_or_default();
            let fresh: Vec<Comment> = all.into_iter().skip(seeded).collect();
            if fresh.len() >= at_least || Instant::now() >= deadline {
                return fresh;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "---- ringdesk serve log (last lines) ----\n{}",
                tail(&self.log, self.tail_lines)
            );
        }
    }
}

/// The `[connectors.zendesk]` section pointing at the sandbox with the demo token.
pub fn zendesk_connector(zendesk_url: &str) -> String {
    format!(
        "[connectors.zendesk]\nbase_url = {zendesk_url:?}\n\
         auth = {{ type = \"zendesk_api_token\", email = {DEMO_EMAIL:?}, token = {DEMO_TOKEN:?} }}\n"
    )
}

/// An HTTP client (10 s timeout) sending `Authorization: Bearer <token>` when given one.
pub fn admin_client(token: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("token header");
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .default_headers(headers)
        .build()
        .expect("HTTP client")
}

fn parse_addr(text: &str, line: &str) -> SocketAddr {
    let addr = text.split_whitespace().next().unwrap_or_default();
    addr.parse()
        .unwrap_or_else(|e| panic!("unreadable address in {line:?}: {e}"))
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
