//! Inputs that cannot become a flow give a typed error naming the place; activities the
//! importer does not know are reported, and stepped over when the graph stays whole.

mod common;

use common::*;
use ringdesk_webex::{import, ImportError, ImportOptions, MAX_EXPORT_BYTES};
use serde_json::json;

fn err(text: &str) -> ImportError {
    match import(text, &ImportOptions::default()) {
        Ok(r) => panic!("imported:\n{}", r.yaml),
        Err(e) => e,
    }
}

#[test]
fn text_that_is_not_json() {
    let e = err("{ \"name\": ");
    assert!(matches!(e, ImportError::NotJson { line: 1, .. }), "{e:?}");
    assert!(e.to_string().starts_with("not JSON (line 1"), "{e}");
}

#[test]
fn json_that_is_not_an_export() {
    let e = err(r#"{ "name": "x", "variables": [] }"#);
    assert_eq!(
        e,
        ImportError::NotAnExport {
            path: "$.process".into(),
            problem: "is missing".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "not a Webex Flow Designer export: $.process is missing"
    );
    let e = err("[1, 2]");
    assert!(
        matches!(e, ImportError::NotAnExport { ref path, .. } if path == "$"),
        "{e:?}"
    );
    let e = err(r#"{ "process": { "links": [] } }"#);
    assert!(
        matches!(e, ImportError::NotAnExport { ref path, .. } if path == "$.process.activities"),
        "{e:?}"
    );
}

#[test]
fn too_large() {
    let text = " ".repeat(MAX_EXPORT_BYTES + 1);
    assert!(matches!(err(&text), ImportError::TooLarge { .. }));
}

#[test]
fn a_link_to_a_missing_activity() {
    let text = export(
        &[a(
            "Hello",
            "play-message",
            json!({ "promptsTts": tts("Hi.") }),
        )],
        &[("Hello", "Nowhere", "default")],
        json!([]),
    );
    let e = err(&text);
    assert_eq!(
        e,
        ImportError::LinkToMissingActivity {
            path: "$.process.links[1]".into(),
            from: "Hello".into(),
            missing: "Nowhere".into()
        }
    );
    assert!(e
        .to_string()
        .contains("link from `Hello` goes to activity `Nowhere`"));
}

#[test]
fn no_start_activity() {
    let text = json!({ "name": "x", "process": { "activities": {
        "a": { "id": "a", "name": "Bye", "properties": { "activityName": "disconnect-contact" } }
    }, "links": [] } })
    .to_string();
    assert_eq!(err(&text), ImportError::NoStart);
}

#[test]
fn a_start_linked_to_nothing() {
    let text = export(&[], &[], json!([]));
    let e = err(&text);
    assert!(
        matches!(e, ImportError::StartNotLinked { ref label, .. } if label == "NewPhoneContact"),
        "{e:?}"
    );
}

#[test]
fn two_start_activities() {
    let mut v: serde_json::Value =
        serde_json::from_str(&export(&[bye("Bye")], &[], json!([]))).unwrap();
    v["process"]["activities"]["start2"] = json!({ "id": "start2", "name": "Other", "group": "start",
        "properties": { "activityName": "NewPhoneContact" } });
    let e = err(&v.to_string());
    assert!(
        matches!(e, ImportError::SeveralStarts { ref labels } if labels.contains("`Other`")),
        "{e:?}"
    );
}

#[test]
fn an_unknown_activity_with_several_exits_stops_the_import() {
    let text = export(
        &[
            a(
                "Hours",
                "business-hours",
                json!({ "businessHoursId": "bh" }),
            ),
            bye("Open"),
            bye("Closed"),
        ],
        &[
            ("Hours", "Open", "workingHours"),
            ("Hours", "Closed", "holidays"),
        ],
        json!([]),
    );
    let e = err(&text);
    assert_eq!(
        e,
        ImportError::UnsupportedActivity {
            label: "Hours".into(),
            activity_type: "business-hours".into(),
            path: "$.process.activities[\"Hours\"]".into()
        }
    );
}

#[test]
fn an_unknown_activity_with_a_default_exit_is_stepped_over_and_reported() {
    let text = export(
        &[
            a("Pop", "screen-pop", json!({ "screenPopUrl": "https://x" })),
            bye("Bye"),
        ],
        &[("Pop", "Bye", "default")],
        json!([]),
    );
    let r = import_ok(&text);
    assert!(r.yaml.contains("start: Bye\n"), "{}", r.yaml);
    let item = r
        .report
        .unsupported
        .iter()
        .find(|i| i.place.label == "Pop")
        .expect("reported");
    assert_eq!(item.place.activity_type, "screen-pop");
    assert_eq!(item.place.path, "$.process.activities[\"Pop\"]");
    assert!(item.message.contains("stepped over"), "{}", item.message);
}

#[test]
fn an_unknown_activity_with_no_exit_ends_the_flow() {
    let text = export(&[a("Callback", "callback", json!({}))], &[], json!([]));
    let r = import_ok(&text);
    assert!(r.yaml.contains("  Callback:\n    end: {}\n"), "{}", r.yaml);
    assert!(has(
        &r.report.unsupported,
        "`callback` is not supported: the flow ends here"
    ));
}

#[test]
fn unsupported_activities_in_a_loop() {
    let text = export(
        &[
            a("A", "screen-pop", json!({})),
            a("B", "screen-pop", json!({})),
        ],
        &[("A", "B", "default"), ("B", "A", "default")],
        json!([]),
    );
    assert!(matches!(err(&text), ImportError::UnsupportedLoop { .. }));
}

#[test]
fn unreachable_activities_are_reported_not_dropped_silently() {
    let text = export(
        &[
            bye("Bye"),
            a("Orphan", "play-message", json!({ "promptsTts": tts("?") })),
        ],
        &[],
        json!([]),
    );
    let r = import_ok(&text);
    assert!(!r.yaml.contains("Orphan"), "{}", r.yaml);
    let item = r
        .report
        .defects
        .iter()
        .find(|i| i.place.label == "Orphan")
        .expect("reported");
    assert!(item.message.contains("not reachable"));
}

#[test]
fn untranslatable_expressions_are_reported_with_their_place() {
    let text = export(
        &[
            a(
                "Say",
                "play-message",
                json!({ "promptsTts": tts("It is {{ now() }}. We found {{ticketId }}.") }),
            ),
            bye("Bye"),
        ],
        &[("Say", "Bye", "default")],
        json!([{ "name": "ticketID", "type": "STRING", "value": "null" }]),
    );
    let r = import_ok(&text);
    let now = r
        .report
        .unsupported
        .iter()
        .find(|i| i.message.contains("now()"))
        .expect("now() reported");
    assert_eq!(now.place.label, "Say");
    assert_eq!(now.place.activity_type, "play-message");
    assert_eq!(
        now.place.path,
        "$.process.activities[\"Say\"].properties.promptsTts[0].value"
    );
    assert!(
        has(
            &r.report.defects,
            "reads `ticketId`, which is not a variable of the flow (did you mean `ticketID`?"
        ),
        "{}",
        md(&r.report)
    );
    // The flow runs the defect as Webex does: an empty value.
    assert!(
        r.yaml
            .contains("  ticketId: { type: string, default: \"\" }"),
        "{}",
        r.yaml
    );
}

#[test]
fn secure_variables_are_reported() {
    let text = export(
        &[bye("Bye")],
        &[],
        json!([{ "name": "pin", "type": "STRING", "value": "", "isSecure": true }]),
    );
    let r = import_ok(&text);
    let item = r
        .report
        .unsupported
        .iter()
        .find(|i| i.place.label == "pin")
        .expect("reported");
    assert!(item.message.contains("secure variable"), "{}", item.message);
    assert_eq!(item.place.path, "$.variables[0]");
}
