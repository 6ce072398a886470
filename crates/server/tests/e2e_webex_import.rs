//! End-to-end: `ringdesk import webex` on the 2022 Webex "Zendesk HTTP Connector" template
//! (`../shared/reference/webex-template/` beside the repository): the flow and the report
//! are written, `ringdesk check` accepts the flow, and `ringdesk call` runs it against the
//! sandbox as Webex would: its own lookups, its ticket prompt, its menu (2 posts its
//! comment and disconnects). A file that is not an export: exit 1, nothing written.

mod common;

use common::{call, check, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Output;

const EXPORT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/webex-template/zendesk-http-connector-2022.json"
);
const JOHN: &str = "+12125550107"; // 107, en-US, ticket 10 (open, urgent)

fn import(args: &[&str]) -> Output {
    std::process::Command::new(common::run::binary())
        .args(["import", "webex"])
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the ringdesk binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Imports the template into `dir`: (flow, report).
fn import_template(dir: &Path) -> (PathBuf, PathBuf) {
    let flow = dir.join("zendesk-webex.yaml");
    let report = dir.join("zendesk-webex.md");
    let out = import(&[EXPORT, "--output", s(&flow), "--report", s(&report)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("imported `Zendesk_HTTP_Connector`: 14 node(s), 3 event handler(s)"),
        "{stdout}"
    );
    (flow, report)
}

#[test]
fn writes_the_flow_and_the_report_and_keeps_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let (flow, report) = import_template(dir.path());
    let yaml = std::fs::read_to_string(&flow).unwrap();
    assert!(
        yaml.starts_with("# Imported from a Webex Contact Center"),
        "{yaml}"
    );
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(
        md.starts_with("# Import report: Zendesk_HTTP_Connector"),
        "{md}"
    );
    assert!(md.contains("the connector named `zendesk` is used"), "{md}");
    // Again without --force: refused, files unchanged.
    let out = import(&[EXPORT, "--output", s(&flow), "--report", s(&report)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists (--force"));
    let out = import(&[
        EXPORT,
        "--output",
        s(&flow),
        "--report",
        s(&report),
        "--force",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_file_that_is_not_an_export_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{ "name": "not a flow" }"#).unwrap();
    let flow = dir.path().join("out.yaml");
    let out = import(&[s(&bad), "--output", s(&flow)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("$.process is missing"), "{stderr}");
    assert!(!flow.exists());
    assert!(!dir.path().join("out.report.md").exists());
    let out = import(&[s(&bad), "--connector", "nonsense"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses a mapping without `=`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_imported_template_passes_check_and_runs_like_webex() {
    let dir = tempfile::tempdir().unwrap();
    let (flow, _) = import_template(dir.path());
    let checked = check(&[&flow]).await;
    assert_eq!(
        checked.code,
        Some(0),
        "{}\n{}",
        checked.stdout,
        checked.stderr
    );

    let sb = Sandbox::start().await;
    let out = call(JOHN).flow(&flow).press("2").run(&sb).await;
    out.assert_completed();
    let t = &out.transcript;
    let heard = t.heard();
    assert!(
        heard.contains("Greetings, Welcome to IVR"),
        "{}",
        out.stdout
    );
    // Its own lookups: the free-text user search with the raw caller ID, then the tickets.
    let user = t.http_of("LookupUser").expect("LookupUser ran");
    assert_eq!(user.path, "/api/v2/users/search.json");
    assert!(
        user.query
            .contains(&("query".into(), format!("type:user {JOHN}"))),
        "{:?}",
        user.query
    );
    assert!(t.http_of("LookupTicket").is_some(), "{}", out.stdout);
    let details = t.plays_of("PlayTicketDetails");
    assert_eq!(details.len(), 1, "{}", out.stdout);
    assert!(
        details[0].text.contains("Your ticket number 10 is open"),
        "{}",
        details[0].text
    );
    // 2: the comment goes on the ticket, then the call is disconnected.
    let post = t.http_of("PostComments").expect("PostComments ran");
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("PUT", "/api/v2/tickets/10.json")
    );
    assert!(t.visited("CallDisconnect"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_1_queues_the_caller_with_music_at_the_lowest_priority() {
    let dir = tempfile::tempdir().unwrap();
    let (flow, _) = import_template(dir.path());
    let sb = Sandbox::start().await;
    let out = call(JOHN)
        .flow(&flow)
        .press("1")
        .answer_after("5s")
        .talk("1s")
        .run(&sb)
        .await;
    out.assert_completed();
    let t = &out.transcript;
    let q = t.queues();
    assert_eq!(q.len(), 1, "{}", out.stdout);
    assert_eq!(q[0].queue, "support", "the unmapped Webex queue");
    assert_eq!(q[0].result, "queued");
    assert_eq!(q[0].priority, 10, "the template sets no priority");
    assert!(t.visited("PlayMusic"), "{}", out.stdout);
    assert!(t.http_of("PostComments").is_none(), "{}", out.stdout);
}
