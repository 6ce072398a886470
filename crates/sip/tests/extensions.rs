//! SIP extensions ringdesk does not support: an INVITE that requires one is refused with
//! `420 Bad Extension` listing it in `Unsupported`, and no call reaches the runtime.

mod common;

use std::time::Duration;

use common::{Behaviour, TestRuntime};
use ringdesk_sip::SipConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_requiring_100rel_gets_420() {
    let mut rt = TestRuntime::start(
        SipConfig::new("127.0.0.1:0".parse().unwrap()),
        Behaviour::Answer,
    )
    .await;
    let socket = common::raw_invite_with(rt.server.local_addr(), "Require: 100rel\r\n");
    let response = tokio::task::spawn_blocking(move || {
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = vec![0u8; 65_536];
        loop {
            let (len, _) = socket.recv_from(&mut buf).expect("no final response");
            let text = String::from_utf8_lossy(&buf[..len]).to_string();
            if !text.starts_with("SIP/2.0 1") {
                return text;
            }
        }
    })
    .await
    .unwrap();
    assert!(response.starts_with("SIP/2.0 420"), "{response}");
    assert!(
        response
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("unsupported:") && l.contains("100rel")),
        "{response}"
    );
    assert!(rt.drain().is_empty());
    assert_eq!(rt.server.active_calls(), 0);
}
