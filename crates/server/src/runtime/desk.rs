//! What the agent desktop knows of each call offered to an agent: the screen pop the call
//! session made (caller, language, menu choice, the ticket as the flow read it), the
//! queue and when the caller joined it, the ticket's summary and last public comment read
//! through the helpdesk's connector when a desktop first shows the call (no desktop, no
//! read), and the wrap-up note the agent saved (sent through the durable outbox).
//!
//! One table for both kinds of agent: the SIP dialer reads the screen pop from it for the
//! INVITE's headers, the desktop for its page. Bounded: calls are forgotten an hour after
//! they end, and the oldest beyond [`MAX_CALLS`].
//!
//! In a cluster (a shared PostgreSQL store) a call's screen pop is also written to the
//! store when it joins a queue, and a desktop shown an offer of a call held by another
//! node reads it from there once, so the agent sees the caller and the ticket whichever
//! node the page is on.

use ringdesk_connector as conn;
use ringdesk_session::{Helpdesk, ScreenPop, TicketSummary};
use ringdesk_store::{OutboxItem, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most calls remembered at once.
pub const MAX_CALLS: usize = 4096;
/// How long an ended call stays (its agent may still be writing the note).
const KEEP_ENDED: Duration = Duration::from_secs(3600);
/// Longest wrap-up note, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;
/// Time budget of each ticket read.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Most reads of other nodes' screen pops under way at once.
const MAX_FETCHING: usize = 64;

/// A call's screen pop as the nodes share it through the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SharedCall {
    #[serde(flatten)]
    pop: ScreenPop,
    queue: String,
    priority: u8,
    /// When the call joined the queue, in Unix milliseconds (the holding node's clock).
    queued_unix_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
enum Ticket {
    /// The caller has no ticket.
    None,
    /// Not read yet (the call has not been offered, or the read is under way).
    Loading,
    Loaded {
        summary: TicketSummary,
        last_comment: Option<String>,
    },
    /// The read failed; what the page says.
    Failed(String),
}

struct Call {
    pop: ScreenPop,
    queue: String,
    priority: u8,
    queued_at: Instant,
    offered_at: Option<Instant>,
    ticket: Ticket,
    reading: bool,
    note: Option<String>,
    ended_at: Option<Instant>,
}

/// Why a wrap-up note was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("this call is not known any more")]
    UnknownCall,
    #[error("this caller has no ticket to add a note to")]
    NoTicket,
    #[error("the note is empty")]
    Empty,
    #[error("the note is longer than {MAX_NOTE_CHARS} characters")]
    TooLong,
    #[error("the note for this call is already saved")]
    AlreadySaved,
    #[error("the helpdesk takes no notes from ringdesk")]
    Unsupported,
    #[error("the note could not be stored; try again")]
    Store,
}

#[derive(Default)]
struct Table {
    calls: HashMap<String, Call>,
    order: VecDeque<String>,
    /// Calls whose screen pop is being read from the store (held by another node).
    fetching: HashSet<String>,
}

impl Table {
    fn prune(&mut self, now: Instant) {
        let expired = |c: &Call| {
            c.ended_at
                .is_some_and(|e| now.saturating_duration_since(e) > KEEP_ENDED)
        };
        self.calls.retain(|_, c| !expired(c));
        while self.calls.len() >= MAX_CALLS {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.calls.remove(&oldest);
                }
                None => break,
            }
        }
        let calls = &self.calls;
        self.order.retain(|id| calls.contains_key(id));
    }
}

/// The calls agents are offered, for their phones' headers and their desktop.
pub struct DeskHub {
    table: Mutex<Table>,
    connectors: conn::Connectors,
    helpdesk: Arc<dyn Helpdesk>,
    store: Store,
}

impl DeskHub {
    pub fn new(
        connectors: conn::Connectors,
        helpdesk: Arc<dyn Helpdesk>,
        store: Store,
    ) -> Arc<DeskHub> {
        Arc::new(DeskHub {
            table: Mutex::new(Table::default()),
            connectors,
            helpdesk,
            store,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call joins `queue` (again, after a full queue) with its screen pop; in a
    /// cluster the pop is shared with the other nodes' desktops.
    pub fn queued(&self, call: &str, pop: ScreenPop, queue: &str, priority: u8) {
        if self.store.is_shared() {
            let shared = SharedCall {
                pop: pop.clone(),
                queue: queue.to_string(),
                priority,
                queued_unix_ms: jiff::Timestamp::now().as_millisecond(),
            };
            let (store, call) = (self.store.clone(), call.to_string());
            tokio::spawn(async move {
                let body = serde_json::to_string(&shared).unwrap_or_default();
                if let Err(e) = store.desk_call_put(&call, &body).await {
                    tracing::warn!(call, "screen pop not shared with the other nodes: {e}");
                }
            });
        }
        self.insert(call, pop, queue, priority, Instant::now());
    }

    fn insert(&self, call: &str, pop: ScreenPop, queue: &str, priority: u8, queued_at: Instant) {
        let now = Instant::now();
        let mut t = self.lock();
        if let Some(c) = t.calls.get_mut(call) {
            c.ticket = if pop.ticket_id.is_empty() {
                Ticket::None
            } else if pop.ticket_id == c.pop.ticket_id {
                c.ticket.clone()
            } else {
                Ticket::Loading
            };
            (c.pop, c.queue, c.priority) = (pop, queue.to_string(), priority);
            return;
        }
        t.prune(now);
        let ticket = if pop.ticket_id.is_empty() {
            Ticket::None
        } else {
            Ticket::Loading
        };
        t.calls.insert(
            call.to_string(),
            Call {
                pop,
                queue: queue.to_string(),
                priority,
                queued_at,
                offered_at: None,
                ticket,
                reading: false,
                note: None,
                ended_at: None,
            },
        );
        t.order.push_back(call.to_string());
    }

    /// The screen pop of `call` (empty when unknown).
    pub fn pop(&self, call: &str) -> ScreenPop {
        self.lock()
            .calls
            .get(call)
            .map(|c| c.pop.clone())
            .unwrap_or_default()
    }

    /// The call is offered to an agent (its wait ends).
    pub fn offered(&self, call: &str) {
        if let Some(c) = self.lock().calls.get_mut(call) {
            c.offered_at.get_or_insert_with(Instant::now);
        }
    }

    /// Reads the ticket of `call` once, when a desktop first shows it: no agent looking,
    /// no read (the helpdesk's API quota is the calls' first).
    fn read_once(self: &Arc<Self>, call: &str) {
        let ticket_id = {
            let mut t = self.lock();
            let Some(c) = t.calls.get_mut(call) else {
                return;
            };
            if c.reading || c.ticket != Ticket::Loading {
                return;
            }
            c.reading = true;
            c.pop.ticket_id.clone()
        };
        let hub = self.clone();
        let call = call.to_string();
        tokio::spawn(async move {
            let ticket = hub.read_ticket(&ticket_id).await;
            if let Some(c) = hub.lock().calls.get_mut(&call) {
                c.reading = false;
                if c.pop.ticket_id == ticket_id {
                    c.ticket = ticket;
                }
            }
        });
    }

    /// The call ended (the agent may still write its note).
    pub fn ended(&self, call: &str) {
        if let Some(c) = self.lock().calls.get_mut(call) {
            c.ended_at.get_or_insert_with(Instant::now);
        }
    }

    async fn get(&self, req: ringdesk_session::CheckRequest) -> Result<String, String> {
        let request = conn::HttpRequest {
            connector: self.helpdesk.connector().to_string(),
            method: conn::Method::Get,
            path: req.path,
            query: req.query,
            headers: Vec::new(),
            body: None,
            timeout: Some(READ_TIMEOUT),
            retries: 1,
        };
        match self.connectors.execute(request).await {
            conn::HttpOutcome::Response(r) if r.status == 200 => Ok(r.body),
            conn::HttpOutcome::Response(r) => Err(format!("the helpdesk answered {}", r.status)),
            conn::HttpOutcome::Failure(f) => {
                Err(format!("the helpdesk did not answer: {:?}", f.kind))
            }
        }
    }

    async fn read_ticket(&self, ticket_id: &str) -> Ticket {
        let Some(read) = self.helpdesk.ticket_read(ticket_id) else {
            return Ticket::Failed("this helpdesk's tickets cannot be read".into());
        };
        let comments = self.helpdesk.comments_read(ticket_id);
        let (ticket, comments) = tokio::join!(self.get(read), async {
            match comments {
                Some(c) => Some(self.get(c).await),
                None => None,
            }
        });
        let summary = match ticket.and_then(|body| self.helpdesk.read_ticket(&body)) {
            Ok(s) => s,
            Err(e) => {
                tracing::info!(
                    helpdesk = self.helpdesk.name(),
                    "ticket summary not read: {e}"
                );
                return Ticket::Failed("could not load the ticket".into());
            }
        };
        let last_comment = match comments {
            Some(Ok(body)) => self.helpdesk.last_public_comment(&body).unwrap_or(None),
            _ => None,
        };
        Ticket::Loaded {
            summary,
            last_comment,
        }
    }

    /// Reads the screen pop of `call`, held by another node, from the store (once at a
    /// time; the desktop's next view shows it). The call is then remembered as one that
    /// ended (forgotten an hour later, read again if still shown).
    fn fetch_shared(self: &Arc<Self>, call: &str) {
        if !self.store.is_shared() {
            return;
        }
        {
            let mut t = self.lock();
            if t.fetching.len() >= MAX_FETCHING || !t.fetching.insert(call.to_string()) {
                return;
            }
        }
        let hub = self.clone();
        let call = call.to_string();
        tokio::spawn(async move {
            let found = hub.store.desk_call_get(&call).await;
            hub.lock().fetching.remove(&call);
            let shared = match found {
                Ok(Some(body)) => match serde_json::from_str::<SharedCall>(&body) {
                    Ok(shared) => shared,
                    Err(e) => {
                        tracing::warn!(call, "another node's screen pop is unreadable: {e}");
                        return;
                    }
                },
                Ok(None) => {
                    tracing::debug!(call, "no screen pop shared for this call");
                    return;
                }
                Err(e) => {
                    tracing::warn!(call, "another node's screen pop not read: {e}");
                    return;
                }
            };
            let now = Instant::now();
            let waited_ms = jiff::Timestamp::now()
                .as_millisecond()
                .saturating_sub(shared.queued_unix_ms)
                .max(0);
            let queued_at = now
                .checked_sub(Duration::from_millis(u64::try_from(waited_ms).unwrap_or(0)))
                .unwrap_or(now);
            hub.insert(&call, shared.pop, &shared.queue, shared.priority, queued_at);
            if let Some(c) = hub.lock().calls.get_mut(&call) {
                c.offered_at.get_or_insert(now);
                c.ended_at.get_or_insert(now);
            }
        });
    }

    /// What the desktop shows of `call` in `phase` (`ringing`, `talking`, `wrap_up`);
    /// the first view starts reading the call's ticket (and, for a call held by another
    /// node, its screen pop).
    pub fn view(self: &Arc<Self>, call: &str, phase: &str) -> Json {
        self.read_once(call);
        let t = self.lock();
        let Some(c) = t.calls.get(call) else {
            drop(t);
            self.fetch_shared(call);
            return json!({ "id": call, "phase": phase, "caller": "", "caller_name": "",
                "language": "", "menu_choice": "", "queue": "", "queue_priority": null,
                "waited_seconds": null, "ticket": null, "search_url": null,
                "new_ticket_url": null, "note": null });
        };
        let p = &c.pop;
        let waited = c
            .offered_at
            .map(|o| o.saturating_duration_since(c.queued_at).as_secs_f64());
        let url = (!p.ticket_url.is_empty()).then(|| p.ticket_url.clone());
        let unread = |error: Option<&str>| {
            json!({ "id": p.ticket_id, "url": url, "loaded": false, "error": error,
                "status": opt(&p.ticket_status), "priority": opt(&p.ticket_priority),
                "subject": null, "status_words": null, "requester": null, "last_comment": null })
        };
        let ticket = match &c.ticket {
            Ticket::None => Json::Null,
            Ticket::Loading => unread(None),
            Ticket::Failed(e) => unread(Some(e)),
            Ticket::Loaded {
                summary,
                last_comment,
            } => json!({ "id": p.ticket_id, "url": url, "loaded": true, "error": null,
                "subject": summary.subject, "status": summary.status,
                "status_words": summary.status_words, "priority": summary.priority,
                "requester": opt(&p.caller_name), "last_comment": last_comment }),
        };
        let unknown = c.ticket == Ticket::None;
        json!({
            "id": call,
            "phase": phase,
            "caller": p.ani,
            "caller_name": p.caller_name,
            "language": p.language,
            "menu_choice": p.menu_choice,
            "queue": c.queue,
            "queue_priority": c.priority,
            "waited_seconds": waited,
            "ticket": ticket,
            "search_url": if unknown { self.helpdesk.search_url(&p.ani) } else { None },
            "new_ticket_url": if unknown { self.helpdesk.new_ticket_url() } else { None },
            "note": c.note.as_ref().map(|n| json!({ "text": n, "state": "queued" })),
        })
    }

    /// Saves `text` by `author` as the wrap-up note of `call`: a private note on its
    /// ticket through the outbox (kept across a restart, retried through an outage).
    pub async fn save_note(&self, call: &str, author: &str, text: &str) -> Result<(), NoteError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(NoteError::Empty);
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(NoteError::TooLong);
        }
        let ticket_id = {
            let t = self.lock();
            let c = t.calls.get(call).ok_or(NoteError::UnknownCall)?;
            if c.note.is_some() {
                return Err(NoteError::AlreadySaved);
            }
            if c.pop.ticket_id.is_empty() {
                return Err(NoteError::NoTicket);
            }
            c.pop.ticket_id.clone()
        };
        let note = self
            .helpdesk
            .agent_note(&ticket_id, author, text)
            .ok_or(NoteError::Unsupported)?;
        let marker = format!("{call}-desk");
        let item = OutboxItem {
            ordering_key: self
                .helpdesk
                .ticket_of_path(&note.path)
                .map(|t| format!("ticket:{t}"))
                .unwrap_or_else(|| format!("call:{call}")),
            connector: self.helpdesk.connector().to_string(),
            method: note.method,
            path: note.path,
            query: Vec::new(),
            headers: Vec::new(),
            body: Some(self.helpdesk.mark_body(&note.body, &marker)),
            marker: Some(marker),
            created_at: jiff::Timestamp::now(),
            resume: None,
        };
        match self
            .store
            .outbox_add(call, item, jiff::Timestamp::now())
            .await
        {
            Ok(_) => {
                if let Some(c) = self.lock().calls.get_mut(call) {
                    c.note = Some(text.to_string());
                }
                tracing::info!(call, "wrap-up note queued for the helpdesk");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(call, "wrap-up note not stored: {e}");
                Err(NoteError::Store)
            }
        }
    }
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    //! The table agents are shown: unknown callers get search links and no note, a
    //! ticket that cannot be read says so, notes are checked, stored once and bounded,
    //! and the table never grows past its cap.
    use super::*;
    use ringdesk_zendesk::helpdesk::Zendesk;

    fn hub(dir: &tempfile::TempDir) -> Arc<DeskHub> {
        let store = Store::open(dir.path().join("d.sqlite")).unwrap();
        // No `zendesk` connector: every ticket read fails, as during an outage.
        let connectors = conn::Connectors::from_config(&Default::default()).unwrap();
        DeskHub::new(
            connectors,
            Arc::new(Zendesk::new("https://acme.zendesk.com")),
            store,
        )
    }

    fn pop(ani: &str, ticket: &str) -> ScreenPop {
        ScreenPop {
            ani: ani.into(),
            caller_name: "Robert".into(),
            ticket_id: ticket.into(),
            language: "en-US".into(),
            menu_choice: "1".into(),
            ..ScreenPop::default()
        }
    }

    #[tokio::test]
    async fn an_unknown_caller_gets_search_links_and_no_note() {
        let dir = tempfile::tempdir().unwrap();
        let hub = hub(&dir);
        hub.queued("c1", pop("+1 312 555 0199", ""), "support", 5);
        let v = hub.view("c1", "ringing");
        assert_eq!(v["ticket"], Json::Null);
        assert_eq!(
            v["search_url"],
            "https://acme.zendesk.com/agent/search/1?q=13125550199"
        );
        assert_eq!(
            v["new_ticket_url"],
            "https://acme.zendesk.com/agent/tickets/new/1"
        );
        assert_eq!(
            (v["language"].as_str(), v["menu_choice"].as_str()),
            (Some("en-US"), Some("1"))
        );
        assert_eq!(
            hub.save_note("c1", "Ana", "hello").await,
            Err(NoteError::NoTicket)
        );
        assert_eq!(
            hub.save_note("nope", "Ana", "hello").await,
            Err(NoteError::UnknownCall)
        );
    }

    #[tokio::test]
    async fn a_ticket_that_cannot_be_read_says_so_and_the_note_is_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let hub = hub(&dir);
        let known = ScreenPop {
            ticket_url: "https://acme.zendesk.com/agent/tickets/13".into(),
            ..pop("+13125550109", "13")
        };
        hub.queued("c2", known, "support", 3);
        hub.offered("c2");
        let v = hub.view("c2", "ringing");
        assert_eq!(v["ticket"]["loaded"], false);
        assert_eq!(v["ticket"]["error"], Json::Null, "being read");
        let deadline = Instant::now() + Duration::from_secs(10);
        while hub.view("c2", "ringing")["ticket"]["error"].is_null() {
            assert!(Instant::now() < deadline, "the failed read is shown");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let v = hub.view("c2", "ringing");
        assert_eq!(v["ticket"]["error"], "could not load the ticket");
        assert_eq!(
            v["ticket"]["url"],
            "https://acme.zendesk.com/agent/tickets/13"
        );
        assert!(v["waited_seconds"].as_f64().is_some());

        assert_eq!(
            hub.save_note("c2", "Ana", "  ").await,
            Err(NoteError::Empty)
        );
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            hub.save_note("c2", "Ana", &long).await,
            Err(NoteError::TooLong)
        );
        hub.ended("c2");
        hub.save_note("c2", "Ana Agent", "Sent the catalog.")
            .await
            .unwrap();
        assert_eq!(
            hub.save_note("c2", "Ana Agent", "again").await,
            Err(NoteError::AlreadySaved)
        );
        assert_eq!(
            hub.view("c2", "wrap_up")["note"]["text"],
            "Sent the catalog."
        );
        let items = hub
            .store
            .outbox_list(ringdesk_store::OutboxFilter::default())
            .await
            .unwrap();
        assert_eq!(items.len(), 1);
        let item = &items[0].item;
        assert_eq!(
            (
                item.method.as_str(),
                item.path.as_str(),
                item.ordering_key.as_str()
            ),
            ("PUT", "/api/v2/tickets/13.json", "ticket:13")
        );
        let body = item.body.as_deref().unwrap();
        assert!(
            body.contains("Wrap-up by Ana Agent:\\nSent the catalog."),
            "{body}"
        );
        assert!(body.contains("ringdesk-ref: c2-desk"), "{body}");
        assert_eq!(items[0].call_id.as_deref(), Some("c2"));
    }

    #[tokio::test]
    async fn the_table_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let hub = hub(&dir);
        for i in 0..MAX_CALLS + 10 {
            hub.queued(&format!("c{i}"), pop("+1", ""), "support", 5);
        }
        let t = hub.lock();
        assert!(t.calls.len() <= MAX_CALLS);
        assert!(!t.calls.contains_key("c0"), "the oldest went first");
        assert!(t.calls.contains_key(&format!("c{}", MAX_CALLS + 9)));
    }
}
