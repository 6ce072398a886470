//! Reading an `http` activity: connector, method, path, query, headers, body, timing,
//! durability and the JSONPath outputs.

use std::time::Duration;

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::Node as YNode;
use serde_json_path::JsonPath;

use crate::diag::Diags;
use crate::model::{HttpOutput, HttpSpec};
use crate::parse_common::Refs;
use crate::parse_common::{mapping, output_var, SEC};
use crate::yaml::{node_pos, pos, scalar_str, Fields};

pub(crate) fn parse_http(
    d: &mut Diags,
    refs: &mut Refs,
    name: &str,
    body: &YNode,
) -> Option<HttpSpec> {
    let what = "`http`";
    let f = mapping(d, name, "http", body)?;
    f.check_keys(
        d,
        what,
        &[
            "connector",
            "method",
            "path",
            "query",
            "headers",
            "body",
            "timeout",
            "retries",
            "durable",
            "outputs",
            "status_variable",
        ],
    );
    let connector = f.req_str(d, "connector", what);
    let method = f
        .str(d, "method")
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        let at = f.get("method").map(node_pos).unwrap_or(f.at);
        d.error(
            at,
            Some(name),
            format!("unknown method `{method}` (GET, POST, PUT, PATCH or DELETE)"),
        );
    }
    let path = f.req_str(d, "path", what);
    if let Some(p) = &path {
        let at = f.get("path").map(node_pos).unwrap_or(f.at);
        if !p.starts_with('/') || p.contains("://") {
            d.error(
                at,
                Some(name),
                "`path` must start with `/` (the base URL comes from the connector)",
            );
        }
        refs.template(p, at, name);
    }
    let pairs = |d: &mut Diags, refs: &mut Refs, key: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(m) = f.mapping(d, key) {
            for (k, v) in m.iter() {
                if let Some(t) = scalar_str(d, v, Some(name), k.as_str()) {
                    refs.template(&t, node_pos(v), name);
                    out.push((k.as_str().to_string(), t));
                }
            }
        }
        out
    };
    let query = pairs(d, refs, "query");
    let headers = pairs(d, refs, "headers");
    let body_t = f.str(d, "body");
    if let (Some(b), Some(n)) = (&body_t, f.get("body")) {
        refs.template(b, node_pos(n), name);
    }
    let outputs = f
        .mapping(d, "outputs")
        .map(|m| parse_outputs(d, refs, name, m))
        .unwrap_or_default();
    let status_variable = output_var(d, refs, &f, "status_variable");
    Some(HttpSpec {
        connector: connector?,
        method,
        path: path?,
        query,
        headers,
        body: body_t,
        timeout: f.duration(d, "timeout", 5 * SEC, Duration::from_millis(100), 120 * SEC),
        retries: f.uint(d, "retries", 1, 0, 5) as u32,
        durable: f.bool(d, "durable", false),
        outputs,
        status_variable,
    })
}

fn parse_outputs(
    d: &mut Diags,
    refs: &mut Refs,
    name: &str,
    m: &MarkedMappingNode,
) -> Vec<HttpOutput> {
    let mut out = Vec::new();
    for (var, spec) in m.iter() {
        let (path_node, all) = match spec {
            YNode::Mapping(sm) => {
                let f = Fields::new(sm, Some(name), node_pos(spec));
                f.check_keys(d, "an output", &["path", "all"]);
                let all = f.bool(d, "all", false);
                match f.get("path") {
                    Some(p) => (p, all),
                    None => {
                        f.missing(d, "path", "an output");
                        continue;
                    }
                }
            }
            _ => (spec, false),
        };
        let Some(text) = scalar_str(d, path_node, Some(name), var.as_str()) else {
            continue;
        };
        match JsonPath::parse(&text) {
            Ok(path) => {
                refs.output(d, var.as_str(), pos(var.span()), name);
                out.push(HttpOutput {
                    variable: var.as_str().to_string(),
                    path_text: text,
                    path,
                    all,
                });
            }
            Err(e) => d.error(
                node_pos(path_node),
                Some(name),
                format!("bad JSONPath `{text}`: {e}"),
            ),
        }
    }
    out
}
