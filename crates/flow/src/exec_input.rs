//! Keypad input: barge-in, type-ahead, the menu (links, no-input and invalid retries,
//! exhausted exit) and collect digits (min/max, terminator, first- and inter-digit timeouts).

use std::time::Instant;

use serde_json::Value as Json;

use crate::executor::{AfterPlay, Executor, FState, MAX_KEYS_PRESSED, MAX_TYPEAHEAD};
use crate::io::{Action, LogEntry};
use crate::model::{Activity, CollectSpec, MenuSpec};

/// Why a menu entry failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    NoInput,
    Invalid,
}

impl Executor {
    fn menu_spec(&self, i: usize) -> Option<MenuSpec> {
        match &self.flow.nodes.get(&self.fibers[i].node)?.activity {
            Activity::Menu(m) => Some(m.clone()),
            _ => None,
        }
    }

    fn collect_spec(&self, i: usize) -> Option<CollectSpec> {
        match &self.flow.nodes.get(&self.fibers[i].node)?.activity {
            Activity::Collect(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// A prompt finished (or was interrupted): continue with what the node does next.
    pub(crate) fn after_play(&mut self, i: usize, now: Instant, then: AfterPlay) {
        match then {
            AfterPlay::Exit => self.take_exit(i, "out"),
            AfterPlay::Menu => {
                if let Some(key) = self.typeahead.pop_front() {
                    self.menu_digit(i, now, key);
                } else if !self.caller_connected {
                    self.menu_miss(i, now, Miss::NoInput);
                } else if let Some(m) = self.menu_spec(i) {
                    self.wait(i, FState::Listening);
                    self.fibers[i].deadline = Some(now + m.timeout);
                }
            }
            AfterPlay::Collect => self.collect_listen(i, now),
        }
    }

    /// A key from the caller.
    pub(crate) fn on_digit(&mut self, now: Instant, key: char) {
        if !self.caller_connected || self.with_agent || !"0123456789*#".contains(key) {
            return;
        }
        if let Some(Json::String(keys)) =
            std::sync::Arc::make_mut(&mut self.vars).get_mut("keys_pressed")
        {
            if keys.len() < MAX_KEYS_PRESSED {
                keys.push(key);
            }
        }
        let Some(i) = self
            .fibers
            .iter()
            .position(|f| f.main_line && f.state != FState::Done)
        else {
            return;
        };
        match self.fibers[i].state.clone() {
            FState::Playing {
                id,
                interruptible: true,
                then,
            } => {
                self.actions.push_back(Action::StopPlay { id });
                match then {
                    AfterPlay::Exit => {
                        self.push_typeahead(key);
                        self.take_exit(i, "out");
                    }
                    AfterPlay::Menu => self.menu_digit(i, now, key),
                    AfterPlay::Collect => {
                        self.push_typeahead(key);
                        self.collect_listen(i, now);
                    }
                }
            }
            FState::Listening => {
                if self.menu_spec(i).is_some() {
                    self.menu_digit(i, now, key);
                } else {
                    self.collect_digit(i, now, key);
                }
            }
            _ => self.push_typeahead(key),
        }
    }

    fn push_typeahead(&mut self, key: char) {
        if self.typeahead.len() < MAX_TYPEAHEAD {
            self.typeahead.push_back(key);
        }
    }

    /// The no-input or inter-digit timer of a listening fiber fired.
    pub(crate) fn on_listen_timeout(&mut self, i: usize, now: Instant) {
        if self.menu_spec(i).is_some() {
            self.menu_miss(i, now, Miss::NoInput);
        } else if let Some(c) = self.collect_spec(i) {
            if self.fibers[i].collected.is_empty() {
                self.set_output(&c.output, String::new());
                self.take_exit(i, "no_input");
            } else {
                self.collect_finish(i, &c);
            }
        }
    }

    // ----- menu -----

    pub(crate) fn menu_enter(&mut self, i: usize, now: Instant) {
        self.fibers[i].attempts = 0;
        if let Some(key) = self.typeahead.pop_front() {
            self.menu_digit(i, now, key);
            return;
        }
        self.menu_prompt(i, now, None);
    }

    fn menu_prompt(&mut self, i: usize, now: Instant, miss: Option<Miss>) {
        let Some(m) = self.menu_spec(i) else { return };
        let before = match miss {
            Some(Miss::NoInput) => m.no_input_prompt.as_ref(),
            Some(Miss::Invalid) => m.invalid_prompt.as_ref(),
            None => None,
        };
        match self.render_prompt(&m.prompt, before) {
            Ok(segs) => self.start_play(i, now, segs, m.prompt.interruptible, AfterPlay::Menu),
            Err(e) => self.fail(i, e),
        }
    }

    fn menu_digit(&mut self, i: usize, now: Instant, key: char) {
        let Some(m) = self.menu_spec(i) else { return };
        let exit = key.to_string();
        let linked = self
            .flow
            .nodes
            .get(&self.fibers[i].node)
            .is_some_and(|n| n.exits.contains_key(&exit));
        if linked {
            if let Some(out) = &m.output {
                self.set_output(out, exit.clone());
            }
            self.take_exit(i, &exit);
        } else {
            // The rest of a wrong entry is not meant for the retry.
            self.typeahead.clear();
            self.menu_miss(i, now, Miss::Invalid);
        }
    }

    fn menu_miss(&mut self, i: usize, now: Instant, miss: Miss) {
        let Some(m) = self.menu_spec(i) else { return };
        let node = self.fibers[i].node.clone();
        self.fibers[i].attempts += 1;
        let attempts = self.fibers[i].attempts;
        let what = match miss {
            Miss::NoInput => "no input",
            Miss::Invalid => "invalid key",
        };
        self.log(LogEntry::Decision {
            node,
            text: format!("{what} (attempt {attempts} of {})", m.retries + 1),
        });
        if attempts > m.retries || !self.caller_connected {
            if let Some(out) = &m.output {
                self.set_output(out, String::new());
            }
            self.take_exit(i, "exhausted");
        } else {
            self.menu_prompt(i, now, Some(miss));
        }
    }

    // ----- collect -----

    pub(crate) fn collect_enter(&mut self, i: usize, now: Instant) {
        let Some(c) = self.collect_spec(i) else {
            return;
        };
        self.fibers[i].collected.clear();
        if !self.caller_connected {
            self.set_output(&c.output, String::new());
            self.take_exit(i, "no_input");
            return;
        }
        match (&c.prompt, self.typeahead.is_empty()) {
            (Some(p), true) => match self.render_prompt(p, None) {
                Ok(segs) => self.start_play(i, now, segs, p.interruptible, AfterPlay::Collect),
                Err(e) => self.fail(i, e),
            },
            _ => self.collect_listen(i, now),
        }
    }

    /// Starts listening, then consumes any type-ahead.
    fn collect_listen(&mut self, i: usize, now: Instant) {
        let Some(c) = self.collect_spec(i) else {
            return;
        };
        self.wait(i, FState::Listening);
        self.fibers[i].deadline = Some(now + c.first_timeout);
        while self.fibers[i].state == FState::Listening {
            let Some(key) = self.typeahead.pop_front() else {
                break;
            };
            self.collect_digit(i, now, key);
        }
    }

    fn collect_digit(&mut self, i: usize, now: Instant, key: char) {
        let Some(c) = self.collect_spec(i) else {
            return;
        };
        if c.terminator == Some(key) {
            self.collect_finish(i, &c);
            return;
        }
        let f = &mut self.fibers[i];
        f.collected.push(key);
        if f.collected.len() >= c.max {
            self.collect_finish(i, &c);
        } else {
            f.deadline = Some(now + c.inter_timeout);
        }
    }

    fn collect_finish(&mut self, i: usize, c: &CollectSpec) {
        let got = std::mem::take(&mut self.fibers[i].collected);
        let enough = got.len() >= c.min;
        self.set_output(&c.output, got);
        self.take_exit(i, if enough { "ok" } else { "invalid" });
    }

    fn set_output(&mut self, var: &str, text: String) {
        let ty = self.flow.variables.get(var).map(|d| d.ty);
        let value = match ty {
            Some(t) => crate::vars::typed_json(t, Json::String(text)),
            None => Json::String(text),
        };
        self.set_var(var, value);
    }
}
