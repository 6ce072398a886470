//! Hostile caller IDs: they never reach an HTTP query except as digits, and never panic.

mod common;

use common::*;
use ringdesk_flow::*;

fn hostile_anis() -> Vec<String> {
    vec![
        "*".into(),
        "anonymous".into(),
        "Anonymous".into(),
        "1 type:ticket".into(),
        "5511987654321 OR role:admin".into(),
        "+55 11 98765-4321\" status:closed".into(),
        "x".repeat(5000),
        "9".repeat(5000),
        "+١٢٣٤٥٦٧٨٩٠١".into(),
        "📞+5511987654321".into(),
        "\u{0}\u{7f}\r\n+1555".into(),
        "sip:+5511987654321@evil.example;user=phone?x=type:user".into(),
        String::new(),
    ]
}

/// Drives the default flow answering every request with an empty result, collecting
/// every HTTP request made, until the menu prompt or the end.
fn requests_for(ani: &str) -> Vec<HttpRequest> {
    let mut s = Sim::new(default_flow(), start(ani));
    let mut seen = Vec::new();
    for _ in 0..20 {
        if s.none_pending() {
            break;
        }
        match s.next() {
            Action::Play { id, .. } => s.event(Event::PlayDone { id }),
            Action::Http { id, request, .. } => {
                seen.push(request);
                s.respond(id, 200, r#"{"results": [], "count": 0}"#);
            }
            _ => {}
        }
    }
    seen
}

#[test]
fn hostile_anis_never_reach_a_query_except_as_digits() {
    for ani in hostile_anis() {
        for req in requests_for(&ani) {
            for (_, value) in &req.query {
                // The E.164 lookup, or its national-number fallback.
                let phone = value
                    .strip_prefix("role:end-user phone:*")
                    .or_else(|| value.strip_prefix("role:end-user phone:"))
                    .unwrap_or_else(|| panic!("unexpected query {value:?} for {ani:?}"));
                assert!(
                    !phone.is_empty() && phone.chars().all(|c| c.is_ascii_digit()),
                    "{phone:?} from {ani:?}"
                );
            }
        }
    }
}

#[test]
fn only_real_numbers_are_looked_up() {
    // The SIP URI form of a valid number is accepted (user part only, digits only).
    let reqs = requests_for("sip:+5511987654321@pbx.example;user=phone");
    assert_eq!(
        reqs.len(),
        2,
        "E.164 lookup, then the national-number fallback"
    );
    assert_eq!(reqs[0].query[0].1, "role:end-user phone:5511987654321");
    assert_eq!(reqs[1].query[0].1, "role:end-user phone:*11987654321");
    for ani in [
        "*",
        "anonymous",
        "1 type:ticket",
        "x".repeat(5000).as_str(),
        "+١٢٣٤٥٦٧٨٩٠١",
    ] {
        assert!(requests_for(ani).is_empty(), "{ani:?} was looked up");
    }
}

#[test]
fn hostile_anis_in_templates_and_digits_never_panic() {
    let f = load(
        r#"
name: h
start: a
nodes:
  a:
    play: "{{ ani }} {{ ani | digits }} {{ ani | e164 }} {{ ani | e164('BR') }} {{ ani | replace({'+': ''}) }}"
    next: b
  b:
    http: { connector: c, path: "/u/{{ ani | digits }}", query: { q: "{{ ani | digits }}" } }
    exits: { ok: c, error: c }
  c:
    end: {}
"#,
    );
    for ani in hostile_anis() {
        let mut s = Sim::new(f.clone(), start(&ani));
        let mut action = s.next();
        if let Action::Play { id, segments, .. } = &action {
            // (An empty caller id renders a blank prompt, which is skipped.)
            assert!(texts(segments).len() <= 4 * 1024 + 64, "ani is bounded");
            let id = *id;
            s.event(Event::PlayDone { id });
            action = s.next();
        }
        match action {
            Action::Http { request, .. } => {
                assert!(request.query[0].1.chars().all(|c| c.is_ascii_digit()));
            }
            // `/u/` with no digits is still a safe path; anything else must not happen.
            other => panic!("{other:?}"),
        }
        let _ = s.ex.variables();
    }
}

#[test]
fn garbage_events_never_panic() {
    let mut s = Sim::new(default_flow(), start("+5511987654321"));
    for key in ['x', 'A', '\u{0}', '😀', '1', '#', '*'] {
        s.digit(key);
    }
    for id in [0, 1, 999, u64::MAX] {
        s.event(Event::PlayDone { id: ActionId(id) });
        s.event(Event::HttpDone {
            id: ActionId(id),
            outcome: HttpOutcome::Deferred,
        });
        s.event(Event::QueueResult {
            id: ActionId(id),
            result: QueueResult::Queued,
        });
        s.event(Event::QueueInfo {
            id: ActionId(id),
            info: QueueInfo::default(),
        });
    }
    s.ex.handle_timeout(s.now);
    // Hostile JSON in a response.
    let mut s = Sim::new(default_flow(), start("+5511987654321"));
    s.play_through();
    let (id, _) = s.expect_http();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    s.respond(id, 200, &deep);
    assert!(s.play_through().starts_with("Sorry, we cannot check"));
    let long_name = format!(
        r#"{{"results": [{{"id": 1, "name": "{}"}}]}}"#,
        "n".repeat(100_000)
    );
    let mut s = Sim::new(default_flow(), start("+5511987654321"));
    s.play_through();
    let (id, _) = s.expect_http();
    s.respond(id, 200, &long_name);
    assert!(
        s.play_through().starts_with("Sorry, we cannot check"),
        "oversized output is an error"
    );
}
