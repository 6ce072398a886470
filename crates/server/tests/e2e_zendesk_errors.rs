//! End-to-end: Zendesk failures (401, 500, a hanging request, 429 with Retry-After) each
//! take the flow's distinct error path: an apology, then an agent at normal priority;
//! never the "unknown caller" or "no ticket" wording, and never a secret in the output.
//! After the call, the call_ended handler looks the caller up once more: an outage (500,
//! 429, a timeout) defers the rest of it to the outbox (`ringdesk call` without `--store`
//! keeps it nowhere), an answer such as 401 ends it.

mod common;

use common::{call, CallOutcome, Sandbox};
use ringdesk_zendesk::sandbox::{ErrorFault, Faults, HangFault, SandboxConfig};

const JOHN: &str = "+12125550107"; // urgent open ticket 10: priority 1 when the lookup works
const APOLOGY: &str = "Sorry, we cannot check your tickets right now. Please hold for an agent.";

/// Requests the call made, its after-call lookup included.
fn attempts(out: &CallOutcome) -> u64 {
    out.transcript.http().iter().map(|h| h.attempts).sum()
}

/// The after-call lookup met the outage too: the rest of call_ended was deferred (the
/// transcript's last request, answered by nobody).
fn assert_rest_deferred(out: &CallOutcome) {
    let http = out.transcript.http();
    let last = http.last().expect("requests");
    assert_eq!(last.node, "lookup_user", "{http:?}");
    assert_eq!(
        (last.status, &last.error, last.attempts),
        (None, &None, 0),
        "{http:?}"
    );
}

/// The error path: apology, queued at priority 5, nothing the other paths say.
fn assert_error_path(out: &CallOutcome, failed_node: &str) {
    out.assert_completed();
    let t = &out.transcript;
    assert!(t.visited("lookup_failed"), "{}", out.stdout);
    let apology = t.plays_of("apologize");
    assert_eq!(apology.len(), 1, "{}", out.stdout);
    assert_eq!(apology[0].text, APOLOGY);
    assert_eq!(apology[0].language.as_deref(), Some("en-US"));
    for node in ["say_unknown", "no_ticket", "tell_status", "menu"] {
        assert!(
            t.plays_of(node).is_empty(),
            "{node} played:\n{}",
            out.stdout
        );
    }
    let heard = t.heard();
    assert!(!heard.contains("John Carter"), "{heard}");
    assert_eq!(t.variable("caller_kind"), Some("lookup_failed".into()));
    let q = t.queues();
    assert_eq!(q.first().map(|q| q.priority), Some(5), "{q:?}");
    assert_eq!(q.first().map(|q| q.result.as_str()), Some("queued"));
    assert!(
        t.errors().iter().any(|(node, _)| node == failed_node),
        "no error line for {failed_node}: {:?}",
        t.errors()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_api_token_is_401_and_the_error_path() {
    let sb = Sandbox::start().await;
    let token = "wrong-token-e2e-7f3a9c";
    let out = call(JOHN)
        .press("1")
        .answer_after("1s")
        .talk("1s")
        .env("ZENDESK_EMAIL", "admin@ringdesk.example")
        .env("ZENDESK_API_TOKEN", token)
        .run(&sb)
        .await;
    assert_error_path(&out, "lookup_user");
    let h = out.transcript.http_of("lookup_user").expect("lookup_user");
    assert_eq!(h.status, Some(401));
    assert_eq!(h.attempts, 1, "a 401 is not retried");
    assert_eq!(out.transcript.variable("lookup_status"), Some(401.into()));
    // During the call, then once more after it: a 401 is an answer, so nothing is kept.
    let http = out.transcript.http();
    assert_eq!(http.len(), 2, "{http:?}");
    assert!(http
        .iter()
        .all(|h| h.node == "lookup_user" && h.status == Some(401)));
    let stats = sb.state().stats();
    assert_eq!(stats.unauthorized, 2);
    assert_eq!(stats.total, 2);
    assert!(!out.stdout.contains(token), "the token leaked to stdout");
    assert!(!out.stderr.contains(token), "the token leaked to stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_500_is_retried_then_the_error_path() {
    let sb = Sandbox::start().await;
    sb.state()
        .set_faults(Faults {
            error: Some(ErrorFault {
                status: 500,
                count: None,
                fraction: None,
            }),
            ..Faults::default()
        })
        .expect("valid faults");
    let out = call(JOHN)
        .press("1")
        .answer_after("1s")
        .talk("1s")
        .run(&sb)
        .await;
    assert_error_path(&out, "lookup_user");
    let h = out.transcript.http_of("lookup_user").expect("lookup_user");
    assert_eq!(h.status, Some(500));
    assert!(h.attempts >= 2, "a 500 is retried: {h:?}");
    let requests = sb.api_requests();
    assert_eq!(requests.len() as u64, attempts(&out), "{requests:?}");
    assert!(requests.iter().all(|r| r.status == Some(500)));
    assert_eq!(sb.state().stats().faulted, attempts(&out));
    assert_eq!(out.transcript.variable("lookup_status"), Some(500.into()));
    assert_rest_deferred(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_zendesk_times_out_and_the_call_proceeds() {
    let sb = Sandbox::start().await;
    sb.state()
        .set_faults(Faults {
            hang: Some(HangFault { count: None }),
            path_prefix: Some("/api/v2/search".into()),
            ..Faults::default()
        })
        .expect("valid faults");
    let out = call(JOHN)
        .press("1")
        .answer_after("1s")
        .talk("1s")
        .run(&sb)
        .await;
    assert_error_path(&out, "lookup_user");
    let h = out.transcript.http_of("lookup_user").expect("lookup_user");
    assert_eq!(h.status, None, "{h:?}");
    let error = h.error.unwrap_or_default();
    assert!(error.contains("timed out"), "{error}");
    assert!(sb.state().stats().hung >= 1);
    // The agent took the call after the apology.
    assert!(out
        .transcript
        .of_kind("agent")
        .iter()
        .any(|a| a.get("what").and_then(|w| w.as_str()) == Some("answers")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_429_with_retry_after_is_the_error_path() {
    // One request a minute: the user search passes, the ticket search gets 429 with
    // Retry-After (about 60 s, far beyond the flow's 5 s budget, so not retried).
    let sb = Sandbox::with_config(SandboxConfig {
        rate_limit_per_minute: Some(1),
        ..SandboxConfig::default()
    })
    .await;
    let comments_before = sb.state().comments(10).map(|c| c.len());
    let out = call(JOHN)
        .press("1")
        .answer_after("1s")
        .talk("1s")
        .run(&sb)
        .await;
    assert_error_path(&out, "lookup_ticket");
    assert_eq!(
        out.transcript.http_of("lookup_user").and_then(|h| h.status),
        Some(200)
    );
    let h = out
        .transcript
        .http_of("lookup_ticket")
        .expect("lookup_ticket");
    assert_eq!(h.status, Some(429));
    assert_eq!(h.attempts, 1, "Retry-After beyond the budget: no retry");
    // After the call, the caller's lookup meets the limit too: the rest is deferred.
    assert_rest_deferred(&out);
    let stats = sb.state().stats();
    assert_eq!(stats.rate_limited, 2);
    assert_eq!(stats.total, 3);
    // The known caller's urgent ticket was never read, so nothing personal and no note.
    assert!(out.transcript.http().iter().all(|h| h.method == "GET"));
    assert_eq!(sb.state().comments(10).map(|c| c.len()), comments_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_429_on_every_request_is_the_error_path() {
    let sb = Sandbox::with_config(SandboxConfig {
        rate_limit_per_minute: Some(0),
        ..SandboxConfig::default()
    })
    .await;
    let out = call(JOHN)
        .press("1")
        .answer_after("1s")
        .talk("1s")
        .run(&sb)
        .await;
    assert_error_path(&out, "lookup_user");
    let h = out.transcript.http_of("lookup_user").expect("lookup_user");
    assert_eq!(h.status, Some(429));
    assert_eq!(out.transcript.variable("lookup_status"), Some(429.into()));
    assert_eq!(sb.api_requests().len() as u64, attempts(&out));
    assert_rest_deferred(&out);
}

/// The four failures are told apart in the transcript (status or timeout), while the
/// caller hears the same apology.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_paths_are_distinct_in_the_transcript() {
    let sb = Sandbox::start().await;
    sb.state()
        .set_faults(Faults {
            error: Some(ErrorFault {
                status: 503,
                count: None,
                fraction: None,
            }),
            ..Faults::default()
        })
        .expect("valid faults");
    let out = call(JOHN).press("2").run(&sb).await;
    assert_error_path(&out, "lookup_user");
    let messages: Vec<String> = out
        .transcript
        .errors()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert!(messages.iter().any(|m| m.contains("503")), "{messages:?}");
}
