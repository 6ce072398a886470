//! What the loader's first-pass modules share: the references collected for the second
//! pass ([`Refs`]), the menu's keys, and small readers (a settings mapping, an output
//! variable). A leaf: it imports none of the parsing modules.

use std::collections::BTreeMap;
use std::time::Duration;

use marked_yaml::Node as YNode;

use crate::builtins::{is_builtin, is_identifier};
use crate::diag::{Diags, Pos};
use crate::yaml::{node_pos, scalar_str, Fields};

/// The keys a menu accepts.
pub(crate) const MENU_KEYS: &str = "0123456789*#";
/// One second.
pub(crate) const SEC: Duration = Duration::from_secs(1);

/// A template or expression found in the file, checked in the second pass.
#[derive(Debug)]
pub(crate) struct TemplateRef {
    pub source: String,
    pub pos: Pos,
    pub node: Option<String>,
    pub expression: bool,
}

/// Everything the second pass checks.
#[derive(Debug, Default)]
pub(crate) struct Refs {
    pub templates: Vec<TemplateRef>,
    /// (node, exit, target, position of the target).
    pub exits: Vec<(String, String, String, Pos)>,
    /// Variables written by `set` (must be declared), with position and node.
    pub set_targets: Vec<(String, Pos, String)>,
    /// Variables written by node outputs (declared implicitly, as json when undeclared).
    pub outputs: Vec<(String, Pos, String)>,
    pub node_pos: BTreeMap<String, Pos>,
}

impl Refs {
    pub(crate) fn template(&mut self, source: &str, pos: Pos, node: &str) {
        self.templates.push(TemplateRef {
            source: source.to_string(),
            pos,
            node: Some(node.to_string()),
            expression: false,
        });
    }

    pub(crate) fn expression(&mut self, source: &str, pos: Pos, node: &str) {
        self.templates.push(TemplateRef {
            source: source.to_string(),
            pos,
            node: Some(node.to_string()),
            expression: true,
        });
    }

    /// Records an output variable; reports a bad name.
    pub(crate) fn output(&mut self, d: &mut Diags, var: &str, pos: Pos, node: &str) {
        if !is_identifier(var) {
            d.error(
                pos,
                Some(node),
                format!("`{var}` is not a valid variable name"),
            );
        } else if is_builtin(var) {
            d.error(
                pos,
                Some(node),
                format!("`{var}` is a built-in variable and cannot be written"),
            );
        } else {
            self.outputs.push((var.to_string(), pos, node.to_string()));
        }
    }
}

/// A node's activity settings as a mapping; an error at the node when they are not one.
pub(crate) fn mapping<'a>(
    d: &mut Diags,
    name: &str,
    kind: &str,
    body: &'a YNode,
) -> Option<Fields<'a>> {
    match body.as_mapping() {
        Some(m) => Some(Fields::new(m, Some(name), node_pos(body))),
        None => {
            d.error(
                node_pos(body),
                Some(name),
                format!("`{kind}` takes a mapping of settings"),
            );
            None
        }
    }
}

/// Reads an output variable name from `key`, recording it for the second pass.
pub(crate) fn output_var(d: &mut Diags, refs: &mut Refs, f: &Fields, key: &str) -> Option<String> {
    let n = f.get(key)?;
    let v = scalar_str(d, n, f.node_name(), key)?;
    refs.output(d, &v, node_pos(n), f.node_name().unwrap_or(""));
    Some(v)
}
