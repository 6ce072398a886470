//! Runs SIPp (Debian package `sip-tester`) with one of the scenarios in
//! `tests/voice/scenarios/`: one call, on free ports, with keyword values (`-key`), the
//! default pause (`-d`) and every message traced to a file shown when the call fails.

use super::ports::{free_port, free_rtp_port};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// One SIPp call.
#[derive(Debug, Clone)]
pub struct Sipp {
    scenario: String,
    service: String,
    keys: Vec<(String, String)>,
    pause: Option<Duration>,
    timeout: Duration,
    transport: &'static str,
    local_ip: &'static str,
    /// `-au`/`-ap`: credentials for `[authentication]`.
    auth: Option<(String, String)>,
}

/// What a SIPp run left behind.
#[derive(Debug)]
pub struct SippRun {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub errors: String,
    pub messages: String,
}

impl SippRun {
    /// Everything useful to diagnose a failed call.
    pub fn report(&self) -> String {
        format!(
            "exit code {:?}\n--- errors ---\n{}\n--- messages ---\n{}\n--- stderr ---\n{}",
            self.code, self.errors, self.messages, self.stderr
        )
    }

    /// Panics with the report unless the scenario passed.
    pub fn assert_passed(&self, what: &str) {
        assert!(self.success, "SIPp {what} failed:\n{}", self.report());
    }
}

/// Path of a scenario file shipped with the tests.
pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/voice/scenarios")
        .join(name)
}

/// Fails the test with an actionable message when `sipp` is missing.
pub fn require_sipp() {
    if let Err(e) = std::process::Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        panic!(
            "sipp is required by the voice tests and could not be run ({e}); \
             install it with `apt-get install -y sip-tester`"
        );
    }
}

impl Sipp {
    /// A call of `scenario` (a file name in `tests/voice/scenarios/`) to `service` (the
    /// called user), over UDP.
    pub fn new(scenario: &str, service: &str) -> Sipp {
        Sipp {
            scenario: scenario.to_owned(),
            service: service.to_owned(),
            keys: Vec::new(),
            pause: None,
            timeout: Duration::from_secs(90),
            transport: "u1",
            local_ip: "127.0.0.1",
            auth: None,
        }
    }

    /// Digest credentials for the scenario's `[authentication]` (SIPp `-au`/`-ap`).
    pub fn auth(mut self, user: &str, password: &str) -> Sipp {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Sends from another local address (`127.0.0.2`: a source that is no trunk).
    pub fn source_ip(mut self, ip: &'static str) -> Sipp {
        self.local_ip = ip;
        self
    }

    /// Sets `[name]` in the scenario.
    pub fn key(mut self, name: &str, value: impl ToString) -> Sipp {
        self.keys.push((name.to_owned(), value.to_string()));
        self
    }

    /// The caller ID (`[caller]` in the scenarios).
    pub fn caller(self, number: &str) -> Sipp {
        self.key("caller", number)
    }

    /// Media at a test-owned RTP address (`[rtp_ip]`/`[rtp_port]` in the scenarios
    /// whose SDP names them).
    pub fn rtp(self, addr: SocketAddr) -> Sipp {
        self.key("rtp_ip", addr.ip()).key("rtp_port", addr.port())
    }

    /// Length of the scenario's `<pause/>` without attributes.
    pub fn pause(mut self, pause: Duration) -> Sipp {
        self.pause = Some(pause);
        self
    }

    /// Over TCP instead of UDP.
    pub fn tcp(mut self) -> Sipp {
        self.transport = "t1";
        self
    }

    /// Runs the call against `target`; `log_dir` receives SIPp's error and message logs.
    pub async fn run(&self, target: SocketAddr, log_dir: &Path) -> SippRun {
        require_sipp();
        let port = free_port();
        let media = free_rtp_port();
        let errors_file = log_dir.join(format!("sipp-{port}-errors.log"));
        let messages_file = log_dir.join(format!("sipp-{port}-messages.log"));
        let mut cmd = tokio::process::Command::new("sipp");
        cmd.arg("-sf")
            .arg(scenario_path(&self.scenario))
            .args(["-m", "1", "-t", self.transport, "-i", self.local_ip])
            .args(["-p", &port.to_string(), "-mp", &media.to_string()])
            .args(["-s", &self.service])
            .args(["-timeout", &format!("{}s", self.timeout.as_secs())])
            .args(["-timeout_error", "-nostdin", "-trace_err", "-trace_msg"])
            .arg("-error_file")
            .arg(&errors_file)
            .arg("-message_file")
            .arg(&messages_file);
        if let Some(p) = self.pause {
            cmd.args(["-d", &p.as_millis().to_string()]);
        }
        for (k, v) in &self.keys {
            cmd.args(["-key", k, v]);
        }
        if let Some((user, password)) = &self.auth {
            cmd.args(["-au", user, "-ap", password]);
        }
        let output = cmd
            .arg(target.to_string())
            .current_dir(log_dir)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("run sipp");
        SippRun {
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            errors: std::fs::read_to_string(&errors_file).unwrap_or_default(),
            messages: std::fs::read_to_string(&messages_file).unwrap_or_default(),
        }
    }
}
