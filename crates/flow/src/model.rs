//! The flow model: a validated flow as the executor runs it (nodes, activities, exits,
//! declared variables, event handlers). Built by the loader, never by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde_json_path::JsonPath;

use crate::io::{AvailabilityCheck, Segment};
use crate::template::is_template;

pub use crate::decl::{VarDecl, VarType};

/// Text to speak: one template, or one template per language.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    Plain(String),
    /// (BCP 47 tag, template), in file order.
    ByLanguage(Vec<(String, String)>),
}

impl Text {
    /// The template for a language and the tag it is written in (`None` for plain text):
    /// exact tag, else same primary language, else the first entry.
    pub(crate) fn for_language(&self, language: &str) -> (Option<&str>, &str) {
        match self {
            Text::Plain(t) => (None, t),
            Text::ByLanguage(list) => {
                let primary = |tag: &str| {
                    tag.split(['-', '_'])
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase()
                };
                list.iter()
                    .find(|(l, _)| l.eq_ignore_ascii_case(language))
                    .or_else(|| list.iter().find(|(l, _)| primary(l) == primary(language)))
                    .or_else(|| list.first())
                    .map(|(l, t)| (Some(l.as_str()), t.as_str()))
                    .unwrap_or((None, ""))
            }
        }
    }
}

/// One piece of a prompt, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptPart {
    Text(Text),
    Audio(String),
}

/// What to play: parts in order, the language template and voice.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub parts: Vec<PromptPart>,
    /// Template giving the language; `None` uses the flow's `language`.
    pub language: Option<String>,
    pub voice: Option<String>,
    pub interruptible: bool,
    /// `false`: a `play` node moves on at once while the prompt plays (the next prompt
    /// queues behind it), so lookups can run during a greeting.
    pub wait: bool,
}

/// A JSONPath output of an HTTP activity.
#[derive(Debug, Clone)]
pub struct HttpOutput {
    pub variable: String,
    pub path_text: String,
    pub path: JsonPath,
    /// `true`: all matches as an array; `false`: the first match (or the variable's zero).
    pub all: bool,
}

#[derive(Debug, Clone)]
pub struct HttpSpec {
    pub connector: String,
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub timeout: Duration,
    pub retries: u32,
    pub durable: bool,
    pub outputs: Vec<HttpOutput>,
    pub status_variable: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MenuSpec {
    pub prompt: Prompt,
    pub timeout: Duration,
    pub retries: u32,
    pub no_input_prompt: Option<Prompt>,
    pub invalid_prompt: Option<Prompt>,
    pub output: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CollectSpec {
    pub prompt: Option<Prompt>,
    pub min: usize,
    pub max: usize,
    pub terminator: Option<char>,
    pub first_timeout: Duration,
    pub inter_timeout: Duration,
    pub output: String,
}

#[derive(Debug, Clone)]
pub struct QueueSpec {
    /// Template giving the queue name.
    pub name: String,
    /// Template giving the priority (1-10); outside 1-10 or not a number → 10.
    pub priority: String,
    pub check: AvailabilityCheck,
    /// Template giving required agent skills, comma-separated (`None`: any agent).
    pub skills: Option<String>,
}

/// The fields of [`crate::io::QueueInfo`] a `queue_info` activity can copy into variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueField {
    Position,
    EstimatedWait,
    AgentsLoggedIn,
    AgentsAvailable,
    CallsQueued,
    OldestWait,
}

impl QueueField {
    pub(crate) const ALL: [(&'static str, QueueField); 6] = [
        ("position", QueueField::Position),
        ("estimated_wait", QueueField::EstimatedWait),
        ("agents_logged_in", QueueField::AgentsLoggedIn),
        ("agents_available", QueueField::AgentsAvailable),
        ("calls_queued", QueueField::CallsQueued),
        ("oldest_wait", QueueField::OldestWait),
    ];
}

#[derive(Debug, Clone)]
pub struct QueueInfoSpec {
    pub queue: String,
    pub outputs: Vec<(QueueField, String)>,
}

#[derive(Debug, Clone)]
pub struct MusicSpec {
    pub file: String,
    pub duration: Option<Duration>,
    pub looped: bool,
}

/// What a node does.
#[derive(Debug, Clone)]
pub enum Activity {
    Play(Prompt),
    Menu(MenuSpec),
    Collect(CollectSpec),
    Http(HttpSpec),
    Set(Vec<(String, String)>),
    Condition(String),
    Case(String),
    Queue(QueueSpec),
    QueueInfo(QueueInfoSpec),
    Music(MusicSpec),
    Disconnect(Option<String>),
    End,
}

impl Activity {
    /// The activity's keyword in flow files.
    pub fn keyword(&self) -> &'static str {
        match self {
            Activity::Play(_) => "play",
            Activity::Menu(_) => "menu",
            Activity::Collect(_) => "collect",
            Activity::Http(_) => "http",
            Activity::Set(_) => "set",
            Activity::Condition(_) => "condition",
            Activity::Case(_) => "case",
            Activity::Queue(_) => "queue",
            Activity::QueueInfo(_) => "queue_info",
            Activity::Music(_) => "music",
            Activity::Disconnect(_) => "disconnect",
            Activity::End => "end",
        }
    }
}

/// A node: an activity and where each of its exits leads.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub activity: Activity,
    pub exits: BTreeMap<String, String>,
}

/// The events a flow can handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    AgentOffered,
    AgentAnswered,
    AgentDisconnected,
    /// The caller waited the queue's maximum time and left the queue.
    QueueMaxWait,
    CallEnded,
    Error,
}

impl EventKind {
    pub(crate) const ALL: [EventKind; 6] = [
        EventKind::AgentOffered,
        EventKind::AgentAnswered,
        EventKind::AgentDisconnected,
        EventKind::QueueMaxWait,
        EventKind::CallEnded,
        EventKind::Error,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::AgentOffered => "agent_offered",
            EventKind::AgentAnswered => "agent_answered",
            EventKind::AgentDisconnected => "agent_disconnected",
            EventKind::QueueMaxWait => "queue_max_wait",
            EventKind::CallEnded => "call_ended",
            EventKind::Error => "error",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// A loaded, validated flow. Cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct Flow {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) start: String,
    pub(crate) default_language: String,
    pub(crate) language: String,
    pub(crate) variables: BTreeMap<String, VarDecl>,
    pub(crate) nodes: BTreeMap<String, Node>,
    pub(crate) handlers: BTreeMap<EventKind, String>,
    /// The `call_ended` handler is declared `durable`: when one of its requests finds the
    /// service unavailable, the rest of it is deferred ([`crate::Action::Defer`]).
    pub(crate) durable_call_ended: bool,
    pub(crate) warnings: Vec<crate::Diagnostic>,
    /// The environment with every template of the flow compiled (once, at load).
    pub(crate) templates: crate::template::Templates,
    /// The slots of a call's variables and what the flow reads of each (worked out at load).
    pub(crate) var_layout: std::sync::Arc<crate::vars::VarLayout>,
    /// Each node's line and text in the file (for pictures: [`Flow::graph`]).
    pub(crate) node_source: BTreeMap<String, (usize, String)>,
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flow")
            .field("name", &self.name)
            .field("start", &self.start)
            .field("nodes", &self.nodes.len())
            .field("handlers", &self.handlers)
            .finish()
    }
}

impl Flow {
    /// The flow's `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The flow's `description`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Names of the HTTP connectors the flow uses (the runtime must configure them).
    pub fn connectors(&self) -> BTreeSet<String> {
        self.nodes
            .values()
            .filter_map(|n| match &n.activity {
                Activity::Http(h) => Some(h.connector.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every TTS text with no template syntax, in each language it is written in
    /// (plain strings in the flow's `default_language`), for pre-rendering. No duplicates.
    pub fn static_prompts(&self) -> Vec<Segment> {
        let mut out: Vec<Segment> = Vec::new();
        for prompt in self.prompts() {
            let voice = prompt.voice.clone();
            for part in &prompt.parts {
                let PromptPart::Text(text) = part else {
                    continue;
                };
                let entries: Vec<(String, &String)> = match text {
                    Text::Plain(t) => {
                        let lang = match &prompt.language {
                            Some(l) if !is_template(l) => l.clone(),
                            _ => self.default_language.clone(),
                        };
                        vec![(lang, t)]
                    }
                    Text::ByLanguage(list) => list.iter().map(|(l, t)| (l.clone(), t)).collect(),
                };
                for (language, t) in entries {
                    if is_template(t) || t.trim().is_empty() {
                        continue;
                    }
                    // Trimmed exactly as the executor trims what it speaks.
                    let seg = Segment::Tts {
                        text: t.trim().to_string(),
                        language,
                        voice: voice.clone(),
                    };
                    if !out.contains(&seg) {
                        out.push(seg);
                    }
                }
            }
        }
        out
    }

    /// Every audio file the flow may play (prompts and music), without duplicates.
    pub fn audio_files(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |f: &String| {
            if !out.contains(f) {
                out.push(f.clone());
            }
        };
        for prompt in self.prompts() {
            for part in &prompt.parts {
                if let PromptPart::Audio(f) = part {
                    add(f);
                }
            }
        }
        for node in self.nodes.values() {
            if let Activity::Music(m) = &node.activity {
                add(&m.file);
            }
        }
        out
    }

    /// Diagnostics of severity warning found while loading.
    pub fn warnings(&self) -> &[crate::Diagnostic] {
        &self.warnings
    }

    /// Names of all nodes.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    fn prompts(&self) -> Vec<&Prompt> {
        let mut out = Vec::new();
        for node in self.nodes.values() {
            match &node.activity {
                Activity::Play(p) => out.push(p),
                Activity::Menu(m) => {
                    out.push(&m.prompt);
                    out.extend(m.no_input_prompt.iter());
                    out.extend(m.invalid_prompt.iter());
                }
                Activity::Collect(c) => out.extend(c.prompt.iter()),
                _ => {}
            }
        }
        out
    }
}
