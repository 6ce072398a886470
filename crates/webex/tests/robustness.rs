//! The importer's promise: a flow comes out only if ringdesk's loader accepts it. Checked on
//! many broken variants of the 2022 Zendesk template: each activity of an unknown type,
//! stripped of its properties, each link removed, and every prompt replaced by Pebble the
//! translator cannot read.

use ringdesk_webex::{import, ImportOptions};
use serde_json::{json, Value};

const EXPORT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/webex-template/zendesk-http-connector-2022.json"
);

fn template() -> Value {
    let text = std::fs::read_to_string(EXPORT).unwrap_or_else(|e| panic!("{EXPORT}: {e}"));
    serde_json::from_str(&text).expect("JSON")
}

/// Imports `v`; an imported flow must load. Returns whether it imported.
fn imports_or_refuses(v: &Value, what: &str) -> bool {
    match import(&v.to_string(), &ImportOptions::default()) {
        Ok(r) => {
            if let Err(e) = ringdesk_flow::load_str(&r.yaml, "variant.yaml") {
                panic!("{what}: imported but does not load: {e}\n---\n{}", r.yaml);
            }
            true
        }
        Err(_) => false,
    }
}

fn ids(v: &Value) -> Vec<String> {
    v["process"]["activities"]
        .as_object()
        .expect("activities")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn every_activity_of_an_unknown_type() {
    let base = template();
    let mut imported = 0;
    for id in ids(&base) {
        let mut v = base.clone();
        v["process"]["activities"][&id]["properties"]["activityName"] = json!("mystery");
        imported += imports_or_refuses(&v, &format!("{id} as mystery")) as usize;
    }
    assert!(imported > 0, "some variants must still import");
}

#[test]
fn every_activity_stripped_of_its_properties() {
    let base = template();
    for id in ids(&base) {
        let mut v = base.clone();
        let kind = v["process"]["activities"][&id]["properties"]["activityName"].clone();
        v["process"]["activities"][&id]["properties"] = json!({ "activityName": kind });
        imports_or_refuses(&v, &format!("{id} without properties"));
    }
}

#[test]
fn every_link_removed_in_turn() {
    let base = template();
    let n = base["process"]["links"].as_array().expect("links").len();
    let mut imported = 0;
    for i in 0..n {
        let mut v = base.clone();
        v["process"]["links"]
            .as_array_mut()
            .expect("links")
            .remove(i);
        imported += imports_or_refuses(&v, &format!("link {i} removed")) as usize;
    }
    assert!(imported > 0);
}

#[test]
fn prompts_the_translator_cannot_read() {
    let base = template();
    for text in [
        "{{",
        "}}{{",
        "{{ a.b.c | foo(1, 2) }}",
        "{% for x in y %}{{ x }}",
        "{{ 1..3 }}",
        "{{ \"#{x}\" }}",
        "{{ x ? : }}",
        "{{ NewPhoneContact.ANI | slice(0) }}",
        "{{ LookupUser.httpResponseHeaders }}",
        "{{ LookupUser.httpResponseBody }} {{ MainMenu.OptionEntered }}",
        "{% set n = 1 %}{{ n + (2 * -3) / 4 }}",
        "{{ {'a': [1, 2]}['a'] | length }}",
        "{# unclosed comment",
        "{{ none }} {{ loop }} {{ range(1) }}",
    ] {
        let mut v = base.clone();
        for id in ids(&base) {
            let p = &mut v["process"]["activities"][&id]["properties"];
            if p.get("promptsTts").is_some_and(Value::is_array) {
                p["promptsTts"] = json!([{ "type": "tts", "value": text }]);
            }
            if p.get("expression").is_some() {
                p["expression"] = json!(text);
            }
        }
        assert!(imports_or_refuses(&v, text), "{text}: refused");
    }
}
