//! Runs the real `ringdesk` binary as a child process: `ringdesk call --json --zendesk
//! <sandbox>` for one simulated call, and `ringdesk check` on flow files.

use super::sandbox::Sandbox;
use super::transcript::Transcript;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::process::Command;

/// Upper bound for one child process (a safety net against a hung child, not a timing
/// assertion: calls run on virtual time and finish in well under a second, hang cases
/// within the flow's HTTP timeout).
const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_ringdesk")
}

/// A `Command` for the binary with no Zendesk credentials, configuration or log filter
/// inherited from the environment running the tests.
fn command() -> Command {
    let mut cmd = Command::new(binary());
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

/// Starts describing a simulated call from `from`.
pub fn call(from: &str) -> CallBuilder {
    CallBuilder {
        from: from.to_string(),
        args: Vec::new(),
        env: Vec::new(),
    }
}

/// Options of one `ringdesk call`.
#[derive(Debug, Clone)]
pub struct CallBuilder {
    from: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// What one call printed and how the process ended.
#[derive(Debug)]
pub struct CallOutcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub transcript: Transcript,
}

impl CallBuilder {
    /// `--press STEPS`.
    pub fn press(mut self, steps: &str) -> Self {
        self.args.extend(["--press".into(), steps.into()]);
        self
    }

    /// `--agents N`.
    pub fn agents(mut self, n: u32) -> Self {
        self.args.extend(["--agents".into(), n.to_string()]);
        self
    }

    /// `--answer-after D` (`never` for nobody).
    pub fn answer_after(mut self, d: &str) -> Self {
        self.args.extend(["--answer-after".into(), d.into()]);
        self
    }

    /// `--queue-full`: the scripted queue refuses every call as full.
    pub fn queue_full(mut self) -> Self {
        self.args.push("--queue-full".into());
        self
    }

    /// `--talk D`.
    pub fn talk(mut self, d: &str) -> Self {
        self.args.extend(["--talk".into(), d.into()]);
        self
    }

    /// `--config FILE`.
    pub fn config(mut self, path: &std::path::Path) -> Self {
        self.args
            .extend(["--config".into(), path.display().to_string()]);
        self
    }

    /// `--flow FILE`: this flow file instead of the routed or built-in one.
    pub fn flow(mut self, path: &std::path::Path) -> Self {
        self.args
            .extend(["--flow".into(), path.display().to_string()]);
        self
    }

    /// `--to NUMBER` (the called number).
    pub fn to(mut self, number: &str) -> Self {
        self.args.extend(["--to".into(), number.into()]);
        self
    }

    /// `--store FILE`: record the call and send its durable requests through the outbox,
    /// as `serve` does.
    pub fn store(mut self, path: &std::path::Path) -> Self {
        self.args
            .extend(["--store".into(), path.display().to_string()]);
        self
    }

    /// An environment variable for the child.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs the call against `sandbox` and parses its transcript.
    pub async fn run(self, sandbox: &Sandbox) -> CallOutcome {
        let mut cmd = command();
        // `--from=` so that a caller ID starting with `-` stays a value.
        cmd.arg("call")
            .arg(format!("--from={}", self.from))
            .args(["--json", "--zendesk", sandbox.url()])
            .args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = output(cmd).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let transcript = Transcript::parse(&stdout);
        CallOutcome {
            code: out.status.code(),
            stdout,
            stderr,
            transcript,
        }
    }
}

impl CallOutcome {
    /// The process exited 0, did not panic, and the flow ran to its end.
    pub fn assert_completed(&self) {
        assert_eq!(
            self.code,
            Some(0),
            "ringdesk call failed\nstderr:\n{}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "panic in stderr:\n{}",
            self.stderr
        );
        let kinds = self.transcript.kinds();
        assert_eq!(
            kinds.first().map(String::as_str),
            Some("call_started"),
            "{}",
            self.stdout
        );
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("finished"),
            "the flow did not finish:\n{}",
            self.stdout
        );
    }
}

/// What `ringdesk check` printed and its exit code.
#[derive(Debug)]
pub struct CheckOutcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `ringdesk check` on `files`.
pub async fn check(files: &[&Path]) -> CheckOutcome {
    let mut cmd = command();
    cmd.arg("check").args(files);
    let out = output(cmd).await;
    CheckOutcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
