//! The loader's first pass: YAML text → flow model, collecting every structural problem
//! (syntax, unknown keys, missing fields, bad values) and the references that the second
//! pass ([`crate::validate`]) checks: templates, exit targets, variables.

use std::collections::BTreeMap;

use marked_yaml::{LoaderOptions, Node};

use crate::builtins::{is_builtin, is_identifier};
use crate::diag::{Diags, Pos};
use crate::model::{EventKind, VarDecl, VarType};
use crate::parse_common::{Refs, TemplateRef};
use crate::parse_node::parse_node;
use crate::yaml::{node_pos, pos, scalar_str, to_json, Fields};

/// Largest flow file accepted.
pub const MAX_FLOW_BYTES: usize = 1024 * 1024;
/// Most nodes a flow may have.
pub const MAX_NODES: usize = 2000;

/// The result of the first pass.
pub(crate) struct Parsed {
    pub name: String,
    pub description: String,
    pub start: Option<(String, Pos)>,
    pub default_language: String,
    pub language: String,
    pub variables: BTreeMap<String, VarDecl>,
    pub nodes: BTreeMap<String, crate::model::Node>,
    pub handlers: BTreeMap<EventKind, (String, Pos)>,
    /// `events: call_ended: { start: ..., durable: true }`.
    pub durable_call_ended: bool,
    pub refs: Refs,
}

const TOP_KEYS: [&str; 8] = [
    "name",
    "description",
    "start",
    "default_language",
    "language",
    "variables",
    "nodes",
    "events",
];

/// Parses the YAML source. Returns `None` only when the YAML itself cannot be read.
pub(crate) fn parse(d: &mut Diags, source: &str) -> Option<Parsed> {
    if source.len() > MAX_FLOW_BYTES {
        d.error(
            Pos::default(),
            None,
            format!("flow file is larger than {MAX_FLOW_BYTES} bytes"),
        );
        return None;
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let root = match marked_yaml::parse_yaml_with_options(0, source, options) {
        Ok(root) => root,
        Err(e) => {
            report_yaml_error(d, &e);
            return None;
        }
    };
    let map = root.as_mapping()?;
    let f = Fields::new(map, None, node_pos(&root));
    f.check_keys(d, "the flow", &TOP_KEYS);
    let name = f.req_str(d, "name", "the flow").unwrap_or_default();
    let start = match f.get("start") {
        Some(n) => scalar_str(d, n, None, "start").map(|s| (s, node_pos(n))),
        None => {
            f.missing(d, "start", "the flow");
            None
        }
    };
    let language = f
        .str(d, "language")
        .unwrap_or_else(|| "{{ language }}".to_string());
    let mut refs = Refs::default();
    let variables = match f.get("variables") {
        Some(n) => parse_variables(d, n),
        None => BTreeMap::new(),
    };
    // Only check the flow-level language template if the flow wrote one, or declared `language`.
    if let Some(n) = f.get("language") {
        refs.templates.push(TemplateRef {
            source: language.clone(),
            pos: node_pos(n),
            node: None,
            expression: false,
        });
    }
    let language = if f.get("language").is_none() && !variables.contains_key("language") {
        String::new()
    } else {
        language
    };
    let mut nodes = BTreeMap::new();
    match f.get("nodes") {
        None => f.missing(d, "nodes", "the flow"),
        Some(n) => match n.as_mapping() {
            Some(m) if m.len() > MAX_NODES => d.error(
                node_pos(n),
                None,
                format!("too many nodes (at most {MAX_NODES})"),
            ),
            Some(m) => {
                for (key, value) in m.iter() {
                    let name = key.as_str();
                    let at = pos(key.span());
                    if !is_node_name(name) {
                        d.error(
                            at,
                            Some(name),
                            format!("`{name}` is not a valid node name (letters, digits, _ and -)"),
                        );
                        continue;
                    }
                    refs.node_pos.insert(name.to_string(), at);
                    if let Some(node) = parse_node(d, &mut refs, name, at, value) {
                        nodes.insert(name.to_string(), node);
                    }
                }
            }
            None => d.error(node_pos(n), None, "`nodes` must be a mapping of node names"),
        },
    }
    let mut durable_call_ended = false;
    let handlers = match f.get("events") {
        Some(n) => parse_events(d, n, &mut durable_call_ended),
        None => BTreeMap::new(),
    };
    Some(Parsed {
        name,
        description: f.str(d, "description").unwrap_or_default(),
        start,
        default_language: f
            .str(d, "default_language")
            .unwrap_or_else(|| "en-US".to_string()),
        language,
        variables,
        nodes,
        handlers,
        durable_call_ended,
        refs,
    })
}

fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn report_yaml_error(d: &mut Diags, e: &marked_yaml::LoadError) {
    use marked_yaml::LoadError as E;
    let (marker, message) = match e {
        E::TopLevelMustBeMapping(m) => {
            (Some(*m), "the flow file must be a YAML mapping".to_string())
        }
        E::TopLevelMustBeSequence(m) => (Some(*m), "unexpected top-level sequence".to_string()),
        E::UnexpectedAnchor(m) => (
            Some(*m),
            "YAML anchors are not supported in flows".to_string(),
        ),
        E::MappingKeyMustBeScalar(m) => (Some(*m), "mapping keys must be plain values".to_string()),
        E::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported in flows".to_string()),
        E::ScanError(m, err) => (Some(*m), format!("YAML syntax error: {}", err.info())),
        E::DuplicateKey(inner) => {
            let key = inner.key.as_str();
            let first = pos(inner.prev_key.span()).line;
            let hint = if key.len() == 1 && "0123456789*#".contains(key) {
                " (a menu digit can lead to one node only)"
            } else {
                ""
            };
            (
                inner.key.span().start().copied(),
                format!("duplicate key `{key}`, first defined on line {first}{hint}"),
            )
        }
        #[allow(unreachable_patterns)]
        _ => (None, format!("YAML error: {e}")),
    };
    let at = marker
        .map(|m| Pos {
            line: m.line(),
            column: m.column(),
        })
        .unwrap_or_default();
    d.error(at, None, message);
}

fn parse_variables(d: &mut Diags, n: &Node) -> BTreeMap<String, VarDecl> {
    let mut out = BTreeMap::new();
    let Some(m) = n.as_mapping() else {
        d.error(node_pos(n), None, "`variables` must be a mapping");
        return out;
    };
    for (key, value) in m.iter() {
        let name = key.as_str();
        let at = pos(key.span());
        if !is_identifier(name) {
            d.error(at, None, format!("`{name}` is not a valid variable name"));
            continue;
        }
        if is_builtin(name) {
            d.error(
                at,
                None,
                format!("`{name}` is a built-in variable and cannot be declared"),
            );
            continue;
        }
        let (type_node, default_node) = match value {
            Node::Scalar(_) => (Some(value), None),
            Node::Mapping(vm) => {
                let f = Fields::new(vm, None, node_pos(value));
                f.check_keys(d, "a variable", &["type", "default", "description"]);
                (f.get("type"), f.get("default"))
            }
            Node::Sequence(_) => {
                d.error(
                    node_pos(value),
                    None,
                    "a variable is `type` or `{ type, default }`",
                );
                continue;
            }
        };
        let ty = match type_node {
            None => VarType::String,
            Some(t) => {
                let text = t.as_scalar().map(|s| s.as_str()).unwrap_or("");
                match VarType::parse(text) {
                    Some(ty) => ty,
                    None => {
                        d.error(
                            node_pos(t),
                            None,
                            format!("unknown type `{text}` for `{name}` (string, integer, boolean or json)"),
                        );
                        continue;
                    }
                }
            }
        };
        let default = match default_node {
            None => ty.zero(),
            Some(dn) => match typed_default(ty, dn) {
                Some(v) => v,
                None => {
                    d.error(
                        node_pos(dn),
                        None,
                        format!("default of `{name}` is not a valid {ty:?}").to_lowercase(),
                    );
                    ty.zero()
                }
            },
        };
        out.insert(name.to_string(), VarDecl { ty, default });
    }
    out
}

fn typed_default(ty: VarType, n: &Node) -> Option<serde_json::Value> {
    let scalar = n.as_scalar();
    match ty {
        VarType::String => scalar.map(|s| serde_json::Value::String(s.as_str().to_string())),
        VarType::Integer => scalar
            .and_then(|s| s.as_str().trim().parse::<i64>().ok())
            .map(serde_json::Value::from),
        VarType::Boolean => scalar
            .and_then(|s| s.as_bool())
            .map(serde_json::Value::Bool),
        VarType::Json => Some(match n {
            Node::Scalar(s) => serde_json::from_str(s.as_str()).unwrap_or_else(|_| to_json(n)),
            _ => to_json(n),
        }),
    }
}

fn parse_events(
    d: &mut Diags,
    n: &Node,
    durable_call_ended: &mut bool,
) -> BTreeMap<EventKind, (String, Pos)> {
    let mut out = BTreeMap::new();
    let Some(m) = n.as_mapping() else {
        d.error(node_pos(n), None, "`events` must be a mapping");
        return out;
    };
    for (key, value) in m.iter() {
        let Some(kind) = EventKind::parse(key.as_str()) else {
            let names: Vec<&str> = EventKind::ALL.iter().map(|e| e.name()).collect();
            d.error(
                pos(key.span()),
                None,
                format!(
                    "unknown event `{}` (expected one of: {})",
                    key.as_str(),
                    names.join(", ")
                ),
            );
            continue;
        };
        let start = match value {
            Node::Mapping(vm) => {
                let f = Fields::new(vm, None, node_pos(value));
                f.check_keys(d, "an event handler", &["start", "durable"]);
                if f.bool(d, "durable", false) {
                    if kind == EventKind::CallEnded {
                        *durable_call_ended = true;
                    } else {
                        // Other handlers run while the caller is on the line: nothing
                        // could be done later on their behalf.
                        d.error(
                            node_pos(value),
                            None,
                            format!(
                                "only the call_ended handler can be durable, not `{}`",
                                kind.name()
                            ),
                        );
                    }
                }
                f.get("start")
                    .and_then(|s| scalar_str(d, s, None, "start").map(|t| (t, node_pos(s))))
            }
            _ => scalar_str(d, value, None, key.as_str()).map(|t| (t, node_pos(value))),
        };
        match start {
            Some(s) => {
                out.insert(kind, s);
            }
            None => d.error(
                node_pos(value),
                None,
                format!("event `{}` needs a start node", kind.name()),
            ),
        }
    }
    out
}
