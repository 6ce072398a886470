//! Every validation error kind, with the line and column it points at.

use ringdesk_flow::*;

/// Loads `src` expecting failure; returns the diagnostics.
fn errors(src: &str) -> Vec<Diagnostic> {
    match load_str(src, "bad.yaml") {
        Ok(_) => panic!("flow loaded but should not have"),
        Err(e) => e.diagnostics,
    }
}

/// Asserts one error whose message contains `needle`, at `line`, in `node`.
fn has(diags: &[Diagnostic], needle: &str, line: usize, node: Option<&str>) {
    let found = diags.iter().any(|d| {
        d.message.contains(needle)
            && d.line == line
            && d.node.as_deref() == node
            && d.severity == Severity::Error
    });
    assert!(
        found,
        "no error `{needle}` at line {line} node {node:?} in:\n{}",
        show(diags)
    );
}

fn show(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

const OK: &str = "name: ok
start: a
nodes:
  a:
    play: hi
    next: b
  b:
    end: {}
";

#[test]
fn a_valid_flow_loads() {
    let f = load_str(OK, "ok.yaml").expect("loads");
    assert_eq!(f.name(), "ok");
    assert!(f.warnings().is_empty());
}

#[test]
fn diagnostic_display_names_file_line_column_and_node() {
    let d = errors("name: x\nstart: a\nnodes:\n  a:\n    sing: hi\n");
    let text = d
        .iter()
        .map(|d| d.to_string())
        .find(|t| t.contains("sing"))
        .unwrap_or_default();
    assert!(
        text.starts_with("bad.yaml:5:5: error: unknown activity or field `sing`"),
        "{text}"
    );
    assert!(text.ends_with("(node `a`)"), "{text}");
}

#[test]
fn yaml_syntax_error() {
    let d = errors("name: x\nstart: a\nnodes:\n  a: [unclosed\n");
    assert_eq!(d.len(), 1, "{}", show(&d));
    assert!(d[0].message.contains("YAML syntax error"), "{}", show(&d));
    assert!(d[0].line >= 4, "{}", show(&d));
}

#[test]
fn unknown_activity_and_missing_activity() {
    let d =
        errors("name: x\nstart: a\nnodes:\n  a:\n    speak: hi\n    next: b\n  b:\n    next: a\n");
    has(&d, "unknown activity or field `speak`", 5, Some("a"));
    has(&d, "node has no activity", 7, Some("b"));
}

#[test]
fn missing_and_unknown_exit_targets() {
    let d = errors("name: x\nstart: a\nnodes:\n  a:\n    play: hi\n  b:\n    condition: 'true'\n    exits: { \"true\": nowhere, \"false\": a, maybe: a }\n");
    has(&d, "`play` node needs `next:`", 4, Some("a"));
    has(&d, "leads to `nowhere`, which does not exist", 8, Some("b"));
    has(&d, "unknown exit `maybe`", 8, Some("b"));
}

#[test]
fn unknown_start_and_handler() {
    let d = errors("name: x\nstart: nope\nnodes:\n  a:\n    end: {}\nevents:\n  call_ended: gone\n  hangup: a\n");
    has(&d, "start node `nope` does not exist", 2, None);
    has(&d, "starts at `gone`, which does not exist", 7, None);
    has(&d, "unknown event `hangup`", 8, None);
}

#[test]
fn unreachable_node() {
    let d = errors(&format!("{OK}  orphan:\n    play: alone\n    next: b\n"));
    assert_eq!(d.len(), 1, "{}", show(&d));
    has(&d, "unreachable", 9, Some("orphan"));
}

#[test]
fn unknown_variable_in_template_and_expression() {
    let d = errors(
        "name: x\nstart: a\nvariables:\n  known: string\nnodes:\n  a:\n    play: \"{{ known }} {{ typo }}\"\n    next: b\n  b:\n    condition: known == other\n    exits: { \"true\": c, \"false\": c }\n  c:\n    end: {}\n",
    );
    has(&d, "unknown variable `typo`", 7, Some("a"));
    has(&d, "unknown variable `other`", 10, Some("b"));
    assert_eq!(
        d.len(),
        2,
        "built-ins and declared names are fine:\n{}",
        show(&d)
    );
}

#[test]
fn outputs_and_builtins_count_as_declared() {
    let src = "name: x\nstart: a\nnodes:\n  a:\n    http: { connector: c, path: /x, outputs: { got: \"$.a\" }, status_variable: st }\n    exits: { ok: b, error: b }\n  b:\n    play: \"{{ got }} {{ st }} {{ ani }} {{ agent_name }} {{ keys_pressed }}\"\n    next: c\n  c:\n    end: {}\n";
    load_str(src, "ok.yaml").expect("outputs are declared");
}

#[test]
fn template_syntax_error() {
    let d = errors(&OK.replace("play: hi", "play: \"{{ unclosed \""));
    has(&d, "template syntax error", 5, Some("a"));
    let d = errors(&OK.replace(
        "play: hi\n    next: b",
        "condition: \"a ==\"\n    exits: { \"true\": b, \"false\": b }",
    ));
    has(&d, "expression syntax error", 5, Some("a"));
    let d = errors(&OK.replace("play: hi", "play: |\n      line one\n      {% if x %}"));
    let msg = d
        .iter()
        .map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(msg.contains("line 2 of the template"), "{msg}");
}

#[test]
fn bad_jsonpath() {
    let d = errors("name: x\nstart: a\nnodes:\n  a:\n    http:\n      connector: c\n      path: /x\n      outputs:\n        id: \"$.results[?(\"\n    exits: { ok: b, error: b }\n  b:\n    end: {}\n");
    has(&d, "bad JSONPath", 9, Some("a"));
}

#[test]
fn duplicate_menu_digit() {
    let d = errors("name: x\nstart: m\nnodes:\n  m:\n    menu: { prompt: hi }\n    exits:\n      \"1\": b\n      1: c\n      exhausted: b\n  b:\n    end: {}\n  c:\n    end: {}\n");
    assert_eq!(d.len(), 1, "{}", show(&d));
    assert!(
        d[0].message
            .contains("duplicate key `1`, first defined on line 7"),
        "{}",
        show(&d)
    );
    assert!(d[0].message.contains("menu digit"), "{}", show(&d));
    assert_eq!(d[0].line, 8);
}

#[test]
fn bad_menu_key_and_missing_exits() {
    let d = errors("name: x\nstart: m\nnodes:\n  m:\n    menu: { prompt: hi }\n    exits: { \"12\": b }\n  b:\n    end: {}\n");
    has(&d, "`12` is not a menu key", 6, Some("m"));
    has(&d, "needs exit `exhausted`", 4, Some("m"));
}

#[test]
fn missing_required_fields() {
    let d = errors("nodes:\n  a:\n    http: { method: GET }\n    exits: { ok: b, error: b }\n  b:\n    collect: { min: 1 }\n    exits: { ok: a, no_input: a, invalid: a }\n");
    has(&d, "missing required field `name`", 1, None);
    has(&d, "missing required field `start`", 1, None);
    has(&d, "missing required field `connector`", 3, Some("a"));
    has(&d, "missing required field `path`", 3, Some("a"));
    has(&d, "missing required field `max`", 6, Some("b"));
    has(&d, "missing required field `output`", 6, Some("b"));
}

#[test]
fn bad_duration() {
    let d = errors("name: x\nstart: m\nnodes:\n  m:\n    menu: { prompt: hi, timeout: 5 }\n    exits: { \"1\": b, exhausted: b }\n  b:\n    music: { file: a.wav, duration: 3x }\n    next: c\n  c:\n    end: {}\n");
    has(&d, "missing unit", 5, Some("m"));
    has(&d, "unknown unit `x`", 8, Some("b"));
}

#[test]
fn literal_priority_out_of_range() {
    let d = errors("name: x\nstart: q\nnodes:\n  q:\n    queue: { name: s, priority: 11 }\n    exits: { queued: b }\n  b:\n    end: {}\n");
    has(&d, "priority `11` is out of range", 5, Some("q"));
    let d = errors("name: x\nstart: q\nnodes:\n  q:\n    queue: { name: s, priority: 0, check: available }\n    exits: { queued: b }\n  b:\n    end: {}\n");
    has(&d, "priority `0` is out of range", 5, Some("q"));
    has(&d, "needs exit `no_agents`", 4, Some("q"));
}

#[test]
fn variables_types_and_set_targets() {
    let d = errors("name: x\nstart: a\nvariables:\n  n: { type: integer, default: many }\n  t: float\n  ani: string\nnodes:\n  a:\n    set: { undeclared: \"1\", dnis: \"2\" }\n    next: b\n  b:\n    end: {}\n");
    has(&d, "default of `n` is not a valid integer", 4, None);
    has(&d, "unknown type `float`", 5, None);
    has(&d, "`ani` is a built-in variable", 6, None);
    has(
        &d,
        "writes `undeclared`, which is not declared",
        9,
        Some("a"),
    );
    has(
        &d,
        "`dnis` is a built-in variable and cannot be set",
        9,
        Some("a"),
    );
}

#[test]
fn http_path_must_be_relative() {
    let d = errors("name: x\nstart: a\nnodes:\n  a:\n    http: { connector: c, path: \"https://evil.example/x\", method: FETCH }\n    exits: { ok: b, error: b }\n  b:\n    end: {}\n");
    has(&d, "`path` must start with `/`", 5, Some("a"));
    has(&d, "unknown method `FETCH`", 5, Some("a"));
}

#[test]
fn all_errors_are_reported_at_once_and_sorted() {
    let d = errors("name: x\nstart: a\nnodes:\n  a:\n    play: \"{{ nope }}\"\n    next: zz\n  b:\n    bogus: 1\n");
    assert!(d.len() >= 3, "{}", show(&d));
    let lines: Vec<usize> = d.iter().map(|d| d.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}

#[test]
fn an_unreadable_file_is_one_error_at_line_zero() {
    let e = LoadError::unreadable("/nonexistent/flow.yaml", "cannot read flow file: gone");
    assert_eq!(e.diagnostics.len(), 1);
    assert_eq!(e.diagnostics[0].severity, Severity::Error);
    assert_eq!(
        e.to_string(),
        "flow has 1 error(s)\n/nonexistent/flow.yaml:0:0: error: cannot read flow file: gone"
    );
}

#[test]
fn hostile_files_do_not_panic() {
    let big = "a".repeat(2 * 1024 * 1024);
    for src in [
        "",
        "- a\n- b\n",
        "name: [1, 2]\nstart: {a: 1}\nnodes: 3\n",
        "name: x\nstart: a\nnodes:\n  a: 1\n",
        "name: x\nstart: a\nnodes:\n  a:\n    play: { text: { \"not a tag!\": hi } }\n    next: a\n",
        "name: x\nstart: a\nnodes:\n  a:\n    play: &x hi\n    next: a\n",
        "name: x\nstart: a\nnodes:\n  \"bad name!\":\n    end: {}\n",
        "\u{0}\u{1}\u{2}",
        big.as_str(),
    ] {
        assert!(load_str(src, "h.yaml").is_err(), "{:?} loaded", src.chars().take(40).collect::<String>());
    }
}

#[test]
fn deeply_nested_yaml_does_not_overflow() {
    let deep = format!(
        "name: x\nstart: a\nnodes: {}{}\n",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    assert!(load_str(&deep, "deep.yaml").is_err());
    let deep_map = format!(
        "name: x\nstart: a\nnodes: {}1{}\n",
        "{a: ".repeat(50_000),
        "}".repeat(50_000)
    );
    assert!(load_str(&deep_map, "deep.yaml").is_err());
}

/// The warnings of a flow that loads.
fn warnings(src: &str) -> Vec<Diagnostic> {
    match load_str(src, "w.yaml") {
        Ok(f) => f.warnings().to_vec(),
        Err(e) => panic!("flow did not load:\n{e}"),
    }
}

#[test]
fn a_queue_step_without_an_exit_for_a_full_queue_is_a_warning() {
    let flow = |exits: &str, events: &str| {
        format!(
            "name: x\nstart: a\nnodes:\n  a:\n    play: hi\n    next: q\n  q:\n    queue: {{ name: s }}\n    exits: {{ queued: b{exits} }}\n  b:\n    end: {{}}\n{events}"
        )
    };
    let w = warnings(&flow("", ""));
    assert_eq!(w.len(), 1, "{}", show(&w));
    assert_eq!((w[0].line, w[0].column), (7, 3), "{}", w[0]);
    assert_eq!(w[0].node.as_deref(), Some("q"));
    assert_eq!(w[0].severity, Severity::Warning);
    assert!(
        w[0].message.contains("full queue") && w[0].message.contains("max_calls"),
        "{}",
        w[0]
    );
    assert!(w[0].message.contains("the call ends"), "{}", w[0]);
    assert_eq!(
        w[0].to_string(),
        format!("w.yaml:7:3: warning: {} (node `q`)", w[0].message)
    );
    // With an error handler the warning says where the caller goes.
    let w = warnings(&flow("", "events:\n  error: b\n"));
    assert!(w[0].message.contains("`error` handler"), "{}", show(&w));
    // Either exit silences it.
    assert!(warnings(&flow(", full: b", "")).is_empty());
    assert!(warnings(&flow(", error: b", "")).is_empty());
}

#[test]
fn unknown_queue_exits_name_full_among_the_expected() {
    let d = errors("name: x\nstart: q\nnodes:\n  q:\n    queue: { name: s }\n    exits: { queued: b, ful: b }\n  b:\n    end: {}\n");
    has(&d, "expected: queued, full, error", 6, Some("q"));
}

#[test]
fn only_the_call_ended_handler_can_be_durable() {
    let src = "name: d
start: a
nodes:
  a:
    play: hi
  b:
    end: {}
events:
  agent_answered: { start: b, durable: true }
  call_ended: { start: b, durable: true }
";
    has(
        &errors(src),
        "only the call_ended handler can be durable, not `agent_answered`",
        9,
        None,
    );
}
