//! What each activity does when a fiber enters its node, and how the answers to its
//! actions (HTTP, queue, queue info) choose the exit.

use std::time::Instant;

use serde_json::Value as Json;

use crate::executor::{AfterPlay, Executor, FState};
use crate::filters::value_text;
use crate::io::{Action, HttpOutcome, HttpRequest, LogEntry, QueueInfo, QueueResult, Segment};
use crate::model::{Activity, HttpSpec, Node, Prompt, PromptPart, QueueField, VarType};
use crate::template::{eval, render};
use crate::vars::{cut, from_text, typed_json};

/// Most skills a queue activity may ask for.
const MAX_SKILLS: usize = 8;

/// Largest HTTP response body the executor parses for outputs.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;
/// Largest value (serialized) one output variable may hold.
pub const MAX_OUTPUT_VALUE: usize = 64 * 1024;

impl Executor {
    pub(crate) fn run_node(&mut self, i: usize, now: Instant) {
        let flow = self.flow.clone();
        let name = self.fibers[i].node.clone();
        let Some(node) = flow.nodes.get(&name) else {
            self.fail(i, format!("node `{name}` does not exist"));
            return;
        };
        self.log(LogEntry::NodeEntered {
            node: name.clone(),
            activity: node.activity.keyword().to_string(),
        });
        self.fibers[i].attempts = 0;
        match &node.activity {
            Activity::Play(prompt) => {
                if prompt.interruptible && !self.typeahead.is_empty() {
                    self.log(LogEntry::Decision {
                        node: name,
                        text: "prompt skipped: keys already pressed".into(),
                    });
                    self.take_exit(i, "out");
                    return;
                }
                match self.render_prompt(prompt, None) {
                    Ok(segs) if !prompt.wait => {
                        // Background prompt: the runtime queues it; its completion is
                        // not awaited (later prompts play after it).
                        if !segs.is_empty() && self.caller_connected {
                            let id = self.next_id();
                            self.actions.push_back(Action::Play {
                                id,
                                node: name,
                                segments: segs,
                                interruptible: false,
                            });
                        }
                        self.take_exit(i, "out");
                    }
                    Ok(segs) => {
                        self.start_play(i, now, segs, prompt.interruptible, AfterPlay::Exit)
                    }
                    Err(e) => self.fail(i, e),
                }
            }
            Activity::Menu(_) => self.menu_enter(i, now),
            Activity::Collect(_) => self.collect_enter(i, now),
            Activity::Http(spec) => self.http_enter(i, node, spec),
            Activity::Set(list) => {
                for (var, tmpl) in list {
                    let ty = flow
                        .variables
                        .get(var)
                        .map(|d| d.ty)
                        .unwrap_or(VarType::Json);
                    let value =
                        render(&flow.templates, tmpl, &self.vars).and_then(|t| from_text(ty, &t));
                    match value {
                        Ok(v) => self.set_var(var, v),
                        Err(e) => {
                            self.fail(i, format!("cannot set `{var}`: {e}"));
                            return;
                        }
                    }
                }
                self.take_exit(i, "out");
            }
            Activity::Condition(expr) => match eval(&flow.templates, expr, &self.vars) {
                Ok(v) => self.take_exit(i, if v.is_true() { "true" } else { "false" }),
                Err(e) => self.fail(i, e),
            },
            Activity::Case(expr) => match eval(&flow.templates, expr, &self.vars) {
                Ok(v) => {
                    let key = value_text(&v);
                    let exit = if key != "default" && node.exits.contains_key(&key) {
                        key
                    } else {
                        "default".to_string()
                    };
                    self.take_exit(i, &exit);
                }
                Err(e) => self.fail(i, e),
            },
            Activity::Queue(q) => {
                let queue = match render(&flow.templates, &q.name, &self.vars) {
                    Ok(s) if !s.trim().is_empty() && s.len() <= 128 => s.trim().to_string(),
                    Ok(_) => return self.fail(i, "queue name is empty or too long".into()),
                    Err(e) => return self.fail(i, e),
                };
                let priority = match render(&flow.templates, &q.priority, &self.vars) {
                    Ok(p) => clamp_priority(&p),
                    Err(e) => return self.fail(i, e),
                };
                let skills = match &q.skills {
                    None => Vec::new(),
                    Some(t) => match render(&flow.templates, t, &self.vars) {
                        Ok(text) => text
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .take(MAX_SKILLS)
                            .map(|s| cut(s, 64))
                            .collect(),
                        Err(e) => return self.fail(i, e),
                    },
                };
                self.log(LogEntry::Decision {
                    node: name.clone(),
                    text: format!(
                        "queue `{queue}` at priority {priority} (check {:?})",
                        q.check
                    ),
                });
                let id = self.next_id();
                // A handler that queues the caller (again) becomes the caller's waiting
                // line: the agent's answer or the maximum wait stops it like the main flow.
                if let Some(f) = self.fibers.get_mut(i) {
                    f.main_line = true;
                }
                self.actions.push_back(Action::Enqueue {
                    id,
                    node: name,
                    queue,
                    priority,
                    availability: q.check,
                    skills,
                });
                self.wait(i, FState::Queue(id));
            }
            Activity::QueueInfo(q) => {
                let queue = match render(&flow.templates, &q.queue, &self.vars) {
                    Ok(s) => s.trim().to_string(),
                    Err(e) => return self.fail(i, e),
                };
                let id = self.next_id();
                self.actions.push_back(Action::QueueInfo {
                    id,
                    node: name,
                    queue,
                });
                self.wait(i, FState::QueueInfo(id));
            }
            Activity::Music(m) => {
                if !self.caller_connected {
                    self.take_exit(i, "out");
                } else if m.looped {
                    let id = self.next_id();
                    self.actions.push_back(Action::PlayMusic {
                        id,
                        node: name,
                        file: m.file.clone(),
                        duration: m.duration,
                    });
                    self.wait(i, FState::Music(id));
                } else {
                    let segs = vec![Segment::Audio {
                        file: m.file.clone(),
                    }];
                    self.start_play(i, now, segs, false, AfterPlay::Exit);
                }
            }
            Activity::Disconnect(reason) => {
                if !self.caller_connected {
                    self.fibers[i].state = FState::Done;
                    return;
                }
                let reason = reason
                    .as_ref()
                    .and_then(|r| render(&flow.templates, r, &self.vars).ok())
                    .filter(|r| !r.trim().is_empty())
                    .unwrap_or_else(|| "disconnected by the flow".to_string());
                self.actions.push_back(Action::Disconnect {
                    reason: cut(&reason, 200),
                });
                self.end_call("flow");
            }
            Activity::End => self.fibers[i].state = FState::Done,
        }
    }

    /// Puts a fiber into a waiting state; waiting resets the loop guard.
    pub(crate) fn wait(&mut self, i: usize, state: FState) {
        let f = &mut self.fibers[i];
        f.state = state;
        f.transitions = 0;
    }

    /// Emits a Play (unless there is nothing to play or nobody to hear it) and waits.
    pub(crate) fn start_play(
        &mut self,
        i: usize,
        now: Instant,
        segments: Vec<Segment>,
        interruptible: bool,
        then: AfterPlay,
    ) {
        if segments.is_empty() || !self.caller_connected {
            self.after_play(i, now, then);
            return;
        }
        let id = self.next_id();
        let node = self.fibers[i].node.clone();
        self.actions.push_back(Action::Play {
            id,
            node,
            segments,
            interruptible,
        });
        self.wait(
            i,
            FState::Playing {
                id,
                interruptible,
                then,
            },
        );
    }

    /// Renders a prompt (optionally preceded by another, e.g. "invalid choice" + menu).
    pub(crate) fn render_prompt(
        &self,
        prompt: &Prompt,
        before: Option<&Prompt>,
    ) -> Result<Vec<Segment>, String> {
        let mut out = Vec::new();
        for p in before.into_iter().chain(std::iter::once(prompt)) {
            let language = self.prompt_language(p)?;
            for part in &p.parts {
                match part {
                    PromptPart::Audio(file) => out.push(Segment::Audio { file: file.clone() }),
                    PromptPart::Text(text) => {
                        let (tag, tmpl) = text.for_language(&language);
                        let spoken = render(&self.flow.templates, tmpl, &self.vars)?;
                        if !spoken.trim().is_empty() {
                            out.push(Segment::Tts {
                                text: spoken.trim().to_string(),
                                language: tag.unwrap_or(&language).to_string(),
                                voice: p.voice.clone(),
                            });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn prompt_language(&self, p: &Prompt) -> Result<String, String> {
        let tmpl = p.language.as_deref().unwrap_or(&self.flow.language);
        let lang = render(&self.flow.templates, tmpl, &self.vars)?;
        let lang = lang.trim();
        let valid = !lang.is_empty()
            && lang.len() <= 35
            && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        Ok(if valid {
            lang.to_string()
        } else {
            self.flow.default_language.clone()
        })
    }

    fn http_enter(&mut self, i: usize, node: &Node, spec: &HttpSpec) {
        let env = &self.flow.templates;
        let rendered = (|| -> Result<HttpRequest, String> {
            let path = render(env, &spec.path, &self.vars)?;
            check_path(&path)?;
            let pairs = |list: &Vec<(String, String)>| -> Result<Vec<(String, String)>, String> {
                list.iter()
                    .map(|(k, v)| Ok((k.clone(), render(env, v, &self.vars)?)))
                    .collect()
            };
            let headers = pairs(&spec.headers)?;
            if headers
                .iter()
                .any(|(_, v)| v.chars().any(|c| c.is_control()))
            {
                return Err("a header value contains control characters".into());
            }
            Ok(HttpRequest {
                connector: spec.connector.clone(),
                method: spec.method.clone(),
                path,
                query: pairs(&spec.query)?,
                headers,
                body: spec
                    .body
                    .as_ref()
                    .map(|b| render(env, b, &self.vars))
                    .transpose()?,
                timeout: spec.timeout,
                retries: spec.retries,
                durable: spec.durable,
            })
        })();
        match rendered {
            Ok(request) => {
                let id = self.next_id();
                if self.fibers[i].durable && !request.durable {
                    self.fibers[i].request = Some(Box::new(request.clone()));
                }
                self.actions.push_back(Action::Http {
                    id,
                    node: node.name.clone(),
                    request,
                });
                self.wait(i, FState::Http(id));
            }
            Err(e) => {
                self.set_var("error_message", Json::String(cut(&e, 500)));
                self.log(LogEntry::Error {
                    node: node.name.clone(),
                    message: e,
                });
                self.take_exit(i, "error");
            }
        }
    }

    pub(crate) fn on_http_done(&mut self, i: usize, _now: Instant, outcome: HttpOutcome) {
        let flow = self.flow.clone();
        let Some(node) = flow.nodes.get(&self.fibers[i].node) else {
            return;
        };
        let Activity::Http(spec) = &node.activity else {
            return;
        };
        let request = self.fibers[i].request.take();
        if let (Some(request), true) = (request, outcome.is_unavailable()) {
            // A durable call_ended handler: the rest of it waits for the service.
            match self.rest_of(i) {
                Ok(resume) => {
                    self.actions.push_back(Action::Defer {
                        node: node.name.clone(),
                        request: *request,
                        resume,
                    });
                    self.fibers[i].state = FState::Done;
                    return;
                }
                Err(e) => self.log(LogEntry::Error {
                    node: node.name.clone(),
                    message: format!("cannot defer the rest of the handler: {e}"),
                }),
            }
        }
        let (status, result) = match outcome {
            HttpOutcome::Response { status, body, .. } => {
                let result = if (200..300).contains(&status) {
                    self.apply_outputs(spec, &body)
                } else {
                    Err(format!("HTTP status {status}"))
                };
                (i64::from(status), result)
            }
            HttpOutcome::Failed { kind, message, .. } => (
                0,
                Err(format!("no response ({kind:?}): {}", cut(&message, 200))),
            ),
            HttpOutcome::Deferred => (0, Ok(())),
        };
        if let Some(var) = &spec.status_variable {
            let ty = flow
                .variables
                .get(var)
                .map(|d| d.ty)
                .unwrap_or(VarType::Json);
            self.set_var(var, typed_json(ty, Json::from(status)));
        }
        match result {
            Ok(()) => self.take_exit(i, "ok"),
            Err(e) => {
                for out in &spec.outputs {
                    let zero = flow
                        .variables
                        .get(&out.variable)
                        .map(|d| d.default.clone())
                        .unwrap_or(Json::Null);
                    self.set_var(&out.variable, zero);
                }
                self.set_var("error_message", Json::String(cut(&e, 500)));
                self.log(LogEntry::Error {
                    node: node.name.clone(),
                    message: e,
                });
                self.take_exit(i, "error");
            }
        }
    }

    fn apply_outputs(&mut self, spec: &HttpSpec, body: &str) -> Result<(), String> {
        if spec.outputs.is_empty() {
            return Ok(());
        }
        if body.len() > MAX_RESPONSE_BODY {
            return Err(format!(
                "response body larger than {MAX_RESPONSE_BODY} bytes"
            ));
        }
        let json: Json =
            serde_json::from_str(body).map_err(|_| "response body is not JSON".to_string())?;
        let mut values = Vec::new();
        for out in &spec.outputs {
            let nodes = out.path.query(&json);
            let decl = self.flow.variables.get(&out.variable);
            let value = if out.all {
                Json::Array(nodes.all().into_iter().cloned().collect())
            } else {
                match nodes.first() {
                    Some(v) => v.clone(),
                    None => decl.map(|d| d.default.clone()).unwrap_or(Json::Null),
                }
            };
            let value = match decl {
                Some(d) => typed_json(d.ty, value),
                None => value,
            };
            if value.to_string().len() > MAX_OUTPUT_VALUE {
                return Err(format!(
                    "output `{}` ({}) is larger than {MAX_OUTPUT_VALUE} bytes",
                    out.variable, out.path_text
                ));
            }
            values.push((out.variable.clone(), value));
        }
        for (var, value) in values {
            self.set_var(&var, value);
        }
        Ok(())
    }

    pub(crate) fn on_queue_result(&mut self, i: usize, _now: Instant, result: QueueResult) {
        let node = self.fibers[i].node.clone();
        match result {
            QueueResult::Queued => {
                self.queued = true;
                self.take_exit(i, "queued");
            }
            QueueResult::NoAgents {
                logged_in,
                available,
            } => {
                self.log(LogEntry::Decision {
                    node,
                    text: format!("no agents ({logged_in} logged in, {available} available)"),
                });
                if self.has_exit(i, "no_agents") {
                    self.take_exit(i, "no_agents");
                } else {
                    self.queue_error(i, "no agents".into());
                }
            }
            QueueResult::Failed { reason } if reason.is_full() && self.has_exit(i, "full") => {
                self.log(LogEntry::Decision {
                    node,
                    text: reason.to_string(),
                });
                self.take_exit(i, "full");
            }
            QueueResult::Failed { reason } => self.queue_error(
                i,
                format!("queue failed: {}", cut(&reason.to_string(), 200)),
            ),
        }
    }

    fn queue_error(&mut self, i: usize, message: String) {
        if self.has_exit(i, "error") {
            self.set_var("error_message", Json::String(message.clone()));
            let node = self.fibers[i].node.clone();
            self.log(LogEntry::Error { node, message });
            self.take_exit(i, "error");
        } else {
            self.fail(i, message);
        }
    }

    fn has_exit(&self, i: usize, exit: &str) -> bool {
        self.flow
            .nodes
            .get(&self.fibers[i].node)
            .is_some_and(|n| n.exits.contains_key(exit))
    }

    pub(crate) fn on_queue_info(&mut self, i: usize, _now: Instant, info: &QueueInfo) {
        let flow = self.flow.clone();
        let Some(node) = flow.nodes.get(&self.fibers[i].node) else {
            return;
        };
        let Activity::QueueInfo(spec) = &node.activity else {
            return;
        };
        let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs() as i64).unwrap_or(-1);
        for (field, var) in &spec.outputs {
            let v: i64 = match field {
                QueueField::Position => info.position.map(i64::from).unwrap_or(-1),
                QueueField::EstimatedWait => secs(info.estimated_wait),
                QueueField::AgentsLoggedIn => i64::from(info.agents_logged_in),
                QueueField::AgentsAvailable => i64::from(info.agents_available),
                QueueField::CallsQueued => i64::from(info.calls_queued),
                QueueField::OldestWait => secs(info.oldest_wait),
            };
            let ty = flow
                .variables
                .get(var)
                .map(|d| d.ty)
                .unwrap_or(VarType::Json);
            self.set_var(var, typed_json(ty, Json::from(v)));
        }
        self.take_exit(i, "out");
    }
}

/// Queue priority from rendered text: 1-10 as given, anything else (outside 1-10, not a
/// number, empty) → 10, the lowest, as Webex does.
pub fn clamp_priority(text: &str) -> u8 {
    match text.trim().parse::<i64>() {
        Ok(p @ 1..=10) => p as u8,
        _ => 10,
    }
}

/// A rendered HTTP path must stay a path below the connector's base URL.
fn check_path(path: &str) -> Result<(), String> {
    let bad = !path.starts_with('/')
        || path.contains("..")
        || path.contains("//")
        || path.len() > 2048
        || path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '?' || c == '#' || c == '\\');
    if bad {
        return Err(format!(
            "rendered path `{}` is not a safe path",
            cut(path, 100)
        ));
    }
    Ok(())
}
