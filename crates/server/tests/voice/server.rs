//! One `ringdesk serve` child process per test ([`ServeChild`]), configured for the voice
//! tests: call limit, answer delay and DNIS routes vary per test.

use super::serve_child::{zendesk_connector, Launch, ServeChild};
use std::fmt::Write as _;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// `[sip] untrusted`: "refuse" or "anonymous".
    pub untrusted: Option<&'static str>,
    /// `[sip] srtp`: "off", "optional" or "required".
    pub srtp: Option<&'static str>,
    /// Listen on TLS too, with a self-signed certificate in `<dir>/certs`.
    pub tls: bool,
    /// More TOML appended to the config, e.g. an `[overload]` section.
    pub extra_config: Option<String>,
    /// The `[store]` section's body instead of an SQLite file in the server's folder
    /// (a shared PostgreSQL store, say).
    pub store: Option<String>,
    /// Another Zendesk (sandbox) URL instead of the server's own sandbox (nodes of a
    /// cluster share one helpdesk).
    pub zendesk_url: Option<String>,
}

/// A running server and its sandbox (everything of [`ServeChild`]).
pub struct Server(ServeChild);

impl Deref for Server {
    type Target = ServeChild;
    fn deref(&self) -> &ServeChild {
        &self.0
    }
}

impl DerefMut for Server {
    fn deref_mut(&mut self) -> &mut ServeChild {
        &mut self.0
    }
}

/// The shipped default flow file.
pub fn default_flow_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows/zendesk-ticket-status.yaml")
}

impl Server {
    /// Starts the sandbox (demo data) and `ringdesk serve` with `options`; returns once
    /// the server answers calls.
    pub async fn start(options: Options) -> Server {
        let launch = Launch {
            rust_log: std::env::var("VOICE_RUST_LOG")
                .unwrap_or_else(|_| "info,ringdesk=debug,rsipstack=warn".into()),
            start_timeout: Duration::from_secs(60),
            tail_lines: 200,
        };
        Server(ServeChild::start(&launch, |url, dir| config_text(&options, url, dir)).await)
    }
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
    if let Some(u) = options.untrusted {
        let _ = writeln!(s, "untrusted = {u:?}");
    }
    if let Some(p) = options.srtp {
        let _ = writeln!(s, "srtp = {p:?}");
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
    let _ = writeln!(s, "[flows]\nreject_unrouted = {}", options.reject_unrouted);
    if !options.routes.is_empty() {
        let _ = writeln!(s, "[flows.routes]");
        for (number, path) in &options.routes {
            let _ = writeln!(s, "{number:?} = {path:?}");
        }
    }
    s.push_str(&zendesk_connector(
        options.zendesk_url.as_deref().unwrap_or(zendesk_url),
    ));
    if let Some(extra) = &options.extra_config {
        s.push_str(extra);
    }
    s
}
