//! The two drivers of the call session agree: the same call, from the same demo caller
//! pressing the same keys against the same Zendesk data, runs once through `ringdesk call
//! --json --store` (the simulator: virtual clock, scripted caller and queue) and once
//! through `ringdesk serve` with baresip as the caller (real SIP, RTP keys, a SIPp agent
//! who registers and answers). Both must show the same prompts in order (nodes), the same
//! flow path (exits taken), the same HTTP requests to Zendesk during the call, the same menu
//! choices, queue priority and interaction record, the same outbox item and the same
//! private note on the same ticket. A rule changed in one driver only fails it.
//!
//! What is observed where:
//! - simulator: the JSON transcript (`play`, `music`, `exit`, `queue` lines), the record
//!   and outbox of its `--store` database (`ringdesk interactions|outbox list --json`);
//! - server: its log (`prompt`/`music` lines with the node, `ringdesk::runtime::call=debug`;
//!   exits taken at trace level), the admin API (`GET /interactions`, `GET /outbox`);
//! - both: a test-owned Zendesk sandbox each, recording every request, and the notes that
//!   land on its tickets.
//!
//! The phone caller acts on what the server says it plays (a key once the menu prompt is
//! queued, a hang-up once hold music starts), so no step waits on a guessed duration; the
//! simulator's caller acts when no prompt plays. Both are the same point of the flow.
//! Each simulated call has its own sandbox; the servers (each with its own sandbox and
//! agent) run at once, the calls of one server one after the other.

mod common;

/// The server child and the SIP peers, shared with the voice and queue suites.
mod support {
    // Each test binary uses a different subset of these helpers.
    #![allow(dead_code)]
    #[path = "../voice/baresip.rs"]
    pub mod baresip;
    pub mod ports;
    pub mod serve_child;
    #[path = "../queue/sipp.rs"]
    pub mod sipp;
}

use common::{call, Recorded, Sandbox};
use ringdesk_zendesk::sandbox::{DataSet, ErrorFault, Faults};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::baresip::Baresip;
use support::ports::free_port;
use support::serve_child::{zendesk_connector, Launch, ServeChild};
use support::sipp::{Sipp as AgentSipp, SippProc};

/// The one agent of every server, named like the simulator's scripted agent, so that the
/// records (and the notes naming the agent) can be compared whole.
const AGENT_ID: &str = "agent-1";
const AGENT_NAME: &str = "Ana Souza";
const AGENT_PASSWORD: &str = "s3cret-agent-1";
/// The called number (DNIS) on both sides.
const SERVICE: &str = "support";
/// Poll interval for the server's log and admin API.
const POLL: Duration = Duration::from_millis(50);
/// Longest wait for a cue in the server's log, from the dial.
const CUE_WAIT: Duration = Duration::from_secs(90);
/// Longest wait for the record once the caller's last step is done.
const RECORD_WAIT: Duration = Duration::from_secs(60);
/// Requests one try of the default flow's `lookup_user` makes against a failing Zendesk
/// (the first and its `retries: 2`).
const REQUESTS_PER_LOOKUP: usize = 3;
/// Longest wait for the outbox to deliver the note after the call.
const OUTBOX_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for an agent state to show.
const STATE_WAIT: Duration = Duration::from_secs(15);
/// How long the agent who answers talks before hanging up (the simulator's `--talk`).
const AGENT_TALK: Duration = Duration::from_secs(2);

// ----- scenarios -----

/// What the server's log says the caller is played: `prompt` or `music` of a node.
#[derive(Debug, Clone, Copy)]
enum Cue {
    /// The `nth` (from 1) prompt of `node`.
    Prompt(&'static str, usize),
    /// Music of `node`.
    Music(&'static str),
}

/// What the phone caller does on a cue.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// An RFC 2833 key press.
    Key(char),
    /// The caller hangs up (BYE).
    HangUp,
}

/// The queue's side of the call, the same on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agent {
    /// Agent-1 is logged in but not ready: the queue takes the call, nobody answers.
    /// Simulator: `--agents 1 --answer-after never`.
    NotReady,
    /// Agent-1 is available; its phone answers at once, talks for [`AGENT_TALK`] and hangs
    /// up. Simulator: `--agents 1 --answer-after 1s --talk 2s`.
    Answers,
}

/// What the flow must do whatever the drivers: catches both drivers failing alike (a
/// caller who never got through, a scenario that tests nothing).
#[derive(Debug, Clone, Copy)]
struct Expect {
    end_reason: &'static str,
    priority: Option<u64>,
    /// Keys of the record's menu path.
    menu_keys: &'static [&'static str],
    /// The ticket that gets the note, if any.
    note_on: Option<u64>,
}

/// One call, run through both drivers.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    name: &'static str,
    /// Caller ID (ANI) on both sides.
    caller: &'static str,
    /// The simulator's `--press`.
    press: &'static str,
    /// The phone caller's steps, each on its cue, in order.
    phone: &'static [(Cue, Act)],
    agent: Agent,
    /// Zendesk answers 500 to everything (from just before the call).
    zendesk_down: bool,
    expect: Expect,
}

/// The scenarios, by server: the servers start and run at once, the calls of one server
/// one after the other (a server's start costs seconds of CPU: its prompts are rendered).
/// Calls sharing a server must not depend on each other's changes to its Zendesk data: here
/// no two of them note on the same caller's tickets before that caller calls again, so
/// each call meets the demo data as the simulator's fresh sandbox does.
fn servers() -> Vec<Vec<Scenario>> {
    let all = [
        // Ana (pt-BR, open high ticket 2) listens to her status and presses 2.
        Scenario {
            name: "known_caller_presses_2",
            caller: "+5511987650101",
            press: "2",
            phone: &[(Cue::Prompt("menu", 1), Act::Key('2'))],
            agent: Agent::NotReady,
            zendesk_down: false,
            expect: Expect {
                end_reason: "flow",
                priority: None,
                menu_keys: &["2"],
                note_on: Some(2),
            },
        },
        // John (urgent ticket 10) presses 1: priority 1, the agent answers, talks and
        // hangs up; the flow ends the call.
        Scenario {
            name: "urgent_caller_presses_1_agent_answers",
            caller: "+12125550107",
            press: "1",
            phone: &[(Cue::Prompt("menu", 1), Act::Key('1'))],
            agent: Agent::Answers,
            zendesk_down: false,
            expect: Expect {
                end_reason: "agent",
                priority: Some(1),
                menu_keys: &["1"],
                note_on: Some(10),
            },
        },
        // An anonymous caller never reaches Zendesk; an invalid key, then 2.
        Scenario {
            name: "anonymous_caller_invalid_key_then_2",
            caller: "anonymous",
            press: "9,2",
            phone: &[
                (Cue::Prompt("menu", 1), Act::Key('9')),
                (Cue::Prompt("menu", 2), Act::Key('2')),
            ],
            agent: Agent::NotReady,
            zendesk_down: false,
            expect: Expect {
                end_reason: "flow",
                priority: None,
                // The record keeps the menu's final choice (the invalid key is not a step).
                menu_keys: &["2"],
                note_on: None,
            },
        },
        // Robert (new ticket 13, no priority) presses nothing: the menu times out three
        // times (two retries), is exhausted and queues him at 5; he hangs up on hold. The simulator's caller
        // hangs up 40 s after the first menu prompt (its queue music runs from ~27 s to
        // ~57 s after it).
        Scenario {
            name: "no_key_at_all",
            caller: "+13125550109",
            press: "wait 40s,hangup",
            phone: &[(Cue::Music("hold_music"), Act::HangUp)],
            agent: Agent::NotReady,
            zendesk_down: false,
            expect: Expect {
                end_reason: "caller",
                priority: Some(5),
                menu_keys: &["exhausted"],
                note_on: Some(13),
            },
        },
        // Zendesk answers 500 (retried): the apology, then the queue at 5; the caller
        // hangs up on hold.
        Scenario {
            name: "zendesk_failing",
            caller: "+12125550107",
            press: "hangup",
            phone: &[(Cue::Music("hold_music"), Act::HangUp)],
            agent: Agent::NotReady,
            zendesk_down: true,
            expect: Expect {
                end_reason: "caller",
                priority: Some(5),
                menu_keys: &[],
                note_on: None,
            },
        },
    ];
    let [known, urgent, anonymous, no_key, down] = all;
    // The no-key call is the longest (three menu timeouts): a server of its own.
    vec![vec![known, anonymous, down, urgent], vec![no_key]]
}

// ----- what one driver showed -----

/// What one driver did with the call, normalized for comparison.
#[derive(Debug, Default)]
struct Observed {
    /// `prompt <node>` / `music <node>`, in order.
    heard: Vec<String>,
    /// `<node> -[<exit>]-> <target>`, in order.
    exits: Vec<String>,
    /// Zendesk requests during the call: `METHOD path ?query → status`.
    http: Vec<String>,
    /// The record's menu path: `<key> → <node>`.
    menu: Vec<String>,
    /// The record's queue and priority.
    queue: String,
    /// What the queue was asked for (`queue`, priority, result): the simulator's
    /// transcript only (the server's queue task does not log it).
    asked: Vec<(String, u64, String)>,
    /// The record, field by field (`name = value`; times and durations as `<set>`).
    record: Vec<String>,
    /// Outbox items: `METHOD path key=<ordering key> <state>` (`call:<call>` for the call's
    /// own key; the rest of a deferred handler without its state).
    outbox: Vec<String>,
    /// New comments: `ticket <id> (private|public): <body, times masked>`.
    notes: Vec<String>,
    /// The raw record, for the anchors.
    raw_record: Value,
    /// How long the driver's phases took (for the summary).
    timing: String,
}

/// The fields of a record that are times (compared as set or not).
const TIME_FIELDS: &[&str] = &[
    "arrived_at",
    "answered_at",
    "queued_at",
    "offered_at",
    "agent_answered_at",
    "ended_at",
    "wait_seconds",
    "talk_seconds",
];

impl Observed {
    /// Fills the parts that come from the record, the outbox and the sandbox.
    fn from_stores(
        record: Value,
        outbox: &[Value],
        requests: &[Recorded],
        sandbox: &Sandbox,
        comments_before: &BTreeMap<u64, usize>,
    ) -> Observed {
        let call_id = record["call_id"].as_str().unwrap_or_default().to_owned();
        // Deliveries of the outbox's requests; an item holding the rest of a deferred
        // handler (its request is a lookup) is not one: its lookups stay compared.
        let note_paths: Vec<(String, String)> = outbox
            .iter()
            .filter(|e| e["item"]["resume"].is_null())
            .map(|e| (text(&e["item"]["method"]), text(&e["item"]["path"])))
            .collect();
        let mut http: Vec<String> = requests
            .iter()
            .filter(|r| r.path.starts_with("/api/"))
            .filter(|r| !is_note_delivery(r, &note_paths))
            .map(describe_request)
            .collect();
        // The outbox's own tries of a deferred rest come after the call and depend on how
        // long each driver let its outbox run: each try replays the handler's lookup with
        // its retries. Left out, so that what is compared is what the call did.
        let replays: usize = outbox
            .iter()
            .filter(|e| !e["item"]["resume"].is_null())
            .map(|e| e["attempts"].as_u64().unwrap_or(0) as usize * REQUESTS_PER_LOOKUP)
            .sum();
        http.truncate(http.len().saturating_sub(replays));
        let menu = record["menu_path"]
            .as_array()
            .map(|steps| {
                steps
                    .iter()
                    .map(|s| format!("{} → {}", text(&s["key"]), text(&s["node"])))
                    .collect()
            })
            .unwrap_or_default();
        let queue = format!("queue {} priority {}", record["queue"], record["priority"]);
        let outbox = outbox
            .iter()
            .map(|e| {
                // A rest's state says how far the driver's outbox got, not what the
                // call did: not compared.
                let state = if e["item"]["resume"].is_null() {
                    text(&e["state"])
                } else {
                    "(rest of the handler)".to_string()
                };
                format!(
                    "{} {} key={} {state}",
                    text(&e["item"]["method"]),
                    text(&e["item"]["path"]),
                    text(&e["item"]["ordering_key"]).replace(&call_id, "<call>"),
                )
            })
            .collect();
        Observed {
            http,
            menu,
            queue,
            record: record_fields(&record, sandbox.url()),
            outbox,
            notes: new_notes(sandbox, comments_before, &call_id),
            raw_record: record,
            ..Observed::default()
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The request delivers (or checks) an outbox item: the post-call note, which the server
/// sends after the call through its outbox (compared on its own).
fn is_note_delivery(r: &Recorded, note_paths: &[(String, String)]) -> bool {
    note_paths.iter().any(|(method, path)| {
        let stem = path.trim_end_matches(".json");
        (r.method == *method && r.path == *path)
            || (r.method == "GET" && r.path == format!("{stem}/comments.json"))
    })
}

fn describe_request(r: &Recorded) -> String {
    let query = r
        .query_pairs()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let status = r.status.map_or("-".to_owned(), |s| s.to_string());
    if query.is_empty() {
        format!("{} {} → {status}", r.method, r.path)
    } else {
        format!("{} {} ?{query} → {status}", r.method, r.path)
    }
}

/// The record as `field = value` lines: no call id, times only as set or not, the
/// sandbox's address (in error texts) masked.
fn record_fields(record: &Value, zendesk_url: &str) -> Vec<String> {
    let Some(obj) = record.as_object() else {
        return vec![format!("not a record: {record}")];
    };
    // `media` is what the bridge measured of the call's RTP: the simulator carries none.
    obj.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "call_id" | "media"))
        .map(|(k, v)| {
            let v = if TIME_FIELDS.contains(&k.as_str()) && !v.is_null() {
                "<set>".to_owned()
            } else {
                v.to_string().replace(zendesk_url, "<zendesk>")
            };
            format!("{k} = {v}")
        })
        .collect()
}

/// Comments added to the sandbox's tickets since `before` (counts per ticket), with
/// times, durations and the call's reference masked.
fn new_notes(sandbox: &Sandbox, before: &BTreeMap<u64, usize>, call_id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (id, seen) in before {
        let all = sandbox.state().comments(*id).unwrap_or_default();
        for c in all.iter().skip(*seen) {
            let kind = if c.public { "public" } else { "private" };
            out.push(format!(
                "ticket {id} ({kind}): {}",
                mask_note(&c.body, call_id)
            ));
        }
    }
    out
}

/// A note without what differs between a real and a simulated call: its date and time,
/// its durations (`<n> s`) and the line that names the call.
fn mask_note(body: &str, call_id: &str) -> String {
    let kept: Vec<&str> = body
        .lines()
        .filter(|l| call_id.is_empty() || !l.contains(call_id))
        .collect();
    let text = kept.join(" ");
    let chars: Vec<char> = text.trim().chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let is_digit = |j: usize| chars.get(j).is_some_and(char::is_ascii_digit);
    while i < chars.len() {
        // "YYYY-MM-DD HH:MM:SS"
        let stamp = "dddd-dd-dd dd:dd:dd";
        if stamp.chars().enumerate().all(|(k, p)| match p {
            'd' => is_digit(i + k),
            c => chars.get(i + k) == Some(&c),
        }) {
            out.push_str("<time>");
            i += stamp.len();
            continue;
        }
        // "<digits> s" followed by a non-letter: a duration.
        if is_digit(i) && (i == 0 || !is_digit(i - 1)) {
            let mut j = i;
            while is_digit(j) {
                j += 1;
            }
            let unit = chars.get(j) == Some(&' ')
                && chars.get(j + 1) == Some(&'s')
                && !chars.get(j + 2).is_some_and(|c| c.is_alphanumeric());
            if unit {
                out.push_str("<n> s");
                i = j + 2;
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

// ----- the simulator -----

async fn run_sim(sc: &Scenario) -> Observed {
    let sandbox = Sandbox::start().await;
    let comments = comment_counts(&sandbox);
    if sc.zendesk_down {
        sandbox.state().set_faults(failing()).expect("valid faults");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = dir.path().join("sim.sqlite");
    let mut builder = call(sc.caller)
        .press(sc.press)
        .to(SERVICE)
        .store(&store)
        .agents(1);
    builder = match sc.agent {
        Agent::NotReady => builder.answer_after("never"),
        Agent::Answers => builder
            .answer_after("1s")
            .talk(&format!("{}s", AGENT_TALK.as_secs())),
    };
    let out = builder.run(&sandbox).await;
    out.assert_completed();
    let t = &out.transcript;
    let heard = t
        .lines
        .iter()
        .filter_map(|v| match v["kind"].as_str() {
            Some(kind @ ("play" | "music")) => Some(format!(
                "{} {}",
                if kind == "play" { "prompt" } else { "music" },
                text(&v["node"])
            )),
            _ => None,
        })
        .collect();
    let exits = t
        .of_kind("exit")
        .iter()
        .map(|v| {
            let target = v["target"].as_str().unwrap_or("-");
            format!("{} -[{}]-> {target}", text(&v["node"]), text(&v["exit"]))
        })
        .collect();
    let records = cli_json(&["interactions", "list", "--json", "--store"], &store).await;
    let records = records.as_array().cloned().unwrap_or_default();
    assert_eq!(
        records.len(),
        1,
        "the simulator recorded one call: {records:#?}\n{}",
        out.stdout
    );
    let outbox = cli_json(&["outbox", "list", "--json", "--store"], &store).await;
    let outbox = outbox.as_array().cloned().unwrap_or_default();
    let mut obs = Observed::from_stores(
        records[0].clone(),
        &outbox,
        &sandbox.requests(),
        &sandbox,
        &comments,
    );
    obs.asked = t
        .queues()
        .into_iter()
        .map(|q| (q.queue, q.priority, q.result))
        .collect();
    obs.heard = heard;
    obs.exits = exits;
    obs
}

/// Runs `ringdesk <args> <store>` and parses its JSON output.
async fn cli_json(args: &[&str], store: &Path) -> Value {
    let out = tokio::process::Command::new(common::run::binary())
        .args(args)
        .arg(store)
        .env_remove("RINGDESK_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run ringdesk");
    assert!(
        out.status.success(),
        "ringdesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ringdesk {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn failing() -> Faults {
    Faults {
        error: Some(ErrorFault {
            status: 500,
            count: None,
            fraction: None,
        }),
        ..Faults::default()
    }
}

// ----- the server -----

/// One `ringdesk serve` with its recording sandbox and agent-1 logged in (its phone, when
/// a call on this server needs an agent who answers). Calls on one server run one after
/// the other, each over (record written, note delivered) before the next; each call's
/// log lines, requests, record, outbox items and notes are told apart by where they start.
struct Line {
    serve: ServeChild,
    sandbox: Sandbox,
    _phone: Option<SippProc>,
}

fn serve_config(zendesk_url: &str, dir: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[sip]\nlisten = \"127.0.0.1:0\"");
    let _ = writeln!(s, "[admin]\nlisten = \"127.0.0.1:0\"");
    let _ = writeln!(s, "[store]\npath = {:?}", dir.join("ringdesk.sqlite"));
    s.push_str(&zendesk_connector(zendesk_url));
    let _ = writeln!(
        s,
        "[[agents]]\nid = {AGENT_ID:?}\nname = {AGENT_NAME:?}\npassword = {AGENT_PASSWORD:?}\nqueues = [\"support\"]"
    );
    let _ = writeln!(
        s,
        "[queues.support]\nring_timeout = \"5s\"\nwrap_up = \"1s\""
    );
    s
}

/// A line of the server's log from the call task: its message and fields.
#[derive(Debug, Clone)]
struct LogLine {
    message: String,
    fields: BTreeMap<String, String>,
}

/// The call task's `prompt`/`music` lines (`ringdesk::runtime::call*` targets, text format:
/// `... DEBUG ringdesk::runtime::call: prompt call=<id> node="menu"`).
fn call_lines(log: &str) -> Vec<LogLine> {
    log.lines()
        .filter_map(|line| {
            let at = line.find(" ringdesk::runtime::call")?;
            let (_, rest) = line[at + 1..].split_once(": ")?;
            let mut tokens = rest.split_whitespace();
            let message = tokens.next()?.to_owned();
            let fields: BTreeMap<String, String> = tokens
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
                .collect();
            (matches!(message.as_str(), "prompt" | "music" | "exit") && fields.contains_key("node"))
                .then_some(LogLine { message, fields })
        })
        .collect()
}

/// `prompt <node>` / `music <node>` from the server's log.
fn heard_in_log(log: &str) -> Vec<String> {
    call_lines(log)
        .iter()
        .filter(|l| l.message != "exit")
        .map(|l| format!("{} {}", l.message, l.fields["node"]))
        .collect()
}

/// The flow's exits from the server's log (`exit call=<id> node=a exit=b target=c`, `-`
/// for none).
fn exits_in_log(log: &str) -> Vec<String> {
    call_lines(log)
        .iter()
        .filter(|l| l.message == "exit")
        .map(|l| {
            let f = |k: &str| l.fields.get(k).cloned().unwrap_or_else(|| "?".into());
            format!("{} -[{}]-> {}", f("node"), f("exit"), f("target"))
        })
        .collect()
}

/// How many comments each ticket of the sandbox has now.
fn comment_counts(sandbox: &Sandbox) -> BTreeMap<u64, usize> {
    let data = DataSet::demo().expect("demo data loads");
    data.tickets
        .keys()
        .map(|id| {
            let n = sandbox.state().comments(*id).map_or(0, |c| c.len());
            (*id, n)
        })
        .collect()
}

impl Line {
    /// Starts the sandbox, the server and agent-1 (its phone takes `answers` calls).
    async fn start(answers: u32) -> Line {
        let sandbox = Sandbox::start().await;
        let launch = Launch {
            rust_log: "info,ringdesk=debug,rsipstack=warn".into(),
            start_timeout: Duration::from_secs(150),
            tail_lines: 60,
        };
        // The child's own sandbox stays unused: the config points at ours, which records.
        let serve = ServeChild::start(&launch, |_, dir| serve_config(sandbox.url(), dir)).await;
        let phone = (answers > 0).then(|| {
            AgentSipp::new("agent_answer_hangup.xml")
                .calls(answers)
                .pause(AGENT_TALK)
                .spawn("phone", None, serve.dir())
        });
        let contact = phone.as_ref().map_or_else(free_port, SippProc::port);
        AgentSipp::new("register.xml")
            .service(AGENT_ID)
            .auth(AGENT_ID, AGENT_PASSWORD)
            .key("contact_port", contact)
            .key("expires", 600)
            .timeout(Duration::from_secs(20))
            .run("register", serve.sip_addr(), serve.dir())
            .await
            .assert_passed("REGISTER of agent-1");
        Line {
            serve,
            sandbox,
            _phone: phone,
        }
    }

    async fn get_json(&self, path: &str) -> Value {
        let resp = self
            .serve
            .http()
            .get(self.serve.admin_url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json()
            .await
            .unwrap_or_else(|e| panic!("GET {path} is not JSON: {e}"))
    }

    /// Puts agent-1 in `state` (`available` or `not_ready`), waiting out a wrap-up.
    async fn agent_state(&self, state: &str) {
        let deadline = Instant::now() + STATE_WAIT;
        loop {
            let agents = self.get_json("/agents").await;
            let now = agents
                .as_array()
                .and_then(|a| a.iter().find(|a| a["id"] == AGENT_ID))
                .map(|a| text(&a["state"]));
            if now.as_deref() == Some(state) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{AGENT_ID} not {state} within {STATE_WAIT:?}: {agents}"
            );
            if matches!(now.as_deref(), Some("available" | "not_ready")) {
                let _ = self
                    .serve
                    .http()
                    .post(self.serve.admin_url(&format!("/agents/{AGENT_ID}/state")))
                    .json(&serde_json::json!({"state": state, "reason": "test"}))
                    .send()
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The server's log from line `from` on.
    fn log_from(&self, from: usize) -> String {
        let log = self.serve.log();
        let mut out = String::new();
        for l in log.lines().skip(from) {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// Waits until the log from line `from` shows `cue`.
    async fn wait_cue(&self, from: usize, cue: Cue, deadline: Instant) {
        loop {
            let heard = heard_in_log(&self.log_from(from));
            let seen = match cue {
                Cue::Prompt(node, nth) => {
                    let want = format!("prompt {node}");
                    heard.iter().filter(|h| **h == want).count() >= nth
                }
                Cue::Music(node) => heard.contains(&format!("music {node}")),
            };
            if seen {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ringdesk serve never played {cue:?}; it played: {heard:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs the scenario's call with baresip as the caller.
    async fn call(&self, sc: &Scenario) -> Observed {
        let t0 = Instant::now();
        self.agent_state(match sc.agent {
            Agent::NotReady => "not_ready",
            Agent::Answers => "available",
        })
        .await;
        let known: Vec<String> = self
            .get_json("/interactions")
            .await
            .as_array()
            .map(|a| a.iter().map(|r| text(&r["call_id"])).collect())
            .unwrap_or_default();
        let log_from = self.serve.log().lines().count();
        let requests_from = self.sandbox.requests().len();
        let comments = comment_counts(&self.sandbox);
        if sc.zendesk_down {
            self.sandbox
                .state()
                .set_faults(failing())
                .expect("valid faults");
        }
        let dir = self.serve.dir().join(format!("baresip-{}", sc.name));
        let phone = Baresip::start(&dir, sc.caller).await;
        phone_command(
            &phone,
            "dial",
            &format!("sip:{SERVICE}@{}", self.serve.sip_addr()),
        )
        .await;
        let deadline = Instant::now() + CUE_WAIT;
        for (cue, act) in sc.phone {
            self.wait_cue(log_from, *cue, deadline).await;
            match act {
                Act::Key(k) => phone_command(&phone, "sndcode", &k.to_string()).await,
                Act::HangUp => phone_command(&phone, "hangup", "").await,
            }
        }
        // The record is written when the call (call-ended handlers included) is over.
        let deadline = Instant::now() + RECORD_WAIT;
        let record = loop {
            let all = self.get_json("/interactions").await;
            let new: Vec<Value> = all
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|r| !known.contains(&text(&r["call_id"])))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if let Some(r) = new.first() {
                assert_eq!(new.len(), 1, "one call, one record: {new:#?}");
                break r.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no interaction record within {RECORD_WAIT:?}; played so far: {:?}",
                heard_in_log(&self.log_from(log_from))
            );
            tokio::time::sleep(POLL).await;
        };
        let call_id = text(&record["call_id"]);
        // Then the outbox delivers the note.
        let deadline = Instant::now() + OUTBOX_WAIT;
        let (outbox, requests) = loop {
            let all = self.get_json("/outbox").await;
            let mine: Vec<Value> = all
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|e| e["call_id"] == call_id.as_str())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            // Done, or (the rest of a handler deferred while Zendesk is down) tried.
            let settled = mine.iter().all(|e| {
                matches!(e["state"].as_str(), Some("delivered" | "dead" | "dropped"))
                    || (!e["item"]["resume"].is_null()
                        && e["attempts"].as_u64() >= Some(1)
                        && e["state"] != "in_flight")
            });
            if settled || Instant::now() >= deadline {
                // The requests as of this outbox: no try started in between.
                let requests = self.sandbox.requests();
                if self.get_json("/outbox").await == all || Instant::now() >= deadline {
                    break (mine, requests);
                }
            }
            tokio::time::sleep(POLL).await;
        };
        let log = self.log_from(log_from);
        let calls: Vec<String> = call_lines(&log)
            .iter()
            .filter_map(|l| l.fields.get("call").cloned())
            .collect();
        assert!(
            calls.iter().all(|c| *c == call_id),
            "the log's prompts are of the recorded call {call_id}: {calls:?}"
        );
        let mut obs = Observed::from_stores(
            record,
            &outbox,
            requests.get(requests_from..).unwrap_or_default(),
            &self.sandbox,
            &comments,
        );
        obs.heard = heard_in_log(&log);
        obs.exits = exits_in_log(&log);
        obs.timing = format!("served in {:.1} s", t0.elapsed().as_secs_f64());
        if sc.zendesk_down {
            self.sandbox.state().clear_faults();
            self.rest_lands_once(&call_id, &comments).await;
        }
        drop(phone);
        obs
    }

    /// Zendesk is back: the rest of the call's handler, kept in the outbox, runs and its
    /// one note lands, before the next scenario (whose notes are counted apart).
    async fn rest_lands_once(&self, call_id: &str, before: &BTreeMap<u64, usize>) {
        let deadline = Instant::now() + OUTBOX_WAIT;
        loop {
            let all = self.get_json("/outbox").await;
            let mine: Vec<&Value> = all
                .as_array()
                .map(|a| a.iter().filter(|e| e["call_id"] == call_id).collect())
                .unwrap_or_default();
            if mine.len() == 2 && mine.iter().all(|e| e["state"] == "delivered") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the rest did not run once Zendesk was back: {mine:#?}"
            );
            tokio::time::sleep(POLL).await;
        }
        let marker = format!("ringdesk-ref: {call_id}-1-1");
        let landed: usize = before
            .iter()
            .map(|(id, seen)| {
                let comments = self.sandbox.state().comments(*id).unwrap_or_default();
                comments
                    .iter()
                    .skip(*seen)
                    .filter(|c| !c.public && c.body.ends_with(&marker))
                    .count()
            })
            .sum();
        let notes = new_notes(&self.sandbox, before, "");
        assert_eq!(landed, 1, "one private note: {notes:#?}");
        assert_eq!(notes.len(), 1, "nothing else: {notes:#?}");
    }
}

async fn phone_command(phone: &Baresip, command: &str, params: &str) {
    tokio::task::block_in_place(|| phone.command(command, params));
}

// ----- comparison -----

/// Widest item shown side by side; longer ones are shown one above the other.
const COLUMN: usize = 60;

/// Two lists item by item, differing items marked `≠`; `None` when equal. Short items
/// are shown side by side; long ones (notes) one above the other, with where they part.
fn side_by_side(aspect: &str, sim: &[String], serve: &[String]) -> Option<String> {
    if sim == serve {
        return None;
    }
    let width = sim.iter().chain(serve).map(|s| s.chars().count()).max();
    let width = width.unwrap_or(0).max(24);
    let (a_name, b_name) = ("ringdesk call (simulator)", "ringdesk serve (SIP)");
    let mut out = format!("--- {aspect}: the drivers disagree\n");
    if width <= COLUMN {
        let _ = writeln!(out, "      {a_name:<width$}  | {b_name}");
    }
    for i in 0..sim.len().max(serve.len()) {
        let a = sim.get(i).map_or("-", String::as_str);
        let b = serve.get(i).map_or("-", String::as_str);
        let mark = if a == b { ' ' } else { '≠' };
        if width <= COLUMN {
            let _ = writeln!(out, "  {mark}{i:>3} {a:<width$}  | {b}");
        } else if a == b {
            let _ = writeln!(out, "  {mark}{i:>3} both: {a}");
        } else {
            let _ = writeln!(out, "  {mark}{i:>3} {a_name}: {a}");
            let _ = writeln!(out, "       {b_name:<25}: {b}");
            let same = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            let before: String = a.chars().take(same).skip(same.saturating_sub(20)).collect();
            let rest_a: String = a.chars().skip(same).collect();
            let rest_b: String = b.chars().skip(same).collect();
            let _ = writeln!(
                out,
                "       they part after {before:?}: {rest_a:?} | {rest_b:?}"
            );
        }
    }
    Some(out)
}

/// Every difference between the drivers, then every broken expectation; `Err` with the
/// whole report when there is any.
fn compare(sc: &Scenario, sim: &Observed, serve: &Observed) -> Result<(), String> {
    let mut problems: Vec<String> = [
        (
            "prompts and music heard, in order",
            &sim.heard,
            &serve.heard,
        ),
        (
            "flow path (exits taken), in order",
            &sim.exits,
            &serve.exits,
        ),
        ("Zendesk requests during the call", &sim.http, &serve.http),
        ("menu choices (record menu_path)", &sim.menu, &serve.menu),
        ("interaction record", &sim.record, &serve.record),
        ("outbox items after the call", &sim.outbox, &serve.outbox),
        ("notes written to Zendesk", &sim.notes, &serve.notes),
    ]
    .into_iter()
    .filter_map(|(aspect, a, b)| side_by_side(aspect, a, b))
    .collect();
    // The queue priority: the record's on both sides; and the simulator's scripted queue
    // was asked for the priority recorded (the server's queue got the recorded one).
    if sim.queue != serve.queue {
        problems.push(format!(
            "--- queue and priority: the drivers disagree\n  ringdesk call:  {}\n  ringdesk serve: {}\n",
            sim.queue, serve.queue
        ));
    }
    let recorded = serve.raw_record["priority"].as_u64();
    for (queue, priority, result) in &sim.asked {
        if Some(*priority) != recorded {
            problems.push(format!(
                "--- the simulator asked queue {queue:?} for priority {priority} ({result}); \
                 the server recorded {recorded:?}\n"
            ));
        }
    }
    // Anchors: what the flow must have done, on each side.
    for (side, obs) in [("simulator", sim), ("serve", serve)] {
        let r = &obs.raw_record;
        let mut wrong = Vec::new();
        if r["end_reason"] != sc.expect.end_reason {
            wrong.push(format!(
                "end_reason {} (expected {:?})",
                r["end_reason"], sc.expect.end_reason
            ));
        }
        if r["priority"].as_u64() != sc.expect.priority {
            wrong.push(format!(
                "priority {} (expected {:?})",
                r["priority"], sc.expect.priority
            ));
        }
        let keys: Vec<String> = r["menu_path"]
            .as_array()
            .map(|s| s.iter().map(|s| text(&s["key"])).collect())
            .unwrap_or_default();
        if keys != sc.expect.menu_keys {
            wrong.push(format!(
                "menu keys {keys:?} (expected {:?})",
                sc.expect.menu_keys
            ));
        }
        let noted: Vec<&String> = obs.notes.iter().collect();
        let want_note = sc.expect.note_on.map(|t| format!("ticket {t} (private): "));
        let note_ok = match &want_note {
            Some(prefix) => noted.len() == 1 && noted[0].starts_with(prefix.as_str()),
            None => noted.is_empty(),
        };
        if !note_ok {
            wrong.push(format!(
                "notes {noted:?} (expected one private note on {:?})",
                sc.expect.note_on
            ));
        }
        if obs.heard.is_empty() {
            wrong.push("no prompt heard".into());
        }
        if !wrong.is_empty() {
            problems.push(format!(
                "--- {side} did not do what the flow says:\n  {}\n",
                wrong.join("\n  ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "scenario {} ({} pressing {:?}): {} problem(s)\n{}",
            sc.name,
            sc.caller,
            sc.press,
            problems.len(),
            problems.join("\n")
        ))
    }
}

/// One scenario's result from both drivers' runs.
fn judge(
    sc: &Scenario,
    sim: Result<Observed, String>,
    serve: Result<Observed, String>,
) -> Result<String, String> {
    let (sim, serve) = match (sim, serve) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let mut why = format!("scenario {} could not run", sc.name);
            for (side, r) in [("simulator", a.err()), ("serve", b.err())] {
                if let Some(e) = r {
                    let _ = write!(
                        why,
                        "
--- {side}: {e}"
                    );
                }
            }
            return Err(why);
        }
    };
    if std::env::var_os("DRIVERS_AGREE_SHOW").is_some() {
        eprintln!(
            "{}: simulator {sim:#?}\n{}: serve {serve:#?}",
            sc.name, sc.name
        );
    }
    compare(sc, &sim, &serve)?;
    Ok(format!(
        "{}: the drivers agree ({}; {} prompts/music, {} exits, {} requests, {} note(s))",
        sc.name,
        serve.timing,
        sim.heard.len(),
        sim.exits.len(),
        sim.http.len(),
        sim.notes.len()
    ))
}

/// The last `n` lines of `text`.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs one server's scenarios in order (the simulator's runs of all of them at once);
/// one result per scenario.
async fn run_server(scenarios: Vec<Scenario>) -> Vec<(&'static str, Result<String, String>)> {
    let sims: Vec<_> = scenarios
        .iter()
        .map(|sc| {
            let sc = *sc;
            tokio::spawn(async move { run_sim(&sc).await })
        })
        .collect();
    let answers = scenarios
        .iter()
        .filter(|s| s.agent == Agent::Answers)
        .count();
    let started = Instant::now();
    let line = match tokio::spawn(Line::start(u32::try_from(answers).unwrap_or(1))).await {
        Ok(line) => Arc::new(line),
        Err(e) => {
            let why = format!("the server did not start: {}", panic_text(e));
            return scenarios
                .iter()
                .map(|sc| (sc.name, Err(why.clone())))
                .collect();
        }
    };
    eprintln!(
        "ringdesk serve for {:?} started in {:.1} s",
        scenarios.iter().map(|s| s.name).collect::<Vec<_>>(),
        started.elapsed().as_secs_f64()
    );
    let mut results = Vec::new();
    for (sc, sim) in scenarios.iter().zip(sims) {
        let serve = {
            let (line, sc) = (line.clone(), *sc);
            tokio::spawn(async move { line.call(&sc).await })
        };
        let serve = serve.await.map_err(|e| {
            format!(
                "{}\n--- ringdesk serve log (last lines) ---\n{}",
                panic_text(e),
                last_lines(&line.serve.log(), 60)
            )
        });
        let sim = sim.await.map_err(panic_text);
        results.push((sc.name, judge(sc, sim, serve)));
    }
    results
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic without a message".into()),
        Err(e) => e.to_string(),
    }
}

/// Every scenario, through both drivers; the servers at once. A scenario can be picked
/// with `DRIVERS_AGREE_ONLY=name,name`; `DRIVERS_AGREE_SHOW=1` prints what each driver
/// showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simulator_and_server_agree_on_every_scenario() {
    let only = std::env::var("DRIVERS_AGREE_ONLY").unwrap_or_default();
    let servers: Vec<Vec<Scenario>> = servers()
        .into_iter()
        .map(|line| {
            line.into_iter()
                .filter(|s| only.is_empty() || only.split(',').any(|o| o.trim() == s.name))
                .collect::<Vec<_>>()
        })
        .filter(|line| !line.is_empty())
        .collect();
    assert!(!servers.is_empty(), "no scenario named {only:?}");
    let tasks: Vec<_> = servers
        .into_iter()
        .map(|line| tokio::spawn(run_server(line)))
        .collect();
    let (mut failures, mut total) = (Vec::new(), 0);
    for task in tasks {
        let results = match task.await {
            Ok(r) => r,
            Err(e) => vec![("(a server)", Err(panic_text(e)))],
        };
        for (name, result) in results {
            total += 1;
            match result {
                Ok(summary) => eprintln!("{summary}"),
                Err(report) => failures.push(format!("[{name}] {report}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} scenarios failed\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
