//! Command-line interface: the subcommands of `ringdesk` and their options.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// ringdesk: a self-hosted contact-center voice server.
///
/// A call arrives over SIP; ringdesk finds the caller in Zendesk by caller ID, tells them
/// the status of their latest unsolved ticket, offers a keypad menu, queues them for an
/// agent by ticket severity, and writes a private note on the ticket after the call.
///
/// Start with `ringdesk call --from +5511987654321 --press 2` to watch a whole call
/// against the built-in Zendesk sandbox, no phone needed.
#[derive(Debug, Parser)]
#[command(name = "ringdesk", version, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr (levels with RUST_LOG, e.g. RUST_LOG=ringdesk=debug).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: SIP, admin API, outbox worker; the Zendesk sandbox in-process when
    /// no Zendesk is configured.
    Serve(ServeArgs),
    /// Simulate one call through a flow and print what the caller hears and what ringdesk does.
    Call(CallArgs),
    /// Validate flow files: every error with file, line and node; exit code 1 on errors.
    Check(CheckArgs),
    /// Run the Zendesk-compatible sandbox on its own.
    ZendeskSandbox(SandboxArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Call records: list, show, purge.
    Interactions(InteractionsArgs),
    /// The durable outbox (post-call notes): list, retry, drop.
    Outbox(OutboxArgs),
    /// Agents of a running server: list them, make one available or not ready.
    Agent(AgentArgs),
    /// Import flows built elsewhere (Webex Contact Center Flow Designer exports).
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Turn a Webex Contact Center Flow Designer export (.json) into a ringdesk flow
    /// (.yaml) and a report (.md) of what was mapped, what needs configuration and what
    /// is not supported. Nothing is written when the export cannot be imported (exit
    /// code 1). See docs/webex-import.md.
    Webex(WebexImportArgs),
}

#[derive(Debug, Args)]
pub struct WebexImportArgs {
    /// The export, as saved from Flow Designer (JSON).
    pub export: PathBuf,
    /// Where to write the flow (default: the export's name with `.yaml`, in the current
    /// directory).
    #[arg(long, short, value_name = "FLOW.yaml")]
    pub output: Option<PathBuf>,
    /// Where to write the report (default: the flow's path with `.report.md`).
    #[arg(long, value_name = "REPORT.md")]
    pub report: Option<PathBuf>,
    /// Which ringdesk connector a Webex HTTP connector id stands for ([connectors.NAME]
    /// in the config); may be repeated. Unmapped ids use the connector named `zendesk`.
    #[arg(long = "connector", value_name = "WEBEX_ID=NAME", value_parser = parse_mapping)]
    pub connectors: Vec<(String, String)>,
    /// Which ringdesk queue a Webex queue id stands for; may be repeated. Unmapped ids use
    /// the queue named `support`.
    #[arg(long = "queue", value_name = "WEBEX_ID=NAME", value_parser = parse_mapping)]
    pub queues: Vec<(String, String)>,
    /// Replace the flow and report files if they exist.
    #[arg(long)]
    pub force: bool,
}

/// `WEBEX_ID=NAME`.
fn parse_mapping(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((id, name)) if !id.trim().is_empty() && !name.trim().is_empty() => {
            Ok((id.trim().to_string(), name.trim().to_string()))
        }
        _ => Err(format!("`{s}` is not WEBEX_ID=NAME")),
    }
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Admin API of the running server (default: [admin] listen from the config).
    #[arg(long, global = true, value_name = "URL")]
    pub admin: Option<String>,
    /// File holding the admin token (default: the one `ringdesk serve` writes for this
    /// config, [admin] token_file). The environment variable RINGDESK_ADMIN_TOKEN, when
    /// set, is used instead.
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long, short, global = true, env = "RINGDESK_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Every configured agent and its state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ready to take calls.
    Available { id: String },
    /// Not taking calls (for a reason).
    NotReady {
        id: String,
        #[arg(long, default_value = "not ready")]
        reason: String,
    },
}

/// Where the database is: `--store FILE`, else `[store] path` of the config file.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// SQLite database (default: [store] path from the config, else ringdesk.sqlite).
    #[arg(long, global = true, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long, short, global = true, env = "RINGDESK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InteractionsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: InteractionsCommand,
}

#[derive(Debug, Subcommand)]
pub enum InteractionsCommand {
    /// Most recent calls first.
    List {
        /// Arrived at or after (RFC 3339, e.g. 2026-11-24T10:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Arrived before (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// Caller ID, exactly as received.
        #[arg(long)]
        ani: Option<String>,
        /// Zendesk ticket id.
        #[arg(long)]
        ticket: Option<String>,
        /// How it ended: caller, agent, flow, no_agent, max_wait, error.
        #[arg(long)]
        outcome: Option<String>,
        /// At most this many (default 100).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One call, everything recorded.
    Show {
        /// The call id (first column of `list`).
        call_id: String,
    },
    /// Delete call records older than some days, with their delivered or dropped outbox
    /// items; calls whose outbox items are not delivered yet are kept.
    Purge {
        /// Days to keep (default: [records] keep_days from the config, 90 without one).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
        older_than: Option<u32>,
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: OutboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Items, oldest first, with their state.
    List {
        /// Only this state: pending, in_flight, uncertain, delivered, dead, dropped.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Send a dead or dropped item again.
    Retry { id: i64 },
    /// Give up on an item (it will not be sent).
    Drop { id: i64 },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML). Without one, built-in defaults and the demo sandbox.
    #[arg(long, short, env = "RINGDESK_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// Caller ID as the phone network would deliver it (`+5511987654321`, `anonymous`, ...).
    #[arg(long)]
    pub from: String,
    /// Called number (selects the flow through [flows.routes]).
    #[arg(long, default_value = "+15550100")]
    pub to: String,
    /// What the caller does, in order: keys (`1`, `12#`), `wait 12s`, `hangup`,
    /// separated by commas; may be repeated. A step happens when no prompt is playing.
    #[arg(long = "press", value_name = "STEPS")]
    pub press: Vec<String>,
    /// Flow file to run (default: the flow routed for --to, or the built-in default flow).
    #[arg(long)]
    pub flow: Option<PathBuf>,
    /// Base URL of a Zendesk (or a separately started sandbox) instead of the in-process
    /// sandbox. Credentials: [connectors.zendesk] in the config, or ZENDESK_EMAIL and
    /// ZENDESK_API_TOKEN, else the sandbox's demo credentials.
    #[arg(long)]
    pub zendesk: Option<String>,
    /// Configuration file (TOML).
    #[arg(long, short, env = "RINGDESK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Record the call in this SQLite database and send durable requests (the post-call
    /// note) through its outbox, as `serve` does. Without it, durable requests go out at once.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// With --store: how long to keep delivering the outbox after the call.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub deliver_for: Duration,
    /// Print machine-readable JSON lines instead of the transcript.
    #[arg(long)]
    pub json: bool,
    /// Also show every node entered and exit taken.
    #[arg(long, short)]
    pub verbose: bool,
    /// Scripted queue: agents logged in.
    #[arg(long, default_value_t = 1)]
    pub agents: u32,
    /// Scripted queue: after how long an agent answers (`never` for nobody).
    #[arg(long, default_value = "20s", value_parser = parse_opt_duration)]
    pub answer_after: Never,
    /// Scripted queue: how long the agent talks.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub talk: Duration,
    /// Scripted queue: the queue's maximum wait (`never` for no limit).
    #[arg(long, default_value = "never", value_parser = parse_opt_duration)]
    pub max_wait: Never,
    /// Scripted queue: the queue is full (at its `max_calls`): every queue step takes its
    /// `full` exit (else `error`).
    #[arg(long)]
    pub queue_full: bool,
    /// How far the caller ID is believed, as a trunk would make it: "verified" (name and
    /// ticket are spoken), "check" (the caller keys in the ticket number first) or
    /// "unverified" (nothing personal is said). See [[trunks]] personal_data.
    #[arg(long, default_value = "verified", value_parser = ["verified", "check", "unverified"])]
    pub identity: String,
}

/// A duration, or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Never(pub Option<Duration>);

fn parse_opt_duration(s: &str) -> Result<Never, String> {
    if s.eq_ignore_ascii_case("never") {
        return Ok(Never(None));
    }
    humantime::parse_duration(s)
        .map(|d| Never(Some(d)))
        .map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Flow files to validate.
    #[arg(required = true)]
    pub flows: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Data file (JSON) with users and tickets (default: the built-in demo customers).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// Requests a minute above which the sandbox answers 429 with Retry-After.
    #[arg(long)]
    pub rate_limit: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
    /// Validate a configuration file.
    Check {
        /// The file.
        file: PathBuf,
    },
}
