//! End-to-end: hostile caller IDs through the real binary. Whatever the network delivers
//! as the caller ID, the sandbox's request log shows only the flow's fixed search text
//! and digits, no other customer's data is spoken, and the process exits 0 without a
//! panic.

mod common;

use common::{call, demo_customer_names, Sandbox};
use ringdesk_zendesk::sandbox::data::phone_digits;
use ringdesk_zendesk::sandbox::DataSet;

/// Caller IDs that are not phone numbers: they must never reach Zendesk.
fn not_numbers() -> Vec<String> {
    vec![
        "*".into(),
        "anonymous".into(),
        "1 type:ticket".into(),
        "+55１１９８７６５".into(),
        "١٢٣٤٥٦٧٨٩٠".into(),
        "9".repeat(5000),
        "+5511987650101".repeat(358), // 5,012 characters of a real customer's number
        "role:admin".into(),
        "requester:101".into(),
        "' OR 1=1 --".into(),
        "\u{202e}+5511987650101".into(),
        "+5511987650101\nrole:admin".into(),
        "%2B5511987650101".into(),
        "-1".into(),
    ]
}

/// Caller IDs around real numbers: they may be looked up, by digits only.
fn number_like() -> Vec<String> {
    vec![
        "+1 (212) 555-0107; role:admin".into(),
        "sip:+5511987650120@evil.example;user=phone".into(),
        "+55 11 98765-0101 type:ticket".into(),
        "tel:+12125550107;phone-context=role:admin".into(),
        "5511987650101 OR phone:5521987650102".into(),
    ]
}

/// The only shapes a search query may take.
fn is_fixed_text_and_digits(q: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_digit());
    q.strip_prefix("role:end-user phone:").is_some_and(digits)
        || q.strip_prefix("role:end-user phone:*").is_some_and(digits)
        || q.strip_prefix("type:ticket status<solved requester:")
            .is_some_and(digits)
}

/// Runs one hostile call and checks the invariants; returns the user ids the queried
/// digits belong to (whose data may be spoken).
async fn run_hostile(sb: &Sandbox, demo: &DataSet, ani: &str) -> Vec<u64> {
    let first = sb.requests().len();
    let out = call(ani).press("2").run(sb).await;
    let label: String = ani.chars().take(40).collect();
    out.assert_completed();
    // Everything this call sent to the sandbox.
    let sent: Vec<_> = sb.requests().into_iter().skip(first).collect();
    let mut owners = Vec::new();
    for r in &sent {
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/api/v2/search.json") => {
                let pairs = r.query_pairs();
                let q = r.search_query().unwrap_or_default();
                assert!(is_fixed_text_and_digits(&q), "{label:?}: query {q:?}");
                for (k, v) in &pairs {
                    assert!(
                        matches!(k.as_str(), "query" | "sort_by" | "sort_order"),
                        "{label:?}: parameter {k:?}"
                    );
                    if k != "query" {
                        assert!(matches!(v.as_str(), "updated_at" | "desc"), "{v:?}");
                    }
                }
                if let Some(d) = q.strip_prefix("role:end-user phone:*") {
                    // The national-number fallback: numbers ending with these digits.
                    owners.extend(
                        demo.users
                            .values()
                            .filter(|u| {
                                u.phone
                                    .as_deref()
                                    .map(phone_digits)
                                    .is_some_and(|p| p.ends_with(d))
                            })
                            .map(|u| u.id),
                    );
                } else if let Some(d) = q.strip_prefix("role:end-user phone:") {
                    owners.extend(
                        demo.users
                            .values()
                            .filter(|u| u.phone.as_deref().map(phone_digits).as_deref() == Some(d))
                            .map(|u| u.id),
                    );
                }
            }
            ("PUT", path) => {
                let id = path
                    .strip_prefix("/api/v2/tickets/")
                    .and_then(|p| p.strip_suffix(".json"))
                    .unwrap_or_default();
                assert!(
                    !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
                    "{label:?}: {path}"
                );
                assert!(r.raw_query.is_none(), "{label:?}: {r:?}");
            }
            other => panic!("{label:?}: unexpected request {other:?}"),
        }
    }
    // The transcript reports the same queries.
    for h in out.transcript.http() {
        for (k, v) in &h.query {
            if k == "query" {
                assert!(is_fixed_text_and_digits(v), "{label:?}: {v:?}");
            }
        }
    }
    // Nothing personal of anyone else.
    let heard = out.transcript.heard();
    for (id, name) in demo_customer_names() {
        if !owners.contains(&id) {
            assert!(!heard.contains(&name), "{label:?}: {name} spoken: {heard}");
        }
    }
    if let Some(ticket) = out
        .transcript
        .variable("ticket_id")
        .and_then(|v| v.as_str().map(str::to_string))
    {
        if !ticket.is_empty() {
            let id: u64 = ticket.parse().expect("ticket id digits");
            let requester = demo.tickets.get(&id).map(|t| t.requester_id);
            assert!(
                requester.is_some_and(|r| owners.contains(&r)),
                "{label:?}: ticket {id} of {requester:?} told to the owner(s) {owners:?}"
            );
        }
    }
    owners
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_ids_that_are_not_numbers_never_reach_zendesk() {
    let sb = Sandbox::start().await;
    let demo = DataSet::demo().expect("demo data");
    for ani in not_numbers() {
        let before = sb.api_requests().len();
        let owners = run_hostile(&sb, &demo, &ani).await;
        assert!(owners.is_empty());
        let label: String = ani.chars().take(40).collect();
        assert_eq!(
            sb.api_requests().len(),
            before,
            "{label:?} reached Zendesk: {:?}",
            sb.api_requests()
        );
    }
    assert_eq!(sb.state().stats().total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_ids_around_numbers_are_searched_by_digits_only() {
    let sb = Sandbox::start().await;
    let demo = DataSet::demo().expect("demo data");
    for ani in number_like() {
        run_hostile(&sb, &demo, &ani).await;
    }
    // Every search the sandbox saw is of the two fixed shapes.
    let queries = sb.search_queries();
    assert!(!queries.is_empty());
    assert!(
        queries.iter().all(|q| is_fixed_text_and_digits(q)),
        "{queries:?}"
    );
}

/// `+1 (212) 555-0107; role:admin` is John Carter's number with a parameter: he is
/// searched by his digits alone, and only his own ticket is spoken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_with_a_parameter_is_searched_by_its_digits() {
    let sb = Sandbox::start().await;
    let demo = DataSet::demo().expect("demo data");
    let owners = run_hostile(&sb, &demo, "+1 (212) 555-0107; role:admin").await;
    assert_eq!(owners, vec![107]);
    assert_eq!(
        sb.search_queries().first().map(String::as_str),
        Some("role:end-user phone:12125550107")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn very_long_caller_id_is_bounded_in_the_output() {
    let sb = Sandbox::start().await;
    let ani = "7".repeat(5000);
    let out = call(&ani).press("2").run(&sb).await;
    out.assert_completed();
    assert!(sb.api_requests().is_empty());
    assert_eq!(out.transcript.plays_of("say_unknown").len(), 1);
    // stderr (logs) does not echo it back.
    assert!(
        !out.stderr.contains(&ani),
        "the 5,000-character caller ID is in stderr"
    );
}
