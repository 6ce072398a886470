//! One `ringdesk serve` child process per test ([`ServeChild`]), with agents and a
//! `support` queue, plus a client of its admin API (agents and their states, interaction
//! records).

use super::serve_child::{zendesk_connector, Launch, ServeChild};
use serde::Deserialize;
use std::fmt::Write as _;
use std::ops::Deref;
use std::path::Path;
use std::time::{Duration, Instant};

/// How often state is polled.
const POLL: Duration = Duration::from_millis(50);
/// The flow trace line of a call that entered the queue (`ringdesk::runtime::call` at
/// trace level logs every exit the flow takes; both queue nodes exit `queued`).
const QUEUED_MARK: &str = "exit=\"queued\"";

/// One configured agent.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub id: String,
    pub name: String,
    pub password: String,
    /// `[[agents]] srtp` ("off", "optional", "required"), when set.
    pub srtp: Option<&'static str>,
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
            srtp: None,
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
    /// `[queues.support] max_calls` (default: the server's).
    pub max_calls: Option<u32>,
    /// Listen on TLS too, with a self-signed certificate in `<dir>/certs`.
    pub tls: bool,
    /// `[sip] digest_algorithms`, e.g. `["MD5"]` (default: the server's).
    pub digest_algorithms: Option<&'static [&'static str]>,
    /// More TOML appended to the config, e.g. a `[sip.limits]` section.
    pub extra_config: Option<String>,
    /// The `[store]` section's body instead of an SQLite file in the server's folder (a
    /// shared PostgreSQL store, say).
    pub store: Option<String>,
    /// `[sip] proxies`: whose REGISTERs' Path is believed (Kamailio's address).
    pub proxies: Vec<String>,
}

impl Options {
    /// Agents `ids` serving `support`, ring timeout 5 s, wrap-up 1 s.
    pub fn agents(ids: &[&str]) -> Options {
        Options {
            agents: ids.iter().map(|id| AgentSpec::new(id)).collect(),
            ring_timeout: "5s".into(),
            wrap_up: "1s".into(),
            max_calls: None,
            tls: false,
            digest_algorithms: None,
            extra_config: None,
            store: None,
            proxies: Vec::new(),
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

    /// `[store]` with `body` (e.g. a shared PostgreSQL store) instead of SQLite.
    pub fn store(mut self, body: String) -> Options {
        self.store = Some(body);
        self
    }

    /// `[sip] proxies = [ip]`: agents may register through a proxy at `ip`.
    pub fn proxy(mut self, ip: &str) -> Options {
        self.proxies.push(ip.into());
        self
    }

    /// Caps the queue at `n` callers waiting or ringing.
    pub fn max_calls(mut self, n: u32) -> Options {
        self.max_calls = Some(n);
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

/// A running server and its sandbox (everything of [`ServeChild`], by `Deref`).
pub struct Server {
    serve: ServeChild,
    options: Options,
}

impl Deref for Server {
    type Target = ServeChild;
    fn deref(&self) -> &ServeChild {
        &self.serve
    }
}

impl Server {
    /// Starts the sandbox (demo data) and `ringdesk serve` with `options`; returns once
    /// the server answers calls.
    pub async fn start(options: Options) -> Server {
        let launch = Launch {
            rust_log: "info,ringdesk=debug,ringdesk::runtime::call=trace,rsipstack=warn".into(),
            start_timeout: Duration::from_secs(90),
            tail_lines: 80,
        };
        let serve = ServeChild::start(&launch, |url, dir| config_text(&options, url, dir)).await;
        Server { serve, options }
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

    /// `GET /agents`.
    pub async fn agents(&self) -> Vec<AgentView> {
        let resp = self
            .http()
            .get(self.admin_url("/agents"))
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
            .http()
            .post(self.admin_url(&format!("/agents/{id}/state")))
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

    /// Queue `name` as `GET /queues` shows it.
    pub async fn queue(&self, name: &str) -> serde_json::Value {
        let resp = self
            .http()
            .get(self.admin_url("/queues"))
            .send()
            .await
            .expect("GET /queues");
        assert!(resp.status().is_success(), "GET /queues: {}", resp.status());
        let queues: serde_json::Value = resp.json().await.expect("GET /queues returns queues");
        queues
            .as_array()
            .and_then(|qs| qs.iter().find(|q| q["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no queue {name:?} in GET /queues: {queues:#}"))
    }

    /// `GET /interactions`: the calls' records, newest first.
    pub async fn interactions(&self) -> Vec<serde_json::Value> {
        let resp = self
            .http()
            .get(self.admin_url("/interactions"))
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

    /// How many times a call entered the queue so far (from the call's `exit` lines).
    pub fn queued_count(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| is_exit_line(l) && l.contains(QUEUED_MARK))
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
}

fn config_text(options: &Options, zendesk_url: &str, dir: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[sip]\nlisten = \"127.0.0.1:0\"");
    if let Some(algorithms) = options.digest_algorithms {
        let _ = writeln!(s, "digest_algorithms = {algorithms:?}");
    }
    if !options.proxies.is_empty() {
        let _ = writeln!(s, "proxies = {:?}", options.proxies);
    }
    if options.tls {
        let files = super::certs::self_signed(&dir.join("certs"));
        let _ = writeln!(
            s,
            "[sip.tls]\nlisten = \"127.0.0.1:0\"\ncertificate = {:?}\nkey = {:?}",
            files.cert, files.key
        );
    }
    let _ = writeln!(s, "[admin]\nlisten = \"127.0.0.1:0\"");
    match &options.store {
        Some(store) => {
            let _ = writeln!(s, "[store]\n{store}");
        }
        None => {
            let _ = writeln!(s, "[store]\npath = {:?}", dir.join("ringdesk.sqlite"));
        }
    }
    s.push_str(&zendesk_connector(zendesk_url));
    for a in &options.agents {
        let _ = writeln!(
            s,
            "[[agents]]\nid = {:?}\nname = {:?}\npassword = {:?}\nqueues = [\"support\"]",
            a.id, a.name, a.password
        );
        if let Some(srtp) = a.srtp {
            let _ = writeln!(s, "srtp = {srtp:?}");
        }
    }
    let _ = writeln!(
        s,
        "[queues.support]\nring_timeout = {:?}\nwrap_up = {:?}",
        options.ring_timeout, options.wrap_up
    );
    if let Some(n) = options.max_calls {
        let _ = writeln!(s, "max_calls = {n}");
    }
    if let Some(extra) = &options.extra_config {
        s.push_str(extra);
    }
    s
}

/// A call task's line for one exit the flow took (`... DEBUG ringdesk::runtime::call: exit
/// call=<id> node="a" exit="b" target="c"`).
pub fn is_exit_line(line: &str) -> bool {
    line.contains(" ringdesk::runtime::call: exit call=")
}
