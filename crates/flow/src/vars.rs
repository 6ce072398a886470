//! Call variables: how a call keeps them ([`Variables`]: one slot per variable the flow
//! knows, laid out once per flow), their initial values (declared defaults, runtime
//! extras, built-ins), and the conversions between rendered text / JSON values and
//! declared types.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::builtins::{is_builtin, is_identifier, BUILTIN_VARIABLES};
use crate::decl::{VarDecl, VarType};
use crate::io::CallStart;
use crate::shape::{Reads, Shape};

/// Longest caller id, called number or call id kept (longer input is cut).
pub const MAX_START_TEXT: usize = 1024;
/// Most SIP headers exposed to the flow.
pub const MAX_HEADERS: usize = 64;

/// The variables every call of a flow has (declared, implicit outputs, built-ins), sorted
/// by name, with what the flow reads of each. Built once per flow, shared by its calls.
#[derive(Debug, Clone)]
pub(crate) struct VarLayout {
    names: Vec<String>,
    /// What the flow reads of each slot's value (`None`: all of it).
    shapes: Vec<Option<Shape>>,
}

impl VarLayout {
    pub(crate) fn new(variables: &BTreeMap<String, VarDecl>, reads: &Reads) -> VarLayout {
        let mut names: Vec<String> = variables
            .keys()
            .cloned()
            .chain(BUILTIN_VARIABLES.iter().map(|s| s.to_string()))
            .collect();
        names.sort();
        names.dedup();
        let shapes = names.iter().map(|n| reads.shape(n)).collect();
        VarLayout { names, shapes }
    }

    fn slot(&self, name: &str) -> Option<usize> {
        self.names.binary_search_by(|n| n.as_str().cmp(name)).ok()
    }
}

/// A call's variables. Every variable of the flow has a slot from the start (a call of the
/// default flow keeps ~40 values in one allocation instead of a map's nodes and key
/// strings); names the flow does not know (runtime extras it does not declare) go to a
/// small map beside them.
///
/// A JSON object stored in a variable the flow reads only by path keeps only the fields
/// the flow's templates can read (see `docs/flows.md`, "What a call keeps"): what
/// [`Variables::get`] returns is what the flow can see.
#[derive(Clone)]
pub struct Variables {
    layout: Arc<VarLayout>,
    values: Box<[Json]>,
    others: BTreeMap<String, Json>,
}

impl std::fmt::Debug for Variables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Variables {
    /// Variables laid out for no flow (everything in the map); for tests.
    #[cfg(test)]
    pub(crate) fn detached(map: BTreeMap<String, Json>) -> Variables {
        Variables {
            layout: Arc::new(VarLayout {
                names: Vec::new(),
                shapes: Vec::new(),
            }),
            values: Box::new([]),
            others: map,
        }
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self.layout.slot(name) {
            Some(i) => self.values.get(i),
            None => self.others.get(name),
        }
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Json> {
        match self.layout.slot(name) {
            Some(i) => self.values.get_mut(i),
            None => self.others.get_mut(name),
        }
    }

    /// Every variable with its value, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        let mut slots = self
            .layout
            .names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter())
            .peekable();
        let mut others = self.others.iter().map(|(k, v)| (k.as_str(), v)).peekable();
        std::iter::from_fn(move || match (slots.peek(), others.peek()) {
            (Some(a), Some(b)) if b.0 < a.0 => others.next(),
            (Some(_), _) => slots.next(),
            (None, _) => others.next(),
        })
    }

    /// How many variables there are.
    pub fn len(&self) -> usize {
        self.values.len() + self.others.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as the variable keeps it: only what the flow reads of it.
    pub(crate) fn kept(&self, name: &str, value: Json) -> Json {
        let shape = self
            .layout
            .slot(name)
            .and_then(|i| self.layout.shapes.get(i))
            .and_then(Option::as_ref);
        match shape {
            Some(shape) => shape.prune(value),
            None => value,
        }
    }

    /// Stores a value (pass it through [`Variables::kept`] first).
    pub(crate) fn insert(&mut self, name: &str, value: Json) {
        match self.get_mut(name) {
            Some(slot) => *slot = value,
            None => {
                self.others.insert(name.to_string(), value);
            }
        }
    }
}

/// The variables a call starts with: the declared ones (`variables`, in `layout`) with
/// their defaults, then what the call brings.
pub(crate) fn initial(
    variables: &BTreeMap<String, VarDecl>,
    layout: &Arc<VarLayout>,
    start: &CallStart,
) -> Variables {
    let layout = Arc::clone(layout);
    let values = layout
        .names
        .iter()
        .zip(&layout.shapes)
        .map(|(name, shape)| {
            let default = variables
                .get(name)
                .map(|d| d.default.clone())
                .unwrap_or(Json::Null);
            match shape {
                Some(shape) => shape.prune(default),
                None => default,
            }
        })
        .collect();
    let mut vars = Variables {
        layout,
        values,
        others: BTreeMap::new(),
    };
    fn set(vars: &mut Variables, name: &str, value: Json) {
        let value = vars.kept(name, value);
        vars.insert(name, value);
    }
    for (k, v) in &start.extra {
        if !is_identifier(k) || is_builtin(k) {
            continue;
        }
        let value = match variables.get(k) {
            Some(decl) => typed_json(decl.ty, v.clone()),
            None => v.clone(),
        };
        set(&mut vars, k, value);
    }
    let text = |s: &str| Json::String(cut(s, MAX_START_TEXT));
    set(&mut vars, "ani", text(&start.ani));
    set(&mut vars, "dnis", text(&start.dnis));
    set(&mut vars, "call_id", text(&start.call_id));
    set(&mut vars, "started_at", text(&start.started_at));
    let headers: serde_json::Map<String, Json> = start
        .headers
        .iter()
        .take(MAX_HEADERS)
        .map(|(k, v)| (cut(&k.to_ascii_lowercase(), 128), text(v)))
        .collect();
    set(&mut vars, "headers", Json::Object(headers));
    for name in [
        "agent_id",
        "agent_name",
        "error_message",
        "error_node",
        "keys_pressed",
        "hangup_by",
    ] {
        set(&mut vars, name, Json::String(String::new()));
    }
    for name in ["call_seconds", "wait_seconds", "talk_seconds"] {
        set(&mut vars, name, Json::from(0u64));
    }
    set(&mut vars, "agent_lost", Json::Bool(false));
    vars
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("").to_string()
}

/// Converts rendered template text to a variable's declared type.
pub(crate) fn from_text(ty: VarType, text: &str) -> Result<Json, String> {
    match ty {
        VarType::String => Ok(Json::String(text.to_string())),
        VarType::Integer => text
            .trim()
            .parse::<i64>()
            .map(Json::from)
            .map_err(|_| format!("`{}` is not an integer", cut(text, 64))),
        VarType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Json::Bool(true)),
            "false" | "0" | "no" | "" | "none" => Ok(Json::Bool(false)),
            _ => Err(format!("`{}` is not a boolean", cut(text, 64))),
        },
        VarType::Json => {
            Ok(serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_string())))
        }
    }
}

/// Converts a JSON value (HTTP output, queue info, runtime extra) to a declared type;
/// a value that does not fit becomes the type's zero.
pub(crate) fn typed_json(ty: VarType, v: Json) -> Json {
    match ty {
        VarType::Json => v,
        VarType::String => Json::String(match v {
            Json::String(s) => s,
            Json::Null => String::new(),
            other => other.to_string(),
        }),
        VarType::Integer => match &v {
            Json::Number(n) => n.as_i64().map(Json::from).unwrap_or_else(|| ty.zero()),
            Json::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Json::from)
                .unwrap_or_else(|_| ty.zero()),
            _ => ty.zero(),
        },
        VarType::Boolean => match &v {
            Json::Bool(b) => Json::Bool(*b),
            Json::String(s) => Json::Bool(s.trim().eq_ignore_ascii_case("true")),
            _ => ty.zero(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flow;
    use serde_json::json;

    fn flow() -> Flow {
        crate::load_str(
            r#"
name: t
start: s
variables:
  b_declared: { type: string, default: "x" }
  user: json
nodes:
  s:
    play: "{{ b_declared }} {{ user.name }} {{ ani }}"
    next: e
  e:
    end: {}
"#,
            "t.yaml",
        )
        .unwrap()
    }

    #[test]
    fn a_call_has_every_variable_of_its_flow_and_the_runtime_extras() {
        let start = CallStart {
            ani: "+1 555".into(),
            extra: [
                ("a_extra".to_string(), json!("first")),
                ("zz_extra".to_string(), json!({"k": 1})),
                ("b_declared".to_string(), json!(5)),
                ("not an identifier".to_string(), json!(1)),
                ("ani".to_string(), json!("built-ins are not extras")),
            ]
            .into(),
            ..CallStart::default()
        };
        let mut vars = {
            let f = flow();
            initial(&f.variables, &f.var_layout, &start)
        };
        let names: Vec<String> = vars.iter().map(|(k, _)| k.to_string()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "by name, slots and extras merged");
        for name in [
            "a_extra",
            "zz_extra",
            "b_declared",
            "user",
            "ani",
            "talk_seconds",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}");
        }
        assert_eq!(names.len(), 2 + 2 + BUILTIN_VARIABLES.len());
        assert_eq!(vars.len(), names.len());
        assert_eq!(
            vars.get("b_declared"),
            Some(&json!("5")),
            "converted to its type"
        );
        assert_eq!(vars.get("ani"), Some(&json!("+1 555")));
        assert_eq!(
            vars.get("zz_extra"),
            Some(&json!({"k": 1})),
            "undeclared: as given"
        );
        assert_eq!(vars.get("user"), Some(&json!(null)));
        assert_eq!(vars.get("missing"), None);
        // Writes go to the variable's slot, or beside the slots for a name the flow lacks.
        vars.insert("user", json!({"name": "Ana"}));
        vars.insert("m_new", json!(1));
        assert_eq!(vars.get("user"), Some(&json!({"name": "Ana"})));
        assert_eq!(vars.get("m_new"), Some(&json!(1)));
        assert_eq!(vars.len(), names.len() + 1);
        let names: Vec<&str> = vars.iter().map(|(k, _)| k).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        if let Some(Json::String(s)) = vars.get_mut("keys_pressed") {
            s.push('1');
        }
        assert_eq!(vars.get("keys_pressed"), Some(&json!("1")));
    }

    #[test]
    fn values_are_kept_as_the_flow_reads_them() {
        let vars = {
            let f = flow();
            initial(&f.variables, &f.var_layout, &CallStart::default())
        };
        assert_eq!(
            vars.kept("user", json!({"name": "Ana", "email": "a@example.com"})),
            json!({"name": "Ana"})
        );
        for name in ["b_declared", "zz_other", "ani"] {
            let v = json!({"name": "Ana", "email": "a@example.com"});
            assert_eq!(vars.kept(name, v.clone()), v, "{name}: not read by path");
        }
    }
}
