//! Small helpers over `marked_yaml` nodes: positions, typed scalar reads and checks for
//! unknown keys, each reporting into the diagnostics list instead of failing.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{Node, Span};

use crate::diag::{Diags, Pos};

/// Start position of a span (1-based line and column).
pub(crate) fn pos(span: &Span) -> Pos {
    span.start()
        .map(|m| Pos {
            line: m.line(),
            column: m.column(),
        })
        .unwrap_or_default()
}

pub(crate) fn node_pos(node: &Node) -> Pos {
    pos(node.span())
}

/// Reader for one mapping: typed field access plus a report of unknown keys.
pub(crate) struct Fields<'a> {
    pub map: &'a MarkedMappingNode,
    pub node: Option<String>,
    /// Where to report "missing field" (the mapping itself or its key).
    pub at: Pos,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a MarkedMappingNode, node: Option<&str>, at: Pos) -> Self {
        Fields {
            map,
            node: node.map(str::to_string),
            at,
        }
    }

    pub(crate) fn node_name(&self) -> Option<&str> {
        self.node.as_deref()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Node> {
        self.map.get_node(key)
    }

    /// Reports every key not in `allowed`.
    pub(crate) fn check_keys(&self, d: &mut Diags, what: &str, allowed: &[&str]) {
        for key in self.map.keys() {
            if !allowed.contains(&key.as_str()) {
                d.error(
                    pos(key.span()),
                    self.node_name(),
                    format!(
                        "unknown field `{}` in {what} (expected one of: {})",
                        key.as_str(),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    pub(crate) fn missing(&self, d: &mut Diags, key: &str, what: &str) {
        d.error(
            self.at,
            self.node_name(),
            format!("missing required field `{key}` in {what}"),
        );
    }

    /// A scalar as text (numbers and booleans as written).
    pub(crate) fn str(&self, d: &mut Diags, key: &str) -> Option<String> {
        let n = self.get(key)?;
        scalar_str(d, n, self.node_name(), key)
    }

    pub(crate) fn req_str(&self, d: &mut Diags, key: &str, what: &str) -> Option<String> {
        if self.get(key).is_none() {
            self.missing(d, key, what);
            return None;
        }
        self.str(d, key)
    }

    pub(crate) fn bool(&self, d: &mut Diags, key: &str, default: bool) -> bool {
        let Some(n) = self.get(key) else {
            return default;
        };
        match n.as_scalar().and_then(MarkedScalarNode::as_bool) {
            Some(b) => b,
            None => {
                d.error(
                    node_pos(n),
                    self.node_name(),
                    format!("`{key}` must be true or false"),
                );
                default
            }
        }
    }

    /// An unsigned integer in `min..=max`.
    pub(crate) fn uint(&self, d: &mut Diags, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let Some(n) = self.get(key) else {
            return default;
        };
        match n
            .as_scalar()
            .and_then(|s| s.as_str().trim().parse::<u64>().ok())
        {
            Some(v) if (min..=max).contains(&v) => v,
            _ => {
                d.error(
                    node_pos(n),
                    self.node_name(),
                    format!("`{key}` must be a whole number from {min} to {max}"),
                );
                default
            }
        }
    }

    /// A duration in `min..=max`.
    pub(crate) fn duration(
        &self,
        d: &mut Diags,
        key: &str,
        default: std::time::Duration,
        min: std::time::Duration,
        max: std::time::Duration,
    ) -> std::time::Duration {
        let Some(n) = self.get(key) else {
            return default;
        };
        let Some(text) = scalar_str(d, n, self.node_name(), key) else {
            return default;
        };
        match crate::duration::parse_duration(&text) {
            Ok(v) if v >= min && v <= max => v,
            Ok(_) => {
                d.error(
                    node_pos(n),
                    self.node_name(),
                    format!("`{key}` must be between {min:?} and {max:?}"),
                );
                default
            }
            Err(e) => {
                d.error(node_pos(n), self.node_name(), e);
                default
            }
        }
    }

    pub(crate) fn mapping(&self, d: &mut Diags, key: &str) -> Option<&'a MarkedMappingNode> {
        let n = self.get(key)?;
        match n.as_mapping() {
            Some(m) => Some(m),
            None => {
                d.error(
                    node_pos(n),
                    self.node_name(),
                    format!("`{key}` must be a mapping"),
                );
                None
            }
        }
    }
}

/// A scalar node's text, or an error when the node is a mapping or a sequence.
pub(crate) fn scalar_str(d: &mut Diags, n: &Node, node: Option<&str>, key: &str) -> Option<String> {
    match n.as_scalar() {
        Some(s) => Some(s.as_str().to_string()),
        None => {
            d.error(
                node_pos(n),
                node,
                format!("`{key}` must be a single value, not a list or mapping"),
            );
            None
        }
    }
}

/// Converts a YAML node to JSON (for variable defaults). Plain scalars are typed by the
/// caller; here they stay strings.
pub(crate) fn to_json(n: &Node) -> serde_json::Value {
    match n {
        Node::Scalar(s) => serde_json::Value::String(s.as_str().to_string()),
        Node::Sequence(seq) => serde_json::Value::Array(seq.iter().map(to_json).collect()),
        Node::Mapping(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), to_json(v)))
                .collect(),
        ),
    }
}
