//! RFC 3261 timers through the adapter, with a short T1 so they run in about a second:
//! an unacknowledged 200 OK is retransmitted, then the call is ended with a BYE and
//! reported as lost.

mod common;

use std::time::Duration;

use common::{Behaviour, Seen, TestRuntime};
use ringdesk_sip::SipConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_200_is_retransmitted_then_call_is_lost() {
    let mut config = SipConfig::new("127.0.0.1:0".parse().unwrap());
    config.timer_t1 = Duration::from_millis(20);
    let mut rt = TestRuntime::start(config, Behaviour::Answer).await;
    let socket = common::raw_invite(rt.server.local_addr());
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));

    // Read what the server sends (never ACKing) until its BYE arrives.
    let reader = tokio::task::spawn_blocking(move || {
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut oks = 0;
        let mut buf = vec![0u8; 65_536];
        loop {
            let (len, _) = socket.recv_from(&mut buf).expect("server went silent");
            let text = String::from_utf8_lossy(&buf[..len]).to_string();
            if text.starts_with("SIP/2.0 200") {
                oks += 1;
            } else if text.starts_with("BYE ") {
                return oks;
            }
        }
    });
    let oks = reader.await.unwrap();
    assert!(
        oks >= 3,
        "200 OK sent {oks} times, expected retransmissions"
    );
    assert_eq!(rt.next().await, Seen::Lost);
    assert_eq!(rt.server.active_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_t1_is_a_config_error() {
    let mut config = SipConfig::new("127.0.0.1:0".parse().unwrap());
    config.timer_t1 = Duration::from_millis(1);
    assert!(ringdesk_sip::SipServer::bind(config).await.is_err());
}
