//! REGISTER brute force end to end (`[sip.limits] register_*`): a SIPp softphone guessing
//! agent ana's password locks the account after the configured count; the right password
//! is then refused (403) until the lockout ends, and accepted after. The lockout is one
//! log line a fail2ban filter can match, and a metric.

mod queue;

use queue::agent;
use queue::ports::free_port;
use queue::server::{Options, Server};
use std::time::{Duration, Instant};

const LOCKOUT: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_account_until_the_lockout_ends() {
    let mut options = Options::agents(&["ana"]);
    options.extra_config = Some(format!(
        "[sip.limits]\nregister_max_failures = 3\nregister_lockout = \"{}s\"\n",
        LOCKOUT.as_secs()
    ));
    let server = Server::start(options).await;
    let contact_port = free_port();
    for guess in ["guess-1", "guess-2", "guess-3"] {
        agent::register_with(&server, "register_refused.xml", "ana", guess, contact_port)
            .await
            .assert_passed("REGISTER with a wrong password answered 403");
    }
    let locked_at = Instant::now();
    // Locked: the right password gets 403 too.
    let password = server.agent_spec("ana").password;
    agent::register_with(
        &server,
        "register_refused.xml",
        "ana",
        &password,
        contact_port,
    )
    .await
    .assert_passed("REGISTER with the right password answered 403 while locked");
    assert!(
        locked_at.elapsed() < LOCKOUT,
        "the locked check ran after the lockout; it proves nothing"
    );
    assert_eq!(server.agent("ana").await.state, "logged_out");
    assert!(
        server
            .wait_metric(
                "ringdesk_sip_register_lockouts_total 1",
                Duration::from_secs(5)
            )
            .await,
        "{}",
        server.metrics().await
    );
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains(
            "REGISTER account locked: user=\"ana\" source=127.0.0.1 failures=3 locked_for=3s"
        )),
        "no lockout line in the log:\n{log}"
    );
    assert!(!log.contains(&password), "the password is in the log");
    // After the lockout: accepted.
    tokio::time::sleep(LOCKOUT.saturating_sub(locked_at.elapsed())).await;
    agent::register_with(&server, "register.xml", "ana", &password, contact_port)
        .await
        .assert_passed("REGISTER with the right password after the lockout");
    server
        .wait_agent_state("ana", "available", Duration::from_secs(10))
        .await;
}
