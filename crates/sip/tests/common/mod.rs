//! Test harness for the SIPp integration tests: a tiny runtime that reacts to the server's
//! events as a test asks, records what it saw, and a runner for the `sipp` binary.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ringdesk_sip::{
    CallHandle, CallId, CallerSource, Codec, Direction, SipConfig, SipError, SipEvent, SipServer,
};
use tokio::sync::mpsc;

/// What the test runtime does with a new call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer at once.
    Answer,
    /// Answer, then hang up as soon as the caller's ACK arrives.
    HangupAfterAck,
    /// Never answer (keep ringing); try to answer once the caller cancelled.
    Ring,
    /// Drop the call handle without answering (the server must refuse the call).
    Drop,
}

/// What the runtime observed, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Incoming {
        ani: String,
        /// The sender's trunk and verification (`None` trunk: untrusted).
        caller: CallerSource,
        dnis: String,
        route: Option<String>,
        headers: Vec<(String, String)>,
        codec: Codec,
        telephone_event_pt: Option<u8>,
    },
    Established,
    Dtmf {
        content_type: String,
        body: Vec<u8>,
    },
    Reinvite {
        direction: Direction,
        remote: SocketAddr,
        codec: Codec,
        answer_direction: Direction,
    },
    RemoteHangup,
    Cancelled,
    Lost,
    /// Result of answering after the caller cancelled (must be an error).
    LateAnswer(Result<(), String>),
}

/// A running server plus the test runtime consuming its events.
pub struct TestRuntime {
    pub server: SipServer,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    /// Calls answered, and of those how many still held their INVITE transaction's
    /// channel right after answering and once established.
    pub invite_channel: Arc<InviteChannel>,
}

/// Counts of [`CallHandle::holds_invite_transaction`] at answer and at establishment.
#[derive(Debug, Default)]
pub struct InviteChannel {
    pub held_at_answer: AtomicUsize,
    pub held_when_established: AtomicUsize,
    pub established: AtomicUsize,
}

/// Our (fake) RTP address in answers.
pub const LOCAL_RTP: &str = "127.0.0.1:40000";

impl TestRuntime {
    pub async fn start(mut config: SipConfig, behaviour: Behaviour) -> TestRuntime {
        config.bind = "127.0.0.1:0".parse().unwrap();
        let (server, mut events) = SipServer::bind(config).await.expect("bind SIP server");
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let invite_channel = Arc::new(InviteChannel::default());
        let counts = invite_channel.clone();
        tokio::spawn(async move {
            let mut calls: HashMap<CallId, CallHandle> = HashMap::new();
            while let Some(event) = events.recv().await {
                match event {
                    SipEvent::IncomingCall {
                        call,
                        ani,
                        caller,
                        dnis,
                        route,
                        headers,
                        offer,
                    } => {
                        let _ = seen_tx.send(Seen::Incoming {
                            ani,
                            caller: *caller,
                            dnis,
                            route,
                            headers,
                            codec: offer.codec,
                            telephone_event_pt: offer.telephone_event_pt,
                        });
                        match behaviour {
                            Behaviour::Ring => {}
                            Behaviour::Drop => continue,
                            Behaviour::Answer | Behaviour::HangupAfterAck => {
                                call.answer(LOCAL_RTP.parse().unwrap()).expect("answer");
                                if call.holds_invite_transaction() {
                                    counts.held_at_answer.fetch_add(1, Ordering::SeqCst);
                                }
                                // A second answer is refused, the first stands.
                                assert!(call.answer(LOCAL_RTP.parse().unwrap()).is_err());
                            }
                        }
                        calls.insert(call.id(), call);
                    }
                    SipEvent::CallEstablished { call } => {
                        if let Some(handle) = calls.get(&call) {
                            counts.established.fetch_add(1, Ordering::SeqCst);
                            if handle.holds_invite_transaction() {
                                counts.held_when_established.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        let _ = seen_tx.send(Seen::Established);
                        if behaviour == Behaviour::HangupAfterAck {
                            if let Some(handle) = calls.get(&call) {
                                handle.hangup().await.expect("hangup");
                            }
                        }
                    }
                    SipEvent::Dtmf {
                        content_type, body, ..
                    } => {
                        let _ = seen_tx.send(Seen::Dtmf { content_type, body });
                    }
                    SipEvent::Reinvite { offer, answer, .. } => {
                        let _ = seen_tx.send(Seen::Reinvite {
                            direction: offer.direction,
                            remote: offer.remote_addr,
                            codec: answer.codec,
                            answer_direction: answer.direction,
                        });
                    }
                    SipEvent::RemoteHangup { call } => {
                        calls.remove(&call);
                        let _ = seen_tx.send(Seen::RemoteHangup);
                    }
                    SipEvent::Cancelled { call } => {
                        let _ = seen_tx.send(Seen::Cancelled);
                        if let Some(handle) = calls.remove(&call) {
                            let late = handle
                                .answer(LOCAL_RTP.parse().unwrap())
                                .map(|_| ())
                                .map_err(|e: SipError| e.to_string());
                            let _ = seen_tx.send(Seen::LateAnswer(late));
                        }
                    }
                    SipEvent::Lost { call } => {
                        calls.remove(&call);
                        let _ = seen_tx.send(Seen::Lost);
                    }
                    other => panic!("unexpected event {other:?}"),
                }
            }
        });
        TestRuntime {
            server,
            seen,
            invite_channel,
        }
    }

    /// The next thing the runtime saw (fails the test after 10 s).
    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(Duration::from_secs(10), self.seen.recv())
            .await
            .expect("no event within 10 s")
            .expect("runtime stopped")
    }

    /// Everything seen so far, without waiting.
    pub fn drain(&mut self) -> Vec<Seen> {
        let mut out = Vec::new();
        while let Ok(seen) = self.seen.try_recv() {
            out.push(seen);
        }
        out
    }
}

/// A port free on 127.0.0.1 for both UDP and TCP at the time of the call.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind probe");
        let port = udp.local_addr().expect("probe addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A media port for SIPp: SIPp binds it and the next three (RTCP, and video RTP/RTCP at
/// +2/+3), so all four must be free, and it must be even.
pub fn free_media_port() -> u16 {
    loop {
        let probe = UdpSocket::bind("127.0.0.1:0").expect("bind probe");
        let port = probe.local_addr().expect("probe addr").port();
        if !port.is_multiple_of(2) || port > 65_000 {
            continue;
        }
        drop(probe);
        let all_free = (port..port + 4).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return port;
        }
    }
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

/// Run one SIPp call of `scenario` against `target`, dialling `service`, over `transport`
/// (`u1` or `t1`). Fails the test when SIPp is missing or the call fails.
pub async fn sipp(name: &str, target: SocketAddr, service: &str, transport: &str) {
    sipp_from(name, target, service, transport, "127.0.0.1").await
}

/// [`sipp`] from another local address (`127.0.0.2`: a source that is no trunk).
pub async fn sipp_from(name: &str, target: SocketAddr, service: &str, transport: &str, ip: &str) {
    match std::process::Command::new("sipp").arg("-v").output() {
        Ok(_) => {}
        Err(error) => panic!(
            "sipp is required for these tests and could not be run ({error}); \
             install it with `apt-get install -y sip-tester`"
        ),
    }
    let port = free_port().to_string();
    let media_port = free_media_port().to_string();
    let error_file = std::env::temp_dir().join(format!("ringdesk-sipp-{port}-errors.log"));
    let output = tokio::process::Command::new("sipp")
        .arg("-sf")
        .arg(scenario(name))
        .args(["-m", "1", "-t", transport, "-i", ip, "-p", &port])
        .args(["-mp", &media_port, "-s", service])
        .args([
            "-timeout",
            "20s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
        ])
        .arg("-error_file")
        .arg(&error_file)
        .arg(target.to_string())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run sipp");
    let errors = std::fs::read_to_string(&error_file).unwrap_or_default();
    let _ = std::fs::remove_file(&error_file);
    assert!(
        output.status.success(),
        "sipp {name} failed with {:?}\nerrors:\n{errors}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Send a minimal INVITE (PCMU offer) from a plain UDP socket; the socket is returned so
/// the test can read the responses.
pub fn raw_invite(target: SocketAddr) -> UdpSocket {
    raw_invite_with(target, "")
}

/// [`raw_invite`] with extra header lines (each ending in CRLF).
pub fn raw_invite_with(target: SocketAddr, extra_headers: &str) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = socket.local_addr().unwrap();
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let invite = format!(
        "INVITE sip:1000@{target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-raw-{port}\r\n\
         From: <sip:2000@{local}>;tag=raw{port}\r\nTo: <sip:1000@{target}>\r\nCall-ID: raw-{port}@{local}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:2000@{local}>\r\nMax-Forwards: 70\r\n{extra_headers}\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len(),
        port = local.port(),
    );
    socket.send_to(invite.as_bytes(), target).unwrap();
    socket
}

/// Fail the test with an install hint when `sipp` cannot be run.
pub fn require_sipp() {
    if let Err(error) = std::process::Command::new("sipp").arg("-v").output() {
        panic!(
            "sipp is required for these tests and could not be run ({error}); \
             install it with `apt-get install -y sip-tester`"
        );
    }
}

/// The SIPp command for one call of scenario `name` on a free local port (returned), with
/// `args` added; the remote target is appended by the caller when SIPp is the client.
pub fn sipp_command(name: &str, args: &[&str]) -> (tokio::process::Command, u16) {
    require_sipp();
    let port = free_port();
    let media_port = free_media_port().to_string();
    let mut command = tokio::process::Command::new("sipp");
    command
        .arg("-sf")
        .arg(scenario(name))
        .args(["-m", "1", "-i", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-mp",
            &media_port,
            "-nostdin",
            "-timeout",
            "20s",
            "-timeout_error",
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    (command, port)
}

/// Run SIPp scenario `name` as a client against `target` and return whether it succeeded,
/// with its output for failure messages.
pub async fn sipp_client(name: &str, target: SocketAddr, args: &[&str]) -> (bool, String) {
    let (mut command, _) = sipp_command(name, args);
    command.arg(target.to_string());
    let output = command.output().await.expect("run sipp");
    let text = format!(
        "sipp {name} exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
