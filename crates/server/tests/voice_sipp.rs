//! Voice end-to-end tests with SIPp as the caller: `ringdesk serve` answers real SIP
//! calls and runs the default flow against an in-process Zendesk sandbox. Covers the menu
//! keys over RFC 2833 and SIP INFO, the private after-call note, a hang-up during the
//! Zendesk lookup, CANCEL before the answer, 404 for unrouted numbers and 503 above
//! `max_calls` or while the load governor sheds, and a Webex export run unchanged from the
//! `[flows]` config. Calls that need to hear the audio are in `voice_media.rs`.

mod voice;

use std::time::Duration;
use voice::demo;
use voice::server::{default_flow_path, Options, Server};
use voice::sipp::Sipp;

/// When the demo callers' menu prompt is over and its 5 s no-input timer still runs
/// (welcome ~4 s, status ~3 s, menu prompt ~3 s: the menu waits from ~11 s to ~16 s).
const MENU_KEY_AT: Duration = Duration::from_millis(13_000);
/// How long the outbox may take to post the note after the call.
const NOTE_WAIT: Duration = Duration::from_secs(15);

/// The note of a caller who pressed 2 at the menu, on the caller's ticket and nowhere else.
async fn assert_hang_up_note(server: &Server, caller: &str, ticket: u64) {
    let notes = server.new_comments(ticket, 1, NOTE_WAIT).await;
    assert_eq!(notes.len(), 1, "one note on ticket {ticket}: {notes:#?}");
    let note = &notes[0];
    assert!(!note.public, "the after-call note is private: {note:?}");
    let digits = caller.trim_start_matches('+');
    for expected in [
        format!("Call from {digits}"),
        "Keys pressed: 2.".to_owned(),
        "Outcome: chose to hang up from the menu".to_owned(),
    ] {
        assert!(
            note.body.contains(&expected),
            "note lacks {expected:?}: {:?}",
            note.body
        );
    }
}

/// Test 1: a demo customer listens to the ticket status, presses 2 (RFC 2833 from SIPp's
/// capture), hears the goodbye and gets ringdesk's BYE; the private note lands on the
/// customer's most recently updated unsolved ticket only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn press_2_over_rfc2833_gets_bye_and_a_private_note() {
    let server = Server::start(Options::default()).await;
    let (caller, ticket) = demo::JOHN;
    let run = Sipp::new("press_2833_expect_bye.xml", "support")
        .caller(caller)
        .pause(MENU_KEY_AT)
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("press 2 (RFC 2833)");
    assert_hang_up_note(&server, caller, ticket).await;
    // John's other unsolved ticket (11, pending) is not the one the call was about.
    let other = server.new_comments(11, 1, Duration::ZERO).await;
    assert!(other.is_empty(), "no note on ticket 11: {other:#?}");
}

/// Test 6: the same call with the key sent as SIP INFO (application/dtmf-relay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn press_2_over_sip_info_gets_bye_and_a_private_note() {
    let server = Server::start(Options::default()).await;
    let (caller, ticket) = demo::LINDA;
    let run = Sipp::new("press_info_expect_bye.xml", "support")
        .caller(caller)
        .key("digit", 2)
        .pause(MENU_KEY_AT)
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("press 2 (SIP INFO)");
    assert_hang_up_note(&server, caller, ticket).await;
}

/// Test 5: the caller cancels while ringdesk rings (`answer_delay`): 200 for the CANCEL,
/// 487 for the INVITE, no flow runs, and the server answers the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_answer_gets_487() {
    let mut server = Server::start(Options {
        answer_delay: Some("2s".into()),
        ..Options::default()
    })
    .await;
    let run = Sipp::new("cancel.xml", "support")
        .caller(demo::JOHN.0)
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("CANCEL before answer");
    // Past the answer delay: the cancelled call must not have been answered late.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(server.is_running(), "ringdesk exited after a CANCEL");
    assert_eq!(
        server.sandbox().stats().total,
        0,
        "a cancelled call never reaches Zendesk"
    );
    // The next call is answered (after the delay) and runs normally.
    let run = Sipp::new("sipp_media_then_bye.xml", "support")
        .caller(demo::ROBERT.0)
        .pause(Duration::from_secs(1))
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("the call after a CANCEL");
}

/// With the load governor on ([overload] enabled) and tripping: a new call gets 503 with
/// Retry-After, and /metrics shows the shedding gauge and counts the refusal. The marks
/// are set so the governor trips on an idle server: any runtime lag at all (timers fire
/// late by some microseconds at least) is over a 1 µs high mark, the window is one sample,
/// and calm (no lag for 10 minutes) never comes within the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_server_refuses_new_calls_with_503_and_counts_them() {
    let server = Server::start(Options {
        extra_config: Some(
            "[overload]\nenabled = true\nruntime_lag_high = \"1us\"\nruntime_lag_low = \"0s\"\n\
             window = \"0s\"\nhold = \"10m\"\n"
                .into(),
        ),
        ..Options::default()
    })
    .await;
    let shedding = "ringdesk_overload_shedding 1";
    assert!(
        server.wait_metric(shedding, Duration::from_secs(10)).await,
        "the governor did not start shedding:\n{}",
        server.metrics().await
    );
    let refused = Sipp::new("reject_503.xml", "support")
        .caller(demo::JOHN.0)
        .run(server.sip_addr(), server.dir())
        .await;
    refused.assert_passed("503 while overloaded");
    assert!(
        server
            .wait_metric(
                "ringdesk_calls_refused_overload_total 1",
                Duration::from_secs(5)
            )
            .await,
        "the refusal was not counted:\n{}",
        server.metrics().await
    );
    assert!(
        server
            .log()
            .contains("overloaded: refusing new calls with 503"),
        "the log does not say why calls are refused"
    );
}

/// Test 7: with a route table and `reject_unrouted`, an unrouted number gets 404; above
/// `max_calls` (1) a second call gets 503 with Retry-After while the first still talks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrouted_number_gets_404_and_calls_over_the_limit_get_503() {
    let routed = "+15550100";
    let server = Server::start(Options {
        max_calls: Some(1),
        routes: vec![(routed.into(), default_flow_path())],
        reject_unrouted: true,
        ..Options::default()
    })
    .await;
    let run = Sipp::new("reject_404.xml", "support")
        .caller(demo::JOHN.0)
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("404 for an unrouted number");

    let addr = server.sip_addr();
    let dir = server.dir().to_path_buf();
    let first = Sipp::new("sipp_media_then_bye.xml", routed)
        .caller(demo::ROBERT.0)
        .pause(Duration::from_secs(5));
    let first = tokio::spawn(async move { first.run(addr, &dir).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = Sipp::new("reject_503.xml", routed)
        .caller(demo::PATRICIA.0)
        .run(server.sip_addr(), server.dir())
        .await;
    second.assert_passed("503 above max_calls");
    first
        .await
        .expect("first call task")
        .assert_passed("the routed call within max_calls");
}

/// Test 4: the caller hangs up while ringdesk waits for a slow Zendesk (4 s latency on
/// each search): the server stays up, the call is cleaned up (with `max_calls = 1` the next
/// call would get 503 otherwise), and the next call works end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_up_during_the_zendesk_lookup_leaves_the_server_healthy() {
    let mut server = Server::start(Options {
        max_calls: Some(1),
        ..Options::default()
    })
    .await;
    server
        .sandbox()
        .set_faults(ringdesk_zendesk::sandbox::Faults {
            latency_ms: 4000,
            path_prefix: Some("/api/v2/search".into()),
            ..Default::default()
        })
        .expect("valid faults");
    // The lookup (user search, then ticket search) starts with the call; with 4 s per
    // search the caller hangs up while the second one is in flight.
    let run = Sipp::new("sipp_media_then_bye.xml", "support")
        .caller(demo::JOHN.0)
        .pause(Duration::from_millis(5500))
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("hang up during the lookup");
    let stats = server.sandbox().stats();
    let searches = stats.endpoint("GET /api/v2/search.json");
    let answered: u64 = stats.by_status.values().sum();
    assert!(
        searches >= 1 && answered < searches,
        "a Zendesk search was in flight when the caller hung up: {stats:?}"
    );
    assert!(server.is_running(), "ringdesk exited after the hang-up");
    server.sandbox().clear_faults();
    // Let the slow answer arrive for the call that is gone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let run = Sipp::new("press_2833_expect_bye.xml", "support")
        .caller(demo::PATRICIA.0)
        .pause(MENU_KEY_AT)
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("the call after the hang-up");
    assert_hang_up_note(&server, demo::PATRICIA.0, demo::PATRICIA.1).await;
    // The abandoned call knew no ticket yet: it leaves no note anywhere.
    let john = server.new_comments(demo::JOHN.1, 1, Duration::ZERO).await;
    assert!(john.is_empty(), "no note for the abandoned call: {john:#?}");
}

/// Issue 16: a Webex Flow Designer export runs as it is, loaded straight from `[flows]`
/// (imported at start). John calls the 2022 Zendesk template's number, hears its lookups'
/// result and menu, presses 2: the template's own request puts its (public) comment on his
/// ticket and the flow hangs up, as Webex would run it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webex_export_runs_unchanged_from_the_flows_config() {
    let number = "webex";
    let export = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/webex-template/zendesk-http-connector-2022.json");
    let server = Server::start(Options {
        routes: vec![(number.into(), export)],
        ..Options::default()
    })
    .await;
    let (caller, ticket) = demo::JOHN;
    // The template's welcome, lookups, ticket details (~14 s) and menu prompt (~5 s) are
    // over by ~24 s; its menu then waits 10 s for a key.
    let run = Sipp::new("press_2833_expect_bye.xml", number)
        .caller(caller)
        .pause(Duration::from_secs(26))
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("press 2 in the imported template's menu");
    let comments = server.new_comments(ticket, 1, NOTE_WAIT).await;
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0]
            .body
            .starts_with("Ticket update | Customer called"),
        "the template's own comment: {:?}",
        comments[0].body
    );
    // The template never asked for a private note (one of its defects, run as it is).
    assert!(comments[0].public, "{:?}", comments[0]);
}
