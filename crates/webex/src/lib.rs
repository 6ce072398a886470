//! Imports Webex Contact Center Flow Designer exports as ringdesk flows.
//!
//! [`import`] takes an export's JSON text (this crate does no IO) and returns the flow as
//! ringdesk YAML text (`docs/flows.md`), readable: each node is named after its Webex
//! label, under a comment naming the source activity's id and type; and a [`Report`] of
//! what was mapped, what needs configuration (connectors, queues, audio, voices), what is
//! not supported (each with the activity's label, type and the JSON path of the field:
//! nothing is dropped silently) and the export's own defects, which the flow runs as they
//! are. Pebble expressions become minijinja templates (`pebble.rs`). See
//! `docs/webex-import.md` and decision 0016.

mod activities;
mod defects;
mod error;
mod export;
mod http;
mod import;
mod names;
mod pebble;
mod pebble_parse;
mod prompt;
mod report;
mod scope;
mod write;
mod yaml;

use std::collections::BTreeMap;

pub use activities::{DEFAULT_QUEUE, SUPPORTED};
pub use error::ImportError;
pub use export::MAX_EXPORT_BYTES;
pub use http::DEFAULT_CONNECTOR;
pub use report::{Item, Mapped, Place, Report};

/// Choices the export cannot make: which ringdesk names Webex ids stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Webex connector id (or, for unauthenticated requests, base URL) → ringdesk
    /// connector name. Unmapped ids use [`DEFAULT_CONNECTOR`].
    pub connectors: BTreeMap<String, String>,
    /// Webex queue id → ringdesk queue name. Unmapped ids use [`DEFAULT_QUEUE`].
    pub queues: BTreeMap<String, String>,
}

/// An imported flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The ringdesk flow, YAML text.
    pub yaml: String,
    pub report: Report,
}

/// Imports an export's JSON text.
pub fn import(text: &str, options: &ImportOptions) -> Result<Imported, ImportError> {
    let export = export::parse(text)?;
    let mut cx = import::run(&export, options)?;
    let outputs: Vec<scope::Output> = cx.scope.outputs.iter().cloned().collect();
    write::attach_outputs(&mut cx.nodes, &outputs);
    let start_label = cx.start_activity.label.clone();
    defects::find(&export, &start_label, &mut cx.report);
    let yaml = write::flow(&cx);
    Ok(Imported {
        yaml,
        report: cx.report,
    })
}
