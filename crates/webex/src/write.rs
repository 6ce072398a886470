//! The imported flow as ringdesk YAML text: a header naming the export, the variables,
//! every node under its Webex label with a comment naming the source activity's id and
//! type, and the event handlers. Outputs that templates read (`X.httpStatusCode`,
//! `X.httpResponseBody`, `X.OptionEntered`) are attached to their nodes first.

use crate::import::{Ctx, Node};
use crate::scope::Output;
use crate::yaml::{scalar, write_map, Y};

/// Attaches the outputs templates read to the nodes that write them.
pub(crate) fn attach_outputs(nodes: &mut [Node], outputs: &[Output]) {
    for o in outputs {
        let Some(node) = nodes
            .iter_mut()
            .find(|n| n.source.as_deref() == Some(o.activity.as_str()))
        else {
            continue;
        };
        let Y::Map(body) = &mut node.activity.1 else {
            continue;
        };
        match o.field.as_str() {
            "httpStatusCode" => body.push(("status_variable".into(), Y::str(&o.variable))),
            "OptionEntered" => body.push(("output".into(), Y::str(&o.variable))),
            "httpResponseBody" => {
                let entry = (o.variable.clone(), Y::str("$"));
                match body.iter_mut().find(|(k, _)| k == "outputs") {
                    Some((_, Y::Map(outs))) => outs.push(entry),
                    _ => body.push(("outputs".into(), Y::Map(vec![entry]))),
                }
            }
            _ => {}
        }
    }
}

/// The flow's text.
pub(crate) fn flow(cx: &Ctx) -> String {
    let e = cx.export;
    let mut s = String::new();
    s.push_str(
        "# Imported from a Webex Contact Center Flow Designer export by `ringdesk import webex`.\n",
    );
    s.push_str(&format!(
        "# Export: {} (id {}, version {}).\n",
        scalar(&e.name),
        if e.id.is_empty() { "-" } else { &e.id },
        if e.version.is_empty() {
            "-"
        } else {
            &e.version
        }
    ));
    s.push_str(
        "# The import report says what was mapped, what needs configuration and what is not\n\
         # supported. Reference of this format: docs/flows.md.\n\n",
    );
    let name = if e.name.trim().is_empty() {
        "imported-webex-flow"
    } else {
        e.name.as_str()
    };
    s.push_str(&format!("name: {}\n", scalar(name)));
    if !e.description.trim().is_empty() {
        s.push_str(&format!("description: {}\n", scalar(&e.description)));
    }
    let st = cx.start_activity;
    s.push_str(&format!(
        "# {}: Webex {} `{}`: the call starts here.\nstart: {}\n",
        st.label,
        st.kind,
        st.id,
        scalar(&cx.start)
    ));
    if !cx.scope.decls.is_empty() {
        s.push_str("\nvariables:\n");
        for d in &cx.scope.decls {
            // Numbers and booleans plain: the loader reads their type from the text.
            let default = match d.kind {
                "integer" | "boolean" => d.default.clone(),
                _ => scalar(&d.default),
            };
            s.push_str(&format!(
                "  {}: {{ type: {}, default: {default} }}",
                scalar(&d.name),
                d.kind,
            ));
            if let Some(c) = &d.comment {
                s.push_str(&format!("   # {c}"));
            }
            s.push('\n');
        }
    }
    s.push_str("\nnodes:\n");
    for (i, n) in cx.nodes.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        for c in &n.comment {
            s.push_str(&format!("  # {}\n", c.replace('\n', " ")));
        }
        s.push_str(&format!("  {}:\n", scalar(&n.name)));
        if let Some(d) = &n.description {
            s.push_str(&format!("    description: {}\n", scalar(d)));
        }
        write_map(&mut s, 4, std::slice::from_ref(&n.activity));
        if let Some(next) = &n.next {
            s.push_str(&format!("    next: {}\n", scalar(next)));
        }
        if !n.exits.is_empty() {
            let exits: Vec<(String, Y)> = n
                .exits
                .iter()
                .map(|(k, v)| (k.clone(), Y::str(v)))
                .collect();
            write_map(&mut s, 4, &[("exits".into(), Y::Map(exits))]);
        }
    }
    if !cx.handlers.is_empty() {
        s.push_str("\nevents:\n");
        for (event, node) in &cx.handlers {
            s.push_str(&format!("  {event}: {}\n", scalar(node)));
        }
    }
    s
}
