//! Runs SIPp (Debian package `sip-tester`) with a scenario of `tests/queue/scenarios/`, in
//! the background or to completion: as a caller or softphone (UAC, with a target) or as an
//! agent's phone (UAS on a given port, no target). Every message is traced to a file, so
//! the test can read the requests SIPp received (the agent's INVITEs and their
//! screen-pop headers) and show everything when a call fails.

use super::ports::{free_port, free_rtp_port};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Most bytes of a SIPp log read back.
const MAX_LOG: u64 = 4 * 1024 * 1024;

/// One SIPp run, to configure.
#[derive(Debug, Clone)]
pub struct Sipp {
    scenario: String,
    service: Option<String>,
    keys: Vec<(String, String)>,
    pause: Option<Duration>,
    calls: u32,
    port: Option<u16>,
    auth: Option<(String, String)>,
    timeout: Duration,
}

/// What a SIPp run left behind.
#[derive(Debug)]
pub struct SippRun {
    pub label: String,
    pub success: bool,
    pub code: Option<i32>,
    pub errors: String,
    pub messages: String,
    pub screen: String,
}

impl SippRun {
    /// Everything useful to diagnose a failed run.
    pub fn report(&self) -> String {
        format!(
            "SIPp {}: exit code {:?}\n--- errors ---\n{}\n--- messages ---\n{}\n--- screen ---\n{}",
            self.label, self.code, self.errors, self.messages, self.screen
        )
    }

    /// Fails the test with the report unless the scenario passed.
    pub fn assert_passed(&self, what: &str) {
        assert!(self.success, "{what} failed:\n{}", self.report());
    }

    /// The requests of `method` SIPp received, one per Call-ID (retransmissions dropped).
    pub fn received(&self, method: &str) -> Vec<Message> {
        received(&self.messages, method)
    }
}

/// A SIP message from the trace.
#[derive(Debug, Clone)]
pub struct Message {
    pub text: String,
}

impl Message {
    /// The value of the first header `name` (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.text.split("\n\n").next().unwrap_or_default();
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// Path of a scenario file shipped with these tests.
pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/queue/scenarios")
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
            "sipp is required by the queue tests and could not be run ({e}); \
             install it with `apt-get install -y sip-tester`"
        );
    }
}

impl Sipp {
    /// A run of `scenario` (a file name in `tests/queue/scenarios/`), one call, UDP.
    pub fn new(scenario: &str) -> Sipp {
        Sipp {
            scenario: scenario.to_owned(),
            service: None,
            keys: Vec::new(),
            pause: None,
            calls: 1,
            port: None,
            auth: None,
            timeout: Duration::from_secs(120),
        }
    }

    /// The request-URI user (`-s`).
    pub fn service(mut self, s: &str) -> Sipp {
        self.service = Some(s.to_owned());
        self
    }

    /// Sets `[name]` in the scenario.
    pub fn key(mut self, name: &str, value: impl ToString) -> Sipp {
        self.keys.push((name.to_owned(), value.to_string()));
        self
    }

    /// The caller ID (`[caller]` in the caller scenarios).
    pub fn caller(self, number: &str) -> Sipp {
        self.key("caller", number)
    }

    /// Media at a test-owned RTP address (`[rtp_ip]`/`[rtp_port]`).
    pub fn rtp(self, addr: SocketAddr) -> Sipp {
        self.key("rtp_ip", addr.ip()).key("rtp_port", addr.port())
    }

    /// Length of the scenario's `<pause/>` without attributes (`-d`).
    pub fn pause(mut self, pause: Duration) -> Sipp {
        self.pause = Some(pause);
        self
    }

    /// Number of calls before SIPp exits (`-m`).
    pub fn calls(mut self, n: u32) -> Sipp {
        self.calls = n;
        self
    }

    /// The local SIP port (`-p`; default: a free one).
    pub fn port(mut self, port: u16) -> Sipp {
        self.port = Some(port);
        self
    }

    /// Digest credentials (`-au`, `-ap`).
    pub fn auth(mut self, user: &str, password: &str) -> Sipp {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// SIPp's own global timeout (`-timeout`).
    pub fn timeout(mut self, t: Duration) -> Sipp {
        self.timeout = t;
        self
    }

    /// Starts SIPp towards `target` (None: a UAS waiting for calls); `label` names its
    /// log files in `log_dir` and its reports.
    pub fn spawn(&self, label: &str, target: Option<SocketAddr>, log_dir: &Path) -> SippProc {
        require_sipp();
        let port = self.port.unwrap_or_else(free_port);
        let media = free_rtp_port();
        let errors = log_dir.join(format!("sipp-{label}-{port}-errors.log"));
        let messages = log_dir.join(format!("sipp-{label}-{port}-messages.log"));
        let screen = log_dir.join(format!("sipp-{label}-{port}-screen.log"));
        let screen_file = std::fs::File::create(&screen).expect("create the SIPp screen log");
        let mut cmd = Command::new("sipp");
        cmd.arg("-sf")
            .arg(scenario_path(&self.scenario))
            .args(["-m", &self.calls.to_string(), "-t", "u1", "-i", "127.0.0.1"])
            .args(["-p", &port.to_string(), "-mp", &media.to_string()])
            .args(["-timeout", &format!("{}s", self.timeout.as_secs())])
            .args(["-timeout_error", "-nostdin", "-trace_err", "-trace_msg"])
            .arg("-error_file")
            .arg(&errors)
            .arg("-message_file")
            .arg(&messages);
        if let Some(s) = &self.service {
            cmd.args(["-s", s]);
        }
        if let Some(p) = self.pause {
            cmd.args(["-d", &p.as_millis().to_string()]);
        }
        if let Some((user, password)) = &self.auth {
            cmd.args(["-au", user, "-ap", password]);
        }
        for (k, v) in &self.keys {
            cmd.args(["-key", k, v]);
        }
        if let Some(t) = target {
            cmd.arg(t.to_string());
        }
        let child = cmd
            .current_dir(log_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(screen_file))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("run sipp");
        SippProc {
            child,
            label: label.to_owned(),
            port,
            errors,
            messages,
            screen,
        }
    }

    /// Runs to completion against `target`.
    pub async fn run(&self, label: &str, target: SocketAddr, log_dir: &Path) -> SippRun {
        let wait = self.timeout + Duration::from_secs(10);
        self.spawn(label, Some(target), log_dir).wait(wait).await
    }
}

/// A SIPp process running; killed when dropped.
pub struct SippProc {
    child: Child,
    label: String,
    port: u16,
    errors: PathBuf,
    messages: PathBuf,
    screen: PathBuf,
}

impl SippProc {
    /// The SIP port it uses (an agent phone's contact port).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The message trace so far (`-trace_msg`: every message sent and received, in order).
    pub fn messages(&self) -> String {
        read_bounded(&self.messages)
    }

    /// The requests of `method` received so far, one per Call-ID.
    pub fn received(&self, method: &str) -> Vec<Message> {
        received(&read_bounded(&self.messages), method)
    }

    /// Waits up to `wait` until `n` requests of `method` were received.
    pub async fn wait_received(&self, method: &str, n: usize, wait: Duration) -> Vec<Message> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let got = self.received(method);
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "SIPp {} received {} of {n} {method} within {wait:?}\n--- messages ---\n{}",
                self.label,
                got.len(),
                read_bounded(&self.messages)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits up to `wait` for SIPp to exit (killing it after that) and collects its logs.
    pub async fn wait(mut self, wait: Duration) -> SippRun {
        let status = match tokio::time::timeout(wait, self.child.wait()).await {
            Ok(Ok(s)) => Some(s),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        };
        let mut screen = read_bounded(&self.screen);
        if status.is_none() {
            screen.push_str(&format!("\n(killed: still running after {wait:?})"));
        }
        SippRun {
            label: self.label.clone(),
            success: status.is_some_and(|s| s.success()),
            code: status.and_then(|s| s.code()),
            errors: read_bounded(&self.errors),
            messages: read_bounded(&self.messages),
            screen,
        }
    }
}

fn read_bounded(path: &Path) -> String {
    use std::io::Read;
    let mut out = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(MAX_LOG).read_to_end(&mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Which way a message of a `-trace_msg` log went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Received,
    Sent,
}

/// The messages of a `-trace_msg` log, in order, each with its way (blocks that are
/// neither, such as SIPp's own notes, are left out).
pub fn trace(log: &str) -> Vec<(Way, Message)> {
    let mut out = Vec::new();
    for block in log.split("-----------------------------------------------") {
        let mut parts = block.splitn(2, '\n');
        let _stamp = parts.next();
        let rest = parts.next().unwrap_or_default();
        let Some((what, text)) = rest.split_once("\n\n") else {
            continue;
        };
        let way = if what.contains("message received") {
            Way::Received
        } else if what.contains("message sent") {
            Way::Sent
        } else {
            continue;
        };
        let text = text.replace("\r\n", "\n");
        out.push((
            way,
            Message {
                text: text.trim_start().to_owned(),
            },
        ));
    }
    out
}

/// Received requests of `method` in a `-trace_msg` log, first of each Call-ID.
fn received(log: &str, method: &str) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut seen_ids: Vec<String> = Vec::new();
    let start = format!("{method} ");
    for (way, m) in trace(log) {
        if way != Way::Received || !m.text.starts_with(&start) {
            continue;
        }
        let id = m.header("Call-ID").unwrap_or_default();
        if !seen_ids.contains(&id) {
            seen_ids.push(id);
            out.push(m);
        }
    }
    out
}
