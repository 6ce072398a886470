//! Browser tests: the pages `ringdesk serve` ships, in Debian's Chromium driven by
//! playwright-core (`tests/browser/`, installed by `scripts/test`). The wallboard: a
//! supervisor signs in with the keyboard on a phone-sized screen; a caller who waits in
//! the queue appears on it and disappears when they hang up, without a reload.

mod queue;

use queue::agent;
use queue::demo::ROBERT_NORMAL;
use queue::server::{Options, Server};
use queue::sipp::Sipp;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// Longest wait for the page to show something.
const SHOW_WAIT: Duration = Duration::from_secs(30);
/// How long the caller waits in the queue before hanging up.
const CALLER_WAITS: Duration = Duration::from_secs(8);

/// The wallboard in Chromium, and the lines its driver prints.
struct Wallboard {
    child: Child,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Wallboard {
    async fn open(base: &str, token: &str) -> Wallboard {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            Path::new("/usr/bin/chromium").exists(),
            "the browser tests need Debian's chromium: apt-get install -y chromium (scripts/test does)"
        );
        assert!(
            dir.join("node_modules/playwright-core").exists(),
            "the browser tests need playwright-core: (cd crates/server/tests/browser && npm ci) (scripts/test does)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("wallboard.mjs"))
            .arg(base)
            .arg(token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run node (apt-get install -y nodejs npm)");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Wallboard {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line for which `want` holds; panics with everything seen otherwise.
    async fn until(&mut self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + SHOW_WAIT;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Ok(Ok(Some(line))) => line,
                other => panic!(
                    "the wallboard did not show {what} within {SHOW_WAIT:?} ({other:?}); it showed:\n{}",
                    self.seen.join("\n")
                ),
            };
            assert!(
                !line.starts_with("error"),
                "{line}\n{}",
                self.seen.join("\n")
            );
            self.seen.push(line.clone());
            if want(&line) {
                return line;
            }
        }
    }

    async fn close(mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"quit\n").await;
        }
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the driver ends")
            .expect("the driver's status");
        assert!(status.success(), "{}", self.seen.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_shows_a_waiting_caller_come_and_go_without_a_reload() {
    let server = Server::start(Options::agents(&["ana"])).await;
    // Ana is signed in but not ready: a caller who asks for an agent waits in the queue.
    let phone = agent::phone(
        &server,
        "ana",
        "agent_answer_hangup.xml",
        1,
        Duration::ZERO,
        &[],
    );
    agent::log_in(&server, "ana", &phone).await;
    server.must_set_state("ana", "not_ready").await;

    let token = server.admin_token().expect("the generated admin token");
    let mut board = Wallboard::open(&server.admin_url(""), token).await;
    board.until("the signed-in board", |l| l == "ready").await;
    let overflow = board
        .until("whether it fits the screen", |l| l.starts_with("overflow="))
        .await;
    assert_eq!(
        overflow, "overflow=false",
        "no sideways scrolling on a 360 px screen"
    );
    board.until("an empty queue", |l| l == "waiting=0").await;
    board
        .until("ana not ready", |l| l == "agent ana=not ready")
        .await;

    let caller = Sipp::new("caller_press1_hangup.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .pause(CALLER_WAITS)
        .spawn("caller", Some(server.sip_addr()), server.dir());
    board
        .until("the caller waiting", |l| l == "waiting=1")
        .await;
    board.until("the caller gone", |l| l == "waiting=0").await;
    caller
        .wait(Duration::from_secs(60))
        .await
        .assert_passed("the caller waits, then hangs up");
    board.close().await;
}
