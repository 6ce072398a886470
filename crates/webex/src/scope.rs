//! The names a translated flow can read: the export's variables (with Webex's types and
//! defaults), the start activity's fields (`NewPhoneContact.ANI` → `ani`), activity outputs
//! (`LookupUser.httpStatusCode`, `MainMenu.OptionEntered`: a variable the node writes), and
//! variables templates read that the export never declared (Pebble renders them empty;
//! ringdesk declares them as empty strings and the report names each).

use std::collections::{BTreeMap, BTreeSet};

use crate::export::{Export, Variable};
use crate::names::Names;
use crate::pebble::Resolver;

/// Start-event fields ringdesk has, as its built-ins.
const START_FIELDS: [(&str, &str); 4] = [
    ("ANI", "ani"),
    ("DNIS", "dnis"),
    ("InteractionId", "call_id"),
    ("Headers", "headers"),
];

/// A declared variable of the imported flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decl {
    pub name: String,
    /// `string`, `integer`, `boolean` or `json`.
    pub kind: &'static str,
    pub default: String,
    /// Why it is there, when the export did not declare it.
    pub comment: Option<String>,
}

/// An output a template reads: which activity writes it, which field, into what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Output {
    pub activity: String,
    pub field: String,
    pub variable: String,
}

/// What the flow's templates can name, and what they named.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    vars: Names,
    /// Webex variable name → ringdesk name.
    pub renamed: BTreeMap<String, String>,
    pub decls: Vec<Decl>,
    /// Label → (activity id, type), for `Label.Field` references.
    labels: BTreeMap<String, (String, String)>,
    start_label: String,
    pub outputs: BTreeSet<Output>,
    /// Variables read but never declared, since the last [`Scope::take_unknown`].
    unknown: Vec<String>,
    /// Every such variable.
    undeclared: BTreeSet<String>,
}

impl Scope {
    /// The export's variables and labels. Problems with variables (types ringdesk does not
    /// have, secure and global variables) are returned as (variable, message) pairs.
    pub fn new(export: &Export, start_label: &str) -> (Scope, Vec<(Variable, String)>) {
        let mut vars = Names::default();
        for b in ringdesk_flow::BUILTIN_VARIABLES {
            vars.reserve(b);
        }
        let mut labels = BTreeMap::new();
        let events = export.events.iter().flat_map(|p| p.activities.iter());
        for a in export.main.activities.iter().chain(events) {
            labels
                .entry(a.label.clone())
                .or_insert_with(|| (a.id.clone(), a.kind.clone()));
        }
        let mut scope = Scope {
            vars,
            renamed: BTreeMap::new(),
            decls: Vec::new(),
            labels,
            start_label: start_label.to_string(),
            outputs: BTreeSet::new(),
            unknown: Vec::new(),
            undeclared: BTreeSet::new(),
        };
        let mut problems = Vec::new();
        for v in &export.variables {
            if scope.renamed.contains_key(&v.name) {
                problems.push((v.clone(), "declared twice: the first one is used".into()));
                continue;
            }
            let name = scope.vars.variable(&v.name);
            if name != v.name {
                problems.push((
                    v.clone(),
                    format!("renamed `{name}` (not a ringdesk variable name, or a built-in)"),
                ));
            }
            let (kind, default) = match v.kind.as_str() {
                "STRING" => ("string", string_default(v.value.as_deref())),
                "INTEGER" => {
                    let raw = v.value.clone().unwrap_or_default();
                    match raw.trim().parse::<i64>() {
                        Ok(n) => ("integer", n.to_string()),
                        Err(_) => {
                            if !raw.trim().is_empty() {
                                problems.push((
                                    v.clone(),
                                    format!("default `{raw}` is not a whole number: 0 is used"),
                                ));
                            }
                            ("integer", "0".into())
                        }
                    }
                }
                "BOOLEAN" => {
                    let raw = v.value.clone().unwrap_or_default().to_ascii_lowercase();
                    (
                        "boolean",
                        if raw == "true" { "true" } else { "false" }.into(),
                    )
                }
                "JSON" => ("json", v.value.clone().unwrap_or_else(|| "null".into())),
                other => {
                    problems.push((
                        v.clone(),
                        format!("type {other} is not supported: declared as a string"),
                    ));
                    ("string", string_default(v.value.as_deref()))
                }
            };
            if v.secure {
                problems.push((
                    v.clone(),
                    "secure variable: ringdesk flows have no secure variables, its value may \
                     appear in `ringdesk call` transcripts and debug logs"
                        .into(),
                ));
            }
            if v.global {
                problems.push((
                    v.clone(),
                    "global variable (Control Hub): imported as a flow variable with its \
                     default; other flows do not see it"
                        .into(),
                ));
            }
            scope.renamed.insert(v.name.clone(), name.clone());
            scope.decls.push(Decl {
                name,
                kind,
                default,
                comment: None,
            });
        }
        (scope, problems)
    }

    /// The ringdesk name of a variable an activity writes (a `set-variable` target, an
    /// HTTP output). One the export never declared is declared here as a `string`
    /// defaulting to `"null"`; the second value says so.
    pub fn written(&mut self, webex: &str) -> (String, bool) {
        if let Some(n) = self.renamed.get(webex) {
            return (n.clone(), false);
        }
        let name = self.vars.variable(webex);
        self.renamed.insert(webex.to_string(), name.clone());
        self.decls.push(Decl {
            name: name.clone(),
            kind: "string",
            default: "null".into(),
            comment: Some("not declared in the export".into()),
        });
        (name, true)
    }

    /// Variables read but never declared since the last call, with the declared
    /// variable of the same name in another case, if any.
    pub fn take_unknown(&mut self) -> Vec<(String, Option<String>)> {
        let unknown = std::mem::take(&mut self.unknown);
        unknown
            .into_iter()
            .map(|u| {
                let near = self
                    .renamed
                    .keys()
                    .find(|k| **k != u && k.eq_ignore_ascii_case(&u))
                    .cloned();
                (u, near)
            })
            .collect()
    }

    /// The variable holding `label.field`, an output of activity `id`.
    pub fn output(&mut self, id: &str, label: &str, field: &str) -> String {
        if let Some(o) = self
            .outputs
            .iter()
            .find(|o| o.activity == id && o.field == field)
        {
            return o.variable.clone();
        }
        let variable = self.vars.variable(&format!("{label}_{field}"));
        let (kind, default) = match field {
            "httpStatusCode" => ("integer", "0"),
            "httpResponseBody" => ("json", "null"),
            _ => ("string", ""),
        };
        self.decls.push(Decl {
            name: variable.clone(),
            kind,
            default: default.into(),
            comment: Some(format!("{label}.{field}")),
        });
        self.outputs.insert(Output {
            activity: id.to_string(),
            field: field.to_string(),
            variable: variable.clone(),
        });
        variable
    }
}

/// A STRING's default: Webex's literal `"null"` when there is none.
fn string_default(value: Option<&str>) -> String {
    match value {
        None | Some("") => "null".into(),
        Some(v) => v.to_string(),
    }
}

impl Resolver for Scope {
    fn resolve(&mut self, head: &str, attrs: &[String]) -> Result<(String, usize), String> {
        if let Some(n) = self.renamed.get(head) {
            if self.undeclared.contains(head) {
                self.unknown.push(head.to_string());
            }
            return Ok((n.clone(), 0));
        }
        let field = attrs.first().map(String::as_str);
        if head == self.start_label || head == "NewPhoneContact" {
            return match field.and_then(|f| START_FIELDS.iter().find(|(w, _)| *w == f)) {
                Some((_, r)) => Ok((r.to_string(), 1)),
                None => Err(format!(
                    "`{head}.{}` has no ringdesk equivalent (there are ANI, DNIS, \
                     InteractionId, Headers): replaced by \"\"",
                    field.unwrap_or("")
                )),
            };
        }
        if let Some((id, kind)) = self.labels.get(head).cloned() {
            let known: &[&str] = match kind.as_str() {
                "http-request-v2" => &["httpStatusCode", "httpResponseBody"],
                "ivr-menu" => &["OptionEntered"],
                "ivr-collectdigits" => &["DigitsEntered"],
                _ => &[],
            };
            return match field {
                Some(f) if known.contains(&f) => Ok((self.output(&id, head, f), 1)),
                _ => Err(format!(
                    "output `{head}.{}` of a {kind} activity is not supported: replaced by \"\"",
                    field.unwrap_or("")
                )),
            };
        }
        // Pebble renders an unknown name as empty: declare it so, and report it.
        let name = self.vars.variable(head);
        self.renamed.insert(head.to_string(), name.clone());
        self.decls.push(Decl {
            name: name.clone(),
            kind: "string",
            default: String::new(),
            comment: Some("read but never declared in the export: always empty".into()),
        });
        self.unknown.push(head.to_string());
        self.undeclared.insert(head.to_string());
        Ok((name, 0))
    }
}
