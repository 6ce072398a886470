//! The configuration file (TOML): its types, defaults, loading and validation.
//!
//! Every section is optional: with no file at all, ringdesk runs the built-in default flow
//! against the in-process Zendesk sandbox. `ringdesk config example` prints a commented
//! example (`config.example.toml`, kept in sync by a test).

mod admin;
mod agent_credentials;
mod desk;
#[cfg(test)]
mod mutations;
mod records;
mod sip_limits;
mod sip_tls;
mod store;
mod trunks;
mod tts;
mod tts_engines;
mod warnings;

pub use admin::{AdminConfig, AdminToken, Role};
pub use trunks::{
    caller_identity, describe as trunks_description, personal_data, CallerIdentity, PersonalData,
    TrunkConfig, UntrustedCalls, CALLER_IDENTITY_VARIABLE,
};

pub use agent_credentials::{agent_credentials, process_env};
pub use desk::DeskConfig;
pub use records::{cutoff, RecordsConfig};
pub use sip_limits::SipLimitsConfig;
pub use sip_tls::{agent_srtp, key_readable_by_others, SipTlsConfig, SrtpSetting};
pub use store::StoreConfig;
pub use tts::TtsConfig;

use anyhow::{bail, Context, Result};
use ringdesk_connector::ConnectorConfig;
use ringdesk_overload::{GovernorConfig, Marks};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The commented example printed by `ringdesk config example`.
pub const EXAMPLE: &str = include_str!("../../../config.example.toml");

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub sip: SipConfig,
    /// The admin API: address, tokens, host names (`config/admin.rs`).
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    pub media: MediaConfig,
    #[serde(default)]
    pub overload: OverloadConfig,
    #[serde(default)]
    pub calls: CallsConfig,
    /// Which speech engine speaks which language (`[tts]`, `config/tts.rs`).
    #[serde(default)]
    pub tts: TtsConfig,
    #[serde(default)]
    pub flows: FlowsConfig,
    #[serde(default)]
    pub zendesk: ZendeskConfig,
    /// Named HTTP connectors used by flows (`[connectors.zendesk]`, ...).
    #[serde(default)]
    pub connectors: BTreeMap<String, ConnectorConfig>,
    #[serde(default)]
    pub store: StoreConfig,
    /// Trusted trunks (`[[trunks]]`, `config/trunks.rs`): whose caller ID is believed.
    #[serde(default)]
    pub trunks: Vec<TrunkConfig>,
    /// How long call records are kept (`[records]`, `config/records.rs`).
    #[serde(default)]
    pub records: RecordsConfig,
    /// The agent desktop (`[desk]`, `config/desk.rs`).
    #[serde(default)]
    pub desk: DeskConfig,
    /// Agents (`[[agents]]`): they log in by registering a SIP softphone.
    #[serde(default)]
    pub agents: Vec<ringdesk_acd::AgentConfig>,
    /// Queues (`[queues.<name>]`). Without any, one queue `support` with defaults.
    #[serde(default)]
    pub queues: BTreeMap<String, ringdesk_acd::QueueConfig>,
}

/// `[sip]`: where calls arrive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    /// UDP and TCP listen address.
    #[serde(default = "default_sip_listen")]
    pub listen: SocketAddr,
    /// Concurrent calls above which new calls get 503 with Retry-After.
    #[serde(default = "default_max_calls")]
    pub max_calls: usize,
    /// Ring this long before answering (0: answer at once).
    #[serde(default, with = "humantime_serde")]
    pub answer_delay: std::time::Duration,
    /// What calls from a source that is no `[[trunks]]` get.
    #[serde(default)]
    pub untrusted: UntrustedCalls,
    /// Flood defence and REGISTER lockout (`[sip.limits]`, `config/sip_limits.rs`).
    #[serde(default)]
    pub limits: SipLimitsConfig,
    /// The SRTP policy of legs that set none (`[[trunks]] srtp`, `[[agents]] srtp`) and of
    /// callers from no trunk (`config/sip_tls.rs`).
    #[serde(default)]
    pub srtp: SrtpSetting,
    /// SIP over TLS (`[sip.tls]`, `config/sip_tls.rs`); off when absent.
    #[serde(default)]
    pub tls: Option<SipTlsConfig>,
    /// The digest algorithms agents' REGISTERs are challenged with, in order ("MD5",
    /// "SHA-256"; one challenge each, RFC 8760).
    #[serde(default = "default_digest_algorithms")]
    pub digest_algorithms: Vec<String>,
    /// SIP proxies in front of this node (Kamailio, `docs/cluster.md`), as addresses or
    /// CIDR ranges: an agent's REGISTER they relay with a `Path` (RFC 3327) is believed,
    /// so the agent is rung through the proxy, from any node. Default: none.
    #[serde(default)]
    pub proxies: Vec<String>,
}

fn default_digest_algorithms() -> Vec<String> {
    vec!["MD5".into(), "SHA-256".into()]
}

impl SipConfig {
    /// `proxies` as the registrar takes them; `origin` names the file in errors.
    pub fn proxy_nets(&self, origin: &str) -> Result<Vec<ringdesk_sip::IpNet>> {
        if self.proxies.len() > ringdesk_sip::MAX_CONTACT_HOSTS {
            bail!(
                "{origin}: [sip] proxies: at most {} entries",
                ringdesk_sip::MAX_CONTACT_HOSTS
            );
        }
        self.proxies
            .iter()
            .map(|p| {
                ringdesk_sip::parse_net(p)
                    .map_err(|e| anyhow::anyhow!("{origin}: [sip] proxies: {e}"))
            })
            .collect()
    }

    /// `digest_algorithms` as the registrar takes them; `origin` names the file in errors.
    pub fn digest(&self, origin: &str) -> Result<Vec<ringdesk_sip::DigestAlgorithm>> {
        use ringdesk_sip::DigestAlgorithm;
        if self.digest_algorithms.is_empty() {
            bail!("{origin}: [sip] digest_algorithms must name at least one of \"MD5\" and \"SHA-256\"");
        }
        let mut out: Vec<DigestAlgorithm> = Vec::new();
        for name in &self.digest_algorithms {
            let algorithm = match name.as_str() {
                "MD5" => DigestAlgorithm::Md5,
                "SHA-256" => DigestAlgorithm::Sha256,
                other => bail!(
                    "{origin}: [sip] digest_algorithms: {other:?} is not \"MD5\" or \"SHA-256\""
                ),
            };
            if !out.contains(&algorithm) {
                out.push(algorithm);
            }
        }
        Ok(out)
    }
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: default_sip_listen(),
            max_calls: default_max_calls(),
            answer_delay: std::time::Duration::ZERO,
            untrusted: UntrustedCalls::default(),
            limits: SipLimitsConfig::default(),
            srtp: SrtpSetting::default(),
            tls: None,
            digest_algorithms: default_digest_algorithms(),
            proxies: Vec::new(),
        }
    }
}

fn default_sip_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5060))
}

fn default_max_calls() -> usize {
    1000
}

/// `[media]`: the threads that send RTP.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// Media worker threads (0: one per CPU core).
    #[serde(default)]
    pub workers: usize,
    /// Scheduling priority of the media threads (falls back when not permitted).
    #[serde(default)]
    pub priority: crate::runtime::priority::MediaPriority,
}

/// `[overload]`: refusing new calls (503 with Retry-After) while ringdesk is overloaded,
/// so the calls it has taken keep good audio. Shedding starts at a sample (every 100 ms)
/// above a `*_high` mark once samples above a high mark cover at least half of the last
/// `window`; it stops once every signal has stayed at or below its `*_low` mark for `hold`
/// (`ringdesk_overload`, run by `runtime/admission.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadConfig {
    /// Shed load at all. Off by default (only `[sip] max_calls` limits new calls): on a
    /// host shared with other work the governor also refused calls ringdesk could have
    /// carried (decision 0008).
    #[serde(default)]
    pub enabled: bool,
    /// Media threads' lateness: how long after its due time the most overdue RTP packet
    /// started being sent (worst per 100 ms sample).
    #[serde(default = "default_media_late_high", with = "humantime_serde")]
    pub media_late_high: Duration,
    #[serde(default = "default_media_late_low", with = "humantime_serde")]
    pub media_late_low: Duration,
    /// The async runtime's scheduling lag: how late a 100 ms timer task on it runs, or
    /// how overdue it is while it has not run (read from a thread of its own).
    #[serde(default = "default_runtime_lag_high", with = "humantime_serde")]
    pub runtime_lag_high: Duration,
    #[serde(default = "default_runtime_lag_low", with = "humantime_serde")]
    pub runtime_lag_low: Duration,
    /// Shedding needs samples above a high mark covering at least half of this window
    /// (each stands for the time since the one before): a single late sample is a
    /// hiccup, not overload. 0: the first sample above a mark sheds.
    #[serde(default = "default_overload_window", with = "humantime_serde")]
    pub window: Duration,
    /// How long every signal must stay at or below its low mark before new calls are
    /// admitted again.
    #[serde(default = "default_overload_hold", with = "humantime_serde")]
    pub hold: Duration,
}

impl Default for OverloadConfig {
    fn default() -> Self {
        OverloadConfig {
            enabled: false,
            media_late_high: default_media_late_high(),
            media_late_low: default_media_late_low(),
            runtime_lag_high: default_runtime_lag_high(),
            runtime_lag_low: default_runtime_lag_low(),
            window: default_overload_window(),
            hold: default_overload_hold(),
        }
    }
}

// The defaults are the governor's own (decision 0008, `ringdesk_overload::GovernorConfig`).
fn default_media_late_high() -> Duration {
    GovernorConfig::default().media_late.high
}

fn default_media_late_low() -> Duration {
    GovernorConfig::default().media_late.low
}

fn default_runtime_lag_high() -> Duration {
    GovernorConfig::default().runtime_lag.high
}

fn default_runtime_lag_low() -> Duration {
    GovernorConfig::default().runtime_lag.low
}

fn default_overload_window() -> Duration {
    GovernorConfig::default().window
}

fn default_overload_hold() -> Duration {
    GovernorConfig::default().hold
}

impl OverloadConfig {
    /// The governor's thresholds.
    pub fn governor(&self) -> GovernorConfig {
        GovernorConfig {
            media_late: Marks {
                high: self.media_late_high,
                low: self.media_late_low,
            },
            runtime_lag: Marks {
                high: self.runtime_lag_high,
                low: self.runtime_lag_low,
            },
            window: self.window,
            hold: self.hold,
        }
    }

    fn validate(&self, origin: &str) -> Result<()> {
        self.governor()
            .validate()
            .map_err(|e| anyhow::anyhow!("{origin}: [overload] {e}"))
    }
}

/// `[calls]`: defaults for every call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallsConfig {
    /// Language when the caller's helpdesk profile has none (`en-US` or `pt-BR`).
    #[serde(default = "default_language")]
    pub default_language: String,
    /// Region for caller IDs written without a country code (ISO 3166, e.g. `US`, `BR`).
    #[serde(default = "default_region")]
    pub default_region: String,
    /// Callers with no ticket: `nothing`, or `create_ticket` (a new ticket with the
    /// post-call note; unknown callers get a new end-user named after their number).
    #[serde(default)]
    pub no_ticket: NoTicket,
}

/// What the post-call work does for callers without a ticket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoTicket {
    #[default]
    Nothing,
    CreateTicket,
}

impl NoTicket {
    pub fn as_str(self) -> &'static str {
        match self {
            NoTicket::Nothing => "nothing",
            NoTicket::CreateTicket => "create_ticket",
        }
    }
}

impl Default for CallsConfig {
    fn default() -> Self {
        CallsConfig {
            default_language: default_language(),
            default_region: default_region(),
            no_ticket: NoTicket::Nothing,
        }
    }
}

fn default_language() -> String {
    "en-US".into()
}

fn default_region() -> String {
    "US".into()
}

/// `[flows]`: which flow runs for which called number.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowsConfig {
    /// Flow for called numbers with no route (default: the built-in ticket-status flow).
    #[serde(default)]
    pub default: Option<PathBuf>,
    /// Called number or user → flow file. With routes set, unknown numbers still reach
    /// `default` unless `reject_unrouted` is true (then they get 404).
    #[serde(default)]
    pub routes: BTreeMap<String, PathBuf>,
    #[serde(default)]
    pub reject_unrouted: bool,
    /// Directories searched, in order, for audio files named in flows.
    #[serde(default = "default_audio_dirs")]
    pub audio_dirs: Vec<PathBuf>,
}

fn default_audio_dirs() -> Vec<PathBuf> {
    vec![PathBuf::from("assets"), PathBuf::from("flows")]
}

impl Default for FlowsConfig {
    fn default() -> Self {
        FlowsConfig {
            default: None,
            routes: BTreeMap::new(),
            reject_unrouted: false,
            audio_dirs: default_audio_dirs(),
        }
    }
}

/// `[zendesk]`: the helpdesk instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskConfig {
    /// Base of agent-facing ticket URLs (`https://acme.zendesk.com`); defaults to the
    /// `zendesk` connector's base URL, or the sandbox's.
    #[serde(default)]
    pub agent_url: Option<String>,
    /// Start the in-process sandbox when no `[connectors.zendesk]` is configured.
    #[serde(default = "yes")]
    pub sandbox: bool,
    /// Where the in-process sandbox listens (port 0: any free port).
    #[serde(default = "default_sandbox_listen")]
    pub sandbox_listen: SocketAddr,
    /// Sandbox data file (default: the built-in demo customers).
    #[serde(default)]
    pub sandbox_data: Option<PathBuf>,
}

impl Default for ZendeskConfig {
    fn default() -> Self {
        ZendeskConfig {
            agent_url: None,
            sandbox: true,
            sandbox_listen: default_sandbox_listen(),
            sandbox_data: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_sandbox_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Config {
    /// Reads and validates a config file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            anyhow::anyhow!("{origin}:{line}:{col}: {}", e.message())
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    /// Loads the file when given, else the defaults.
    pub fn load_or_default(path: Option<&Path>) -> Result<Config> {
        match path {
            Some(p) => Self::load(p),
            None => Ok(Config::default()),
        }
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let lang = &self.calls.default_language;
        if !matches!(lang.as_str(), "en-US" | "pt-BR") {
            bail!("{origin}: [calls] default_language = {lang:?}: supported languages are \"en-US\" and \"pt-BR\"");
        }
        let region = &self.calls.default_region;
        if region.len() != 2 || !region.chars().all(|c| c.is_ascii_uppercase()) {
            bail!("{origin}: [calls] default_region = {region:?}: expected a two-letter ISO 3166 code such as \"US\" or \"BR\"");
        }
        if self.media.workers > crate::runtime::media_worker::MAX_WORKERS {
            bail!(
                "{origin}: [media] workers must be at most {} (0: one per CPU core)",
                crate::runtime::media_worker::MAX_WORKERS
            );
        }
        if self.sip.max_calls == 0 {
            bail!("{origin}: [sip] max_calls must be at least 1");
        }
        self.overload.validate(origin)?;
        self.trust_with(origin)?;
        self.admin.validate(origin, &ringdesk_secret::process_env)?;
        self.sip.limits.validate(origin)?;
        agent_credentials(&self.agents, &process_env)
            .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        agent_srtp(&self.agents, self.sip.srtp).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        self.sip.digest(origin)?;
        self.sip.proxy_nets(origin)?;
        if let Some(tls) = &self.sip.tls {
            tls.load().map_err(|e| anyhow::anyhow!("{origin}: {e:#}"))?;
            if tls.listen == self.sip.listen && tls.listen.port() != 0 {
                bail!(
                    "{origin}: [sip.tls] listen must differ from [sip] listen (TCP uses that port)"
                );
            }
        }
        self.records.validate(origin)?;
        self.desk.validate(origin)?;
        self.store
            .postgres(self.sip.listen.port(), &process_env)
            .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        // Resolves base URLs and secrets (environment variables) now, so a missing
        // variable is an error at start, not a failed call.
        ringdesk_connector::Connectors::from_config(&self.connectors)
            .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        ringdesk_acd::Acd::new(&self.acd())
            .map_err(|e| anyhow::anyhow!("{origin}: [[agents]] / [queues]: {e}"))?;
        Ok(())
    }

    /// The routing core's configuration (a `support` queue when none is configured).
    pub fn acd(&self) -> ringdesk_acd::AcdConfig {
        let mut queues = self.queues.clone();
        if queues.is_empty() {
            queues.insert("support".into(), ringdesk_acd::QueueConfig::default());
        }
        ringdesk_acd::AcdConfig {
            agents: self.agents.clone(),
            queues,
        }
    }

    /// The SIP server's trust table: the trunks (loopback when none) and the policy for
    /// other sources.
    pub fn trust(&self) -> Result<ringdesk_sip::TrustConfig> {
        self.trust_with("config")
    }

    fn trust_with(&self, origin: &str) -> Result<ringdesk_sip::TrustConfig> {
        trunks::trust(&self.trunks, self.sip.untrusted, self.sip.srtp, origin)
    }

    /// Where `serve` writes a generated admin token (and the CLI reads it).
    pub fn admin_token_file(&self) -> PathBuf {
        if self.store.is_postgres() && self.admin.token_file.is_none() {
            // Nodes of one cluster may run from one folder: one token file per node
            // (`<store path>.<node>.admin-token`), not one each overwrites.
            let node: String = self
                .store
                .node_name(self.sip.listen.port())
                .chars()
                .map(|c| if c == ':' { '-' } else { c })
                .collect();
            let mut name = self.store.path.as_os_str().to_owned();
            name.push(format!(".{node}.admin-token"));
            return PathBuf::from(name);
        }
        self.admin.token_file(&self.store.path)
    }

    /// True when calls should use the in-process sandbox.
    pub fn uses_sandbox(&self) -> bool {
        self.zendesk.sandbox && !self.connectors.contains_key("zendesk")
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commented-out settings of an example text, uncommented: table headers and
    /// `key = value` lines, not the prose around them.
    fn commented_settings(text: &str) -> String {
        text.lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with('[')
                    || l.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = Config::parse("", "x.toml").unwrap();
        assert_eq!(c.sip.listen.port(), 5060);
        assert_eq!(c.calls.default_language, "en-US");
        assert!(c.uses_sandbox());
    }

    #[test]
    fn the_shipped_example_parses() {
        Config::parse(EXAMPLE, "config.example.toml").unwrap();
    }

    #[test]
    fn the_examples_agents_and_queues_parse_when_uncommented() {
        let start = EXAMPLE.find("# [[agents]]").expect("agents example");
        let (head, tail) = EXAMPLE.split_at(start);
        let uncommented = commented_settings(tail);
        let c = Config::parse(&format!("{head}{uncommented}\n"), "example").unwrap();
        assert_eq!(c.agents.len(), 1);
        assert_eq!(c.agents[0].queues, vec!["support".to_string()]);
        assert!(c.acd().queues.contains_key("support"));
    }

    /// The example's queue settings, uncommented, are exactly the defaults a queue gets
    /// (so every limit shown there is shown with its real default).
    #[test]
    fn the_examples_queue_shows_the_defaults_including_max_calls() {
        let start = EXAMPLE.find("# [queues.support]").expect("queue example");
        // Settings only (the queue table is the file's last).
        let table = commented_settings(&EXAMPLE[start..]);
        assert!(table.contains("max_calls = 1000"), "{table}");
        assert!(table.contains("no_agent_check"), "{table}");
        let c = Config::parse(&table, "example").unwrap();
        let q = &c.queues["support"];
        assert_eq!(q, &ringdesk_acd::QueueConfig::default(), "{table}");
        assert_eq!(q.max_calls, ringdesk_acd::DEFAULT_MAX_CALLS);
        // Without a [queues] table the implicit `support` queue has the same limit.
        let implicit = Config::parse("", "r.toml").unwrap().acd();
        assert_eq!(implicit.queues["support"].max_calls, 1000);
    }

    #[test]
    fn queue_max_calls_is_configurable_and_validated() {
        let c = Config::parse("[queues.support]\nmax_calls = 2\n", "r.toml").unwrap();
        assert_eq!(c.acd().queues["support"].max_calls, 2);
        let e = Config::parse("[queues.support]\nmax_calls = 0\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("r.toml:") && e.contains("support") && e.contains("max_calls"),
            "{e}"
        );
        let e = Config::parse("[queues.support]\nmax_calls = -1\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:2:"), "{e}");
    }

    #[test]
    fn unknown_agent_queue_is_an_error_at_load() {
        let e = Config::parse(
            "[[agents]]\nid = \"a\"\nname = \"A\"\npassword = \"p\"\nqueues = [\"nope\"]\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("nope"), "{e}");
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = Config::parse("[sip]\nlisten = \"nonsense\"\n", "ringdesk.toml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("ringdesk.toml:2:"), "{msg}");
        let e = Config::parse("[sipp]\n", "r.toml").unwrap_err().to_string();
        assert!(e.starts_with("r.toml:1:") && e.contains("sipp"), "{e}");
        let e = Config::parse("[calls]\ndefault_language = \"fr-FR\"\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fr-FR"), "{e}");
    }

    #[test]
    fn overload_shedding_is_off_by_default_and_configurable() {
        let c = Config::parse("", "r.toml").unwrap();
        assert!(!c.overload.enabled);
        assert!(!OverloadConfig::default().enabled);
        let on = Config::parse("[overload]\nenabled = true\n", "r.toml").unwrap();
        assert!(on.overload.enabled);
        let d = OverloadConfig::default();
        assert!(d.media_late_low < d.media_late_high);
        assert!(d.runtime_lag_low < d.runtime_lag_high);
        assert_eq!(c.overload.media_late_high, d.media_late_high);
        assert_eq!(c.overload.hold, d.hold);
        let c = Config::parse(
            "[overload]\nenabled = false\nmedia_late_high = \"30ms\"\nmedia_late_low = \"10ms\"\n\
             runtime_lag_high = \"1s\"\nruntime_lag_low = \"250ms\"\nwindow = \"0s\"\nhold = \"5s\"\n",
            "r.toml",
        )
        .unwrap();
        assert!(!c.overload.enabled);
        let g = c.overload.governor();
        assert_eq!(g.media_late.high, Duration::from_millis(30));
        assert_eq!(g.media_late.low, Duration::from_millis(10));
        assert_eq!(g.runtime_lag.high, Duration::from_secs(1));
        assert_eq!(g.runtime_lag.low, Duration::from_millis(250));
        assert_eq!(g.window, Duration::ZERO);
        assert_eq!(g.hold, Duration::from_secs(5));
    }

    #[test]
    fn overload_marks_and_hold_are_validated() {
        let err = |text: &str| {
            Config::parse(&format!("[overload]\n{text}\n"), "r.toml")
                .unwrap_err()
                .to_string()
        };
        // Low must be below high, for each signal.
        let e = err("media_late_high = \"10ms\"\nmedia_late_low = \"10ms\"");
        assert!(e.contains("media_late_low") && e.contains("below"), "{e}");
        let e = err("runtime_lag_low = \"1s\"");
        assert!(e.contains("runtime_lag_low"), "{e}");
        // Zero or absurd marks and holds.
        let e = err("media_late_high = \"0s\"\nmedia_late_low = \"0s\"");
        assert!(e.contains("media_late_high"), "{e}");
        let e = err("runtime_lag_high = \"1h\"");
        assert!(e.contains("runtime_lag_high"), "{e}");
        assert!(err("hold = \"0s\"").contains("hold"));
        assert!(err("hold = \"2h\"").contains("hold"));
        assert!(err("window = \"2h\"").contains("window"));
        // Not a duration, unknown key: file, line and column.
        let e = err("hold = 5");
        assert!(e.starts_with("r.toml:2:"), "{e}");
        let e = err("media_late = \"5ms\"");
        assert!(e.contains("media_late"), "{e}");
    }

    #[test]
    fn nodes_of_a_shared_store_get_a_token_file_each() {
        let node = |name: &str| {
            Config::parse(
                &format!("[store]\nurl = \"postgres://r@db/r\"\nnode = \"{name}\"\n"),
                "r.toml",
            )
            .unwrap()
            .admin_token_file()
        };
        assert_ne!(node("node-1"), node("node-2"));
        assert!(node("node-1").ends_with("ringdesk.sqlite.node-1.admin-token"));
        // The default node name (host:port) makes a file name without ':'.
        let default = Config::parse(
            "[sip]\nlisten = \"127.0.0.1:5070\"\n[store]\nurl = \"postgres://r@db/r\"\n",
            "r.toml",
        )
        .unwrap()
        .admin_token_file();
        let name = default.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.ends_with("-5070.admin-token") && !name.contains(':'),
            "{name}"
        );
        // One node (SQLite) and an explicit file are as before.
        let sqlite = Config::parse("", "r.toml").unwrap().admin_token_file();
        assert!(
            sqlite.ends_with("ringdesk.sqlite.admin-token"),
            "{sqlite:?}"
        );
        let explicit = Config::parse(
            "[admin]\ntoken_file = \"/run/t\"\n[store]\nurl = \"postgres://r@db/r\"\n",
            "r.toml",
        )
        .unwrap()
        .admin_token_file();
        assert_eq!(explicit, PathBuf::from("/run/t"));
    }

    #[test]
    fn sip_proxies_are_addresses_or_ranges() {
        let c = Config::parse(
            "[sip]\nproxies = [\"10.0.0.5\", \"192.0.2.0/28\"]\n",
            "r.toml",
        )
        .unwrap();
        assert_eq!(c.sip.proxy_nets("r.toml").unwrap().len(), 2);
        let e = Config::parse("[sip]\nproxies = [\"kamailio.example\"]\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.toml") && e.contains("[sip] proxies"), "{e}");
        assert!(Config::parse("", "r.toml").unwrap().sip.proxies.is_empty());
    }

    #[test]
    fn media_workers_default_to_one_per_core_and_are_bounded() {
        assert_eq!(Config::parse("", "r.toml").unwrap().media.workers, 0);
        let c = Config::parse("[media]\nworkers = 3\npriority = \"high\"\n", "r.toml").unwrap();
        assert_eq!(c.media.workers, 3);
        assert_eq!(
            c.media.priority,
            crate::runtime::priority::MediaPriority::High
        );
        let e = Config::parse("[media]\nworkers = 1000\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[media] workers"), "{e}");
    }
}
