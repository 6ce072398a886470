//! One `ringdesk serve` child process per test, with agents and a `support` queue, on free
//! ports, against a Zendesk sandbox running in the test process; plus a client of its
//! admin API (agents and their states, interaction records). The child is killed when the
//! `Server` is dropped, even when the test fails; its log is printed then.

use ringdesk_zendesk::sandbox::{self, SandboxConfig, SandboxHandle};
use ringdesk_zendesk::types::Comment;
use serde::Deserialize;
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
/// Longest wait for the "answering SIP calls" line (prompts are pre-rendered first).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// The line `ringdesk serve` prints once it answers calls.
const READY: &str = "ringdesk is answering SIP calls on ";
/// Where the same output names the admin API.
const ADMIN: &str = "admin API and metrics: http://";
/// How often state is polled.
const POLL: Duration = Duration::from_millis(50);
/// The flow trace line of a call that entered the queue (`ringdesk::runtime::call` at
/// trace level logs every exit the flow takes; both queue nodes exit `queued`).
const QUEUED_MARK: &str = "exit: \"queued\"";

/// One configured agent.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub id: String,
    pub name: String,
    pub password: String,
}

impl AgentSpec {
    /// Agent `id` named "`Id` Agent" with a password derived from the id.
    pub fn new(id: &str) -> AgentSpec {
        let mut name: String = id.chars().take(1).flat_map(char::to_uppercase).collect();
        name.push_str(id.get(1..).unwrap_or_default());
        AgentSpec {
            id: id.to_owned(),
            name: format!("{name} Agent"),
            password: format!("s3cret-{id}"),
        }
    }
}

/// What differs between the tests' servers.
#[derive(Debug, Clone)]
pub struct Options {
    pub agents: Vec<AgentSpec>,
    /// `[queues.support] ring_timeout`.
    pub ring_timeout: String,
    /// `[queues.support] wrap_up`.
    pub wrap_up: String,
}

impl Options {
    /// Agents `ids` serving `support`, ring timeout 5 s, wrap-up 1 s.
    pub fn agents(ids: &[&str]) -> Options {
        Options {
            agents: ids.iter().map(|id| AgentSpec::new(id)).collect(),
            ring_timeout: "5s".into(),
            wrap_up: "1s".into(),
        }
    }

    pub fn ring_timeout(mut self, t: &str) -> Options {
        self.ring_timeout = t.into();
        self
    }

    pub fn wrap_up(mut self, t: &str) -> Options {
        self.wrap_up = t.into();
        self
    }
}

/// One agent as `GET /agents` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
}

/// A running server and its sandbox.
pub struct Server {
    child: Child,
    sip: SocketAddr,
    admin: SocketAddr,
    options: Options,
    sandbox: Option<SandboxHandle>,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Server {
    /// Starts the sandbox (demo data) and `ringdesk serve` with `options`; returns once
    /// the server answers calls.
    pub async fn start(options: Options) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sandbox listener");
        let sandbox = sandbox::spawn(SandboxConfig::default(), listener)
            .await
            .expect("start the Zendesk sandbox");
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = config_text(&options, &sandbox.base_url(), dir.path());
        let config_path = dir.path().join("ringdesk.toml");
        std::fs::write(&config_path, config).expect("write the config file");
        let log = dir.path().join("ringdesk.log");
        let log_file = std::fs::File::create(&log).expect("create the server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringdesk"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .current_dir(dir.path())
            .env(
                "RUST_LOG",
                "info,ringdesk=debug,ringdesk::runtime::call=trace,rsipstack=warn",
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .expect("run the ringdesk binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let mut seen = String::new();
        let (mut sip, mut admin) = (None, None);
        while sip.is_none() || admin.is_none() {
            let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
                Ok(Ok(Some(line))) => line,
                other => {
                    let _ = child.kill().await;
                    let why = if other.is_err() {
                        format!("did not answer calls within {START_TIMEOUT:?}")
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
            if let Some((_, rest)) = line.split_once(ADMIN) {
                admin = Some(parse_addr(rest.trim_end_matches('/'), &line));
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        Server {
            child,
            sip: sip.expect("SIP address read"),
            admin: admin.expect("admin address read"),
            options,
            sandbox: Some(sandbox),
            http,
            dir,
            log,
        }
    }

    /// Where ringdesk answers SIP (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
    }

    /// The configured agent `id`.
    pub fn agent_spec(&self, id: &str) -> AgentSpec {
        self.options
            .agents
            .iter()
            .find(|a| a.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("agent {id:?} is not configured"))
    }

    /// The sandbox: tickets and comments.
    pub fn sandbox(&self) -> &SandboxHandle {
        self.sandbox.as_ref().expect("sandbox running until drop")
    }

    /// A directory that lives as long as the server (SIPp logs).
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

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// `GET /agents`.
    pub async fn agents(&self) -> Vec<AgentView> {
        let resp = self
            .http
            .get(self.url("/agents"))
            .send()
            .await
            .expect("GET /agents");
        assert!(resp.status().is_success(), "GET /agents: {}", resp.status());
        resp.json().await.expect("GET /agents returns agents")
    }

    /// Agent `id` as `GET /agents` shows it.
    pub async fn agent(&self, id: &str) -> AgentView {
        let all = self.agents().await;
        all.iter()
            .find(|a| a.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("agent {id:?} not in GET /agents: {all:?}"))
    }

    /// `POST /agents/{id}/state`; returns the HTTP status and body.
    pub async fn set_state(&self, id: &str, state: &str, reason: Option<&str>) -> (u16, String) {
        let mut body = serde_json::json!({ "state": state });
        if let Some(r) = reason {
            body["reason"] = r.into();
        }
        let resp = self
            .http
            .post(self.url(&format!("/agents/{id}/state")))
            .json(&body)
            .send()
            .await
            .expect("POST /agents/{id}/state");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    /// Sets agent `id` to `state` and fails the test unless the API accepts it.
    pub async fn must_set_state(&self, id: &str, state: &str) {
        let reason = (state == "not_ready").then_some("test setup");
        let (status, body) = self.set_state(id, state, reason).await;
        assert_eq!(status, 200, "POST /agents/{id}/state {state}: {body}");
    }

    /// Waits up to `wait` for agent `id` to be in `state`; returns the view.
    pub async fn wait_agent_state(&self, id: &str, state: &str, wait: Duration) -> AgentView {
        let deadline = Instant::now() + wait;
        loop {
            let a = self.agent(id).await;
            if a.state == state {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "agent {id} not {state} within {wait:?}: {a:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Every state agent `id` is seen in (polling) until it is `last`, within `wait`.
    pub async fn states_until(&self, id: &str, last: &str, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut seen: Vec<String> = Vec::new();
        loop {
            let a = self.agent(id).await;
            if seen.last() != Some(&a.state) {
                seen.push(a.state.clone());
            }
            if a.state == last {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "agent {id} not {last} within {wait:?}; states seen: {seen:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// `GET /interactions`: the calls' records, newest first.
    pub async fn interactions(&self) -> Vec<serde_json::Value> {
        let resp = self
            .http
            .get(self.url("/interactions"))
            .send()
            .await
            .expect("GET /interactions");
        assert!(
            resp.status().is_success(),
            "GET /interactions: {}",
            resp.status()
        );
        resp.json()
            .await
            .expect("GET /interactions returns records")
    }

    /// The record of the call from `ani`, waiting up to `wait` for it (records are
    /// written when the call ends).
    pub async fn interaction_of(&self, ani: &str, wait: Duration) -> serde_json::Value {
        let deadline = Instant::now() + wait;
        loop {
            let all = self.interactions().await;
            if let Some(r) = all.iter().find(|r| r["ani"] == ani) {
                return r.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no interaction record of {ani} within {wait:?}: {all:#?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// How many times a call entered the queue so far (from the flow trace).
    pub fn queued_count(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("ExitTaken") && l.contains(QUEUED_MARK))
            .count()
    }

    /// Waits up to `wait` until `n` calls entered the queue.
    pub async fn wait_queued(&self, n: usize, wait: Duration) {
        let deadline = Instant::now() + wait;
        while self.queued_count() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} calls queued within {wait:?}",
                self.queued_count()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The comments added to `ticket` since the demo data, waiting up to `wait` for at
    /// least `at_least` of them (the note is posted by the outbox after the call).
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
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "---- ringdesk serve log (last lines) ----\n{}",
                tail(&self.log, 80)
            );
        }
    }
}

fn parse_addr(text: &str, line: &str) -> SocketAddr {
    let addr = text.split_whitespace().next().unwrap_or_default();
    addr.parse()
        .unwrap_or_else(|e| panic!("unreadable address in {line:?}: {e}"))
}

fn config_text(options: &Options, zendesk_url: &str, dir: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[sip]\nlisten = \"127.0.0.1:0\"");
    let _ = writeln!(s, "[admin]\nlisten = \"127.0.0.1:0\"");
    let _ = writeln!(s, "[store]\npath = {:?}", dir.join("ringdesk.sqlite"));
    let _ = writeln!(
        s,
        "[connectors.zendesk]\nbase_url = {zendesk_url:?}\n\
         auth = {{ type = \"zendesk_api_token\", email = {DEMO_EMAIL:?}, token = {DEMO_TOKEN:?} }}"
    );
    for a in &options.agents {
        let _ = writeln!(
            s,
            "[[agents]]\nid = {:?}\nname = {:?}\npassword = {:?}\nqueues = [\"support\"]",
            a.id, a.name, a.password
        );
    }
    let _ = writeln!(
        s,
        "[queues.support]\nring_timeout = {:?}\nwrap_up = {:?}",
        options.ring_timeout, options.wrap_up
    );
    s
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
