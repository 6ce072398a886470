//! REGISTER brute force against a real softphone client (SIPp): wrong passwords lock the
//! account after the configured count; the right password is refused while it is locked
//! and accepted once the lockout is over. A contact pointing at another host is refused.

mod common;

use std::time::{Duration, Instant};

use common::sipp_client;
use ringdesk_sip::{
    AgentCredential, LockoutConfig, RegistrarConfig, Secret, SipConfig, SipEvent, SipServer,
};
use tokio::sync::mpsc;

const PASSWORD: &str = "s3cret-1001";
const LOCKOUT: Duration = Duration::from_secs(2);

async fn server() -> (SipServer, mpsc::Receiver<SipEvent>) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut config = SipConfig::new("127.0.0.1:0".parse().unwrap());
    let mut registrar =
        RegistrarConfig::with_agents(vec![AgentCredential::new("1001", Secret::new(PASSWORD))]);
    registrar.lockout = LockoutConfig {
        max_failures: 3,
        window: Duration::from_secs(60),
        duration: LOCKOUT,
        max_duration: Duration::from_secs(60),
    };
    config.registrar = registrar;
    SipServer::bind(config).await.expect("bind SIP server")
}

/// One SIPp REGISTER of user 1001 with `password`, its contact on 127.0.0.1.
async fn register(server: &SipServer, password: &str) -> (bool, String) {
    sipp_client(
        "register.xml",
        server.local_addr(),
        &[
            "-t",
            "u1",
            "-s",
            "1001",
            "-au",
            "1001",
            "-ap",
            password,
            "-key",
            "contact_port",
            "5999",
            "-key",
            "expires",
            "300",
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_account_then_the_right_one_works_after_the_lockout() {
    let (server, mut events) = server().await;
    for attempt in 1..=3 {
        let (ok, output) = register(&server, &format!("guess-{attempt}")).await;
        assert!(
            !ok && output.contains("403"),
            "attempt {attempt}:\n{output}"
        );
    }
    let locked_at = Instant::now();
    assert_eq!(server.security_counts().lockouts, 1);
    // Locked: the right password is refused.
    let (ok, output) = register(&server, PASSWORD).await;
    assert!(
        !ok,
        "the right password was accepted while locked:\n{output}"
    );
    assert!(output.contains("403"), "{output}");
    assert!(events.try_recv().is_err(), "no login while locked");
    assert!(
        locked_at.elapsed() < LOCKOUT,
        "the check ran after the lockout ended; the test proves nothing"
    );
    // Accepted once the lockout is over.
    tokio::time::sleep(LOCKOUT.saturating_sub(locked_at.elapsed())).await;
    let (ok, output) = register(&server, PASSWORD).await;
    assert!(ok, "{output}");
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("no event within 10 s");
    assert!(
        matches!(event, Some(SipEvent::AgentRegistered { ref agent, .. }) if agent == "1001"),
        "{event:?}"
    );
    assert_eq!(server.security_counts().lockouts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_on_another_host_is_refused() {
    let (server, mut events) = server().await;
    // SIPp on 127.0.0.1 registering a contact at 127.0.0.1 works (agents.rs, and the
    // test above); a contact naming a host other than the source does not.
    let (ok, output) = sipp_client(
        "register_elsewhere.xml",
        server.local_addr(),
        &[
            "-t",
            "u1",
            "-s",
            "1001",
            "-au",
            "1001",
            "-ap",
            PASSWORD,
            "-key",
            "contact_host",
            "192.0.2.66",
            "-key",
            "expires",
            "300",
        ],
    )
    .await;
    assert!(!ok && output.contains("403"), "{output}");
    assert!(events.try_recv().is_err());
    assert!(server.registered_agents().is_empty());
    assert_eq!(server.security_counts().contacts_refused, 1);
}
