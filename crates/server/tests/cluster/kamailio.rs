//! Kamailio for the cluster tests: the shipped `deploy/kamailio/kamailio.cfg`, unchanged,
//! run in the foreground (`-DD -E`) with its addresses, ports and timers given as `-A`
//! defines, a `dispatcher.list` naming the test's ringdesk nodes and a runtime directory
//! and pid file in a temporary directory. Ready once it answers an OPTIONS; its log is
//! captured to a file, printed when a test fails; the whole process group is stopped on
//! drop (Kamailio's worker processes outlive a killed main process).

use crate::ports::free_port;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The config file shipped in the repository: the one tested.
pub fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kamailio/kamailio.cfg")
}

/// Kamailio's timers, given as defines of the shipped config. The defaults are the
/// config's own (production) values.
#[derive(Debug, Clone)]
pub struct Timers {
    /// `DS_PING_INTERVAL`: seconds between OPTIONS probes (0: no probing).
    pub ping_interval_s: u32,
    /// `DS_PROBING_THRESHOLD`: failed probes before a node is skipped.
    pub probing_threshold: u32,
    /// `DS_INACTIVE_THRESHOLD`: answered probes before it gets calls again.
    pub inactive_threshold: u32,
    /// `FR_TIMER`: how long a silent node is waited for.
    pub fr_timer: Duration,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            ping_interval_s: 5,
            probing_threshold: 2,
            inactive_threshold: 2,
            fr_timer: Duration::from_millis(2000),
        }
    }
}

/// A running Kamailio in front of some ringdesk nodes.
pub struct Kamailio {
    child: Child,
    sip: SocketAddr,
    dir: tempfile::TempDir,
    log: PathBuf,
}

/// The `kamailio` program: Debian installs it in /usr/sbin, which a non-root PATH may lack.
fn program() -> PathBuf {
    let sbin = Path::new("/usr/sbin/kamailio");
    if sbin.exists() {
        sbin.to_owned()
    } else {
        PathBuf::from("kamailio")
    }
}

/// Fails the test with an actionable message when `kamailio` is missing.
pub fn require_kamailio() {
    if let Err(e) = Command::new(program())
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        panic!(
            "kamailio is required by the cluster tests and could not be run ({e}); install it \
             with `apt-get install -y --no-install-recommends kamailio` (scripts/test does)"
        );
    }
}

impl Kamailio {
    /// Starts Kamailio with the shipped config on a free loopback port, dispatching to
    /// `nodes` (their SIP addresses); returns once it answers an OPTIONS.
    pub fn start(nodes: &[SocketAddr], timers: &Timers) -> Kamailio {
        require_kamailio();
        let dir = tempfile::tempdir().expect("temporary directory");
        let list = dir.path().join("dispatcher.list");
        let text: String = nodes.iter().map(|n| format!("1 sip:{n} 0 0\n")).collect();
        std::fs::write(&list, text).expect("write dispatcher.list");
        let run = dir.path().join("run");
        std::fs::create_dir(&run).expect("runtime directory");
        let port = free_port();
        let sip: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = dir.path().join("kamailio.log");
        let log_file = std::fs::File::create(&log).expect("create the Kamailio log");
        let defines = [
            format!("LISTEN_UDP=udp:{sip}"),
            format!("LISTEN_TCP=tcp:{sip}"),
            format!("DISPATCHER_LIST=\"{}\"", list.display()),
            format!("DS_PING_INTERVAL={}", timers.ping_interval_s),
            format!("DS_PROBING_THRESHOLD={}", timers.probing_threshold),
            format!("DS_INACTIVE_THRESHOLD={}", timers.inactive_threshold),
            format!("FR_TIMER={}", timers.fr_timer.as_millis()),
            "CHILDREN=2".to_owned(),
        ];
        let mut cmd = Command::new(program());
        cmd.arg("-f")
            .arg(shipped_config())
            .args(["-DD", "-E"])
            .arg("-Y")
            .arg(&run)
            .arg("-P")
            .arg(run.join("kamailio.pid"));
        for d in &defines {
            cmd.arg("-A").arg(d);
        }
        let child = cmd
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                log_file.try_clone().expect("share the Kamailio log"),
            ))
            .stderr(Stdio::from(log_file))
            // Its own process group, so drop can stop the workers with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("run kamailio: {e}"));
        let mut kamailio = Kamailio {
            child,
            sip,
            dir,
            log,
        };
        kamailio.wait_ready(Duration::from_secs(15));
        kamailio
    }

    /// Where Kamailio takes SIP (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
    }

    /// A directory that lives as long as Kamailio (SIPp logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kamailio's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The lines of the config's own log messages (`ringdesk-kamailio: ...`), prefix cut.
    pub fn events(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("ringdesk-kamailio: "))
            .map(|(_, rest)| rest.to_owned())
            .collect()
    }

    /// Waits up to `wait` for an event line containing `needle`; returns when it came
    /// (measured from the call) or `None`.
    pub async fn wait_event(&self, needle: &str, wait: Duration) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if self.events().iter().any(|e| e.contains(needle)) {
                return Some(start.elapsed());
            }
            if start.elapsed() >= wait {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends OPTIONS to Kamailio itself until it answers 200 (its `request_route`
    /// answers those), or fails the test with its log.
    fn wait_ready(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "kamailio exited ({status}) before answering OPTIONS\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "kamailio did not answer OPTIONS on {} within {wait:?}\n{}",
                self.sip,
                self.log()
            );
            let uri = format!("sip:{}", self.sip);
            let answer = self.request("OPTIONS", &uri, Duration::from_millis(200));
            if answer.is_some_and(|status| status.starts_with("SIP/2.0 200")) {
                return;
            }
        }
    }

    /// Sends one out-of-dialog request (`method` to `uri`, no body) to Kamailio over UDP
    /// and returns the status line of the first final answer within `wait`.
    pub fn request(&self, method: &str, uri: &str, wait: Duration) -> Option<String> {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
        let local = socket.local_addr().expect("local address");
        let tag = local.port();
        let text = format!(
            "{method} {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};rport;branch=z9hG4bK-test-{tag}\r\n\
             From: <sip:test@{local}>;tag={tag}\r\n\
             To: <{uri}>\r\n\
             Call-ID: test-{tag}@{local}\r\n\
             CSeq: 1 {method}\r\n\
             Contact: <sip:test@{local}>\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        );
        socket
            .send_to(text.as_bytes(), self.sip)
            .expect("send to kamailio");
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 4096];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("read timeout");
            let Ok((n, _)) = socket.recv_from(&mut buf) else {
                return None;
            };
            let status = String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            // Skip provisional answers (1xx).
            if !status.starts_with("SIP/2.0 1") {
                return Some(status);
            }
        }
        None
    }

    /// Stops the process group: SIGTERM (Kamailio stops its workers), SIGKILL after 3 s.
    fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("---- kamailio log ----\n{}", self.log());
        }
    }
}
