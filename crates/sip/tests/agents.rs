//! End-to-end tests of the agent side against SIPp: softphone registration with digest
//! authentication (right and wrong password, lapse), and calls to the registered agent
//! (answer with screen-pop headers then BYE, agent hangs up, busy, ring then CANCEL).

mod common;

use std::time::Duration;

use common::{sipp_client, sipp_command};
use ringdesk_sip::{
    AgentCredential, Codec, Direction, LegId, OutboundCall, RegistrarConfig, Secret, SipConfig,
    SipError, SipEvent, SipServer,
};
use tokio::sync::mpsc;

const PASSWORD: &str = "s3cret-1001";

async fn server(min_expires: Duration) -> (SipServer, mpsc::Receiver<SipEvent>) {
    // RUST_LOG=debug shows the SIP stack's side of a failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
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

/// A SIPp agent phone playing `scenario` (UAS), registered as agent 1001.
struct AgentPhone {
    child: tokio::process::Child,
}

impl AgentPhone {
    async fn start(
        server: &SipServer,
        events: &mut mpsc::Receiver<SipEvent>,
        scenario: &str,
    ) -> Self {
        let (mut command, port) = sipp_command(scenario, &["-t", "u1"]);
        let child = command.spawn().expect("start SIPp agent phone");
        let (ok, output) = register(server, PASSWORD, port, 300).await;
        assert!(ok, "{output}");
        assert!(matches!(
            next_event(events).await,
            SipEvent::AgentRegistered { .. }
        ));
        AgentPhone { child }
    }

    /// Wait for the SIPp phone to finish its scenario; fails the test when it failed.
    /// Returns SIPp's final screen (its message counts).
    async fn finish(self) -> String {
        let output = tokio::time::timeout(Duration::from_secs(20), self.child.wait_with_output())
            .await
            .expect("SIPp agent phone did not finish")
            .expect("SIPp output");
        assert!(
            output.status.success(),
            "SIPp agent phone failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// SIPp's count of `message` received, and of its retransmissions, from its screen.
fn received(screen: &str, message: &str) -> Option<(u64, u64)> {
    let line = screen.lines().rev().find(|l| {
        let mut f = l.split_whitespace();
        f.next() == Some("---------->") && f.next() == Some(message)
    })?;
    let mut counts = line.split_whitespace().skip(2).map(|n| n.parse().ok());
    Some((counts.next()??, counts.next()??))
}

fn offer() -> OutboundCall {
    let mut call = OutboundCall::new("1001", "+15551230000", "127.0.0.1:40000".parse().unwrap());
    call.from_display = "Ann Caller".to_owned();
    let url = "https://acme.zendesk.com/agent/tickets/4711";
    call.extra_headers = vec![
        ("Call-Info".to_owned(), format!("<{url}>;purpose=info")),
        ("X-Ringdesk-Ticket".to_owned(), "4711".to_owned()),
        ("X-Ringdesk-Ticket-Url".to_owned(), url.to_owned()),
        ("X-Ringdesk-Caller".to_owned(), "+15551230000".to_owned()),
        (
            "X-Ringdesk-Caller-Name".to_owned(),
            "Ann Caller\r\nVia: injected".to_owned(),
        ),
    ];
    call
}

async fn expect_ringing(events: &mut mpsc::Receiver<SipEvent>, leg: LegId) {
    match next_event(events).await {
        SipEvent::AgentRinging { leg: got } => assert_eq!(got, leg),
        other => panic!("expected AgentRinging, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_answers_with_screen_pop_headers_then_ringdesk_hangs_up() {
    let (server, mut events) = server(Duration::from_secs(60)).await;
    let phone = AgentPhone::start(&server, &mut events, "uas_answer.xml").await;
    let handle = server.call_agent(offer()).expect("call agent");
    expect_ringing(&mut events, handle.id()).await;
    match next_event(&mut events).await {
        SipEvent::AgentAnswered { leg, media } => {
            assert_eq!(leg, handle.id());
            assert_eq!(media.remote_addr, "127.0.0.1:6000".parse().unwrap());
            assert_eq!(media.codec, Codec::Pcmu);
            assert_eq!(media.telephone_event_pt, Some(101));
            assert_eq!(media.direction, Direction::SendRecv);
        }
        other => panic!("expected AgentAnswered, got {other:?}"),
    }
    assert!(matches!(
        handle.cancel().await,
        Err(SipError::LegAnswered(_))
    ));
    handle.hangup().await.expect("hang up the agent leg");
    phone.finish().await;
    assert!(events.try_recv().is_err(), "no event after our own BYE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_hangs_up_first() {
    let (server, mut events) = server(Duration::from_secs(60)).await;
    let phone = AgentPhone::start(&server, &mut events, "uas_hangup.xml").await;
    let handle = server.call_agent(offer()).expect("call agent");
    match next_event(&mut events).await {
        SipEvent::AgentAnswered { media, .. } => {
            assert_eq!(media.codec, Codec::Pcma);
            assert_eq!(media.telephone_event_pt, None);
        }
        other => panic!("expected AgentAnswered, got {other:?}"),
    }
    match next_event(&mut events).await {
        SipEvent::AgentHangup { leg } => assert_eq!(leg, handle.id()),
        other => panic!("expected AgentHangup, got {other:?}"),
    }
    phone.finish().await;
    handle
        .hangup()
        .await
        .expect("hanging up an ended leg does nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_agent_is_reported_as_rejected() {
    let (server, mut events) = server(Duration::from_secs(60)).await;
    let phone = AgentPhone::start(&server, &mut events, "uas_busy.xml").await;
    let handle = server.call_agent(offer()).expect("call agent");
    match next_event(&mut events).await {
        SipEvent::AgentRejected { leg, code } => {
            assert_eq!(leg, handle.id());
            assert_eq!(code, 486);
        }
        other => panic!("expected AgentRejected, got {other:?}"),
    }
    phone.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_no_answer_is_cancelled() {
    let (server, mut events) = server(Duration::from_secs(60)).await;
    let phone = AgentPhone::start(&server, &mut events, "uas_ring_forever.xml").await;
    let handle = server.call_agent(offer()).expect("call agent");
    expect_ringing(&mut events, handle.id()).await;
    let id = handle.id();
    handle.cancel().await.expect("cancel");
    // Cancelling again, and dropping the last handle before the 487 is in (which ends a
    // ringing leg), send no second CANCEL: SIPp fails the call on an unexpected one.
    handle.cancel().await.expect("cancelling twice is harmless");
    drop(handle);
    match next_event(&mut events).await {
        SipEvent::AgentCancelled { leg } => assert_eq!(leg, id),
        other => panic!("expected AgentCancelled, got {other:?}"),
    }
    let screen = phone.finish().await;
    assert_eq!(
        received(&screen, "CANCEL"),
        Some((1, 0)),
        "one CANCEL, not retransmitted:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistered_agent_and_bad_headers_are_refused() {
    let (server, _events) = server(Duration::from_secs(60)).await;
    match server.call_agent(offer()) {
        Err(SipError::AgentNotRegistered(agent)) => assert_eq!(agent, "1001"),
        other => panic!("expected AgentNotRegistered, got {other:?}"),
    }
    let mut injected = offer();
    injected
        .extra_headers
        .push(("Via".to_owned(), "SIP/2.0/UDP evil".to_owned()));
    assert!(matches!(
        server.call_agent(injected),
        Err(SipError::InvalidOutbound(_))
    ));
}
