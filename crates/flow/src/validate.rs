//! The loader's second pass: cross-references. Exit targets and event handlers name
//! existing nodes, every node is reachable, templates compile and read only declared
//! variables, and `set` writes only declared variables. Warnings: prompts only the
//! `call_ended` handler reaches, `queue` steps with no exit for a full queue.

use std::collections::{BTreeSet, VecDeque};

use crate::builtins::BUILTIN_VARIABLES;
use crate::diag::Diags;
use crate::model::{Activity, EventKind, VarDecl, VarType};
use crate::parse::Parsed;
use crate::template::{check_expression, check_template, environment};

/// Checks the parsed flow; adds output variables to the declared set (as json).
pub(crate) fn validate(d: &mut Diags, p: &mut Parsed) {
    let refs = &p.refs;
    // Start and handler targets.
    if let Some((start, at)) = &p.start {
        if !p.nodes.contains_key(start) && !refs.node_pos.contains_key(start) {
            d.error(*at, None, format!("start node `{start}` does not exist"));
        }
    }
    for (kind, (target, at)) in &p.handlers {
        if !refs.node_pos.contains_key(target) {
            d.error(
                *at,
                None,
                format!(
                    "event `{}` starts at `{target}`, which does not exist",
                    kind.name()
                ),
            );
        }
    }
    // Exit targets.
    for (node, exit, target, at) in &refs.exits {
        if !refs.node_pos.contains_key(target) {
            d.error(
                *at,
                Some(node),
                format!("exit `{exit}` leads to `{target}`, which does not exist"),
            );
        }
    }
    // Reachability (only meaningful once the graph itself is sound).
    let mut seen = BTreeSet::new();
    let mut todo: VecDeque<String> = VecDeque::new();
    if let Some((s, _)) = &p.start {
        todo.push_back(s.clone());
    }
    todo.extend(p.handlers.values().map(|(s, _)| s.clone()));
    while let Some(n) = todo.pop_front() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(node) = p.nodes.get(&n) {
            todo.extend(node.exits.values().cloned());
        }
    }
    if p.start.is_some() {
        for (name, at) in &refs.node_pos {
            if !seen.contains(name) {
                d.error(
                    *at,
                    Some(name),
                    "node is unreachable (no exit, start or event leads to it)",
                );
            }
        }
    }
    // Output variables are declared implicitly.
    for (var, _, _) in &refs.outputs {
        p.variables.entry(var.clone()).or_insert(VarDecl {
            ty: VarType::Json,
            default: serde_json::Value::Null,
        });
    }
    let declared: BTreeSet<String> = p
        .variables
        .keys()
        .cloned()
        .chain(BUILTIN_VARIABLES.iter().map(|s| s.to_string()))
        .collect();
    for (var, at, node) in &refs.set_targets {
        if !p.variables.contains_key(var) {
            let msg = if BUILTIN_VARIABLES.contains(&var.as_str()) {
                format!("`{var}` is a built-in variable and cannot be set")
            } else {
                format!("`set` writes `{var}`, which is not declared under `variables`")
            };
            d.error(*at, Some(node), msg);
        }
    }
    let env = environment();
    for t in &refs.templates {
        let result = if t.expression {
            check_expression(&env, &t.source, &declared)
        } else {
            check_template(&env, &t.source, &declared)
        };
        match result {
            Ok(unknown) => {
                for v in unknown {
                    d.error(
                        t.pos,
                        t.node.as_deref(),
                        format!(
                            "unknown variable `{v}` in template (declare it under `variables`)"
                        ),
                    );
                }
            }
            Err(e) => d.error(t.pos, t.node.as_deref(), e),
        }
    }
    warn_prompts_after_hangup(d, p);
    warn_queue_without_full_exit(d, p);
}

/// A `queue` step with neither a `full` nor an `error` exit: when the queue holds its
/// `max_calls` the caller goes to the `error` handler, or (without one) the call ends.
fn warn_queue_without_full_exit(d: &mut Diags, p: &Parsed) {
    let then = if p.handlers.contains_key(&EventKind::Error) {
        "the caller goes to the `error` handler"
    } else {
        "the call ends (there is no `error` handler)"
    };
    for (name, node) in &p.nodes {
        if matches!(node.activity, Activity::Queue(_))
            && !node.exits.contains_key("full")
            && !node.exits.contains_key("error")
        {
            let at = p.refs.node_pos.get(name).copied().unwrap_or_default();
            d.warning(
                at,
                Some(name),
                format!(
                    "no exit for a full queue: add `full:` (or `error:`) to `exits`; when the \
                     queue already holds its [queues.<name>] max_calls, {then}"
                ),
            );
        }
    }
}

/// Prompts in nodes that only the `call_ended` handler reaches are never heard.
fn warn_prompts_after_hangup(d: &mut Diags, p: &Parsed) {
    let Some((ended_start, _)) = p.handlers.get(&EventKind::CallEnded) else {
        return;
    };
    let reach = |starts: Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo: VecDeque<String> = starts.into();
        while let Some(n) = todo.pop_front() {
            if seen.insert(n.clone()) {
                if let Some(node) = p.nodes.get(&n) {
                    todo.extend(node.exits.values().cloned());
                }
            }
        }
        seen
    };
    let others: Vec<String> = p
        .start
        .iter()
        .map(|(s, _)| s.clone())
        .chain(
            p.handlers
                .iter()
                .filter(|(k, _)| **k != EventKind::CallEnded)
                .map(|(_, (s, _))| s.clone()),
        )
        .collect();
    let live = reach(others);
    for name in reach(vec![ended_start.clone()]) {
        let Some(node) = p.nodes.get(&name) else {
            continue;
        };
        let audible = matches!(
            node.activity,
            Activity::Play(_) | Activity::Menu(_) | Activity::Collect(_) | Activity::Music(_)
        );
        if audible && !live.contains(&name) {
            let at = p.refs.node_pos.get(&name).copied().unwrap_or_default();
            d.warning(
                at,
                Some(&name),
                "only the call_ended handler reaches this node: the caller has hung up, it is skipped",
            );
        }
    }
}
