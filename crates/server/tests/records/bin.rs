//! Runs the real `ringdesk` binary: `ringdesk call --store FILE` (one simulated call,
//! recorded, its note delivered through the outbox), and the `interactions` / `outbox`
//! commands that read the same file, parsed from their `--json` output.

use serde::Deserialize;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::process::{Child, Command};

/// Safety net for one child process (not a timing assertion: a call runs on virtual time
/// and delivers for at most its `--deliver-for`).
const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// A `Command` for the binary, with no Zendesk credentials, configuration or log filter
/// inherited from the environment running the tests.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringdesk"));
    for var in [
        "ZENDESK_EMAIL",
        "ZENDESK_API_TOKEN",
        "RINGDESK_CONFIG",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn output(mut cmd: Command) -> Output {
    match tokio::time::timeout(CHILD_LIMIT, cmd.output()).await {
        Ok(out) => out.expect("the ringdesk binary runs"),
        Err(_) => panic!("ringdesk did not finish within {CHILD_LIMIT:?}"),
    }
}

/// Starts describing `ringdesk call --from FROM`.
pub fn call(from: &str) -> CallBuilder {
    CallBuilder {
        args: vec!["call".into(), format!("--from={from}"), "--json".into()],
    }
}

/// Options of one `ringdesk call`.
#[derive(Debug, Clone)]
pub struct CallBuilder {
    args: Vec<String>,
}

/// How one `ringdesk call` ended.
#[derive(Debug)]
pub struct CallRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From the `call_started` line of the JSON transcript.
    pub call_id: String,
}

impl CallBuilder {
    fn arg(mut self, name: &str, value: &str) -> Self {
        self.args.extend([name.to_string(), value.to_string()]);
        self
    }

    /// `--press STEPS`.
    pub fn press(self, steps: &str) -> Self {
        self.arg("--press", steps)
    }

    /// `--agents N`.
    pub fn agents(self, n: u32) -> Self {
        self.arg("--agents", &n.to_string())
    }

    /// `--answer-after D` (`never`: nobody).
    pub fn answer_after(self, d: &str) -> Self {
        self.arg("--answer-after", d)
    }

    /// `--zendesk URL`.
    pub fn zendesk(self, url: &str) -> Self {
        self.arg("--zendesk", url)
    }

    /// `--store FILE`.
    pub fn store(self, path: &Path) -> Self {
        self.arg("--store", &path.display().to_string())
    }

    /// `--config FILE`.
    pub fn config(self, path: &Path) -> Self {
        self.arg("--config", &path.display().to_string())
    }

    /// `--deliver-for D`.
    pub fn deliver_for(self, d: &str) -> Self {
        self.arg("--deliver-for", d)
    }

    fn command(&self) -> Command {
        let mut cmd = command();
        cmd.args(&self.args);
        cmd
    }

    /// Runs it to the end.
    pub async fn run(self) -> CallRun {
        let out = output(self.command()).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let call_id = call_id_of(&stdout).unwrap_or_default();
        CallRun {
            code: out.status.code(),
            stdout,
            stderr,
            call_id,
        }
    }

    /// Runs it and asserts it exited 0 and was recorded.
    pub async fn ok(self) -> CallRun {
        let args = self.args.join(" ");
        let run = self.run().await;
        run.assert_recorded(&args);
        run
    }

    /// Starts it without waiting (to kill it).
    pub fn spawn(&self) -> Child {
        self.command().spawn().expect("the ringdesk binary starts")
    }
}

impl CallRun {
    /// Exit 0, no panic, the call recorded in the store.
    pub fn assert_recorded(&self, what: &str) {
        assert_eq!(
            self.code,
            Some(0),
            "ringdesk {what} failed\nstderr:\n{}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(
            !self.call_id.is_empty(),
            "no call_started line:\n{}",
            self.stdout
        );
        assert!(
            self.stderr
                .contains(&format!("recorded call {} in", self.call_id)),
            "the call was not recorded:\n{}",
            self.stderr
        );
    }
}

fn call_id_of(stdout: &str) -> Option<String> {
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next()?).ok()?;
    (first.get("kind")?.as_str()? == "call_started")
        .then(|| first.get("call_id")?.as_str().map(str::to_string))?
}

/// Runs `ringdesk ARGS --store FILE --json` and parses stdout.
pub async fn json_of(args: &[&str], store: &Path) -> serde_json::Value {
    let mut cmd = command();
    cmd.args(args).arg("--store").arg(store).arg("--json");
    let out = output(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "ringdesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("ringdesk {args:?}: {e}\n{stdout}"))
}

/// `ringdesk interactions show ID --json`.
pub async fn interaction(store: &Path, call_id: &str) -> serde_json::Value {
    json_of(&["interactions", "show", call_id], store).await
}

/// `ringdesk interactions list --limit 1000 --json` (most recent first).
pub async fn interactions(store: &Path) -> Vec<serde_json::Value> {
    interactions_where(store, &[]).await
}

/// `ringdesk interactions list --limit 1000 FILTERS --json` (most recent first).
pub async fn interactions_where(store: &Path, filters: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["interactions", "list", "--limit", "1000"];
    args.extend_from_slice(filters);
    let v = json_of(&args, store).await;
    serde_json::from_value(v).expect("interactions list is an array")
}

/// An outbox entry as `ringdesk outbox list --json` prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub call_id: Option<String>,
    pub item: Item,
    pub state: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_response: Option<String>,
}

/// The request of an outbox entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    pub ordering_key: String,
    pub method: String,
    pub path: String,
    pub body: Option<String>,
    pub marker: Option<String>,
}

/// `ringdesk outbox list [--state S] --limit 1000 --json`, oldest first.
pub async fn outbox(store: &Path, state: Option<&str>) -> Vec<Entry> {
    let mut args = vec!["outbox", "list", "--limit", "1000"];
    if let Some(s) = state {
        args.extend(["--state", s]);
    }
    serde_json::from_value(json_of(&args, store).await).expect("outbox list is an array")
}

/// `ringdesk outbox retry ID`; returns its stdout.
pub async fn outbox_retry(store: &Path, id: i64) -> String {
    let mut cmd = command();
    cmd.args(["outbox", "retry", &id.to_string(), "--store"])
        .arg(store);
    let out = output(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "outbox retry failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
