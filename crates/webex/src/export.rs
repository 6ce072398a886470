//! Reading a Flow Designer export (JSON text) into a small typed model: the flow's
//! variables, the main process and the global event flows, each activity with its label,
//! type, properties and the JSON path where it sits, each link with its exit.
//!
//! Exports of different years mirror fields with suffixes (`x_name`, `x:name`); a
//! property is read by its base key first, then by either mirror.

use serde_json::{Map, Value};

use crate::error::ImportError;

/// Largest export accepted (the 2022 Zendesk template is 117 KB).
pub const MAX_EXPORT_BYTES: usize = 8 * 1024 * 1024;

/// The export, as far as the importer reads it.
#[derive(Debug, Clone)]
pub(crate) struct Export {
    pub name: String,
    pub description: String,
    pub id: String,
    pub version: String,
    pub variables: Vec<Variable>,
    pub main: Process,
    /// `eventFlows.eventsMap.GLOBAL_EVENTS.process`, when present.
    pub events: Option<Process>,
}

/// One flow variable (`variables[]`).
#[derive(Debug, Clone)]
pub(crate) struct Variable {
    pub name: String,
    /// `STRING`, `INTEGER`, `BOOLEAN`, ... as written.
    pub kind: String,
    /// The default, as text; `None` when absent or null.
    pub value: Option<String>,
    pub secure: bool,
    /// `source: GLOBAL_TM`: an org-wide global variable.
    pub global: bool,
    pub path: String,
}

/// A process: activities and the links between them.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    pub activities: Vec<Activity>,
    pub links: Vec<Link>,
}

/// One activity.
#[derive(Debug, Clone)]
pub(crate) struct Activity {
    pub id: String,
    /// The label shown on the canvas (`name`).
    pub label: String,
    pub group: String,
    /// `properties.activityName` (for event activities: `event`).
    pub kind: String,
    pub props: Map<String, Value>,
    /// JSON path of the activity, e.g. `$.process.activities["<id>"]`.
    pub path: String,
}

impl Activity {
    /// A property by its base key, else its `_`/`:` mirror.
    pub fn prop(&self, key: &str) -> Option<&Value> {
        let found = self
            .props
            .get(key)
            .or_else(|| self.props.get(&key.replace(':', "_")))
            .or_else(|| self.props.get(&key.replace('_', ":")));
        found.filter(|v| !v.is_null())
    }

    /// A property as text: strings as they are, numbers and booleans written out.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.prop(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A property as a boolean (`true`, `"true"`).
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.prop(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// JSON path of a property.
    pub fn prop_path(&self, key: &str) -> String {
        format!("{}.properties.{key}", self.path)
    }

    /// Is this the start of the main flow?
    pub fn is_start(&self) -> bool {
        self.kind == "NewPhoneContact" || self.group == "start" || self.kind == "start"
    }

    /// For event activities: the event's name (`AgentAnswered`, `PhoneContactEnded`...).
    pub fn event_name(&self) -> Option<String> {
        if self.kind != "event" {
            return None;
        }
        self.text("event")
            .or_else(|| self.text("displayName"))
            .or_else(|| self.text("eventSpecificationName"))
    }
}

/// One link: an exit of `from` going to `to`.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub from: String,
    pub to: String,
    /// The exit (`conditionExpr`): `out`, `default`, `true`, a digit, `timeout`...
    pub cond: String,
    pub path: String,
}

/// Parses the export's text.
pub(crate) fn parse(text: &str) -> Result<Export, ImportError> {
    if text.len() > MAX_EXPORT_BYTES {
        return Err(ImportError::TooLarge {
            max: MAX_EXPORT_BYTES,
        });
    }
    let root: Value = serde_json::from_str(text).map_err(|e| ImportError::NotJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let Some(top) = root.as_object() else {
        return Err(not_export("$", "is not a JSON object"));
    };
    let Some(process) = top.get("process") else {
        return Err(not_export("$.process", "is missing"));
    };
    let main = read_process(process, "$.process")?;
    let events = match top
        .get("eventFlows")
        .and_then(|e| e.get("eventsMap"))
        .and_then(|m| m.get("GLOBAL_EVENTS"))
        .and_then(|g| g.get("process"))
    {
        Some(p) => Some(read_process(
            p,
            "$.eventFlows.eventsMap.GLOBAL_EVENTS.process",
        )?),
        None => None,
    };
    let variables = match top.get("variables") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| read_variable(v, &format!("$.variables[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("$.variables", "is not a list")),
    };
    let s = |k: &str| match top.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    Ok(Export {
        name: s("name"),
        description: s("description"),
        id: s("id"),
        version: s("version"),
        variables,
        main,
        events,
    })
}

fn not_export(path: &str, problem: &str) -> ImportError {
    ImportError::NotAnExport {
        path: path.into(),
        problem: problem.into(),
    }
}

fn bad(path: &str, problem: &str) -> ImportError {
    ImportError::BadField {
        path: path.into(),
        problem: problem.into(),
    }
}

fn read_process(v: &Value, base: &str) -> Result<Process, ImportError> {
    let Some(p) = v.as_object() else {
        return Err(not_export(base, "is not an object"));
    };
    let apath = format!("{base}.activities");
    let Some(acts) = p.get("activities") else {
        return Err(not_export(&apath, "is missing"));
    };
    let Some(acts) = acts.as_object() else {
        return Err(bad(&apath, "is not an object keyed by activity id"));
    };
    let mut activities = Vec::new();
    for (key, a) in acts {
        let path = format!("{apath}[{}]", quote(key));
        let Some(obj) = a.as_object() else {
            return Err(bad(&path, "is not an object"));
        };
        let props = match obj.get("properties") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(bad(&format!("{path}.properties"), "is not an object")),
        };
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let id = text("id").unwrap_or_else(|| key.clone());
        let label = text("name")
            .or_else(|| {
                props
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| id.clone());
        let group = text("group").unwrap_or_default();
        let kind = match props.get("activityName").and_then(Value::as_str) {
            Some(k) => k.to_string(),
            None if group == "event"
                || props.get("activityId").and_then(Value::as_str) == Some("event") =>
            {
                "event".to_string()
            }
            None => props
                .get("activityId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        };
        activities.push(Activity {
            id,
            label,
            group,
            kind,
            props,
            path,
        });
    }
    let lpath = format!("{base}.links");
    let links = match p.get("links") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            let mut links = Vec::new();
            for (i, l) in list.iter().enumerate() {
                let path = format!("{lpath}[{i}]");
                let field = |k: &str| {
                    l.get(k)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| bad(&format!("{path}.{k}"), "is missing"))
                };
                let cond = l
                    .get("conditionExpr")
                    .and_then(Value::as_str)
                    .or_else(|| l.pointer("/properties/value").and_then(Value::as_str))
                    .unwrap_or("default")
                    .to_string();
                links.push(Link {
                    from: field("sourceActivityId")?,
                    to: field("targetActivityId")?,
                    cond,
                    path,
                });
            }
            links
        }
        Some(_) => return Err(bad(&lpath, "is not a list")),
    };
    for l in &links {
        for end in [&l.from, &l.to] {
            if !activities.iter().any(|a| &a.id == end) {
                let from = activities
                    .iter()
                    .find(|a| a.id == l.from)
                    .map(|a| a.label.clone())
                    .unwrap_or_else(|| l.from.clone());
                return Err(ImportError::LinkToMissingActivity {
                    path: l.path.clone(),
                    from,
                    missing: end.clone(),
                });
            }
        }
    }
    Ok(Process { activities, links })
}

fn read_variable(v: &Value, path: &str) -> Result<Variable, ImportError> {
    let Some(o) = v.as_object() else {
        return Err(bad(path, "is not an object"));
    };
    let Some(name) = o.get("name").and_then(Value::as_str) else {
        return Err(bad(&format!("{path}.name"), "is missing"));
    };
    let value = match o.get("value") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    };
    Ok(Variable {
        name: name.to_string(),
        kind: o
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("STRING")
            .to_ascii_uppercase(),
        value,
        secure: o.get("isSecure").and_then(Value::as_bool).unwrap_or(false),
        global: o.get("source").and_then(Value::as_str) == Some("GLOBAL_TM"),
        path: path.to_string(),
    })
}

/// A key in a JSON path: `"..."` with JSON escaping.
pub(crate) fn quote(key: &str) -> String {
    serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""))
}
