//! One Webex activity → one ringdesk node: `play-message` → `play`, `ivr-menu` → `menu`,
//! `http-request-v2` → `http` (`http.rs`), `condition-activity` → `condition`,
//! `set-variable` → `set`, `queue-contact` → `queue`, `play-music` → `music`,
//! `disconnect-contact` → `disconnect`, `end` → `end`, `case-statement` → `case`,
//! `ivr-collectdigits` → `collect`, with their exits. Any other type is stepped over or
//! stops the import (`import.rs`).

use serde_json::Value;

use crate::error::ImportError;
use crate::export::Activity;
use crate::import::{place, Ctx, Mapping};
use crate::prompt::prompt;
use crate::yaml::Y;

/// Activity types this importer maps.
pub const SUPPORTED: [&str; 11] = [
    "play-message",
    "ivr-menu",
    "http-request-v2",
    "condition-activity",
    "set-variable",
    "queue-contact",
    "play-music",
    "disconnect-contact",
    "end",
    "case-statement",
    "ivr-collectdigits",
];

/// The queue used when no mapping names one (the default flow's `queue_name`).
pub const DEFAULT_QUEUE: &str = "support";

/// Every key a caller can press.
const KEYS: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];

/// Maps one activity of a supported type (an unsupported one with no exit becomes `end`).
pub(crate) fn map(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    match a.kind.as_str() {
        "play-message" => play(cx, a),
        "ivr-menu" => menu(cx, a),
        "http-request-v2" => crate::http::map(cx, a),
        "condition-activity" => condition(cx, a),
        "set-variable" => set(cx, a),
        "queue-contact" => queue(cx, a),
        "play-music" => music(cx, a),
        "case-statement" => case(cx, a),
        "ivr-collectdigits" => collect(cx, a),
        "disconnect-contact" => Ok(terminal("disconnect")),
        "end" => Ok(terminal("end")),
        other => {
            cx.report.push_unsupported(
                place(a, &a.path),
                format!("activity type `{other}` is not supported: the flow ends here"),
            );
            Ok(terminal("end"))
        }
    }
}

fn terminal(key: &'static str) -> Mapping {
    Mapping {
        key,
        body: Y::Map(Vec::new()),
        next: None,
        exits: Vec::new(),
        used: Vec::new(),
    }
}

/// The node one exit goes to; unwired → the generated end node, reported.
fn one_exit(cx: &mut Ctx, a: &Activity, conds: &[&str]) -> Result<String, ImportError> {
    match cx.target(a, conds)? {
        Some(t) => Ok(t),
        None => {
            cx.report.push_defect(
                place(a, &a.path),
                format!("exit `{}` is not wired: the flow ends there", conds[0]),
            );
            Ok(cx.unwired())
        }
    }
}

fn play(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let body = prompt(cx, a, Vec::new());
    let next = one_exit(cx, a, &["default", "out"])?;
    Ok(Mapping {
        key: "play",
        body,
        next: Some(next),
        exits: Vec::new(),
        used: vec!["default".into(), "out".into()],
    })
}

fn menu(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let mut extra = Vec::new();
    if a.flag("interruptible") == Some(false) {
        extra.push(("interruptible", Y::Bool(false)));
    }
    let prompt = prompt(cx, a, extra);
    let secs = a
        .text("entryTimeout")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(3);
    if !(1..=60).contains(&secs) {
        cx.report.push_unsupported(
            place(a, &a.prop_path("entryTimeout")),
            format!("timeout {secs} s: ringdesk menus wait 1 to 60 s, clamped"),
        );
    }
    let body = vec![
        ("prompt", prompt),
        ("timeout", Y::Plain(format!("{}s", secs.clamp(1, 60)))),
        ("retries", Y::Plain("0".into())),
    ];
    let mut used = Vec::new();
    let mut exits = Vec::new();
    let options: Vec<String> = match a.prop("menuLinks") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    for key in KEYS {
        if let Some(t) = cx.target(a, &[key])? {
            exits.push((key.to_string(), t));
            used.push(key.to_string());
        } else if options.iter().any(|o| o == key) {
            cx.report.push_defect(
                place(a, &a.prop_path("menuLinks")),
                format!("option {key} is not wired: pressing it counts as an invalid key"),
            );
        }
    }
    let invalid = cx.target(a, &["invalid"])?;
    let timeout = cx.target(a, &["timeout"])?;
    let error = cx.exit(&a.id, "error");
    if let Some(inv) = &invalid {
        used.push("invalid".into());
        for key in KEYS {
            if !exits.iter().any(|(k, _)| k == key) {
                exits.push((key.to_string(), inv.clone()));
            }
        }
    } else {
        cx.report.push_note(
            place(a, &a.path),
            "no `invalid` exit: an invalid key takes the `timeout` exit's path",
        );
    }
    let exhausted = match (timeout, error) {
        (Some(t), _) => {
            used.push("timeout".into());
            t
        }
        (None, Some(e)) => {
            used.push("error".into());
            cx.report.push_note(
                place(a, &a.path),
                "no `timeout` exit: no input takes the `error` exit's path",
            );
            cx.node_ref(&e)?
        }
        (None, None) => {
            cx.report.push_defect(
                place(a, &a.path),
                "neither `timeout` nor `error` is wired: no input ends the flow",
            );
            cx.unwired()
        }
    };
    exits.push(("exhausted".into(), exhausted));
    if cx.exit(&a.id, "error").is_some() && !used.iter().any(|u| u == "error") {
        // Reported by the caller as a left-out exit; say why here.
        cx.report.push_note(
            place(a, &a.path),
            "ringdesk menus have no `error` exit: a failing menu runs the `error` event handler",
        );
    }
    let self_loop = cx
        .links_from(&a.id)
        .iter()
        .any(|l| (l.cond == "timeout" || l.cond == "invalid") && l.to == a.id);
    if self_loop {
        cx.report.push_defect(
            place(a, &a.path),
            "`timeout`/`invalid` loop back to the menu: a caller who presses nothing hears it \
             forever (Webex stops after 100 loops)",
        );
    }
    Ok(Mapping {
        key: "menu",
        body: Y::map(body),
        next: None,
        exits,
        used,
    })
}

fn condition(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let src = a.text("expression").unwrap_or_default();
    let expr = cx.expression(a, &a.prop_path("expression"), &src);
    let t = one_exit(cx, a, &["true"])?;
    let f = one_exit(cx, a, &["false"])?;
    Ok(Mapping {
        key: "condition",
        body: Y::str(expr),
        next: None,
        exits: vec![("true".into(), t), ("false".into(), f)],
        used: vec!["true".into(), "false".into()],
    })
}

fn set(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let value_of = |o: &serde_json::Map<String, Value>| -> String {
        ["expr", "literal", "value"]
            .iter()
            .find_map(|k| match o.get(*k) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(Value::Bool(b)) => Some(b.to_string()),
                _ => None,
            })
            .unwrap_or_default()
    };
    match a.prop("setVariablesArray") {
        Some(Value::Array(list)) if !list.is_empty() => {
            for (i, row) in list.iter().enumerate() {
                let Some(o) = row.as_object() else { continue };
                let var = o.get("srcVariable").and_then(Value::as_str).unwrap_or("");
                let p = format!("{}[{i}]", a.prop_path("setVariablesArray"));
                rows.push((var.to_string(), value_of(o), p));
            }
        }
        _ => {
            let var = a.text("srcVariable").unwrap_or_default();
            rows.push((var, value_of(&a.props), a.path.clone() + ".properties"));
        }
    }
    let mut body = Vec::new();
    for (var, value, p) in rows {
        if var.is_empty() {
            cx.report.push_defect(
                place(a, &format!("{p}.srcVariable")),
                "no variable chosen: the row is left out",
            );
            continue;
        }
        let (name, undeclared) = cx.scope.written(&var);
        if undeclared {
            cx.report.push_defect(
                place(a, &format!("{p}.srcVariable")),
                format!("`{var}` is not declared in the export: declared as a string \"null\""),
            );
        }
        let value = cx.template(a, &format!("{p}.expr"), &value);
        body.push((name, Y::str(value)));
    }
    if body.is_empty() {
        cx.report.push_defect(place(a, &a.path), "sets nothing");
    }
    let next = one_exit(cx, a, &["out", "default"])?;
    if body.is_empty() {
        // ringdesk's `set` needs one assignment; a node that sets nothing just moves on.
        return Ok(Mapping {
            key: "condition",
            body: Y::str("true"),
            next: None,
            exits: vec![("true".into(), next.clone()), ("false".into(), next)],
            used: vec!["out".into(), "default".into()],
        });
    }
    Ok(Mapping {
        key: "set",
        body: Y::Map(body),
        next: Some(next),
        exits: Vec::new(),
        used: vec!["out".into(), "default".into()],
    })
}

fn queue(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let mut body = Vec::new();
    let name = if let Some(var) = a.text("destinationVariable").filter(|v| !v.is_empty()) {
        let tpl = if var.contains("{{") {
            var
        } else {
            format!("{{{{ {var} }}}}")
        };
        let t = cx.template(a, &a.prop_path("destinationVariable"), &tpl);
        cx.report.push_config(
            place(a, &a.prop_path("destinationVariable")),
            "the queue comes from a variable: its values must be ringdesk queue names, not Webex queue ids",
        );
        t
    } else {
        let id = a
            .text("destination")
            .or_else(|| a.text("queueId"))
            .unwrap_or_default();
        match cx.opts.queues.get(&id) {
            _ if id.contains("{{") => {
                cx.report.push_config(
                    place(a, &a.prop_path("queueId")),
                    "the queue comes from an expression: its values must be ringdesk queue \
                     names, not Webex queue ids",
                );
                cx.template(a, &a.prop_path("queueId"), &id)
            }
            Some(q) => {
                cx.report.push_config(
                    place(a, &a.prop_path("destination")),
                    format!("queue `{id}` → `{q}`: configure [queues.{q}] and agents serving it"),
                );
                q.clone()
            }
            None => {
                cx.report.push_config(
                    place(a, &a.prop_path("destination")),
                    format!(
                        "queue `{id}` is not mapped: the queue named `{DEFAULT_QUEUE}` is used \
                         (--queue {id}=NAME to choose)"
                    ),
                );
                DEFAULT_QUEUE.to_string()
            }
        }
    };
    body.push(("name", Y::str(name)));
    if let Some(v) = a.text("priorityVariable").filter(|v| !v.is_empty()) {
        let tpl = if v.contains("{{") {
            v
        } else {
            format!("{{{{ {v} }}}}")
        };
        let t = cx.template(a, &a.prop_path("priorityVariable"), &tpl);
        body.push(("priority", Y::str(t)));
    } else if let Some(p) = a.text("priority") {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        match digits.parse::<u8>() {
            Ok(n @ 1..=10) => body.push(("priority", Y::Plain(n.to_string()))),
            _ => cx.report.push_unsupported(
                place(a, &a.prop_path("priority")),
                format!("priority `{p}` is not 1-10: left out (lowest)"),
            ),
        }
    }
    if a.prop("skills")
        .is_some_and(|s| !matches!(s, Value::Array(v) if v.is_empty()))
    {
        cx.report.push_unsupported(
            place(a, &a.prop_path("skills")),
            "skill requirements are not imported: any agent of the queue is offered the call",
        );
    }
    if let Some(f) = a.text("fallbackQueue").filter(|f| !f.is_empty()) {
        cx.report.push_unsupported(
            place(a, &a.prop_path("fallbackQueue")),
            format!("fallback queue `{f}` is not supported"),
        );
    }
    if let Some(t) = a.text("destination:type") {
        if t != "LONGEST_AVAILABLE_AGENT" {
            cx.report.push_note(
                place(a, &a.prop_path("destination:type")),
                format!("routing `{t}`: ringdesk routes to the longest-available agent"),
            );
        }
    }
    let mut used = vec!["default".to_string(), "out".to_string()];
    let queued = one_exit(cx, a, &["default", "out"])?;
    let mut exits = vec![("queued".to_string(), queued)];
    let failure = cx.target(a, &["failure", "error"])?;
    if a.flag("toggleAgentAvailability") == Some(true) {
        body.push(("check", Y::str("available")));
        let to = match &failure {
            Some(f) => f.clone(),
            None => cx.unwired(),
        };
        exits.push(("no_agents".into(), to));
        cx.report.push_note(
            place(a, &a.prop_path("toggleAgentAvailability")),
            "agent availability check: no available agent takes the `failure` exit's path",
        );
    }
    match failure {
        Some(f) => {
            used.push("failure".into());
            used.push("error".into());
            exits.push(("error".into(), f));
        }
        None => cx.report.push_defect(
            place(a, &a.path),
            "`failure` is not wired: a call the queue refuses (full, no such queue) runs the \
             `error` event handler, or ends",
        ),
    }
    Ok(Mapping {
        key: "queue",
        body: Y::map(body),
        next: None,
        exits,
        used,
    })
}

fn music(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let file = match a.text("prompt").filter(|p| !p.is_empty()) {
        Some(f) if !f.contains("{{") => f,
        other => {
            cx.report.push_unsupported(
                place(a, &a.prop_path("prompt")),
                format!(
                    "music `{}` is not a fixed file: the built-in hold music is played",
                    other.unwrap_or_default()
                ),
            );
            "defaultmusic_on_hold.wav".into()
        }
    };
    if file != "defaultmusic_on_hold.wav" {
        cx.report.push_config(
            place(a, &a.prop_path("prompt")),
            format!("music file `{file}`: put it where ringdesk reads audio"),
        );
    }
    let mut body = vec![("file", Y::str(file))];
    match a
        .text("duration")
        .and_then(|d| d.trim().parse::<u64>().ok())
    {
        Some(s) if s > 0 => body.push(("duration", Y::Plain(format!("{}s", s.clamp(1, 3600))))),
        _ => body.push(("loop", Y::Bool(false))),
    }
    if a.text("skip").is_some_and(|s| s != "0") {
        cx.report.push_unsupported(
            place(a, &a.prop_path("skip")),
            "starting the music part-way through is not supported: it starts at the beginning",
        );
    }
    let next = one_exit(cx, a, &["default", "out"])?;
    Ok(Mapping {
        key: "music",
        body: Y::map(body),
        next: Some(next),
        exits: Vec::new(),
        used: vec!["default".into(), "out".into()],
    })
}

fn case(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let src = a.text("expression").unwrap_or_default();
    let expr = cx.expression(a, &a.prop_path("expression"), &src);
    let mut exits = Vec::new();
    let mut used = Vec::new();
    let values: Vec<String> = cx
        .links_from(&a.id)
        .iter()
        .map(|l| l.cond.clone())
        .filter(|c| c != "default" && c != "error")
        .collect();
    for v in values {
        if used.contains(&v) {
            continue;
        }
        if let Some(t) = cx.target(a, &[v.as_str()])? {
            exits.push((v.clone(), t));
            used.push(v);
        }
    }
    let default = match cx.target(a, &["default"])? {
        Some(t) => {
            used.push("default".into());
            t
        }
        None => match cx.target(a, &["error"])? {
            Some(t) => {
                used.push("error".into());
                cx.report.push_note(
                    place(a, &a.path),
                    "no `default` exit: a value with no exit takes the `error` exit's path",
                );
                t
            }
            None => {
                cx.report.push_defect(
                    place(a, &a.path),
                    "no `default` exit: a value with no exit ends the flow",
                );
                cx.unwired()
            }
        },
    };
    exits.push(("default".into(), default));
    Ok(Mapping {
        key: "case",
        body: Y::str(expr),
        next: None,
        exits,
        used,
    })
}

fn collect(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let prompt = prompt(cx, a, Vec::new());
    let num = |a: &Activity, k: &str| a.text(k).and_then(|v| v.trim().parse::<u64>().ok());
    let max = num(a, "maxDigits").unwrap_or(64).clamp(1, 64);
    let min = num(a, "minDigits").unwrap_or(1).min(max);
    let first = num(a, "entryTimeout").unwrap_or(5).clamp(1, 60);
    let inter = num(a, "interDigitTimeout").unwrap_or(3).clamp(1, 60);
    let terminator = match a.text("terminatorSymbol").as_deref() {
        Some("#") | None => "#".to_string(),
        Some("*") => "*".to_string(),
        Some(_) => "none".to_string(),
    };
    let output = cx.scope.output(&a.id, &a.label, "DigitsEntered");
    let body = vec![
        ("prompt", prompt),
        ("min", Y::Plain(min.to_string())),
        ("max", Y::Plain(max.to_string())),
        ("terminator", Y::str(terminator)),
        ("first_digit_timeout", Y::Plain(format!("{first}s"))),
        ("inter_digit_timeout", Y::Plain(format!("{inter}s"))),
        ("output", Y::str(output)),
    ];
    let mut used = vec!["default".to_string(), "out".to_string()];
    let ok = one_exit(cx, a, &["default", "out"])?;
    let error = cx.exit(&a.id, "error");
    let other = |cx: &mut Ctx, cond: &str, used: &mut Vec<String>| -> Result<String, ImportError> {
        if let Some(t) = cx.target(a, &[cond])? {
            used.push(cond.into());
            return Ok(t);
        }
        if let Some(e) = &error {
            used.push("error".into());
            return cx.node_ref(e);
        }
        cx.report.push_defect(
            place(a, &a.path),
            format!("exit `{cond}` is not wired: the flow ends there"),
        );
        Ok(cx.unwired())
    };
    let no_input = other(cx, "timeout", &mut used)?;
    let invalid = other(cx, "invalid", &mut used)?;
    Ok(Mapping {
        key: "collect",
        body: Y::map(body),
        next: None,
        exits: vec![
            ("ok".into(), ok),
            ("no_input".into(), no_input),
            ("invalid".into(), invalid),
        ],
        used,
    })
}
