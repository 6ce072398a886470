//! The executor's interface with the world: the actions it emits and the events it consumes.
//!
//! The executor is sans-IO. A runtime (the SIP channel, or the `ringdesk call` simulator)
//! drives it like this:
//!
//! ```text
//! let mut ex = Executor::new(flow, start, now);
//! loop {
//!     while let Some(action) = ex.poll_action() { /* perform it; later feed events back */ }
//!     if ex.is_finished() { break }
//!     // wait until ex.poll_timeout() or until an event arrives, then
//!     ex.handle_timeout(now) / ex.handle_event(now, event)
//! }
//! ```
//!
//! Every action that needs an answer carries an [`ActionId`]; the runtime answers with the
//! event that names the same id. Nothing here knows about SIP, RTP or sockets.

use std::collections::BTreeMap;
use std::time::Duration;

/// Identifies one emitted action so that its completion event can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(pub u64);

/// What the runtime knows about the call when it starts the flow.
#[derive(Debug, Clone, Default)]
pub struct CallStart {
    /// Unique id of the call (the interaction id).
    pub call_id: String,
    /// Caller id as received (attacker-controlled: the flow must treat it as untrusted text).
    pub ani: String,
    /// Called number or user.
    pub dnis: String,
    /// Selected signalling headers (name, value), already size-bounded by the runtime.
    pub headers: Vec<(String, String)>,
    /// Wall-clock start of the call, RFC 3339 (the executor never reads the clock).
    pub started_at: String,
    /// Extra variables set by the runtime (e.g. `default_language`, `zendesk_url`).
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// One piece of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Text to speak (already rendered from its template).
    Tts {
        text: String,
        /// BCP 47 language tag, e.g. `en-US`, `pt-BR`.
        language: String,
        /// Engine voice name, when the flow chose one.
        voice: Option<String>,
    },
    /// An audio file (path as written in the flow, resolved by the runtime).
    Audio { file: String },
}

/// How a Queue Contact activity checks agent availability before queueing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailabilityCheck {
    /// Queue regardless.
    Off,
    /// Take the `no_agents` exit when no agent serving the queue is logged in.
    LoggedIn,
    /// Take the `no_agents` exit when no agent serving the queue is available right now.
    Available,
}

/// Something the runtime must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Play the segments in order. Answer with [`Event::PlayDone`] (or [`Event::PlayFailed`]).
    /// When `interruptible`, a digit stops it: the executor then emits [`Action::StopPlay`].
    Play {
        id: ActionId,
        node: String,
        segments: Vec<Segment>,
        interruptible: bool,
    },
    /// Stop the prompt or music with this id now (barge-in, or the flow moved on).
    /// No completion event is expected after this.
    StopPlay { id: ActionId },
    /// Play music on hold, looping the file. `duration: None` plays until stopped.
    /// Answer with [`Event::PlayDone`] when the duration has elapsed.
    PlayMusic {
        id: ActionId,
        node: String,
        file: String,
        duration: Option<Duration>,
    },
    /// Perform an HTTP request through a named connector (base URL and credentials come
    /// from configuration, never from the flow). Answer with [`Event::HttpDone`].
    Http {
        id: ActionId,
        node: String,
        request: HttpRequest,
    },
    /// Put the caller in a queue. Answer with [`Event::QueueResult`] (a full queue is
    /// [`QueueResult::Failed`] with [`QueueFailure::Full`]); later the runtime sends agent
    /// events.
    Enqueue {
        id: ActionId,
        node: String,
        queue: String,
        /// 1 (highest) to 10 (lowest).
        priority: u8,
        availability: AvailabilityCheck,
        /// Skills the answering agent must all have (empty: any agent of the queue).
        skills: Vec<String>,
    },
    /// Ask about a queue. Answer with [`Event::QueueInfo`].
    QueueInfo {
        id: ActionId,
        node: String,
        queue: String,
    },
    /// A request of a durable `call_ended` handler found the service unavailable
    /// ([`HttpOutcome::is_unavailable`]): the handler stops here, and `resume` is the rest
    /// of it (this node again, then on) for the runtime to keep durably and run later
    /// ([`crate::Executor::resume`]). `request` is the one that failed. No answer expected.
    Defer {
        node: String,
        request: HttpRequest,
        resume: Resume,
    },
    /// Hang up the caller.
    Disconnect { reason: String },
    /// Something worth showing in a transcript or log (no answer expected).
    Log(LogEntry),
}

/// An HTTP request as the flow asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Connector name, as configured (e.g. `zendesk`).
    pub connector: String,
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// Path below the connector's base URL, already rendered (e.g. `/api/v2/search.json`).
    pub path: String,
    /// Query parameters, rendered, not yet URL-encoded.
    pub query: Vec<(String, String)>,
    /// Extra headers, rendered.
    pub headers: Vec<(String, String)>,
    /// Body, rendered.
    pub body: Option<String>,
    /// Time budget for the whole activity, retries included.
    pub timeout: Duration,
    /// How many times to retry a retryable failure (connect error, timeout, 5xx, 429).
    pub retries: u32,
    /// Deliver through the durable outbox (answered at once with [`HttpOutcome::Deferred`]).
    pub durable: bool,
}

/// The rest of a durable `call_ended` handler: the flow, the node to run again, and the
/// call's variables as they were. Text in and out ([`Resume::to_text`],
/// [`Resume::from_text`]) so a store can keep it; both bounded by [`MAX_RESUME_BYTES`].
#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    /// The flow's `name`.
    pub flow: String,
    /// The node to run first (the request that met the outage).
    pub node: String,
    /// Every variable, by name.
    pub variables: serde_json::Map<String, serde_json::Value>,
}

/// Largest [`Resume`] as text: a call's variables are bounded (outputs, start text), so
/// this only stops a flow that stores far more than a note needs.
pub const MAX_RESUME_BYTES: usize = 256 * 1024;

/// Why a [`Resume`] cannot be read or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    #[error("the resume text is larger than {MAX_RESUME_BYTES} bytes")]
    TooLarge,
    #[error("the resume text is not valid: {0}")]
    Invalid(String),
    #[error("flow `{flow}` has no node `{node}` to resume at")]
    NoSuchNode { flow: String, node: String },
    #[error("the resume is for flow `{found}`, not `{expected}`")]
    OtherFlow { found: String, expected: String },
}

/// Version of [`Resume`]'s text form.
const RESUME_VERSION: u64 = 1;

impl Resume {
    /// The text form (JSON), or [`ResumeError::TooLarge`].
    pub fn to_text(&self) -> Result<String, ResumeError> {
        let text = serde_json::json!({
            "v": RESUME_VERSION,
            "flow": self.flow,
            "node": self.node,
            "variables": self.variables,
        })
        .to_string();
        if text.len() > MAX_RESUME_BYTES {
            return Err(ResumeError::TooLarge);
        }
        Ok(text)
    }

    /// Reads [`Resume::to_text`]'s output.
    pub fn from_text(text: &str) -> Result<Resume, ResumeError> {
        if text.len() > MAX_RESUME_BYTES {
            return Err(ResumeError::TooLarge);
        }
        let bad = |what: &str| ResumeError::Invalid(what.to_string());
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ResumeError::Invalid(e.to_string()))?;
        if v.get("v").and_then(|x| x.as_u64()) != Some(RESUME_VERSION) {
            return Err(bad("unknown version"));
        }
        let text_of = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        Ok(Resume {
            flow: text_of("flow").ok_or_else(|| bad("no flow"))?,
            node: text_of("node").ok_or_else(|| bad("no node"))?,
            variables: v
                .get("variables")
                .and_then(|x| x.as_object())
                .cloned()
                .ok_or_else(|| bad("no variables"))?,
        })
    }
}

/// The answer to an [`Action::Http`].
#[derive(Debug, Clone, PartialEq)]
pub enum HttpOutcome {
    /// A response arrived (any status).
    Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        attempts: u32,
        elapsed: Duration,
    },
    /// No usable response: connect error, timeout, or the connector is unknown.
    Failed {
        kind: HttpFailureKind,
        /// Human-readable, never contains secrets.
        message: String,
        attempts: u32,
        elapsed: Duration,
    },
    /// Accepted by the durable outbox; delivery happens later.
    Deferred,
}

impl HttpOutcome {
    /// The service cannot answer now, and may later: no response (connection refused or
    /// lost, timeout), or a status that says "not now" (408, 425, 429, 5xx but 501 and
    /// 505). The outbox retries exactly these (`ringdesk_store::classify_status`; a test
    /// in the session crate keeps the two in step). A deferred request is not unavailable.
    pub fn is_unavailable(&self) -> bool {
        match self {
            HttpOutcome::Response { status, .. } => {
                matches!(status, 408 | 425 | 429 | 500 | 502..=504 | 506..=599)
            }
            HttpOutcome::Failed { kind, .. } => {
                matches!(kind, HttpFailureKind::Connect | HttpFailureKind::Timeout)
            }
            HttpOutcome::Deferred => false,
        }
    }
}

/// Why an HTTP request produced no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpFailureKind {
    Connect,
    Timeout,
    UnknownConnector,
    Other,
}

/// The answer to an [`Action::Enqueue`].
#[derive(Debug, Clone, PartialEq)]
pub enum QueueResult {
    Queued,
    /// The availability check failed.
    NoAgents {
        logged_in: u32,
        available: u32,
    },
    /// The queue refused the call: it is full ([`QueueFailure::Full`], the `queue`
    /// activity's `full` exit), or does not exist, or the queue is not running.
    Failed {
        reason: QueueFailure,
    },
}

/// Why a queue refused a call ([`QueueResult::Failed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueFailure {
    /// The queue already holds as many calls as it may (waiting or ringing an agent):
    /// `[queues.<name>] max_calls`. The flow takes the `queue` activity's `full` exit,
    /// else its `error` exit.
    Full {
        /// The queue's limit.
        max_calls: u32,
    },
    /// Any other refusal, as text (unknown queue, the queue is not running, ...).
    Other(String),
}

impl QueueFailure {
    /// True for [`QueueFailure::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, QueueFailure::Full { .. })
    }
}

impl std::fmt::Display for QueueFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueFailure::Full { max_calls } => {
                write!(f, "the queue is full (max_calls = {max_calls})")
            }
            QueueFailure::Other(reason) => f.write_str(reason),
        }
    }
}

impl From<String> for QueueFailure {
    fn from(reason: String) -> Self {
        QueueFailure::Other(reason)
    }
}

impl From<&str> for QueueFailure {
    fn from(reason: &str) -> Self {
        QueueFailure::Other(reason.to_owned())
    }
}

/// The answer to an [`Action::QueueInfo`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueInfo {
    /// 1-based position of this caller, when queued.
    pub position: Option<u32>,
    /// Estimated wait, when there is history to estimate from.
    pub estimated_wait: Option<Duration>,
    pub agents_logged_in: u32,
    pub agents_available: u32,
    pub calls_queued: u32,
    pub oldest_wait: Option<Duration>,
}

/// The agent involved in an agent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRef {
    pub id: String,
    pub name: String,
}

/// Something that happened, fed to the executor.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    PlayDone {
        id: ActionId,
    },
    PlayFailed {
        id: ActionId,
        reason: String,
    },
    /// A keypress: `0`-`9`, `*`, `#` (others are ignored).
    Digit {
        key: char,
    },
    HttpDone {
        id: ActionId,
        outcome: HttpOutcome,
    },
    QueueResult {
        id: ActionId,
        result: QueueResult,
    },
    QueueInfo {
        id: ActionId,
        info: QueueInfo,
    },
    AgentOffered {
        agent: AgentRef,
    },
    AgentAnswered {
        agent: AgentRef,
    },
    /// The agent left: hung up, or (`lost`) their phone went away (a browser page
    /// closed, its network gone); the flow sees `agent_lost`.
    AgentDisconnected {
        agent: AgentRef,
        lost: bool,
    },
    /// The caller waited the queue's maximum time and has left the queue.
    QueueMaxWait,
    /// The caller hung up (or the call otherwise ended from the outside).
    CallerHangup,
}

/// Transcript material.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry {
    NodeEntered {
        node: String,
        activity: String,
    },
    ExitTaken {
        node: String,
        exit: String,
        target: Option<String>,
    },
    /// A variable was set; `value` is what it keeps (only what the flow reads of an object,
    /// see [`crate::Variables`]).
    VariableSet {
        name: String,
        value: serde_json::Value,
    },
    /// Queue decision made by the flow (for the transcript).
    Decision {
        node: String,
        text: String,
    },
    /// A recoverable or fatal flow error (took an error exit or the global error handler).
    Error {
        node: String,
        message: String,
    },
    /// An event handler started.
    HandlerStarted {
        event: String,
    },
    /// The executor is done: no more actions will follow.
    Finished {
        reason: String,
    },
}
