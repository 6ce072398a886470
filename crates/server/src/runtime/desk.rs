//! What the agent desktop knows of each call offered to an agent: the screen pop the call
//! session made (caller, language, menu choice, the ticket as the flow read it), the
//! queue and when the caller joined it, the ticket's summary and last public comment read
//! through the helpdesk's connector when the call is first offered, and the wrap-up note
//! the agent saved (sent through the durable outbox).
//!
//! One table for both kinds of agent: the SIP dialer reads the screen pop from it for the
//! INVITE's headers, the desktop for its page. Bounded: calls are forgotten an hour after
//! they end, and the oldest beyond [`MAX_CALLS`].

use ringdesk_connector as conn;
use ringdesk_session::{Helpdesk, ScreenPop, TicketSummary};
use ringdesk_store::{OutboxItem, Store};
use serde_json::{json, Value as Json};
use std::collections::{HashMap, VecDeque};
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

/// The ticket as the desktop shows it.
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

    /// The call joins `queue` (again, after a full queue) with its screen pop.
    pub fn queued(&self, call: &str, pop: ScreenPop, queue: &str, priority: u8) {
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
                queued_at: now,
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

    /// The call is offered to an agent: its ticket is read now, once.
    pub fn offered(self: &Arc<Self>, call: &str) {
        let ticket_id = {
            let mut t = self.lock();
            let Some(c) = t.calls.get_mut(call) else {
                return;
            };
            c.offered_at.get_or_insert_with(Instant::now);
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

    /// What the desktop shows of `call` in `phase` (`ringing`, `talking`, `wrap_up`).
    pub fn view(&self, call: &str, phase: &str) -> Json {
        let t = self.lock();
        let Some(c) = t.calls.get(call) else {
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
        let ticket = match &c.ticket {
            Ticket::None => Json::Null,
            Ticket::Loading => json!({ "id": p.ticket_id, "url": url, "loaded": false,
                "error": null, "status": opt(&p.ticket_status), "priority": opt(&p.ticket_priority),
                "subject": null, "status_words": null, "requester": null, "last_comment": null }),
            Ticket::Failed(e) => json!({ "id": p.ticket_id, "url": url, "loaded": false,
                "error": e, "status": opt(&p.ticket_status), "priority": opt(&p.ticket_priority),
                "subject": null, "status_words": null, "requester": null, "last_comment": null }),
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
