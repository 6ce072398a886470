//! Browser tests: the pages `ringdesk serve` ships, in Debian's Chromium driven by
//! playwright-core (`tests/browser/`, installed by `scripts/test`). The wallboard: a
//! supervisor signs in with the keyboard on a phone-sized screen; a caller who waits in
//! the queue appears on it and disappears when they hang up, without a reload. The agent
//! desktop: an agent signs in, goes Ready, sees the caller's ticket while the desk phone
//! rings and talks, and saves a wrap-up note that reaches the ticket. The phone in the
//! page: `browser/phone.rs`. In a cluster: a desktop on one node shows the caller and
//! ticket of a call held by another node.

#[path = "browser/phone.rs"]
mod phone;
mod queue;

/// A private PostgreSQL cluster (the store crate's test harness).
#[path = "../../store/tests/common/pg.rs"]
mod pg;

/// The `[store]` of a node on the test cluster's database.
#[path = "cluster/store.rs"]
mod store;

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
/// How long the caller talks to the agent before hanging up.
const CALLER_TALKS: Duration = Duration::from_secs(8);

/// A page in Chromium, and the lines its driver prints.
struct Wallboard {
    child: Child,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Wallboard {
    async fn open(base: &str, token: &str) -> Wallboard {
        Wallboard::driver("wallboard.mjs", &[base, token]).await
    }

    /// Runs the Node driver `script` with `args`.
    async fn driver(script: &str, args: &[&str]) -> Wallboard {
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
            .arg(dir.join(script))
            .args(args)
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
                    "the page did not show {what} within {SHOW_WAIT:?} ({other:?}); it showed:\n{}",
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

    /// Like [`Wallboard::until`], but a line already shown counts too.
    async fn shown(&mut self, what: &str, want: impl Fn(&str) -> bool) -> String {
        if let Some(line) = self.seen.iter().find(|l| want(l)) {
            return line.clone();
        }
        self.until(what, want).await
    }

    /// Sends the driver a command and waits for it to be done.
    async fn command(&mut self, command: &str) {
        let stdin = self.child.stdin.as_mut().expect("the driver's stdin");
        stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("the driver reads commands");
        let word = command.split(' ').next().unwrap_or_default().to_string();
        self.until(&format!("`{command}` done"), |l| l == format!("did {word}"))
            .await;
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

/// `GET path` of the admin API with the server's generated token, as JSON.
async fn admin_get(server: &Server, path: &str) -> serde_json::Value {
    let token = server.admin_token().expect("the generated admin token");
    reqwest::Client::new()
        .get(server.admin_url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path} answers JSON: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_shows_a_waiting_caller_come_and_go_without_a_reload() {
    let server = Server::start(Options::agents(&["ana"])).await;
    // Ana is signed in but not ready: a caller who asks for an agent waits in the queue.
    let _phone = agent::signed_in_not_ready(&server, "ana", "agent_answer_hangup.xml").await;

    let token = server.admin_token().expect("the generated admin token");
    let mut board = Wallboard::open(&server.admin_url(""), token).await;
    board.until("the signed-in board", |l| l == "ready").await;
    // The flow picture: one step per node of the flow the server runs.
    let flows = admin_get(&server, "/flows").await;
    let nodes = flows[0]["nodes"]
        .as_array()
        .expect("the default flow's nodes")
        .len();
    assert!(nodes > 20, "{flows}");
    board
        .until("the flow's steps", |l| l == format!("flow nodes={nodes}"))
        .await;
    board.until("the step picked", |l| l == "detail=menu").await;
    board.until("its definition", |l| l == "source=menu:").await;
    let overflow = board
        .until("whether it fits the screen", |l| l.starts_with("overflow="))
        .await;
    assert_eq!(
        overflow, "overflow=false",
        "no sideways scrolling on a 360 px screen"
    );
    board.until("an empty queue", |l| l == "waiting=0").await;
    board
        .until("no service level before the first call", |l| {
            l == "service level=–"
        })
        .await;
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
    board
        .until("the call in progress, waiting", |l| {
            l == "calls=1 in all: 0 in the flow, 1 waiting for an agent, 0 with an agent"
        })
        .await;
    board.until("the caller gone", |l| l == "waiting=0").await;
    // Hanging up while waiting is an abandoned call: none of today's calls was answered
    // in time.
    board
        .until("the abandoned call", |l| l == "abandoned=1")
        .await;
    board
        .until("the service level", |l| l == "service level=0 %")
        .await;
    board
        .until("no call in progress", |l| l.starts_with("calls=0 in all"))
        .await;
    board
        .until("the caller counted at the menu", |l| l == "node menu=1")
        .await;
    caller
        .wait(Duration::from_secs(60))
        .await
        .assert_passed("the caller waits, then hangs up");
    board.close().await;
}

/// Agent `id`'s desktop on `server`, signed in with the configured password.
async fn sign_in(server: &Server, id: &str) -> Wallboard {
    let password = server.agent_spec(id).password;
    let mut desk = Wallboard::driver("desk.mjs", &[&server.admin_url(""), id, &password]).await;
    desk.until("the signed-in desktop", |l| l == "signed-in")
        .await;
    desk
}

/// The agent, not ready at sign-in, goes Ready from the page.
async fn make_ready(desk: &mut Wallboard) {
    desk.until("not ready", |l| l.starts_with("status=Not ready"))
        .await;
    desk.command("ready").await;
    desk.until("ready", |l| l == "status=Ready").await;
}

/// Robert calls `server`, presses 1, talks for [`CALLER_TALKS`] once answered, hangs up.
fn robert_calls(server: &Server) -> queue::sipp::SippProc {
    Sipp::new("caller_press1_hangup.xml")
        .service("support")
        .caller(ROBERT_NORMAL)
        .pause(CALLER_TALKS)
        .spawn("caller", Some(server.sip_addr()), server.dir())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_desktop_shows_the_ticket_while_the_desk_phone_rings_and_sends_the_note() {
    let server = Server::start(Options::agents(&["ana"]).wrap_up("60s")).await;
    // Ana's desk phone rings for 2 s, answers, and talks until the caller hangs up.
    let _phone = agent::signed_in_not_ready(&server, "ana", "agent_ring_answer_wait_bye.xml").await;
    let mut desk = sign_in(&server, "ana").await;
    let overflow = desk
        .until("whether it fits", |l| l.starts_with("overflow="))
        .await;
    assert_eq!(
        overflow, "overflow=false",
        "no sideways scrolling on 360 px"
    );
    make_ready(&mut desk).await;

    // Robert has one unsolved ticket: #13, "Request a product catalog", new.
    let caller = robert_calls(&server);
    desk.until("the phone ringing", |l| l == "call=Incoming call")
        .await;
    desk.until("the ticket's subject", |l| {
        l == "ticket subject=Request a product catalog"
    })
    .await;
    desk.until("the ticket's status", |l| l == "ticket status=New")
        .await;
    desk.command("overflow").await;
    assert_eq!(
        desk.seen
            .iter()
            .rev()
            .find(|l| l.starts_with("overflow="))
            .map(String::as_str),
        Some("overflow=false"),
        "the call card fits a 360 px screen"
    );
    desk.until("the call answered", |l| l == "call=On a call")
        .await;
    desk.until("the wrap-up after the caller left", |l| l == "call=Wrap-up")
        .await;
    desk.command("note Sent the catalog by email; customer happy.")
        .await;
    desk.until("the note saved", |l| {
        l == "note=Note saved: it will be added to ticket #13"
    })
    .await;
    desk.command("done").await;
    desk.until("ready again", |l| l == "status=Ready").await;
    desk.until("no call", |l| l == "call=none").await;
    caller
        .wait(Duration::from_secs(60))
        .await
        .assert_passed("the caller talks, then hangs up");

    // The note reaches the ticket through the outbox: private, with the agent's name.
    let wanted = "Wrap-up by Ana Agent:\nSent the catalog by email; customer happy.";
    let deadline = tokio::time::Instant::now() + SHOW_WAIT;
    loop {
        let comments = server.sandbox().state().comments(13).unwrap_or_default();
        if let Some(c) = comments.iter().find(|c| c.body.starts_with(wanted)) {
            assert!(!c.public, "the wrap-up note is private");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no wrap-up note on ticket 13: {comments:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Today's figures count the call answered, within the service level (it rang 2 s).
    let queues = admin_get(&server, "/queues").await;
    let support = &queues[0];
    assert_eq!(
        (&support["answered_today"], &support["abandoned_today"]),
        (&serde_json::json!(1), &serde_json::json!(0)),
        "{queues}"
    );
    assert_eq!(support["service_level"], 1.0, "{queues}");

    // A wrong password is refused on the page, and the password field gets the focus.
    let url = server.admin_url("");
    let mut wrong = Wallboard::driver("desk.mjs", &[&url, "ana", "not-her-password"]).await;
    wrong
        .until("the refusal", |l| {
            l == "sign-in refused=wrong agent or password"
        })
        .await;
    wrong.until("the focus", |l| l == "focus=password").await;
    wrong.close().await;
    // Ana signs in on a second screen: the first is signed out and says why.
    let second = sign_in(&server, "ana").await;
    desk.until("the first screen signed out", |l| l == "signed-out")
        .await;
    desk.until("why", |l| {
        l.starts_with("alert=") && l.contains("signed in elsewhere")
    })
    .await;
    second.close().await;
    desk.close().await;
}

/// Two nodes on one PostgreSQL store: ana's desk phone (SIP) registered with node B, her
/// desktop open on node A. A caller on B is offered to ana: the desktop on A shows the
/// call ringing with the caller's ticket (the screen pop B shared through the store, the
/// ticket read by A), then on a call, then wrap-up, and takes her note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desktop_on_one_node_shows_the_ticket_of_a_call_held_by_another() {
    let pg = pg::PgCluster::start();
    pg.create_db("r");
    let options = Options::agents(&["ana"]).wrap_up("60s");
    let a = Server::start(options.clone().store(store::shared_store(&pg, "node-a"))).await;
    let b = Server::start(options.store(store::shared_store(&pg, "node-b"))).await;
    let _phone = agent::signed_in_not_ready(&b, "ana", "agent_ring_answer_wait_bye.xml").await;
    let mut desk = sign_in(&a, "ana").await;
    make_ready(&mut desk).await;
    let caller = robert_calls(&b);
    desk.until("the phone ringing", |l| l == "call=Incoming call")
        .await;
    desk.until("the ticket's subject, from the other node's call", |l| {
        l == "ticket subject=Request a product catalog"
    })
    .await;
    desk.until("the call answered", |l| l == "call=On a call")
        .await;
    desk.until("the wrap-up after the caller left", |l| l == "call=Wrap-up")
        .await;
    desk.command("note Called from node B; catalog sent.").await;
    desk.until("the note saved", |l| {
        l == "note=Note saved: it will be added to ticket #13"
    })
    .await;
    caller
        .wait(Duration::from_secs(60))
        .await
        .assert_passed("the caller on B talks to ana, then hangs up");
    desk.close().await;
}
