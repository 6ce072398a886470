//! `http-request-v2` → `http`: the connector (a Webex connector id mapped to a ringdesk
//! connector name), method, path, query, headers, body, time budget, retries and the
//! JSONPath outputs. Webex's HTTP Request has one exit for any answer, 2xx or not; ringdesk's
//! `error` exit (no answer, not 2xx) therefore goes where the export's `error` link goes,
//! else to the same node as `ok`.

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::error::ImportError;
use crate::export::Activity;
use crate::import::{place, Ctx, Mapping};
use crate::yaml::Y;

/// The connector used when no mapping names one.
pub const DEFAULT_CONNECTOR: &str = "zendesk";

pub(crate) fn map(cx: &mut Ctx, a: &Activity) -> Result<Mapping, ImportError> {
    let mut body: Vec<(&str, Y)> = Vec::new();
    let mut path_tpl = a.text("httpRequestPath").unwrap_or_default();
    let mut query: Vec<(String, String)> = Vec::new();
    let url = a.text("httpRequestUrl").filter(|u| !u.trim().is_empty());
    let connector = match (&url, a.text("connectorId")) {
        (Some(url), _) if a.flag("authenticated") != Some(true) => {
            let (base, path, q) = split_url(url);
            path_tpl = path;
            query.extend(q);
            let name = cx.opts.connectors.get(&base).cloned().unwrap_or_else(|| {
                crate::names::Names::default().variable(
                    base.split("://")
                        .nth(1)
                        .unwrap_or(&base)
                        .split(['/', ':'])
                        .next()
                        .unwrap_or("web"),
                )
            });
            cx.report.push_config(
                place(a, &a.prop_path("httpRequestUrl")),
                format!(
                    "a request to `{base}` without a connector: configure [connectors.{name}] \
                     with that base URL (or pass --connector {base}=NAME)"
                ),
            );
            name
        }
        (_, Some(id)) => match cx.opts.connectors.get(&id) {
            Some(name) => {
                if cx.once(format!("connector {id}")) {
                    cx.report.push_config(
                        place(a, &a.prop_path("connectorId")),
                        format!("connector `{id}` → `{name}`: configure [connectors.{name}]"),
                    );
                }
                name.clone()
            }
            None => {
                if cx.once(format!("connector {id}")) {
                    cx.report.push_config(
                        place(a, &a.prop_path("connectorId")),
                        format!(
                            "connector `{id}` is not mapped: the connector named \
                             `{DEFAULT_CONNECTOR}` is used (--connector {id}=NAME to choose)"
                        ),
                    );
                }
                DEFAULT_CONNECTOR.to_string()
            }
        },
        (_, None) => {
            cx.report.push_config(
                place(a, &a.prop_path("connectorId")),
                format!("no connector: the connector named `{DEFAULT_CONNECTOR}` is used"),
            );
            DEFAULT_CONNECTOR.to_string()
        }
    };
    body.push(("connector", Y::str(connector)));

    let method = a
        .text("httpRequestMethod")
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    let method = if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        method
    } else {
        cx.report.push_unsupported(
            place(a, &a.prop_path("httpRequestMethod")),
            format!("method {method} is not supported: GET is used"),
        );
        "GET".into()
    };
    body.push(("method", Y::str(method)));

    let ppath = a.prop_path("httpRequestPath");
    let mut path = cx.template(a, &ppath, path_tpl.trim());
    if !path.starts_with('/') {
        cx.report.push_note(
            place(a, &ppath),
            "the path does not start with `/`: one is added (the connector's base URL comes first)",
        );
        path.insert(0, '/');
    }
    body.push(("path", Y::str(path)));

    if let Some(Value::Object(m)) = a.prop("httpQueryParameters") {
        for (k, v) in m {
            query.push((k.clone(), text_of(v)));
        }
    }
    let query: Vec<(String, Y)> = query
        .into_iter()
        .map(|(k, v)| {
            let p = format!("{}.{k}", a.prop_path("httpQueryParameters"));
            (k, Y::str(cx.template(a, &p, &v)))
        })
        .collect();
    if !query.is_empty() {
        body.push(("query", Y::Map(query)));
    }

    let mut headers: Vec<(String, Y)> = Vec::new();
    if let Some(Value::Object(m)) = a.prop("httpRequestHeaders") {
        for (k, v) in m {
            let p = format!("{}.{k}", a.prop_path("httpRequestHeaders"));
            headers.push((k.clone(), Y::str(cx.template(a, &p, &text_of(v)))));
        }
    }
    let request_body = a.text("httpRequestBody").filter(|b| !b.trim().is_empty());
    if let (Some(ct), Some(_)) = (a.text("httpContentType"), &request_body) {
        let json = ct.to_ascii_lowercase().contains("json");
        if !json
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".into(), Y::str(ct)));
        }
    }
    if !headers.is_empty() {
        body.push(("headers", Y::Map(headers)));
    }
    if let Some(b) = request_body {
        let b = cx.template(a, &a.prop_path("httpRequestBody"), &b);
        body.push(("body", Y::str(b)));
    }

    let retries = a
        .text("retryAttempts")
        .and_then(|r| r.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if retries > 5 {
        cx.report.push_unsupported(
            place(a, &a.prop_path("retryAttempts")),
            format!("{retries} retries: ringdesk retries at most 5 times"),
        );
    }
    let retries = retries.min(5);
    let per_try = a
        .text("httpResponseTimeout")
        .and_then(|t| t.trim().parse::<u64>().ok());
    if let Some(ms) = per_try {
        let total = (ms * (retries + 1)).clamp(100, 120_000);
        cx.report.push_note(
            place(a, &a.prop_path("httpResponseTimeout")),
            format!(
                "timeout {ms} ms per try and retries: {retries}: ringdesk's `timeout` covers the \
                 whole activity, {total} ms; ringdesk also retries connect errors, timeouts \
                 and 429 (Webex: 5xx only)"
            ),
        );
        body.push(("timeout", Y::Plain(format!("{total}ms"))));
    }
    body.push(("retries", Y::Plain(retries.to_string())));

    let mut outputs: Vec<(String, Y)> = Vec::new();
    if let Some(Value::Array(list)) = a.prop("outputVariableArray") {
        for (i, o) in list.iter().enumerate() {
            let p = format!("{}[{i}]", a.prop_path("outputVariableArray"));
            let var = o
                .get("outputVariable")
                .and_then(Value::as_str)
                .unwrap_or("");
            let jp = o
                .get("jsonPathExp")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim();
            if var.is_empty() || jp.is_empty() {
                cx.report.push_defect(
                    place(a, &p),
                    format!("output `{var}` with JSONPath `{jp}`: an unfinished row, left out"),
                );
                continue;
            }
            if let Err(e) = JsonPath::parse(jp) {
                cx.report.push_unsupported(
                    place(a, &format!("{p}.jsonPathExp")),
                    format!("JSONPath `{jp}` is not RFC 9535 ({e}): output `{var}` left out"),
                );
                continue;
            }
            let (name, undeclared) = cx.scope.written(var);
            if undeclared {
                cx.report.push_defect(
                    place(a, &format!("{p}.outputVariable")),
                    format!("output variable `{var}` is not declared in the export: declared as a string \"null\""),
                );
            }
            outputs.push((name, Y::str(jp)));
        }
    }
    if !outputs.is_empty() {
        body.push(("outputs", Y::Map(outputs)));
    }

    let mut used = vec!["default".to_string(), "out".to_string()];
    let ok = match cx.target(a, &["default", "out"])? {
        Some(t) => t,
        None => {
            cx.report.push_defect(
                place(a, &a.path),
                "no `default` exit: the flow ends after this request",
            );
            cx.unwired()
        }
    };
    let error = match cx.target(a, &["error"])? {
        Some(t) => {
            used.push("error".into());
            t
        }
        None => {
            if cx.once("http error exit".into()) {
                cx.report.push_note(
                    place(a, &a.path),
                    "Webex's HTTP Request continues on its one exit whatever the answer; \
                     ringdesk's `error` exit (no answer, not 2xx) goes to the same node, with \
                     the outputs reset to their defaults (one line for all such requests)",
                );
            }
            ok.clone()
        }
    };
    Ok(Mapping {
        key: "http",
        body: Y::map(body),
        next: None,
        exits: vec![("ok".into(), ok), ("error".into(), error)],
        used,
    })
}

/// A JSON value as text (strings as they are).
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `https://host:port/path?a=b` → (`https://host:port`, `/path`, [(a, b)]).
fn split_url(url: &str) -> (String, String, Vec<(String, String)>) {
    let url = url.trim();
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let path_at = url[after_scheme..]
        .find('/')
        .map(|i| i + after_scheme)
        .unwrap_or(url.len());
    let base = url[..path_at].to_string();
    let rest = &url[path_at..];
    let (path, q) = rest.split_once('?').unwrap_or((rest, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (base, path.to_string(), query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_base_path_and_query() {
        let (b, p, q) = split_url("https://api.example.com:8443/v1/x?a=1&b=");
        assert_eq!(b, "https://api.example.com:8443");
        assert_eq!(p, "/v1/x");
        assert_eq!(
            q,
            vec![("a".into(), "1".into()), ("b".into(), String::new())]
        );
        let (b, p, q) = split_url("https://h");
        assert_eq!((b.as_str(), p.as_str(), q.len()), ("https://h", "", 0));
    }
}
