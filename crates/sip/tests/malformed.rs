//! Hostile input: garbage, truncated and oversized SIP over UDP and TCP must neither crash
//! the server nor stop it from serving the next valid call (checked with SIPp).

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use common::{sipp, Behaviour, Seen, TestRuntime};
use ringdesk_sip::SipConfig;

fn hostile_messages(target: std::net::SocketAddr) -> Vec<Vec<u8>> {
    let valid_start = format!(
        "INVITE sip:1000@{target} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-bad\r\n\
         From: <sip:1@127.0.0.1>;tag=a\r\nTo: <sip:1000@{target}>\r\nCall-ID: bad-1\r\nCSeq: 1 INVITE\r\n"
    );
    vec![
        b"\x00\x01\x02garbage\xff\xfe".to_vec(),
        b"hello world\r\n\r\n".to_vec(),
        b"INVITE\r\n\r\n".to_vec(),
        b"SIP/2.0 200\r\n\r\n".to_vec(),
        // truncated in the middle of the headers
        valid_start.as_bytes()[..valid_start.len() / 2].to_vec(),
        // no blank line, Content-Length larger than the datagram
        format!("{valid_start}Content-Length: 999999\r\n").into_bytes(),
        // negative and non-numeric lengths and CSeq
        format!("{valid_start}Content-Length: -5\r\n\r\n").into_bytes(),
        valid_start
            .replace("CSeq: 1 INVITE", "CSeq: x INVITE")
            .into_bytes(),
        valid_start
            .replace("CSeq: 1 INVITE", "CSeq: 99999999999999999999 INVITE")
            .into_bytes(),
        // header without a colon, invalid URI, wrong version
        format!("{valid_start}NoColonHere\r\n\r\n").into_bytes(),
        b"INVITE not a uri SIP/2.0\r\n\r\n".to_vec(),
        b"INVITE sip:1@x SIP/9.9\r\n\r\n".to_vec(),
        // missing mandatory headers
        format!("OPTIONS sip:1@{target} SIP/2.0\r\nContent-Length: 0\r\n\r\n").into_bytes(),
        // a valid INVITE with a hostile SDP body
        [
            valid_start.as_bytes(),
            b"Content-Type: application/sdp\r\nContent-Length: 9\r\n\r\nm=\xff\xff\r\nc=",
        ]
        .concat(),
        // many headers
        format!(
            "{valid_start}{}Content-Length: 0\r\n\r\n",
            "X-A: b\r\n".repeat(3000)
        )
        .into_bytes(),
        // non-UTF-8 in a header value
        [
            valid_start.as_bytes(),
            b"Subject: \xc3\x28\xa0\xa1\r\nContent-Length: 0\r\n\r\n",
        ]
        .concat(),
        // a near-maximal datagram of junk
        vec![b'A'; 60_000],
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_over_udp_does_not_stop_the_server() {
    let mut rt = TestRuntime::start(
        SipConfig::new("127.0.0.1:0".parse().unwrap()),
        Behaviour::Answer,
    )
    .await;
    let target = rt.server.local_addr();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for message in hostile_messages(target) {
        socket.send_to(&message, target).unwrap();
    }
    sipp("basic_call.xml", target, "1000", "u1").await;
    // Hostile INVITEs that parse must not have produced calls; the valid call did.
    let mut incoming = 0;
    for seen in std::iter::from_fn(|| rt.seen.try_recv().ok()) {
        if matches!(seen, Seen::Incoming { .. }) {
            incoming += 1;
        }
    }
    assert_eq!(incoming, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_over_tcp_does_not_stop_the_server() {
    let mut rt = TestRuntime::start(
        SipConfig::new("127.0.0.1:0".parse().unwrap()),
        Behaviour::Answer,
    )
    .await;
    let target = rt.server.local_addr();
    for message in hostile_messages(target) {
        // One connection per message: a broken stream may be closed by the server.
        if let Ok(mut stream) = TcpStream::connect_timeout(&target, Duration::from_secs(2)) {
            let _ = stream.write_all(&message);
        }
    }
    // An oversized stream without a message boundary.
    if let Ok(mut stream) = TcpStream::connect_timeout(&target, Duration::from_secs(2)) {
        let _ = stream.write_all(&vec![b'B'; 200_000]);
    }
    sipp("basic_call.xml", target, "1000", "t1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Established);
}
