//! Reading a node's exits (`next:` or `exits:`) and checking them against the exit names
//! its activity allows and requires.

use std::collections::BTreeMap;

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::Node as YNode;

use crate::diag::{Diags, Pos};
use crate::io::AvailabilityCheck;
use crate::model::Activity;
use crate::parse_common::Refs;
use crate::parse_common::MENU_KEYS;
use crate::yaml::{node_pos, pos, scalar_str};

/// Exit names an activity allows, and which of them are required.
fn exit_rules(activity: &Activity) -> (Vec<String>, Vec<&'static str>) {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match activity {
        Activity::Play(_) | Activity::Set(_) | Activity::Music(_) | Activity::QueueInfo(_) => {
            (s(&["out"]), vec!["out"])
        }
        Activity::Menu(_) => {
            let mut allowed: Vec<String> = MENU_KEYS.chars().map(String::from).collect();
            allowed.push("exhausted".into());
            (allowed, vec!["exhausted"])
        }
        Activity::Collect(_) => (
            s(&["ok", "no_input", "invalid"]),
            vec!["ok", "no_input", "invalid"],
        ),
        Activity::Http(_) => (s(&["ok", "error"]), vec!["ok", "error"]),
        Activity::Condition(_) => (s(&["true", "false"]), vec!["true", "false"]),
        Activity::Case(_) => (Vec::new(), vec!["default"]),
        Activity::Queue(q) => match q.check {
            AvailabilityCheck::Off => (s(&["queued", "full", "error"]), vec!["queued"]),
            _ => (
                s(&["queued", "no_agents", "full", "error"]),
                vec!["queued", "no_agents"],
            ),
        },
        Activity::Disconnect(_) | Activity::End => (Vec::new(), Vec::new()),
    }
}

pub(crate) fn parse_exits(
    d: &mut Diags,
    refs: &mut Refs,
    name: &str,
    at: Pos,
    map: &MarkedMappingNode,
    activity: &Activity,
) -> BTreeMap<String, String> {
    let mut exits = BTreeMap::new();
    let mut exits_at = at;
    match (map.get_node("next"), map.get_node("exits")) {
        (Some(n), Some(_)) => {
            d.error(
                node_pos(n),
                Some(name),
                "use either `next` or `exits`, not both",
            );
        }
        (Some(n), None) => {
            if let Some(t) = scalar_str(d, n, Some(name), "next") {
                refs.exits
                    .push((name.into(), "out".into(), t.clone(), node_pos(n)));
                exits.insert("out".to_string(), t);
            }
        }
        (None, Some(n)) => {
            exits_at = node_pos(n);
            match n.as_mapping() {
                Some(m) => {
                    for (k, v) in m.iter() {
                        if let Some(t) = scalar_str(d, v, Some(name), k.as_str()) {
                            refs.exits.push((
                                name.into(),
                                k.as_str().into(),
                                t.clone(),
                                node_pos(v),
                            ));
                            exits.insert(k.as_str().to_string(), t);
                        }
                    }
                }
                None => d.error(
                    node_pos(n),
                    Some(name),
                    "`exits` must map exit names to node names",
                ),
            }
        }
        (None, None) => {}
    }
    let (allowed, required) = exit_rules(activity);
    let kw = activity.keyword();
    let exit_positions: BTreeMap<String, Pos> = map
        .get_node("exits")
        .and_then(YNode::as_mapping)
        .map(|m| {
            m.keys()
                .map(|k| (k.as_str().to_string(), pos(k.span())))
                .collect()
        })
        .unwrap_or_default();
    for key in exits.keys() {
        let ok = match activity {
            Activity::Case(_) => !key.is_empty(),
            _ => allowed.contains(key),
        };
        if !ok {
            let at = exit_positions.get(key).copied().unwrap_or(exits_at);
            let msg = if allowed.is_empty() {
                format!("`{kw}` has no exits, but `{key}` is given")
            } else if matches!(activity, Activity::Menu(_)) {
                format!("`{key}` is not a menu key (one of 0-9, *, #) nor `exhausted`")
            } else if key == "out" {
                format!(
                    "`{kw}` has exits {}: use `exits:`, not `next:`",
                    allowed.join(", ")
                )
            } else {
                format!(
                    "unknown exit `{key}` for `{kw}` (expected: {})",
                    allowed.join(", ")
                )
            };
            d.error(at, Some(name), msg);
        }
    }
    for req in required {
        if !exits.contains_key(req) {
            let how = if req == "out" {
                "`next:`".to_string()
            } else {
                format!("exit `{req}`")
            };
            d.error(at, Some(name), format!("`{kw}` node needs {how}"));
        }
    }
    if let Activity::Menu(_) = activity {
        if !exits.keys().any(|k| k.len() == 1) {
            d.error(
                at,
                Some(name),
                "a menu needs at least one digit exit (e.g. `\"1\": node`)",
            );
        }
    }
    exits
}
