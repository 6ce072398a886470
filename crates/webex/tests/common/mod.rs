//! Builds small Flow Designer exports for the tests: a start activity linked to the
//! activities given, with the links given.

#![allow(dead_code)]

use ringdesk_webex::{import, ImportOptions, Imported, Report};
use serde_json::{json, Value};

/// One activity: id (also its label unless `label` is set), type, properties.
pub struct A {
    pub id: &'static str,
    pub kind: &'static str,
    pub props: Value,
}

pub fn a(id: &'static str, kind: &'static str, props: Value) -> A {
    A { id, kind, props }
}

/// An export: `Start` (NewPhoneContact) → the first activity, then `links` (from, to, exit).
pub fn export(acts: &[A], links: &[(&str, &str, &str)], variables: Value) -> String {
    let mut activities = serde_json::Map::new();
    activities.insert(
        "start".into(),
        json!({
            "id": "start", "name": "NewPhoneContact", "group": "start",
            "properties": { "activityName": "NewPhoneContact", "activityId": "start" }
        }),
    );
    for x in acts {
        let mut props = x.props.clone();
        props["activityName"] = json!(x.kind);
        let label = props
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or(x.id)
            .to_string();
        activities.insert(
            x.id.into(),
            json!({ "id": x.id, "name": label, "group": "action", "properties": props }),
        );
    }
    let mut all_links = Vec::new();
    if let Some(first) = acts.first() {
        all_links.push(json!({
            "id": "l0", "sourceActivityId": "start", "targetActivityId": first.id, "conditionExpr": "out"
        }));
    }
    for (i, (from, to, cond)) in links.iter().enumerate() {
        all_links.push(json!({
            "id": format!("l{}", i + 1), "sourceActivityId": from, "targetActivityId": to,
            "conditionExpr": cond, "properties": { "value": cond }
        }));
    }
    json!({
        "name": "Test flow",
        "description": "",
        "variables": variables,
        "process": { "activities": activities, "links": all_links }
    })
    .to_string()
}

/// Imports with no options and checks ringdesk's loader accepts the flow.
pub fn import_ok(text: &str) -> Imported {
    import_with(text, &ImportOptions::default())
}

pub fn import_with(text: &str, opts: &ImportOptions) -> Imported {
    let imported = import(text, opts).unwrap_or_else(|e| panic!("import failed: {e}"));
    if let Err(e) = ringdesk_flow::load_str(&imported.yaml, "imported.yaml") {
        panic!(
            "the imported flow does not load: {e}\n---\n{}",
            imported.yaml
        );
    }
    imported
}

/// Every message of a report section containing `needle`.
pub fn has(items: &[ringdesk_webex::Item], needle: &str) -> bool {
    items.iter().any(|i| i.message.contains(needle))
}

/// The whole report as text, for assertion messages.
pub fn md(r: &Report) -> String {
    r.to_markdown()
}

/// A TTS prompt property.
pub fn tts(text: &str) -> Value {
    json!([{ "type": "tts", "value": text }])
}

/// A disconnect activity.
pub fn bye(id: &'static str) -> A {
    a(id, "disconnect-contact", json!({}))
}
