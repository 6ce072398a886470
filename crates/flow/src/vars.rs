//! Call variables: their initial values (declared defaults, runtime extras, built-ins)
//! and the conversions between rendered text / JSON values and declared types.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::builtins::{is_builtin, is_identifier};
use crate::io::CallStart;
use crate::model::{Flow, VarType};

/// Longest caller id, called number or call id kept (longer input is cut).
pub const MAX_START_TEXT: usize = 1024;
/// Most SIP headers exposed to the flow.
pub const MAX_HEADERS: usize = 64;

/// The variables a call starts with.
pub(crate) fn initial(flow: &Flow, start: &CallStart) -> BTreeMap<String, Json> {
    let mut vars: BTreeMap<String, Json> = flow
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), v.default.clone()))
        .collect();
    for (k, v) in &start.extra {
        if !is_identifier(k) || is_builtin(k) {
            continue;
        }
        let value = match flow.variables.get(k) {
            Some(decl) => typed_json(decl.ty, v.clone()),
            None => v.clone(),
        };
        vars.insert(k.clone(), value);
    }
    let text = |s: &str| Json::String(cut(s, MAX_START_TEXT));
    vars.insert("ani".into(), text(&start.ani));
    vars.insert("dnis".into(), text(&start.dnis));
    vars.insert("call_id".into(), text(&start.call_id));
    vars.insert("started_at".into(), text(&start.started_at));
    let headers: serde_json::Map<String, Json> = start
        .headers
        .iter()
        .take(MAX_HEADERS)
        .map(|(k, v)| (cut(&k.to_ascii_lowercase(), 128), text(v)))
        .collect();
    vars.insert("headers".into(), Json::Object(headers));
    for name in [
        "agent_id",
        "agent_name",
        "error_message",
        "error_node",
        "keys_pressed",
        "hangup_by",
    ] {
        vars.insert(name.into(), Json::String(String::new()));
    }
    for name in ["call_seconds", "wait_seconds", "talk_seconds"] {
        vars.insert(name.into(), Json::from(0u64));
    }
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
