//! End-to-end tests of the agent side against SIPp: softphone registration with digest
//! authentication (right and wrong password, lapse).

mod common;

use std::time::Duration;

use common::sipp_client;
use ringdesk_sip::{AgentCredential, RegistrarConfig, Secret, SipConfig, SipEvent, SipServer};
use tokio::sync::mpsc;

const PASSWORD: &str = "s3cret-1001";

async fn server(min_expires: Duration) -> (SipServer, mpsc::Receiver<SipEvent>) {
    let mut config = SipConfig::new("127.0.0.1:0".parse().unwrap());
    let mut registrar =
        RegistrarConfig::with_agents(vec![AgentCredential::new("1001", Secret::new(PASSWORD))]);
    registrar.min_expires = min_expires;
    config.registrar = registrar;
    SipServer::bind(config).await.expect("bind SIP server")
}

async fn next_event(events: &mut mpsc::Receiver<SipEvent>) -> SipEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("no SIP event within 10 s")
        .expect("event channel closed")
}

/// Register user 1001 with `password`, contact port `contact_port`, lifetime `expires`.
async fn register(
    server: &SipServer,
    password: &str,
    contact_port: u16,
    expires: u32,
) -> (bool, String) {
    let contact_port = contact_port.to_string();
    let expires = expires.to_string();
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
            &contact_port,
            "-key",
            "expires",
            &expires,
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn softphone_registers_with_digest_and_is_reported() {
    let (server, mut events) = server(Duration::from_secs(60)).await;
    let (ok, output) = register(&server, PASSWORD, 5999, 300).await;
    assert!(ok, "{output}");
    match next_event(&mut events).await {
        SipEvent::AgentRegistered { agent, contact } => {
            assert_eq!(agent, "1001");
            assert_eq!(contact, "sip:1001@127.0.0.1:5999");
        }
        other => panic!("expected AgentRegistered, got {other:?}"),
    }
    let contacts = server.agent_contacts("1001");
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].uri, "sip:1001@127.0.0.1:5999");
    assert_eq!(server.registered_agents(), vec!["1001".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_fails_and_registers_nothing() {
    let (server, mut events) = server(Duration::from_secs(60)).await;
    let (ok, output) = register(&server, "not-the-password", 5999, 300).await;
    assert!(
        !ok,
        "registration with a wrong password succeeded:\n{output}"
    );
    assert!(output.contains("403"), "{output}");
    assert!(server.registered_agents().is_empty());
    assert!(events.try_recv().is_err(), "no event for a failed login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapsed_registration_logs_the_agent_out() {
    let (server, mut events) = server(Duration::from_secs(1)).await;
    let (ok, output) = register(&server, PASSWORD, 5999, 1).await;
    assert!(ok, "{output}");
    assert!(matches!(
        next_event(&mut events).await,
        SipEvent::AgentRegistered { .. }
    ));
    match next_event(&mut events).await {
        SipEvent::AgentUnregistered { agent } => assert_eq!(agent, "1001"),
        other => panic!("expected AgentUnregistered, got {other:?}"),
    }
    assert!(server.agent_contacts("1001").is_empty());
}
