//! End-to-end: `ringdesk check` on the shipped default flow (ok) and on broken flow files
//! written into a temporary directory: exit code 1, and each error on stderr names the
//! file and the line of the mistake. Warnings (a queue step with no exit for a full
//! queue) are printed the same way but the check still passes.

mod common;

use common::check;
use std::path::{Path, PathBuf};

/// A small valid flow; each broken variant changes one line of it.
const VALID: &str = r#"name: tiny
start: hello
variables:
  greeting: { type: string, default: "Hello." }
nodes:
  hello:
    play:
      text: "{{ greeting }}"
    next: lookup
  lookup:
    http:
      connector: zendesk
      method: GET
      path: /api/v2/users/me.json
      outputs:
        me: "$.user.name"
    exits: { ok: ask, error: ask }
  ask:
    menu:
      prompt: "Press 1 or 2."
      timeout: 5s
      retries: 1
    exits:
      "1": bye
      "2": bye
      exhausted: bye
  bye:
    disconnect: { reason: done }
"#;

fn default_flow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows/zendesk-ticket-status.yaml")
}

/// `VALID` with the one line equal to `from` (trimmed) replaced by `to`; returns the text
/// and the 1-based number of that line.
fn variant(from: &str, to: &str) -> (String, usize) {
    let mut line_no = 0;
    let lines: Vec<String> = VALID
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if l.trim() == from {
                assert_eq!(line_no, 0, "{from:?} is not unique");
                line_no = i + 1;
                let indent = &l[..l.len() - l.trim_start().len()];
                format!("{indent}{to}")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(line_no > 0, "{from:?} not found");
    (lines.join("\n") + "\n", line_no)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write flow file");
    path
}

/// Runs check on one broken file; asserts exit 1 and an error naming `file:line:` that
/// contains `needle`.
async fn assert_error_at(path: &Path, line: usize, needle: &str) {
    let out = check(&[path]).await;
    assert_eq!(
        out.code,
        Some(1),
        "{}: stderr:\n{}",
        path.display(),
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let prefix = format!("{}:{line}:", path.display());
    let hit = out
        .stderr
        .lines()
        .find(|l| l.starts_with(&prefix) && l.contains("error") && l.contains(needle));
    assert!(
        hit.is_some(),
        "expected an error at {prefix} mentioning {needle:?}; stderr:\n{}",
        out.stderr
    );
    assert!(!out.stdout.contains(": ok"), "{}", out.stdout);
}

#[tokio::test]
async fn default_flow_and_the_valid_sample_are_ok() {
    let dir = tempfile::tempdir().expect("tempdir");
    let valid = write(dir.path(), "valid.yaml", VALID);
    let flow = default_flow();
    let out = check(&[flow.as_path(), valid.as_path()]).await;
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert!(
        out.stdout
            .contains("zendesk-ticket-status.yaml: ok (flow `zendesk-ticket-status`)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("valid.yaml: ok (flow `tiny`)"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
}

#[tokio::test]
async fn unknown_activity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (text, line) = variant("play:", "plya:");
    let path = write(dir.path(), "unknown-activity.yaml", &text);
    assert_error_at(&path, line, "plya").await;
}

#[tokio::test]
async fn missing_exit_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (text, line) = variant("\"2\": bye", "\"2\": nowhere");
    let path = write(dir.path(), "missing-target.yaml", &text);
    assert_error_at(&path, line, "nowhere").await;
}

#[tokio::test]
async fn unreachable_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!("{VALID}  orphan:\n    disconnect: {{ reason: never }}\n");
    let line = VALID.lines().count() + 1;
    let path = write(dir.path(), "unreachable.yaml", &text);
    assert_error_at(&path, line, "unreachable").await;
}

#[tokio::test]
async fn unknown_template_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (text, line) = variant("text: \"{{ greeting }}\"", "text: \"{{ greting }}\"");
    let path = write(dir.path(), "unknown-variable.yaml", &text);
    assert_error_at(&path, line, "greting").await;
}

#[tokio::test]
async fn bad_jsonpath() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (text, line) = variant("me: \"$.user.name\"", "me: \"$.user[?\"");
    let path = write(dir.path(), "bad-jsonpath.yaml", &text);
    assert_error_at(&path, line, "JSONPath").await;
}

#[tokio::test]
async fn duplicate_menu_digit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (text, line) = variant("\"2\": bye", "\"1\": hello");
    let path = write(dir.path(), "duplicate-digit.yaml", &text);
    assert_error_at(&path, line, "duplicate").await;
    // The same on one line, with the digit written once as a number and once quoted.
    let text = VALID.replace(
        "    exits:\n      \"1\": bye\n      \"2\": bye\n      exhausted: bye\n",
        "    exits: { 1: bye, \"1\": hello, exhausted: bye }\n",
    );
    let line = 1 + text
        .lines()
        .position(|l| l.contains("exits: { 1: bye"))
        .expect("the inline exits line");
    let path = write(dir.path(), "duplicate-digit-inline.yaml", &text);
    assert_error_at(&path, line, "duplicate").await;
}

#[tokio::test]
async fn yaml_syntax_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A value where YAML allows none: detected on the line itself. (An unclosed `[` is
    // only noticed where the parser runs into the next key, lines later.)
    let (text, line) = variant("timeout: 5s", "timeout: 5s: 6s");
    let path = write(dir.path(), "syntax.yaml", &text);
    assert_error_at(&path, line, "YAML syntax error").await;
}

#[tokio::test]
async fn every_broken_file_is_reported_in_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "good.yaml", VALID);
    let (text, bad_line) = variant("next: lookup", "next: elsewhere");
    let bad = write(dir.path(), "bad.yaml", &text);
    let (text, ugly_line) = variant("prompt: \"Press 1 or 2.\"", "prompt: \"{{ nope }}\"");
    let ugly = write(dir.path(), "ugly.yaml", &text);
    let out = check(&[good.as_path(), bad.as_path(), ugly.as_path()]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.contains("good.yaml: ok"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains(&format!("{}:{bad_line}:", bad.display())),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("{}:{ugly_line}:", ugly.display())),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("2 of 3 flow file(s) have errors"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_queue_step_with_no_exit_for_a_full_queue_is_a_warning_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The menu's 1 goes to a queue step with only `queued`.
    let text = VALID.replace("\"1\": bye", "\"1\": to_queue")
        + "  to_queue:\n    queue: { name: support, priority: 5 }\n    exits: { queued: hold }\n  hold:\n    music: { file: moh.wav }\n    next: bye\n";
    let line = 1 + text
        .lines()
        .position(|l| l == "  to_queue:")
        .expect("the queue node");
    let path = write(dir.path(), "no-full-exit.yaml", &text);
    let out = check(&[path.as_path()]).await;
    assert_eq!(
        out.code,
        Some(0),
        "warnings do not fail the check:\n{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("no-full-exit.yaml: ok (flow `tiny`), 1 warning(s)"),
        "{}",
        out.stdout
    );
    let prefix = format!("{}:{line}:3: warning: ", path.display());
    let warning = out
        .stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no warning at {prefix}; stderr:\n{}", out.stderr));
    assert!(
        warning.contains("no exit for a full queue")
            && warning.contains("max_calls")
            && warning.ends_with("(node `to_queue`)"),
        "{warning}"
    );
    assert!(!out.stderr.contains(": error:"), "{}", out.stderr);

    // The default flow handles a full queue: no warning.
    let flow = default_flow();
    let out = check(&[flow.as_path()]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);

    // A `full` exit (or an `error` exit) answers it.
    for exits in ["queued: hold, full: bye", "queued: hold, error: bye"] {
        let fixed = text.replace("queued: hold }", &format!("{exits} }}"));
        let path = write(dir.path(), "with-exit.yaml", &fixed);
        let out = check(&[path.as_path()]).await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(!out.stderr.contains("warning"), "{exits}: {}", out.stderr);
        assert!(
            out.stdout.contains("with-exit.yaml: ok (flow `tiny`)\n"),
            "{}",
            out.stdout
        );
    }
}
