//! Defects an export carries that the imported flow runs as they are, found by looking at
//! the activities: the ones the Webex "Zendesk HTTP(S) Data Dip" template is known for
//! (README, "The default flow"), written generally enough to catch them in other flows.
//! Defects found while mapping (unwired exits, unknown variables, unfinished outputs) are
//! reported where they are found.

use serde_json::Value;

use crate::export::{Activity, Export};
use crate::import::place;
use crate::report::Report;

/// Adds the defects found in `export` to `report`; `start_label` is the start activity's.
pub(crate) fn find(export: &Export, start_label: &str, report: &mut Report) {
    let events = export.events.iter().flat_map(|p| p.activities.iter());
    let all: Vec<&Activity> = export.main.activities.iter().chain(events).collect();
    let ani = format!("{start_label}.ANI");
    for a in all.iter().filter(|a| a.kind == "http-request-v2") {
        if let Some(Value::Object(q)) = a.prop("httpQueryParameters") {
            for (k, v) in q {
                let v = v.as_str().unwrap_or("");
                let path = format!("{}.{k}", a.prop_path("httpQueryParameters"));
                if v.contains(&ani) && !v.contains("digits") && !v.contains("e164") {
                    report.push_defect(
                        place(a, &path),
                        "the caller ID goes into the search as received (free text the caller \
                         controls, `anonymous` included); ringdesk's default flow normalizes it \
                         to E.164 and skips the lookup when it is not a number",
                    );
                }
                if k == "sort_by" && v == "created_at" {
                    report.push_defect(
                        place(a, &path),
                        "\"most recent\" is the most recently created ticket, not the most \
                         recently updated",
                    );
                }
            }
        }
        let user_search = a
            .text("httpRequestPath")
            .is_some_and(|p| p.contains("users/search"));
        if let Some(Value::Array(outs)) = a.prop("outputVariableArray") {
            for (i, o) in outs.iter().enumerate() {
                let jp = o.get("jsonPathExp").and_then(Value::as_str).unwrap_or("");
                if user_search && jp.contains("[0]") {
                    report.push_defect(
                        place(
                            a,
                            &format!("{}[{i}].jsonPathExp", a.prop_path("outputVariableArray")),
                        ),
                        format!(
                            "`{jp}` takes the first of several users found (e.g. users \
                             sharing a phone number), as if they were the caller"
                        ),
                    );
                    break;
                }
            }
        }
        let no_error = !export
            .main
            .links
            .iter()
            .any(|l| l.from == a.id && l.cond == "error");
        let has_outputs = matches!(a.prop("outputVariableArray"), Some(Value::Array(v))
            if v.iter().any(|o| o.get("jsonPathExp").and_then(Value::as_str).is_some_and(|p| !p.trim().is_empty())));
        if no_error && has_outputs {
            report.push_defect(
                place(a, &a.path),
                "a failed request (no answer, 4xx, 5xx) goes on like a successful one with \
                 the outputs still at their defaults: an outage sounds like \"nothing found\"",
            );
        }
        if let Some(body) = a.text("httpRequestBody") {
            if body.contains("\"comment\"") && !body.contains("\"public\"") {
                report.push_defect(
                    place(a, &a.prop_path("httpRequestBody")),
                    "the comment has no `\"public\": false`: Zendesk makes it public, visible \
                     to the customer",
                );
            }
        }
    }
    let status_vars: Vec<String> = all
        .iter()
        .filter_map(|a| match a.prop("outputVariableArray") {
            Some(Value::Array(outs)) => Some(outs.clone()),
            _ => None,
        })
        .flatten()
        .filter(|o| {
            o.get("jsonPathExp")
                .and_then(Value::as_str)
                .is_some_and(|p| p.ends_with(".status"))
        })
        .filter_map(|o| {
            o.get("outputVariable")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    for a in all
        .iter()
        .filter(|a| a.kind == "play-message" || a.kind == "ivr-menu")
    {
        if let Some(Value::Array(list)) = a.prop("promptsTts") {
            for (i, p) in list.iter().enumerate() {
                let text = p.get("value").and_then(Value::as_str).unwrap_or("");
                for v in &status_vars {
                    if reads(text, v) {
                        report.push_defect(
                            place(a, &format!("{}[{i}].value", a.prop_path("promptsTts"))),
                            format!(
                                "speaks `{v}`, the helpdesk's internal status word (`hold`, \
                                 `pending`), to the caller"
                            ),
                        );
                    }
                }
            }
        }
    }
    for a in all.iter().filter(|a| a.kind == "queue-contact") {
        if a.prop("priority").is_none() && a.prop("priorityVariable").is_none() {
            report.push_defect(
                place(a, &a.prop_path("priority")),
                "no priority: every caller waits in the same line, whatever their ticket's \
                 severity",
            );
        }
        if a.flag("toggleAgentAvailability") != Some(true) {
            report.push_defect(
                place(a, &a.prop_path("toggleAgentAvailability")),
                "no agent-availability check: a caller can wait with no agent logged in",
            );
        }
    }
}

/// Does the Pebble text read variable `v` (`{{ v }}`, `{{v}}`, `{{ v | ... }}`)?
fn reads(text: &str, v: &str) -> bool {
    let mut rest = text;
    while let Some(at) = rest.find("{{") {
        let Some(end) = rest[at..].find("}}") else {
            return false;
        };
        let inner = &rest[at + 2..at + end];
        if inner
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .any(|w| w == v)
        {
            return true;
        }
        rest = &rest[at + end + 2..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::reads;

    #[test]
    fn reads_finds_whole_names_only() {
        assert!(reads("is {{ticketStatus}}.", "ticketStatus"));
        assert!(reads("is {{ ticketStatus | lower }}.", "ticketStatus"));
        assert!(!reads("is {{ticketStatusText}}.", "ticketStatus"));
        assert!(!reads("ticketStatus", "ticketStatus"));
    }
}
