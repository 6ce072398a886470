//! What `ringdesk call` prints: transcript entries with their time offset, as readable
//! text for a person or as JSON lines for a program (`--json`).

use serde::Serialize;
use std::io::Write;
use std::time::Duration;

/// One line of the transcript.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    CallStarted {
        call_id: String,
        ani: String,
        dnis: String,
        flow: String,
    },
    Node {
        node: String,
        activity: String,
    },
    Exit {
        node: String,
        exit: String,
        target: Option<String>,
    },
    Play {
        node: String,
        language: Option<String>,
        text: String,
        interruptible: bool,
        seconds: f64,
    },
    PlayStopped {
        reason: String,
    },
    Music {
        node: String,
        file: String,
        seconds: Option<f64>,
    },
    Key {
        key: char,
    },
    Wait {
        seconds: f64,
    },
    Http {
        node: String,
        method: String,
        path: String,
        query: Vec<(String, String)>,
        status: Option<u16>,
        error: Option<String>,
        duration_ms: u64,
        attempts: u32,
        durable: bool,
    },
    Variable {
        name: String,
        value: serde_json::Value,
    },
    Queue {
        node: String,
        queue: String,
        priority: u8,
        result: String,
    },
    QueueInfo {
        node: String,
        position: Option<u32>,
        estimated_wait_seconds: Option<f64>,
        agents_available: u32,
    },
    Agent {
        what: String,
        agent_id: String,
        agent_name: String,
    },
    Decision {
        node: String,
        text: String,
    },
    Handler {
        event: String,
    },
    Error {
        node: String,
        message: String,
    },
    Disconnect {
        reason: String,
    },
    CallerHangup {
        reason: String,
    },
    Finished {
        reason: String,
    },
}

/// An entry with its offset from the start of the call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    /// Seconds since the call started (virtual time).
    pub t: f64,
    #[serde(flatten)]
    pub entry: Entry,
}

/// Where transcript lines go.
pub trait Sink {
    fn line(&mut self, at: Duration, entry: Entry);
}

/// Writes lines to a writer as they happen, as text or JSON lines.
pub struct Printer<W: Write> {
    pub out: W,
    pub json: bool,
    /// Show node and exit lines (`--verbose`).
    pub verbose: bool,
}

impl<W: Write> Sink for Printer<W> {
    fn line(&mut self, at: Duration, entry: Entry) {
        let line = Line {
            t: at.as_secs_f64(),
            entry,
        };
        // A closed stdout (e.g. piped into `head`) must not abort the call.
        let _ = if self.json {
            match serde_json::to_string(&line) {
                Ok(s) => writeln!(self.out, "{s}"),
                Err(_) => Ok(()),
            }
        } else {
            match render(&line.entry, self.verbose) {
                Some(text) => writeln!(self.out, "{:>8.2}s  {text}", line.t),
                None => Ok(()),
            }
        };
    }
}

fn show(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    truncate(&s, 120)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The human-readable form of an entry; `None` hides it (node and exit lines unless verbose).
pub fn render(entry: &Entry, verbose: bool) -> Option<String> {
    Some(match entry {
        Entry::CallStarted {
            call_id,
            ani,
            dnis,
            flow,
        } => format!(
            "📞 call {call_id} from {} to {} (flow {flow})",
            truncate(&format!("{ani:?}"), 60),
            truncate(&format!("{dnis:?}"), 60)
        ),
        Entry::Node { node, activity } if verbose => format!("   → {node} ({activity})"),
        Entry::Exit { node, exit, target } if verbose => format!(
            "   {node} --{exit}--> {}",
            target.as_deref().unwrap_or("(end)")
        ),
        Entry::Node { .. } | Entry::Exit { .. } => return None,
        Entry::Play {
            node,
            language,
            text,
            interruptible,
            seconds,
        } => format!(
            "🔊 [{node}] ({}{}, {seconds:.1}s) {text:?}",
            language.as_deref().unwrap_or("audio"),
            if *interruptible { ", interruptible" } else { "" }
        ),
        Entry::PlayStopped { reason } => format!("   ⏹ prompt stopped: {reason}"),
        Entry::Music {
            node,
            file,
            seconds,
        } => match seconds {
            Some(s) => format!("🎵 [{node}] music {file} for {s:.0}s"),
            None => format!("🎵 [{node}] music {file} until something happens"),
        },
        Entry::Key { key } => format!("☎ caller presses {key}"),
        Entry::Wait { seconds } => format!("… caller waits {seconds:.1}s"),
        Entry::Http {
            node,
            method,
            path,
            query,
            status,
            error,
            duration_ms,
            attempts,
            durable,
        } => {
            let q = if query.is_empty() {
                String::new()
            } else {
                let parts: Vec<String> = query
                    .iter()
                    .map(|(k, v)| format!("{k}={}", truncate(v, 80)))
                    .collect();
                format!(" ?{}", parts.join("&"))
            };
            let result = match (status, error) {
                (Some(s), _) => format!("{s}"),
                (None, Some(e)) => format!("failed: {e}"),
                (None, None) => "deferred to the outbox".to_string(),
            };
            let tries = if *attempts > 1 {
                format!(", {attempts} attempts")
            } else {
                String::new()
            };
            let durable = if *durable { " (durable)" } else { "" };
            format!("🌐 [{node}] {method} {path}{q} → {result} ({duration_ms} ms{tries}){durable}")
        }
        Entry::Variable { name, value } => format!("   {name} = {}", show(value)),
        Entry::Queue {
            node,
            queue,
            priority,
            result,
        } => format!("🧍 [{node}] queue {queue:?} at priority {priority}: {result}"),
        Entry::QueueInfo {
            node,
            position,
            estimated_wait_seconds,
            agents_available,
        } => format!(
            "🧍 [{node}] queue info: position {}, estimated wait {}, {agents_available} agent(s) available",
            position.map_or("-".into(), |p| p.to_string()),
            estimated_wait_seconds.map_or("unknown".into(), |s| format!("{s:.0}s"))
        ),
        Entry::Agent {
            what,
            agent_id,
            agent_name,
        } => format!("👤 agent {agent_name} ({agent_id}) {what}"),
        Entry::Decision { node, text } => format!("   [{node}] {text}"),
        Entry::Handler { event } => format!("⚡ event handler: {event}"),
        Entry::Error { node, message } => format!("⚠ [{node}] {message}"),
        Entry::Disconnect { reason } => format!("📴 flow disconnects the call ({reason})"),
        Entry::CallerHangup { reason } => format!("📴 caller hangs up ({reason})"),
        Entry::Finished { reason } => format!("✔ flow finished: {reason}"),
    })
}
