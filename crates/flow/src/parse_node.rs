//! Reading one node: its activity (exactly one activity keyword), the activity's fields,
//! and its exits (`next:` or `exits:`), with the exit names each activity allows.

use marked_yaml::Node as YNode;

use crate::diag::{Diags, Pos};
use crate::io::AvailabilityCheck;
use crate::model::*;
use crate::parse_common::{mapping, output_var, Refs, MENU_KEYS, SEC};
use crate::parse_prompt::parse_prompt;
use crate::template::is_template;
use crate::yaml::{node_pos, pos, scalar_str, Fields};

/// Activity keywords, in the order documented.
pub const ACTIVITIES: [&str; 12] = [
    "play",
    "menu",
    "collect",
    "http",
    "set",
    "condition",
    "case",
    "queue",
    "queue_info",
    "music",
    "disconnect",
    "end",
];
const NODE_META: [&str; 3] = ["next", "exits", "description"];

pub(crate) fn parse_node(
    d: &mut Diags,
    refs: &mut Refs,
    name: &str,
    at: Pos,
    value: &YNode,
) -> Option<Node> {
    let Some(map) = value.as_mapping() else {
        d.error(
            node_pos(value),
            Some(name),
            "a node must be a mapping with one activity (e.g. `play:`) and its exits",
        );
        return None;
    };
    let mut activity_key = None;
    for key in map.keys() {
        let k = key.as_str();
        if ACTIVITIES.contains(&k) {
            if activity_key.is_some() {
                d.error(
                    pos(key.span()),
                    Some(name),
                    format!("more than one activity in a node (`{k}`)"),
                );
            } else {
                activity_key = Some((k, pos(key.span())));
            }
        } else if !NODE_META.contains(&k) {
            d.error(
                pos(key.span()),
                Some(name),
                format!(
                    "unknown activity or field `{k}` (activities: {})",
                    ACTIVITIES.join(", ")
                ),
            );
        }
    }
    let Some((kind, kind_at)) = activity_key else {
        d.error(
            at,
            Some(name),
            "node has no activity (e.g. `play:`, `menu:`, `http:`)",
        );
        return None;
    };
    let body = map.get_node(kind)?;
    let activity = parse_activity(d, refs, name, kind, kind_at, body)?;
    let exits = crate::parse_exits::parse_exits(d, refs, name, at, map, &activity);
    Some(Node {
        name: name.to_string(),
        activity,
        exits,
    })
}

fn parse_activity(
    d: &mut Diags,
    refs: &mut Refs,
    name: &str,
    kind: &str,
    kind_at: Pos,
    body: &YNode,
) -> Option<Activity> {
    let what = format!("`{kind}`");
    Some(match kind {
        "play" => Activity::Play(parse_prompt(d, refs, body, name, false)?),
        "menu" => {
            let f = mapping(d, name, kind, body)?;
            f.check_keys(
                d,
                &what,
                &[
                    "prompt",
                    "timeout",
                    "retries",
                    "no_input_prompt",
                    "invalid_prompt",
                    "output",
                ],
            );
            let prompt = match f.get("prompt") {
                Some(p) => parse_prompt(d, refs, p, name, true)?,
                None => {
                    f.missing(d, "prompt", &what);
                    return None;
                }
            };
            let opt_prompt = |d: &mut Diags, refs: &mut Refs, key: &str| {
                f.get(key)
                    .and_then(|p| parse_prompt(d, refs, p, name, true))
            };
            Activity::Menu(MenuSpec {
                prompt,
                timeout: f.duration(d, "timeout", 5 * SEC, SEC, 60 * SEC),
                retries: f.uint(d, "retries", 2, 0, 10) as u32,
                no_input_prompt: opt_prompt(d, refs, "no_input_prompt"),
                invalid_prompt: opt_prompt(d, refs, "invalid_prompt"),
                output: output_var(d, refs, &f, "output"),
            })
        }
        "collect" => {
            let f = mapping(d, name, kind, body)?;
            f.check_keys(
                d,
                &what,
                &[
                    "prompt",
                    "min",
                    "max",
                    "terminator",
                    "first_digit_timeout",
                    "inter_digit_timeout",
                    "output",
                ],
            );
            let prompt = f
                .get("prompt")
                .and_then(|p| parse_prompt(d, refs, p, name, true));
            let min = f.uint(d, "min", 1, 0, 64) as usize;
            let max = match f.get("max") {
                Some(_) => f.uint(d, "max", 1, 1, 64) as usize,
                None => {
                    f.missing(d, "max", &what);
                    1
                }
            };
            if min > max {
                d.error(
                    f.at,
                    Some(name),
                    format!("`min` ({min}) is larger than `max` ({max})"),
                );
            }
            let terminator = match f.str(d, "terminator") {
                None => Some('#'),
                Some(t) if t.is_empty() || t == "none" => None,
                Some(t) => match single_key(&t) {
                    Some(c) => Some(c),
                    None => {
                        let at = f.get("terminator").map(node_pos).unwrap_or(f.at);
                        d.error(
                            at,
                            Some(name),
                            "`terminator` must be one key: 0-9, * or # (or none)",
                        );
                        None
                    }
                },
            };
            let output = match output_var(d, refs, &f, "output") {
                Some(o) => o,
                None => {
                    if f.get("output").is_none() {
                        f.missing(d, "output", &what);
                    }
                    String::new()
                }
            };
            Activity::Collect(CollectSpec {
                prompt,
                min,
                max,
                terminator,
                first_timeout: f.duration(d, "first_digit_timeout", 5 * SEC, SEC, 60 * SEC),
                inter_timeout: f.duration(d, "inter_digit_timeout", 3 * SEC, SEC, 60 * SEC),
                output,
            })
        }
        "http" => Activity::Http(crate::parse_http::parse_http(d, refs, name, body)?),
        "set" => {
            let Some(m) = body.as_mapping() else {
                d.error(
                    node_pos(body),
                    Some(name),
                    "`set` takes a mapping of variable: template",
                );
                return None;
            };
            let mut list = Vec::new();
            for (var, value) in m.iter() {
                let Some(t) = scalar_str(d, value, Some(name), var.as_str()) else {
                    continue;
                };
                refs.template(&t, node_pos(value), name);
                refs.set_targets.push((
                    var.as_str().to_string(),
                    pos(var.span()),
                    name.to_string(),
                ));
                list.push((var.as_str().to_string(), t));
            }
            if list.is_empty() {
                d.error(
                    node_pos(body),
                    Some(name),
                    "`set` needs at least one variable",
                );
            }
            Activity::Set(list)
        }
        "condition" | "case" => {
            let e = scalar_str(d, body, Some(name), kind)?;
            if e.trim().is_empty() {
                d.error(
                    node_pos(body),
                    Some(name),
                    format!("`{kind}` needs an expression"),
                );
                return None;
            }
            refs.expression(&e, node_pos(body), name);
            if kind == "case" {
                Activity::Case(e)
            } else {
                Activity::Condition(e)
            }
        }
        "queue" => {
            let f = mapping(d, name, kind, body)?;
            f.check_keys(d, &what, &["name", "priority", "check", "skills"]);
            let qname = f.req_str(d, "name", &what)?;
            refs.template(&qname, f.get("name").map(node_pos).unwrap_or(f.at), name);
            let priority = f.str(d, "priority").unwrap_or_else(|| "10".to_string());
            let p_at = f.get("priority").map(node_pos).unwrap_or(f.at);
            if is_template(&priority) {
                refs.template(&priority, p_at, name);
            } else if !matches!(priority.trim().parse::<u8>(), Ok(1..=10)) {
                d.error(
                    p_at,
                    Some(name),
                    format!("priority `{priority}` is out of range (1 = highest … 10 = lowest)"),
                );
            }
            let skills = f.str(d, "skills");
            if let (Some(sk), Some(n)) = (&skills, f.get("skills")) {
                refs.template(sk, node_pos(n), name);
            }
            let check = match f.str(d, "check").as_deref() {
                None | Some("off") | Some("false") => AvailabilityCheck::Off,
                Some("logged_in") => AvailabilityCheck::LoggedIn,
                Some("available") => AvailabilityCheck::Available,
                Some(other) => {
                    let at = f.get("check").map(node_pos).unwrap_or(f.at);
                    d.error(
                        at,
                        Some(name),
                        format!("unknown check `{other}` (off, logged_in or available)"),
                    );
                    AvailabilityCheck::Off
                }
            };
            Activity::Queue(QueueSpec {
                name: qname,
                priority,
                check,
                skills,
            })
        }
        "queue_info" => {
            let f = mapping(d, name, kind, body)?;
            f.check_keys(d, &what, &["queue", "outputs"]);
            let queue = f.req_str(d, "queue", &what)?;
            refs.template(&queue, f.get("queue").map(node_pos).unwrap_or(f.at), name);
            let mut outputs = Vec::new();
            if let Some(m) = f.mapping(d, "outputs") {
                for (var, field) in m.iter() {
                    let field_name = field.as_scalar().map(|s| s.as_str()).unwrap_or("");
                    match QueueField::ALL.iter().find(|(n, _)| *n == field_name) {
                        Some((_, qf)) => {
                            refs.output(d, var.as_str(), pos(var.span()), name);
                            outputs.push((*qf, var.as_str().to_string()));
                        }
                        None => {
                            let names: Vec<&str> =
                                QueueField::ALL.iter().map(|(n, _)| *n).collect();
                            d.error(
                                node_pos(field),
                                Some(name),
                                format!(
                                    "unknown queue field `{field_name}` (one of: {})",
                                    names.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
            Activity::QueueInfo(QueueInfoSpec { queue, outputs })
        }
        "music" => {
            let f = mapping(d, name, kind, body)?;
            f.check_keys(d, &what, &["file", "duration", "loop"]);
            let file = f.req_str(d, "file", &what)?;
            let duration = f
                .get("duration")
                .map(|_| f.duration(d, "duration", 30 * SEC, SEC, 3600 * SEC));
            Activity::Music(MusicSpec {
                file,
                duration,
                looped: f.bool(d, "loop", true),
            })
        }
        "disconnect" => {
            let reason = match body {
                YNode::Mapping(m) => {
                    let f = Fields::new(m, Some(name), node_pos(body));
                    f.check_keys(d, &what, &["reason"]);
                    f.str(d, "reason")
                }
                _ => None,
            };
            if let (Some(r), Some(m)) = (&reason, body.as_mapping()) {
                refs.template(
                    r,
                    m.get_node("reason").map(node_pos).unwrap_or(kind_at),
                    name,
                );
            }
            Activity::Disconnect(reason)
        }
        "end" => Activity::End,
        _ => return None,
    })
}

fn single_key(t: &str) -> Option<char> {
    let mut chars = t.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if MENU_KEYS.contains(c) => Some(c),
        _ => None,
    }
}
