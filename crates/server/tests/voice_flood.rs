//! Flood defence end to end (`[sip.limits]`): a SIPp scanner on 127.0.0.2 floods OPTIONS
//! and INVITE over the configured per-source limits while a demo customer on 127.0.0.1
//! runs the default flow to the end (status, menu key, BYE, note). The scanner is banned
//! for the configured time (its requests unanswered, then answered again) and
//! `/metrics` counts the ban.

mod voice;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use voice::demo;
use voice::server::{Options, Server};
use voice::sipp::{scenario_path, Sipp};

const BAN: Duration = Duration::from_secs(4);
const MENU_KEY_AT: Duration = Duration::from_millis(13_000);

/// One OPTIONS from `from`; whether a 200 came back within `wait`.
fn options_answered(from: &str, target: SocketAddr, wait: Duration, n: u32) -> bool {
    let socket = UdpSocket::bind((from, 0)).expect("bind probe");
    let local = socket.local_addr().unwrap();
    let branch = format!("z9hG4bK-probe-{}-{n}", std::process::id());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_source_is_banned_while_a_customer_completes_the_default_flow() {
    let server = Server::start(Options {
        extra_config: Some(format!(
            "[sip.limits]\noptions_rate = 2.0\noptions_burst = 5\ninvite_rate = 2.0\n\
             invite_burst = 5\nban = \"{}s\"\nexempt = []\n",
            BAN.as_secs()
        )),
        ..Options::default()
    })
    .await;
    let target = server.sip_addr();
    let (caller, _) = demo::JOHN;
    let call = Sipp::new("press_2833_expect_bye.xml", "support")
        .caller(caller)
        .pause(MENU_KEY_AT);
    let dir = server.dir().to_owned();
    let customer = tokio::spawn(async move { call.run(target, &dir).await });
    // The scanner: 60 OPTIONS+INVITE pairs at 200 a second from 127.0.0.2.
    let flood_start = Instant::now();
    tokio::process::Command::new("sipp")
        .arg("-sf")
        .arg(scenario_path("flood.xml"))
        .args(["-i", "127.0.0.2", "-m", "60", "-r", "200", "-s", "support"])
        .args(["-p", &voice::ports::free_port().to_string()])
        .args(["-mp", &voice::ports::free_rtp_port().to_string()])
        .args(["-default_behaviors", "none", "-nostdin", "-timeout", "15s"])
        .arg(target.to_string())
        .current_dir(server.dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .expect("run sipp");
    assert!(
        !options_answered("127.0.0.2", target, Duration::from_millis(500), 0),
        "the flooding source is still answered"
    );
    assert!(options_answered(
        "127.0.0.1",
        target,
        Duration::from_secs(2),
        1
    ));
    let mut n = 2;
    let answered_at = loop {
        if options_answered("127.0.0.2", target, Duration::from_millis(200), n) {
            break Instant::now();
        }
        n += 1;
        assert!(
            flood_start.elapsed() < BAN + Duration::from_secs(10),
            "never unbanned"
        );
    };
    assert!(
        answered_at >= flood_start + BAN,
        "answered {:?} after the flood began, before the ban ended",
        answered_at - flood_start
    );
    // The customer on 127.0.0.1 was not affected.
    let run = customer.await.expect("customer call task");
    run.assert_passed("the default flow during a flood from another source");
    assert!(
        server
            .wait_metric("ringdesk_sip_bans_total 1", Duration::from_secs(5))
            .await,
        "{}",
        server.metrics().await
    );
    let metrics = server.metrics().await;
    assert!(
        !metrics.contains("ringdesk_sip_requests_refused_total 0\n"),
        "{metrics}"
    );
}
