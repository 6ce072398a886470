//! Flow model, loader, validation, templates and the sans-IO executor.
//!
//! A flow is a YAML file (see `docs/flows.md`). [`load_str`] parses and validates its
//! text (read by the caller: this crate does no IO) into a [`Flow`]; an [`Executor`]
//! runs one call through it, emitting [`Action`]s and consuming [`Event`]s, with time
//! passed in.

mod builtins;
mod decl;
mod diag;
mod duration;
mod exec_input;
mod exec_nodes;
mod executor;
mod filters;
mod graph;
mod load;
mod model;
mod parse;
mod parse_common;
mod parse_exits;
mod parse_http;
mod parse_node;
mod parse_prompt;
mod reads;
mod shape;
mod template;
mod validate;
mod vars;
mod yaml;

pub mod io;

pub use builtins::BUILTIN_VARIABLES;
pub use diag::{Diagnostic, LoadError, Severity};
pub use duration::parse_duration;
pub use exec_nodes::{clamp_priority, MAX_OUTPUT_VALUE, MAX_RESPONSE_BODY};
pub use executor::{Executor, MAX_KEYS_PRESSED, MAX_TRANSITIONS_WITHOUT_WAIT, MAX_TYPEAHEAD};
pub use filters::{normalize_e164, status_words};
pub use graph::{Graph, GraphNode, MAX_NODE_SOURCE};
pub use io::*;
pub use load::load_str;
pub use model::Flow;
pub use parse::MAX_FLOW_BYTES;
pub use parse_node::ACTIVITIES;
pub use vars::Variables;

/// The default flow's text, for unit tests that run it.
#[cfg(test)]
const DEFAULT_FLOW: &str = include_str!("../../../flows/zendesk-ticket-status.yaml");
