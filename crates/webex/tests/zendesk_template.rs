//! The 2022 Webex "Zendesk HTTP Connector" template (`../shared/reference/webex-template/`
//! beside the repository) imports with no error, its flow loads with ringdesk's loader,
//! and the report lists the template's defects.

mod common;

use common::{has, md};
use ringdesk_webex::{import, ImportOptions};

const EXPORT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/webex-template/zendesk-http-connector-2022.json"
);

fn text() -> String {
    std::fs::read_to_string(EXPORT).unwrap_or_else(|e| panic!("cannot read {EXPORT}: {e}"))
}

#[test]
fn imports_and_loads() {
    let r = import(&text(), &ImportOptions::default()).expect("imports");
    let flow = ringdesk_flow::load_str(&r.yaml, "zendesk-http-connector-2022.yaml")
        .unwrap_or_else(|e| panic!("{e}\n---\n{}", r.yaml));
    assert_eq!(flow.name(), "Zendesk_HTTP_Connector");
    let y = &r.yaml;
    for node in [
        "Greeting",
        "LookupUser",
        "LookupTicket",
        "ConditionCheck",
        "PlayTicketDetails_NoTicket",
        "PlayTicketDetails",
        "MainMenu",
        "QueueContact",
        "PlayMusic",
        "PostComments",
        "CallDisconnect",
    ] {
        assert!(
            y.contains(&format!("\n  {node}:\n")),
            "no node {node}:\n{y}"
        );
    }
    assert!(y.contains("start: Greeting\n"), "{y}");
    assert!(
        y.contains(
            "  # LookupUser: Webex http-request-v2 `5b67c177-34ca-4eb1-b356-8f2b356a8374`\n"
        ),
        "{y}"
    );
    assert!(
        y.contains("        query: \"type:user {{ ani }}\"\n"),
        "{y}"
    );
    assert!(
        y.contains("        query: \"type:ticket status<solved  requester:{{ userID }}\"\n"),
        "{y}"
    );
    assert!(
        y.contains("    condition: \"ticketID == \\\"null\\\"\"\n"),
        "{y}"
    );
    assert!(
        y.contains("      path: \"/api/v2/tickets/{{ ticketID }}.json\"\n"),
        "{y}"
    );
    assert!(
        y.contains("  ticketID: { type: string, default: \"null\" }\n"),
        "{y}"
    );
    assert!(
        y.contains("      \"1\": QueueContact\n      \"2\": PostComments\n"),
        "{y}"
    );
    assert!(y.contains("events:\n"), "{y}");
    assert!(
        y.contains("  agent_answered: EndFlow_agentAnswered\n"),
        "{y}"
    );
    assert!(y.contains("  call_ended: EndFlow_callEnded\n"), "{y}");
    assert!(
        y.contains("  agent_disconnected: EndFlow_agentDisconnect\n"),
        "{y}"
    );
}

#[test]
fn the_report_says_what_to_configure_and_what_is_not_supported() {
    let r = import(&text(), &ImportOptions::default())
        .expect("imports")
        .report;
    assert!(
        has(
            &r.configuration,
            "connector `d892fbcd-b050-4f64-9c8f-d6ccd08042c3` is not mapped: the connector named `zendesk` is used"
        ),
        "{}",
        md(&r)
    );
    assert!(has(
        &r.configuration,
        "queue `745fab6b-55e3-49f6-a60e-d06d408eda02` is not mapped"
    ));
    assert!(has(&r.configuration, "voice `en-US-Standard-C`"));
    let pop = r
        .unsupported
        .iter()
        .find(|i| i.place.label == "ScreenPop")
        .expect("the screen pop is reported");
    assert_eq!(pop.place.activity_type, "screen-pop");
    assert!(pop
        .place
        .path
        .starts_with("$.eventFlows.eventsMap.GLOBAL_EVENTS.process.activities["));
    let mut opts = ImportOptions::default();
    opts.connectors.insert(
        "d892fbcd-b050-4f64-9c8f-d6ccd08042c3".into(),
        "helpdesk".into(),
    );
    let mapped = import(&text(), &opts).expect("imports");
    assert!(mapped.yaml.contains("      connector: helpdesk\n"));
    assert!(!mapped.yaml.contains("connector: zendesk"));
}

#[test]
fn the_report_lists_the_template_defects() {
    let r = import(&text(), &ImportOptions::default())
        .expect("imports")
        .report;
    let report = md(&r);
    for (label, needle) in [
        (
            "LookupUser",
            "the caller ID goes into the search as received",
        ),
        ("LookupUser", "takes the first of several users found"),
        ("LookupTicket", "most recently created ticket"),
        ("LookupTicket", "an outage sounds like \"nothing found\""),
        ("PlayTicketDetails", "speaks `ticketStatus`"),
        ("PostComments", "Zendesk makes it public"),
        ("PostComments", "output `Select`"),
        ("QueueContact", "`failure` is not wired"),
        ("QueueContact", "no priority"),
        ("QueueContact", "no agent-availability check"),
    ] {
        assert!(
            r.defects
                .iter()
                .any(|i| i.place.label == label && i.message.contains(needle)),
            "missing defect of {label}: {needle}\n{report}"
        );
    }
    // The ticket search sorts on purpose; the comment request reads no output.
    assert!(!r
        .defects
        .iter()
        .any(|i| i.place.label == "LookupTicket" && i.message.contains("first of several")));
    assert!(!r
        .defects
        .iter()
        .any(|i| i.place.label == "PostComments" && i.message.contains("nothing found")));
    // The 2022 export reads `ticketID` correctly (the 2024 revision does not).
    assert!(
        !report.contains("is not a variable of the flow"),
        "{report}"
    );
}

#[test]
fn the_2024_ticket_id_case_mismatch_is_reported() {
    // The 2024 revision's prompt reads `{{ticketId }}` while the variable is `ticketID`.
    let text = text().replace(
        "Your ticket number {{ticketID}}",
        "Your ticket number {{ticketId }}",
    );
    assert!(text.contains("{{ticketId }}"));
    let r = import(&text, &ImportOptions::default()).expect("imports");
    ringdesk_flow::load_str(&r.yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let item = r
        .report
        .defects
        .iter()
        .find(|i| i.message.contains("reads `ticketId`"))
        .unwrap_or_else(|| panic!("not reported:\n{}", md(&r.report)));
    assert_eq!(item.place.label, "PlayTicketDetails");
    assert!(
        item.message.contains("did you mean `ticketID`?"),
        "{}",
        item.message
    );
    assert_eq!(
        item.place.path,
        "$.process.activities[\"25a04069-4fe5-49a1-b7b6-d69fd4c93555\"].properties.promptsTts[0].value"
    );
}
