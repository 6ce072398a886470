//! Loading a flow: parse its text, validate, and build the [`Flow`] or return every
//! diagnostic found. Reading the file is the caller's job (this crate does no IO); a file
//! that cannot be read is reported with [`LoadError::unreadable`] in the same format.

use crate::diag::{Diags, LoadError};
use crate::model::Flow;
use crate::parse::parse;
use crate::shape::Reads;
use crate::template::Templates;
use crate::validate::validate;
use crate::vars::VarLayout;

/// Loads and validates a flow from text; `origin` (the file name) names it in
/// diagnostics. Text longer than [`MAX_FLOW_BYTES`](crate::MAX_FLOW_BYTES) is refused.
pub fn load_str(source: &str, origin: &str) -> Result<Flow, LoadError> {
    let mut d = Diags::new(origin);
    let Some(mut parsed) = parse(&mut d, source) else {
        return Err(LoadError {
            diagnostics: d.into_sorted(),
        });
    };
    validate(&mut d, &mut parsed);
    let start = parsed.start.as_ref().map(|(s, _)| s.clone());
    if d.has_errors() || start.is_none() {
        return Err(LoadError {
            diagnostics: d.into_sorted(),
        });
    }
    // Every template the executor may render: those validation checked, and the flow-level
    // language (its default is not written in the file).
    let templates = Templates::new(
        parsed
            .refs
            .templates
            .iter()
            .filter(|t| !t.expression)
            .map(|t| t.source.as_str())
            .chain(std::iter::once(parsed.language.as_str())),
    );
    // What the flow's templates read of each variable: a call keeps no more of its values.
    let reads = Reads::of_flow(parsed.nodes.values().map(|n| &n.activity), &parsed.language);
    let var_layout = std::sync::Arc::new(VarLayout::new(&parsed.variables, &reads));
    let lines = parsed
        .refs
        .node_pos
        .iter()
        .map(|(n, p)| (n.clone(), p.line))
        .collect();
    let node_source = crate::graph::node_sources(source, &lines);
    Ok(Flow {
        node_source,
        name: parsed.name,
        description: parsed.description,
        start: start.unwrap_or_default(),
        default_language: parsed.default_language,
        language: parsed.language,
        variables: parsed.variables,
        nodes: parsed.nodes,
        handlers: parsed
            .handlers
            .into_iter()
            .map(|(k, (s, _))| (k, s))
            .collect(),
        durable_call_ended: parsed.durable_call_ended,
        warnings: d.into_sorted(),
        templates,
        var_layout,
    })
}
