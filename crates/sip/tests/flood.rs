//! The flood defence against real peers: a SIPp scanner on 127.0.0.2 floods OPTIONS and
//! INVITE over the per-source limits while a normal caller on 127.0.0.1 completes a call;
//! the scanner is banned (its requests go unanswered) for the configured time, then
//! answered again. TCP connections over the per-source cap are refused.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{free_media_port, free_port, require_sipp, sipp, Behaviour, TestRuntime};
use ringdesk_sip::{FloodConfig, Rate, SipConfig};
use tokio::io::AsyncReadExt;

const BAN: Duration = Duration::from_secs(3);

fn config(flood: FloodConfig) -> SipConfig {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut config = SipConfig::new("127.0.0.1:0".parse().unwrap());
    config.flood = flood;
    config
}

fn low_limits() -> FloodConfig {
    let mut flood = FloodConfig::default();
    flood.options = Rate::new(2.0, 5);
    flood.invite = Rate::new(2.0, 5);
    flood.ban = BAN;
    flood
}

/// Send one OPTIONS from `from` (an address on the loopback) and wait `wait` for any
/// response.
fn options_answered(from: &str, target: SocketAddr, wait: Duration) -> bool {
    let socket = UdpSocket::bind((from, 0)).expect("bind probe");
    let local = socket.local_addr().unwrap();
    let branch = format!("z9hG4bK-probe-{}", rand_suffix());
    let request = format!(
        "OPTIONS sip:probe@{target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch}\r\n\
         From: <sip:probe@{local}>;tag={branch}\r\nTo: <sip:probe@{target}>\r\n\
         Call-ID: {branch}@{local}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    socket.send_to(request.as_bytes(), target).unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    matches!(socket.recv_from(&mut buf), Ok((n, _)) if buf[..n].starts_with(b"SIP/2.0 200"))
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    u64::from(std::process::id()) * 1_000_000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The scanner: SIPp on 127.0.0.2 sending `calls` OPTIONS+INVITE pairs at 200 a second.
async fn flood_from_127_0_0_2(target: SocketAddr, calls: u32) {
    require_sipp();
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/flood.xml");
    tokio::process::Command::new("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.2", "-p", &free_port().to_string()])
        .args(["-mp", &free_media_port().to_string()])
        .args(["-m", &calls.to_string(), "-r", "200", "-s", "1000"])
        .args(["-default_behaviors", "none", "-nostdin", "-timeout", "15s"])
        .arg(target.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .expect("run sipp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_source_is_banned_while_another_caller_completes_a_call() {
    let runtime = TestRuntime::start(config(low_limits()), Behaviour::Answer).await;
    let target = runtime.server.local_addr();
    let flood_start = Instant::now();
    // The flood and a normal call from another source at the same time.
    tokio::join!(
        flood_from_127_0_0_2(target, 60),
        sipp("basic_call.xml", target, "1000", "u1"),
    );
    let flood_end = Instant::now();
    // Banned: nothing from 127.0.0.2 is answered; 127.0.0.1 still is.
    assert!(
        !options_answered("127.0.0.2", target, Duration::from_millis(500)),
        "the flooding source is still answered"
    );
    assert!(options_answered(
        "127.0.0.1",
        target,
        Duration::from_secs(2)
    ));
    let counts = runtime.server.security_counts();
    assert_eq!(counts.bans, 1, "{counts:?}");
    assert!(counts.requests_refused > 0, "{counts:?}");
    // A second normal call while the scanner is banned.
    sipp("basic_call.xml", target, "1000", "u1").await;
    // Answered again once the ban is over, not before.
    let answered_at = loop {
        if options_answered("127.0.0.2", target, Duration::from_millis(200)) {
            break Instant::now();
        }
        assert!(
            flood_end.elapsed() < BAN + Duration::from_secs(5),
            "still banned long after the ban time"
        );
    };
    assert!(
        answered_at >= flood_start + BAN,
        "answered {:?} after the flood began, before the {BAN:?} ban ended",
        answered_at - flood_start
    );
    assert_eq!(runtime.server.security_counts().bans, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_over_its_connection_cap_is_refused() {
    let mut flood = FloodConfig::default();
    flood.max_connections_per_source = 2;
    let runtime = TestRuntime::start(config(flood), Behaviour::Answer).await;
    let target = runtime.server.local_addr();
    // The stack starts listening on TCP in its own task: retry until it does.
    let connect = |from: &'static str| async move {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
            match socket.connect(target).await {
                Ok(stream) => break stream,
                Err(error) if Instant::now() > deadline => panic!("connect: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    // Open, and closed by the server at once (read returns end of stream)?
    async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> bool {
        let mut buf = [0u8; 16];
        matches!(
            tokio::time::timeout(Duration::from_millis(700), stream.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
    let mut first = connect("127.0.0.2").await;
    let mut second = connect("127.0.0.2").await;
    let mut third = connect("127.0.0.2").await;
    assert!(closed_by_server(&mut third).await, "third connection kept");
    assert!(!closed_by_server(&mut first).await);
    assert!(!closed_by_server(&mut second).await);
    // Another source is not affected.
    let mut other = connect("127.0.0.1").await;
    assert!(!closed_by_server(&mut other).await);
    assert_eq!(runtime.server.security_counts().connections_refused, 1);
    // A connection closed frees its slot.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut again = connect("127.0.0.2").await;
    assert!(!closed_by_server(&mut again).await);
}

/// A self-signed certificate for 127.0.0.1: (certificate PEM, key PEM).
fn certificate() -> (Vec<u8>, Vec<u8>) {
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    (
        c.cert.pem().into_bytes(),
        c.signing_key.serialize_pem().into_bytes(),
    )
}

#[test]
fn a_key_that_does_not_fit_the_certificate_is_refused_at_start() {
    let (cert, key) = certificate();
    let (_, other_key) = certificate();
    assert!(ringdesk_sip::check_certificate(&cert, &key).is_ok());
    let e = ringdesk_sip::check_certificate(&cert, &other_key)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not fit"), "{e}");
    let e = ringdesk_sip::check_certificate(b"", &key)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no certificate"), "{e}");
    let e = ringdesk_sip::check_certificate(&cert, b"garbage")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no PKCS#8"), "{e}");
}

/// A peer that opens a TLS connection and never sends a ClientHello is closed after the
/// handshake's time limit (10 s, `vendor/rsipstack/PATCHES.md`), not held forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_handshake_that_never_finishes_is_closed() {
    let (cert_pem, key_pem) = certificate();
    let mut config = config(FloodConfig::default());
    config.tls = Some(ringdesk_sip::TlsListen {
        bind: "127.0.0.1:0".parse().unwrap(),
        external: None,
        cert_pem,
        key_pem,
    });
    let runtime = TestRuntime::start(config, Behaviour::Answer).await;
    let tls = runtime.server.tls_addr().expect("listening on TLS");
    let opened = Instant::now();
    let mut idle = tokio::net::TcpStream::connect(tls).await.expect("connect");
    let mut buf = [0u8; 64];
    // Still open well before the limit...
    assert!(
        tokio::time::timeout(Duration::from_secs(8), idle.read(&mut buf))
            .await
            .is_err(),
        "the server closed an idle TLS connection early"
    );
    // ...and closed soon after it.
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("the server closed the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let held = opened.elapsed();
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(13)).contains(&held),
        "closed after {held:?}"
    );
}
