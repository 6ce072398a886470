//! The `ringdesk call --json` transcript: one JSON object per line, parsed, with typed
//! views of what the caller heard, the HTTP requests made and the queue decisions.

use serde_json::Value;

/// A prompt the caller heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Play {
    pub node: String,
    pub language: Option<String>,
    pub text: String,
}

/// An HTTP request the flow made, as the transcript reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    pub node: String,
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub attempts: u64,
}

/// A queue decision.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDecision {
    pub node: String,
    pub queue: String,
    pub priority: u64,
    pub result: String,
}

/// A parsed transcript.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub lines: Vec<Value>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Transcript {
    /// Parses stdout; every non-empty line must be one JSON object with a `kind`.
    pub fn parse(stdout: &str) -> Transcript {
        let lines = stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("transcript line is not JSON ({e}): {l}"));
                assert!(
                    v.get("kind").and_then(Value::as_str).is_some(),
                    "transcript line without a kind: {l}"
                );
                v
            })
            .collect();
        Transcript { lines }
    }

    /// Lines of one kind.
    pub fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|v| v.get("kind").and_then(Value::as_str) == Some(kind))
            .collect()
    }

    /// Every kind, in order.
    pub fn kinds(&self) -> Vec<String> {
        self.lines.iter().map(|v| text(v, "kind")).collect()
    }

    /// What the caller heard, in order.
    pub fn plays(&self) -> Vec<Play> {
        self.of_kind("play")
            .into_iter()
            .map(|v| Play {
                node: text(v, "node"),
                language: v
                    .get("language")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                text: text(v, "text"),
            })
            .collect()
    }

    /// The prompts played by one node.
    pub fn plays_of(&self, node: &str) -> Vec<Play> {
        self.plays()
            .into_iter()
            .filter(|p| p.node == node)
            .collect()
    }

    /// Everything the caller heard, one prompt per line.
    pub fn heard(&self) -> String {
        self.plays()
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The HTTP requests, in order.
    pub fn http(&self) -> Vec<Http> {
        self.of_kind("http")
            .into_iter()
            .map(|v| Http {
                node: text(v, "node"),
                method: text(v, "method"),
                path: text(v, "path"),
                query: v
                    .get("query")
                    .and_then(Value::as_array)
                    .map(|pairs| {
                        pairs
                            .iter()
                            .map(|p| {
                                let get = |i: usize| {
                                    p.get(i)
                                        .and_then(Value::as_str)
                                        .unwrap_or_default()
                                        .to_string()
                                };
                                (get(0), get(1))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                status: v
                    .get("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok()),
                error: v.get("error").and_then(Value::as_str).map(str::to_string),
                attempts: v.get("attempts").and_then(Value::as_u64).unwrap_or(0),
            })
            .collect()
    }

    /// The HTTP request of one node (the first, if several).
    pub fn http_of(&self, node: &str) -> Option<Http> {
        self.http().into_iter().find(|h| h.node == node)
    }

    /// The queue decisions, in order.
    pub fn queues(&self) -> Vec<QueueDecision> {
        self.of_kind("queue")
            .into_iter()
            .map(|v| QueueDecision {
                node: text(v, "node"),
                queue: text(v, "queue"),
                priority: v.get("priority").and_then(Value::as_u64).unwrap_or(0),
                result: text(v, "result"),
            })
            .collect()
    }

    /// The last value a variable was set to.
    pub fn variable(&self, name: &str) -> Option<Value> {
        self.of_kind("variable")
            .into_iter()
            .rev()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|v| v.get("value").cloned())
    }

    /// The nodes entered, in order.
    pub fn nodes(&self) -> Vec<String> {
        self.of_kind("node")
            .into_iter()
            .map(|v| text(v, "node"))
            .collect()
    }

    /// True when a node was entered.
    pub fn visited(&self, node: &str) -> bool {
        self.nodes().iter().any(|n| n == node)
    }

    /// The `error` lines' messages, with their node.
    pub fn errors(&self) -> Vec<(String, String)> {
        self.of_kind("error")
            .into_iter()
            .map(|v| (text(v, "node"), text(v, "message")))
            .collect()
    }
}
