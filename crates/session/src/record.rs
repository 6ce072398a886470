//! Builds a call's interaction record and its durable outbox items from what the flow
//! executor does (its actions and log entries) and what happens to the call (events).
//! The [`crate::Session`] feeds one per call, whichever driver runs it.
//!
//! The record reads three conventional flow variables: `user_id`, `ticket_id` and
//! `language` (documented in docs/flows.md); everything else comes from the activities.
//! What is helpdesk-specific (ordering by ticket, the note's marker) comes from the
//! [`Helpdesk`].

use crate::helpdesk::Helpdesk;
use jiff::Timestamp;
use ringdesk_flow::{Action, Event, HttpRequest, LogEntry, QueueResult};
use ringdesk_store::{EndReason, FlowErrorRecord, Interaction, MenuStep, OutboxItem};

/// Most menu steps and flow errors kept per call (a looping caller cannot grow a record).
const MAX_STEPS: usize = 64;

/// Observes one call.
#[derive(Debug)]
pub struct CallRecorder {
    rec: Interaction,
    items: Vec<OutboxItem>,
    /// Activity of the node being executed (to recognise menu exits).
    current_activity: String,
    last_queue_result_no_agents: bool,
    flow_disconnected: bool,
    error_seen: bool,
    max_wait: bool,
    durable_seq: u32,
    /// What outbox markers start with: the call id, or for a resumed run the marker of
    /// the item it resumes (so a run repeated after a crash records the same markers).
    marker_prefix: String,
}

impl CallRecorder {
    pub fn new(call_id: &str, ani: &str, dnis: &str, arrived_at: Timestamp) -> Self {
        CallRecorder {
            marker_prefix: call_id.to_string(),
            rec: Interaction::new(call_id, bound(ani), bound(dnis), arrived_at),
            items: Vec::new(),
            current_activity: String::new(),
            last_queue_result_no_agents: false,
            flow_disconnected: false,
            error_seen: false,
            max_wait: false,
            durable_seq: 0,
        }
    }

    /// Markers of the items recorded from now on start with `prefix` (a resumed run).
    pub fn with_marker_prefix(mut self, prefix: &str) -> Self {
        self.marker_prefix = prefix.to_string();
        self
    }

    pub fn answered(&mut self, at: Timestamp) {
        self.rec.answered_at.get_or_insert(at);
    }

    /// Notes an action the executor emitted.
    pub fn on_action(&mut self, action: &Action) {
        match action {
            Action::Enqueue {
                queue, priority, ..
            } => {
                self.rec.queue = Some(queue.clone());
                self.rec.priority = Some(*priority);
            }
            Action::Disconnect { reason } => {
                self.flow_disconnected = true;
                self.rec.end_detail.get_or_insert_with(|| bound(reason));
            }
            Action::Log(entry) => self.on_log(entry),
            _ => {}
        }
    }

    fn on_log(&mut self, entry: &LogEntry) {
        match entry {
            LogEntry::NodeEntered { activity, .. } => self.current_activity = activity.clone(),
            LogEntry::ExitTaken { exit, target, .. }
                if matches!(self.current_activity.as_str(), "menu" | "collect")
                    && self.rec.menu_path.len() < MAX_STEPS =>
            {
                self.rec.menu_path.push(MenuStep {
                    key: exit.clone(),
                    node: target.clone().unwrap_or_default(),
                });
            }
            LogEntry::VariableSet { name, value } => {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                let slot = match name.as_str() {
                    "user_id" => &mut self.rec.user_id,
                    "ticket_id" => &mut self.rec.ticket_id,
                    "language" => &mut self.rec.language,
                    _ => return,
                };
                *slot = (!text.is_empty() && text != "null").then(|| bound(&text));
            }
            LogEntry::Error { node, message } => {
                self.error_seen = true;
                if self.rec.flow_errors.len() < MAX_STEPS {
                    self.rec.flow_errors.push(FlowErrorRecord {
                        node: node.clone(),
                        message: message.clone(),
                    });
                }
            }
            _ => {}
        }
    }

    /// Notes an event fed to the executor.
    pub fn on_event(&mut self, event: &Event, at: Timestamp) {
        match event {
            Event::QueueResult { result, .. } => {
                self.last_queue_result_no_agents = matches!(result, QueueResult::NoAgents { .. });
                // Only a call that really waits has a queue time.
                if *result == QueueResult::Queued {
                    self.rec.queued_at.get_or_insert(at);
                }
            }
            Event::AgentOffered { .. } => {
                self.rec.offered_at.get_or_insert(at);
            }
            Event::AgentAnswered { agent } => {
                self.rec.agent_answered_at.get_or_insert(at);
                self.rec.agent_id = Some(agent.id.clone());
                self.rec.agent_name = Some(agent.name.clone());
            }
            Event::AgentDisconnected { .. } => {
                self.rec.end_reason.get_or_insert(EndReason::Agent);
                self.rec.ended_at.get_or_insert(at);
            }
            Event::QueueMaxWait => self.max_wait = true,
            Event::CallerHangup => {
                if !self.flow_disconnected {
                    self.rec.end_reason.get_or_insert(EndReason::Caller);
                }
                self.rec.ended_at.get_or_insert(at);
            }
            _ => {}
        }
    }

    /// A durable request from the flow: becomes an outbox item (delivered after the call).
    /// The helpdesk marks its body (a note gets a reference line) so that a retry after an
    /// uncertain outcome can find the note already posted.
    pub fn durable(&mut self, helpdesk: &dyn Helpdesk, req: &HttpRequest, at: Timestamp) {
        let marker = self.next_marker();
        let body = req.body.as_deref().map(|b| helpdesk.mark_body(b, &marker));
        let ordering_key = helpdesk
            .ticket_of_path(&req.path)
            .map(|t| format!("ticket:{t}"))
            .unwrap_or_else(|| format!("call:{}", self.rec.call_id));
        self.items.push(OutboxItem {
            ordering_key,
            connector: req.connector.clone(),
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body,
            marker: Some(marker),
            created_at: at,
            resume: None,
        });
    }

    /// The rest of a durable `call_ended` handler that met an outage at `req`: an item
    /// ordered with its call, holding the request and `resume` (the run to resume).
    pub fn deferred_rest(&mut self, req: &HttpRequest, resume: String, at: Timestamp) {
        let marker = self.next_marker();
        self.items.push(OutboxItem {
            ordering_key: format!("call:{}", self.rec.call_id),
            connector: req.connector.clone(),
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            marker: Some(marker),
            created_at: at,
            resume: Some(resume),
        });
    }

    fn next_marker(&mut self) -> String {
        self.durable_seq += 1;
        format!("{}-{}", self.marker_prefix, self.durable_seq)
    }

    /// The record and the outbox items, once the flow has finished.
    pub fn finish(mut self, at: Timestamp) -> (Interaction, Vec<OutboxItem>) {
        self.rec.ended_at.get_or_insert(at);
        if self.rec.end_reason.is_none() {
            self.rec.end_reason = Some(if self.max_wait && self.flow_disconnected {
                EndReason::MaxWait
            } else if self.error_seen && self.flow_disconnected {
                EndReason::Error
            } else if self.flow_disconnected && self.last_queue_result_no_agents {
                EndReason::NoAgent
            } else if self.flow_disconnected {
                EndReason::Flow
            } else {
                EndReason::Caller
            });
        }
        (self.rec, self.items)
    }
}

fn bound(s: &str) -> String {
    s.chars().take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpdesk::NoHelpdesk;
    use ringdesk_flow::{ActionId, AgentRef};
    use std::time::Duration;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn req(path: &str, body: &str) -> HttpRequest {
        HttpRequest {
            connector: "zendesk".into(),
            method: "PUT".into(),
            path: path.into(),
            query: vec![],
            headers: vec![],
            body: Some(body.into()),
            timeout: Duration::from_secs(5),
            retries: 0,
            durable: true,
        }
    }

    #[test]
    fn records_menu_path_variables_queue_agent_and_end() {
        let mut r = CallRecorder::new("c1", "+5511", "+1555", ts(0));
        r.answered(ts(0));
        let log = |e| Action::Log(e);
        r.on_action(&log(LogEntry::VariableSet {
            name: "ticket_id".into(),
            value: "7".into(),
        }));
        r.on_action(&log(LogEntry::NodeEntered {
            node: "menu".into(),
            activity: "menu".into(),
        }));
        r.on_action(&log(LogEntry::ExitTaken {
            node: "menu".into(),
            exit: "1".into(),
            target: Some("queue".into()),
        }));
        r.on_action(&Action::Enqueue {
            id: ActionId(1),
            node: "queue".into(),
            queue: "support".into(),
            priority: 1,
            availability: ringdesk_flow::AvailabilityCheck::Off,
            skills: vec![],
        });
        r.on_event(
            &Event::QueueResult {
                id: ActionId(1),
                result: QueueResult::Queued,
            },
            ts(3),
        );
        let agent = AgentRef {
            id: "a1".into(),
            name: "Ana".into(),
        };
        r.on_event(
            &Event::AgentAnswered {
                agent: agent.clone(),
            },
            ts(10),
        );
        r.on_event(&Event::AgentDisconnected { agent, lost: false }, ts(70));
        r.durable(&NoHelpdesk, &req("/tickets/7", "x"), ts(70));
        let (rec, items) = r.finish(ts(71));
        assert_eq!(rec.ticket_id.as_deref(), Some("7"));
        assert_eq!(
            rec.menu_path,
            vec![MenuStep {
                key: "1".into(),
                node: "queue".into()
            }]
        );
        assert_eq!(rec.priority, Some(1));
        assert_eq!(rec.agent_id.as_deref(), Some("a1"));
        assert_eq!(rec.end_reason, Some(EndReason::Agent));
        assert_eq!(rec.derived_wait_seconds(), Some(7.0));
        assert_eq!(items.len(), 1);
        // A helpdesk that knows no tickets orders by call and leaves the body as it is
        // (crates/session/tests/session.rs has one that does).
        assert_eq!(items[0].ordering_key, "call:c1");
        assert_eq!(items[0].marker.as_deref(), Some("c1-1"));
        assert_eq!(items[0].body.as_deref(), Some("x"));
    }

    #[test]
    fn flow_disconnect_after_max_wait_is_max_wait() {
        let mut r = CallRecorder::new("c3", "x", "y", ts(0));
        r.on_event(&Event::QueueMaxWait, ts(300));
        r.on_action(&Action::Disconnect {
            reason: "max_wait".into(),
        });
        let (rec, _) = r.finish(ts(305));
        assert_eq!(rec.end_reason, Some(EndReason::MaxWait));
    }

    #[test]
    fn flow_disconnect_after_no_agents_is_no_agent() {
        let mut r = CallRecorder::new("c2", "x", "y", ts(0));
        r.on_event(
            &Event::QueueResult {
                id: ActionId(1),
                result: QueueResult::NoAgents {
                    logged_in: 0,
                    available: 0,
                },
            },
            ts(1),
        );
        r.on_action(&Action::Disconnect {
            reason: "no agents".into(),
        });
        r.on_event(&Event::CallerHangup, ts(2));
        let (rec, _) = r.finish(ts(3));
        assert_eq!(rec.end_reason, Some(EndReason::NoAgent));
        assert_eq!(rec.queued_at, None, "refused by the queue: never waited");
        assert_eq!(rec.end_detail.as_deref(), Some("no agents"));
    }
}
