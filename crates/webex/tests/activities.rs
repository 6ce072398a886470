//! Each activity type the importer maps, from a small export to the YAML it writes, which
//! ringdesk's own loader must accept; and what the report says about each.

mod common;

use common::*;
use ringdesk_webex::ImportOptions;
use serde_json::json;

#[test]
fn start_fields_become_builtins_and_play_message_becomes_play() {
    let text = export(
        &[
            a(
                "Hello",
                "play-message",
                json!({
                    "promptsTts": tts("You called {{ NewPhoneContact.DNIS }} from {{NewPhoneContact.ANI | replace({\"+\":\"\"})}}."),
                    "voiceLanguage": "pt-BR-Standard-A", "speakingRate": "1", "volumeGainDb": "0",
                    "description": "Greets"
                }),
            ),
            bye("Bye"),
        ],
        &[("Hello", "Bye", "default")],
        json!([]),
    );
    let r = import_ok(&text);
    assert!(r.yaml.contains("start: Hello\n"), "{}", r.yaml);
    assert!(
        r.yaml.contains(
            "  # Hello: Webex play-message `Hello`\n  Hello:\n    description: Greets\n    play:\n      text: \"You called {{ dnis }} from {{ ani | replace(\\\"+\\\", \\\"\\\") }}.\"\n      language: pt-BR\n    next: Bye\n"
        ),
        "{}",
        r.yaml
    );
    assert!(
        r.yaml.contains("  Bye:\n    disconnect: {}\n"),
        "{}",
        r.yaml
    );
    assert!(has(&r.report.configuration, "voice `pt-BR-Standard-A`"));
    assert!(r.report.unsupported.is_empty(), "{}", md(&r.report));
}

#[test]
fn play_message_rate_volume_and_audio_are_reported() {
    let text = export(
        &[
            a(
                "Hello",
                "play-message",
                json!({ "toggle": false, "prompts": [{ "name": "hello.wav", "value": "hello.wav" }],
                        "speakingRate": "1.5", "volumeGainDb": "3" }),
            ),
            bye("Bye"),
        ],
        &[("Hello", "Bye", "default")],
        json!([]),
    );
    let r = import_ok(&text);
    assert!(r.yaml.contains("      audio: hello.wav\n"), "{}", r.yaml);
    assert!(has(&r.report.configuration, "audio file `hello.wav`"));
    assert!(has(&r.report.unsupported, "speakingRate 1.5"));
    assert!(has(&r.report.unsupported, "volumeGainDb 3"));
    let rate = r
        .report
        .unsupported
        .iter()
        .find(|i| i.message.contains("speakingRate"))
        .unwrap();
    assert_eq!(rate.place.label, "Hello");
    assert_eq!(rate.place.activity_type, "play-message");
    assert_eq!(
        rate.place.path,
        "$.process.activities[\"Hello\"].properties.speakingRate"
    );
}

#[test]
fn ivr_menu_maps_digits_invalid_and_timeout() {
    let text = export(
        &[
            a(
                "Menu",
                "ivr-menu",
                json!({ "promptsTts": tts("Press 1 or 2."), "menuLinks": ["1", "2"],
                        "entryTimeout": "10", "interruptible": false }),
            ),
            a("One", "play-message", json!({ "promptsTts": tts("One.") })),
            bye("Two"),
            a(
                "Invalid",
                "play-message",
                json!({ "promptsTts": tts("Invalid.") }),
            ),
            a("Timeout", "end", json!({})),
        ],
        &[
            ("Menu", "One", "1"),
            ("Menu", "Two", "2"),
            ("Menu", "Invalid", "invalid"),
            ("Menu", "Timeout", "timeout"),
            ("One", "Two", "default"),
            ("Invalid", "Menu", "default"),
        ],
        json!([]),
    );
    let r = import_ok(&text);
    let y = &r.yaml;
    assert!(y.contains("      interruptible: false\n"), "{y}");
    assert!(y.contains("      timeout: 10s\n      retries: 0\n"), "{y}");
    assert!(
        y.contains("      \"1\": One\n      \"2\": Two\n      \"3\": Invalid\n"),
        "{y}"
    );
    assert!(
        y.contains("      \"#\": Invalid\n      exhausted: Timeout\n"),
        "{y}"
    );
    assert!(y.contains("  Timeout:\n    end: {}\n"), "{y}");
}

#[test]
fn ivr_menu_self_loop_and_unwired_option_are_defects() {
    let text = export(
        &[
            a(
                "Menu",
                "ivr-menu",
                json!({ "promptsTts": tts("Press 1."), "menuLinks": ["1", "2"] }),
            ),
            bye("One"),
        ],
        &[
            ("Menu", "One", "1"),
            ("Menu", "Menu", "timeout"),
            ("Menu", "Menu", "invalid"),
        ],
        json!([]),
    );
    let r = import_ok(&text);
    assert!(
        has(&r.report.defects, "option 2 is not wired"),
        "{}",
        md(&r.report)
    );
    assert!(has(&r.report.defects, "forever"), "{}", md(&r.report));
    assert!(
        r.yaml.contains("      timeout: 3s\n"),
        "Webex's default: {}",
        r.yaml
    );
}

#[test]
fn http_request_maps_every_field_and_outputs() {
    let text = export(
        &[
            a(
                "Lookup",
                "http-request-v2",
                json!({
                    "connectorId": "c-1", "httpRequestMethod": "POST",
                    "httpRequestPath": "api/v2/x/{{id}}.json",
                    "httpQueryParameters": { "q": "phone:{{NewPhoneContact.ANI}}" },
                    "httpRequestHeaders": { "X-Call": "{{NewPhoneContact.InteractionId}}" },
                    "httpRequestBody": "{\"a\": \"{{id}}\"}",
                    "httpContentType": "Application/JSON",
                    "httpResponseTimeout": "2000", "retryAttempts": "2",
                    "outputVariableArray": [
                        { "outputVariable": "name", "jsonPathExp": "$.users[0].name" },
                        { "outputVariable": "Select", "jsonPathExp": "" }
                    ]
                }),
            ),
            a(
                "Check",
                "condition-activity",
                json!({ "expression": "{{ Lookup.httpStatusCode / 100 == 2 }}" }),
            ),
            bye("Bye"),
        ],
        &[
            ("Lookup", "Check", "default"),
            ("Check", "Bye", "true"),
            ("Check", "Bye", "false"),
        ],
        json!([
            { "name": "id", "type": "STRING", "value": "7" },
            { "name": "name", "type": "STRING" }
        ]),
    );
    let mut opts = ImportOptions::default();
    opts.connectors.insert("c-1".into(), "crm".into());
    let r = import_with(&text, &opts);
    let y = &r.yaml;
    assert!(
        y.contains("      connector: crm\n      method: POST\n"),
        "{y}"
    );
    assert!(
        y.contains("      path: \"/api/v2/x/{{ id }}.json\"\n"),
        "{y}"
    );
    assert!(y.contains("        q: \"phone:{{ ani }}\"\n"), "{y}");
    assert!(y.contains("        X-Call: \"{{ call_id }}\"\n"), "{y}");
    assert!(
        y.contains("      body: \"{\\\"a\\\": \\\"{{ id }}\\\"}\"\n"),
        "{y}"
    );
    assert!(
        y.contains("      timeout: 6000ms\n      retries: 2\n"),
        "{y}"
    );
    assert!(y.contains("        name: \"$.users[0].name\"\n"), "{y}");
    assert!(
        y.contains("      status_variable: Lookup_httpStatusCode\n"),
        "{y}"
    );
    assert!(y.contains("      ok: Check\n      error: Check\n"), "{y}");
    assert!(
        y.contains("  Lookup_httpStatusCode: { type: integer, default: 0 }"),
        "{y}"
    );
    assert!(
        y.contains("    condition: \"Lookup_httpStatusCode // 100 == 2\"\n"),
        "{y}"
    );
    assert!(
        y.contains("  name: { type: string, default: \"null\" }\n"),
        "{y}"
    );
    assert!(has(&r.report.configuration, "connector `c-1` → `crm`"));
    assert!(
        has(&r.report.defects, "output `Select`"),
        "{}",
        md(&r.report)
    );
    assert!(has(&r.report.notes, "one is added"));
    assert!(has(&r.report.notes, "`/` by a whole number became `//`"));
}

#[test]
fn http_request_without_a_mapping_uses_the_zendesk_connector_and_says_so() {
    let text = export(
        &[
            a(
                "Lookup",
                "http-request-v2",
                json!({ "connectorId": "d892", "httpRequestMethod": "GET", "httpRequestPath": "/x" }),
            ),
            bye("Bye"),
        ],
        &[("Lookup", "Bye", "default"), ("Lookup", "Bye", "error")],
        json!([]),
    );
    let r = import_ok(&text);
    assert!(r.yaml.contains("      connector: zendesk\n"), "{}", r.yaml);
    assert!(has(
        &r.report.configuration,
        "connector `d892` is not mapped: the connector named `zendesk` is used"
    ));
}

#[test]
fn condition_set_variable_and_end() {
    let text = export(
        &[
            a(
                "Remember",
                "set-variable",
                json!({ "setVariablesArray": [
                    { "srcVariable": "count", "expr": "{{ count + 1 }}" },
                    { "srcVariable": "who", "literal": "{{ NewPhoneContact.ANI }}" }
                ] }),
            ),
            a(
                "Enough",
                "condition-activity",
                json!({ "expression": "{{count >= 3}}" }),
            ),
            a("Done", "end", json!({})),
        ],
        &[
            ("Remember", "Enough", "out"),
            ("Enough", "Done", "true"),
            ("Enough", "Remember", "false"),
        ],
        json!([
            { "name": "count", "type": "INTEGER", "value": "0" },
            { "name": "who", "type": "STRING", "value": "" },
            { "name": "vip", "type": "BOOLEAN", "value": "true" }
        ]),
    );
    let r = import_ok(&text);
    let y = &r.yaml;
    assert!(y.contains("    set:\n      count: \"{{ count + 1 }}\"\n      who: \"{{ ani }}\"\n    next: Enough\n"), "{y}");
    assert!(
        y.contains("    condition: count >= 3\n") || y.contains("    condition: \"count >= 3\"\n"),
        "{y}"
    );
    assert!(
        y.contains("      \"true\": Done\n      \"false\": Remember\n"),
        "{y}"
    );
    assert!(
        y.contains("  count: { type: integer, default: 0 }\n"),
        "{y}"
    );
    assert!(
        y.contains("  who: { type: string, default: \"null\" }\n"),
        "{y}"
    );
    assert!(
        y.contains("  vip: { type: boolean, default: true }\n"),
        "{y}"
    );
}

#[test]
fn set_variable_on_an_undeclared_variable_is_a_defect() {
    let text = export(
        &[
            a(
                "Remember",
                "set-variable",
                json!({ "srcVariable": "ghost", "expr": "x" }),
            ),
            bye("Bye"),
        ],
        &[("Remember", "Bye", "out")],
        json!([]),
    );
    let r = import_ok(&text);
    assert!(
        has(&r.report.defects, "`ghost` is not declared"),
        "{}",
        md(&r.report)
    );
    assert!(r.yaml.contains("      ghost: x\n"), "{}", r.yaml);
}

#[test]
fn queue_contact_and_play_music() {
    let text = export(
        &[
            a(
                "Queue",
                "queue-contact",
                json!({ "destination": "q-1", "destination:type": "LONGEST_AVAILABLE_AGENT",
                        "priority": "P2", "skills": null }),
            ),
            a(
                "Music",
                "play-music",
                json!({ "prompt": "defaultmusic_on_hold.wav", "duration": "30" }),
            ),
            a(
                "Sorry",
                "play-message",
                json!({ "promptsTts": tts("Sorry.") }),
            ),
            bye("Bye"),
        ],
        &[
            ("Queue", "Music", "default"),
            ("Queue", "Sorry", "failure"),
            ("Music", "Music", "default"),
            ("Sorry", "Bye", "default"),
        ],
        json!([]),
    );
    let mut opts = ImportOptions::default();
    opts.queues.insert("q-1".into(), "billing".into());
    let r = import_with(&text, &opts);
    let y = &r.yaml;
    assert!(
        y.contains("    queue:\n      name: billing\n      priority: 2\n"),
        "{y}"
    );
    assert!(
        y.contains("      queued: Music\n      error: Sorry\n"),
        "{y}"
    );
    assert!(y.contains("    music:\n      file: defaultmusic_on_hold.wav\n      duration: 30s\n    next: Music\n"), "{y}");
    assert!(has(&r.report.configuration, "queue `q-1` → `billing`"));
    assert!(has(&r.report.defects, "no agent-availability check"));
}

#[test]
fn queue_without_a_mapping_or_failure_exit_is_reported() {
    let text = export(
        &[
            a("Queue", "queue-contact", json!({ "destination": "q-9" })),
            a("Music", "play-music", json!({ "prompt": "jazz.wav" })),
        ],
        &[("Queue", "Music", "default")],
        json!([]),
    );
    let r = import_ok(&text);
    assert!(r.yaml.contains("      name: support\n"), "{}", r.yaml);
    assert!(r.yaml.contains("      loop: false\n"), "{}", r.yaml);
    assert!(has(&r.report.configuration, "queue `q-9` is not mapped"));
    assert!(has(&r.report.configuration, "music file `jazz.wav`"));
    assert!(has(&r.report.defects, "`failure` is not wired"));
    assert!(has(&r.report.defects, "no priority"));
    assert!(
        has(&r.report.defects, "`default` is not wired")
            || has(&r.report.defects, "exit `default` is not wired")
    );
}

#[test]
fn event_flows_map_onto_ringdesk_events() {
    let mut v: serde_json::Value = serde_json::from_str(&export(
        &[a("Done", "end", json!({}))],
        &[],
        json!([{ "name": "ticketID", "type": "STRING", "value": "null" }]),
    ))
    .unwrap();
    let ev = |id: &str, event: &str| {
        json!({ "id": id, "name": id, "group": "event",
                "properties": { "activityId": "event", "event": event } })
    };
    v["eventFlows"] = json!({ "eventsMap": { "GLOBAL_EVENTS": { "process": {
        "activities": {
            "e1": ev("e1", "AgentAnswered"),
            "e2": ev("e2", "PhoneContactEnded"),
            "e3": ev("e3", "OnGlobalError"),
            "e4": ev("e4", "AgentDisconnected"),
            "e5": ev("e5", "PreDial"),
            "e6": ev("e6", "AgentOffered"),
            "pop": { "id": "pop", "name": "ScreenPop", "group": "action",
                     "properties": { "activityName": "screen-pop",
                                     "screenPopUrl": "https://x/{{ticketID}}" } },
            "end1": { "id": "end1", "name": "EndFlow", "group": "end", "properties": { "activityName": "end" } },
            "end2": { "id": "end2", "name": "EndFlow", "group": "end", "properties": { "activityName": "end" } },
            "end3": { "id": "end3", "name": "Done", "group": "end", "properties": { "activityName": "end" } }
        },
        "links": [
            { "sourceActivityId": "e1", "targetActivityId": "pop", "conditionExpr": "out" },
            { "sourceActivityId": "pop", "targetActivityId": "end1", "conditionExpr": "default" },
            { "sourceActivityId": "e2", "targetActivityId": "end2", "conditionExpr": "out" },
            { "sourceActivityId": "e3", "targetActivityId": "end3", "conditionExpr": "out" },
            { "sourceActivityId": "e4", "targetActivityId": "end2", "conditionExpr": "out" },
            { "sourceActivityId": "e6", "targetActivityId": "end3", "conditionExpr": "out" }
        ]
    } } } });
    let r = import_ok(&v.to_string());
    let y = &r.yaml;
    assert!(
        y.contains("events:\n  agent_answered: EndFlow\n  call_ended: EndFlow_2\n  error: Done_2\n  agent_disconnected: EndFlow_2\n  agent_offered: Done_2\n"),
        "{y}"
    );
    assert!(
        has(
            &r.report.unsupported,
            "`screen-pop` is not supported: stepped over"
        ),
        "{}",
        md(&r.report)
    );
    assert!(has(
        &r.report.unsupported,
        "event `PreDial` has no ringdesk equivalent"
    ));
}

#[test]
fn case_statement_becomes_case() {
    let text = export(
        &[
            a(
                "Route",
                "case-statement",
                json!({ "expression": "{{ tier }}" }),
            ),
            bye("Gold"),
            a("Other", "end", json!({})),
        ],
        &[
            ("Route", "Gold", "gold"),
            ("Route", "Gold", "platinum"),
            ("Route", "Other", "default"),
        ],
        json!([{ "name": "tier", "type": "STRING", "value": "gold" }]),
    );
    let r = import_ok(&text);
    let y = &r.yaml;
    assert!(
        y.contains("    case: tier\n    exits:\n      gold: Gold\n      platinum: Gold\n      default: Other\n"),
        "{y}"
    );
}

#[test]
fn collect_digits_becomes_collect_with_its_output() {
    let text = export(
        &[
            a(
                "Account",
                "ivr-collectdigits",
                json!({ "promptsTts": tts("Your account number, then hash."),
                        "entryTimeout": "8", "interDigitTimeout": "2",
                        "minDigits": 4, "maxDigits": 10, "terminatorSymbol": "#" }),
            ),
            a(
                "Say",
                "play-message",
                json!({ "promptsTts": tts("You entered {{ Account.DigitsEntered }}.") }),
            ),
            bye("Bye"),
        ],
        &[
            ("Account", "Say", "default"),
            ("Account", "Bye", "timeout"),
            ("Account", "Account", "invalid"),
            ("Say", "Bye", "default"),
        ],
        json!([]),
    );
    let r = import_ok(&text);
    let y = &r.yaml;
    assert!(
        y.contains("      min: 4\n      max: 10\n      terminator: \"#\"\n      first_digit_timeout: 8s\n      inter_digit_timeout: 2s\n      output: Account_DigitsEntered\n"),
        "{y}"
    );
    assert!(
        y.contains("      ok: Say\n      no_input: Bye\n      invalid: Account\n"),
        "{y}"
    );
    assert!(
        y.contains("      text: \"You entered {{ Account_DigitsEntered }}.\"\n"),
        "{y}"
    );
}

#[test]
fn queue_contact_by_queue_id_variable() {
    let text = export(
        &[
            a(
                "Queue",
                "queue-contact",
                json!({ "queueId": "{{ target }}" }),
            ),
            a(
                "Music",
                "play-music",
                json!({ "prompt": "defaultmusic_on_hold.wav", "duration": "10" }),
            ),
        ],
        &[("Queue", "Music", "default"), ("Music", "Music", "default")],
        json!([{ "name": "target", "type": "STRING", "value": "billing" }]),
    );
    let r = import_ok(&text);
    assert!(
        r.yaml.contains("      name: \"{{ target }}\"\n"),
        "{}",
        r.yaml
    );
    assert!(has(&r.report.configuration, "comes from an expression"));
}
