//! One `ringdesk serve` child process per test, on free ports, against a Zendesk sandbox
//! running in the test process (so the test can inject faults and read notes back).
//! The child is killed when the `Server` is dropped, even when the test fails; its log is
//! printed then to help diagnose the failure.

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
/// Longest wait for the "answering SIP calls" line (prompts are pre-rendered first).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The line `ringdesk serve` prints once it answers calls.
const READY: &str = "ringdesk is answering SIP calls on ";

/// What differs between the tests' servers.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `[sip] max_calls` (default: the server's).
    pub max_calls: Option<usize>,
    /// `[sip] answer_delay`, e.g. "2s".
    pub answer_delay: Option<String>,
    /// `[flows] routes`: called number → flow file.
    pub routes: Vec<(String, PathBuf)>,
    /// `[flows] reject_unrouted`.
    pub reject_unrouted: bool,
}

/// A running server and its sandbox.
pub struct Server {
    child: Child,
    sip: SocketAddr,
    sandbox: Option<SandboxHandle>,
    dir: tempfile::TempDir,
    log: PathBuf,
}

/// The shipped default flow file.
pub fn default_flow_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows/zendesk-ticket-status.yaml")
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
                std::env::var("VOICE_RUST_LOG")
                    .unwrap_or_else(|_| "info,ringdesk=debug,rsipstack=warn".into()),
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
        let sip = loop {
            let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
                Ok(Ok(Some(line))) => line,
                Ok(Ok(None)) | Ok(Err(_)) => {
                    let _ = child.kill().await;
                    panic!(
                        "ringdesk serve exited before answering calls\nstdout:\n{seen}\nlog:\n{}",
                        tail(&log, 60)
                    );
                }
                Err(_) => {
                    let _ = child.kill().await;
                    panic!(
                        "ringdesk serve did not answer calls within {START_TIMEOUT:?}\nstdout:\n{seen}\nlog:\n{}",
                        tail(&log, 60)
                    );
                }
            };
            let _ = writeln!(seen, "{line}");
            if let Some(rest) = line.strip_prefix(READY) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                break addr
                    .parse::<SocketAddr>()
                    .unwrap_or_else(|e| panic!("unreadable SIP address in {line:?}: {e}"));
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            child,
            sip,
            sandbox: Some(sandbox),
            dir,
            log,
        }
    }

    /// Where ringdesk answers SIP (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
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

    /// The comments added to `ticket` since the demo data (those authored through the
    /// API), waiting up to `wait` for at least `at_least` of them (the note is posted by
    /// the durable outbox after the call ends).
    pub async fn new_comments(&self, ticket: u64, at_least: usize, wait: Duration) -> Vec<Comment> {
        let seeded = demo_comment_count(ticket);
        let deadline = Instant::now() + wait;
        loop {
            let all = self.sandbox().comments(ticket).unwrap_or_default();
            let fresh: Vec<Comment> = all.into_iter().skip(seeded).collect();
            if fresh.len() >= at_least || Instant::now() >= deadline {
                return fresh;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "---- ringdesk serve log (last lines) ----\n{}",
                tail(&self.log, 200)
            );
        }
    }
}

/// Comments a demo ticket starts with.
fn demo_comment_count(ticket: u64) -> usize {
    let data = ringdesk_zendesk::sandbox::DataSet::demo().expect("demo data loads");
    data.comments.get(&ticket).map_or(0, Vec::len)
}

fn config_text(options: &Options, zendesk_url: &str, dir: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[sip]\nlisten = \"127.0.0.1:0\"");
    if let Some(n) = options.max_calls {
        let _ = writeln!(s, "max_calls = {n}");
    }
    if let Some(d) = &options.answer_delay {
        let _ = writeln!(s, "answer_delay = {d:?}");
    }
    let _ = writeln!(s, "[admin]\nlisten = \"127.0.0.1:0\"");
    let _ = writeln!(s, "[store]\npath = {:?}", dir.join("ringdesk.sqlite"));
    let _ = writeln!(s, "[flows]\nreject_unrouted = {}", options.reject_unrouted);
    if !options.routes.is_empty() {
        let _ = writeln!(s, "[flows.routes]");
        for (number, path) in &options.routes {
            let _ = writeln!(s, "{number:?} = {path:?}");
        }
    }
    let _ = writeln!(
        s,
        "[connectors.zendesk]\nbase_url = {zendesk_url:?}\n\
         auth = {{ type = \"zendesk_api_token\", email = {DEMO_EMAIL:?}, token = {DEMO_TOKEN:?} }}"
    );
    s
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
