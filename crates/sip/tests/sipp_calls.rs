//! End-to-end tests against SIPp (a real SIP peer we did not write), over loopback UDP and
//! TCP: answered calls, hang-ups from both sides, CANCEL, OPTIONS, refusals (404, 488, 503,
//! and 503 while shedding load with a call in progress), INFO DTMF and re-INVITE hold;
//! whose caller ID is believed (trusted trunks, sources that are none).

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use common::{sipp, sipp_from, Behaviour, Seen, TestRuntime};
use ringdesk_sip::{Codec, Direction, Router, SipConfig, Trunk, TrustConfig, Untrusted};

fn config() -> SipConfig {
    SipConfig::new("127.0.0.1:0".parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_call_over_udp_caller_hangs_up() {
    let mut rt = TestRuntime::start(config(), Behaviour::Answer).await;
    sipp("basic_call.xml", rt.server.local_addr(), "8005551212", "u1").await;
    match rt.next().await {
        Seen::Incoming {
            ani,
            caller,
            dnis,
            route,
            headers,
            codec,
            telephone_event_pt,
        } => {
            assert_eq!(ani, "+15551230000");
            // Loopback is the one trunk of a default configuration.
            assert_eq!(caller.trunk.as_deref(), Some("local"));
            assert_eq!(caller.verstat, None);
            assert_eq!(dnis, "8005551212");
            assert_eq!(route, None);
            assert_eq!(codec, Codec::Pcmu);
            assert_eq!(telephone_event_pt, Some(101));
            let headers: HashMap<_, _> = headers.into_iter().collect();
            assert_eq!(headers.get("X-Account").map(String::as_str), Some("4711"));
            assert_eq!(
                headers.get("Subject").map(String::as_str),
                Some("ringdesk test")
            );
            assert!(!headers.contains_key("Via"));
        }
        other => panic!("expected an incoming call, got {other:?}"),
    }
    assert_eq!(rt.next().await, Seen::Established);
    assert_eq!(rt.next().await, Seen::RemoteHangup);
    assert_eq!(rt.server.active_calls(), 0);
}

/// An established call lets go of its INVITE transaction's channel (decision 0010): the
/// patched rsipstack drops the dialog's sender once the ACK confirms the dialog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_established_call_lets_go_of_its_invite_transaction() {
    let mut rt = TestRuntime::start(config(), Behaviour::Answer).await;
    sipp("basic_call.xml", rt.server.local_addr(), "8005551212", "u1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Established);
    assert_eq!(rt.next().await, Seen::RemoteHangup);
    let counts = &rt.invite_channel;
    // Held while the 200 OK waited for its ACK (the transaction still needed it)...
    assert_eq!(counts.held_at_answer.load(Ordering::SeqCst), 1);
    assert_eq!(counts.established.load(Ordering::SeqCst), 1);
    // ...and let go once the call was established.
    assert_eq!(counts.held_when_established.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_call_over_tcp() {
    let mut rt = TestRuntime::start(config(), Behaviour::Answer).await;
    sipp("basic_call.xml", rt.server.local_addr(), "1000", "t1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Established);
    assert_eq!(rt.next().await, Seen::RemoteHangup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_hangs_up_after_ack() {
    let mut rt = TestRuntime::start(config(), Behaviour::HangupAfterAck).await;
    sipp("server_hangup.xml", rt.server.local_addr(), "1000", "u1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Established);
    // Our own BYE is not reported back as a remote hang-up.
    assert_eq!(rt.drain(), vec![]);
    assert_eq!(rt.server.active_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_answer_gets_487() {
    let mut rt = TestRuntime::start(config(), Behaviour::Ring).await;
    sipp("cancel.xml", rt.server.local_addr(), "1000", "u1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Cancelled);
    match rt.next().await {
        Seen::LateAnswer(Err(message)) => assert!(message.contains("ended"), "{message}"),
        other => panic!("answering a cancelled call must fail, got {other:?}"),
    }
    assert_eq!(rt.server.active_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_is_answered_200() {
    let mut rt = TestRuntime::start(config(), Behaviour::Answer).await;
    sipp("options.xml", rt.server.local_addr(), "ringdesk", "u1").await;
    assert_eq!(rt.drain(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g729_only_offer_gets_488() {
    let mut rt = TestRuntime::start(config(), Behaviour::Answer).await;
    sipp("reject_488.xml", rt.server.local_addr(), "1000", "u1").await;
    assert_eq!(rt.drain(), vec![]);
    assert_eq!(rt.server.active_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_number_gets_404_and_known_one_routes() {
    let mut cfg = config();
    cfg.router = Router::Table(HashMap::from([("1000".to_owned(), "main".to_owned())]));
    let mut rt = TestRuntime::start(cfg, Behaviour::Answer).await;
    sipp("reject_404.xml", rt.server.local_addr(), "9999", "u1").await;
    assert_eq!(rt.drain(), vec![]);
    sipp("basic_call.xml", rt.server.local_addr(), "1000", "u1").await;
    match rt.next().await {
        Seen::Incoming { route, dnis, .. } => {
            assert_eq!(route.as_deref(), Some("main"));
            assert_eq!(dnis, "1000");
        }
        other => panic!("expected an incoming call, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_call_limit_gets_503_with_retry_after() {
    let mut cfg = config();
    cfg.max_calls = 1;
    let mut rt = TestRuntime::start(cfg, Behaviour::Ring).await;
    let _held = common::raw_invite(rt.server.local_addr());
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.server.active_calls(), 1);
    sipp("reject_503.xml", rt.server.local_addr(), "1000", "u1").await;
    assert_eq!(rt.drain(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shedding_refuses_new_calls_with_503_and_keeps_calls_in_progress() {
    let cfg = config();
    let shed = cfg.shed.clone();
    let mut rt = TestRuntime::start(cfg, Behaviour::Answer).await;
    let addr = rt.server.local_addr();
    // A call in progress: answered now, INFO and BYE 1.5 s later.
    let in_progress = tokio::spawn(async move {
        sipp("shed_call_in_progress.xml", addr, "1000", "u1").await;
    });
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Established);
    shed.set(true);
    // A new call while shedding: 503 with Retry-After (the scenario checks both), and the
    // runtime never hears of it.
    sipp("reject_503.xml", addr, "1000", "u1").await;
    assert_eq!(shed.refused(), 1);
    // The call in progress goes on while shedding: its INFO and BYE are served.
    match rt.next().await {
        Seen::Dtmf { body, .. } => {
            assert!(String::from_utf8_lossy(&body).contains("Signal=5"))
        }
        other => panic!("expected the call in progress's INFO, got {other:?}"),
    }
    assert_eq!(rt.next().await, Seen::RemoteHangup);
    in_progress.await.expect("the call in progress succeeded");
    assert!(shed.is_shedding());
    assert_eq!(rt.drain(), vec![]);
    // Switched off: new calls are admitted again.
    shed.set(false);
    sipp("basic_call.xml", addr, "1000", "u1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Established);
    assert_eq!(rt.next().await, Seen::RemoteHangup);
    assert_eq!(shed.refused(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_dtmf_relay_is_delivered() {
    let mut rt = TestRuntime::start(config(), Behaviour::Answer).await;
    sipp("info_dtmf.xml", rt.server.local_addr(), "1000", "u1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Established);
    match rt.next().await {
        Seen::Dtmf { content_type, body } => {
            assert_eq!(content_type, "application/dtmf-relay");
            let body = String::from_utf8(body).unwrap();
            assert!(body.contains("Signal=5"), "{body:?}");
            assert!(body.contains("Duration=160"), "{body:?}");
        }
        other => panic!("expected DTMF, got {other:?}"),
    }
    assert_eq!(rt.next().await, Seen::RemoteHangup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinvite_hold_is_answered_and_reported() {
    let mut rt = TestRuntime::start(config(), Behaviour::Answer).await;
    sipp("reinvite_hold.xml", rt.server.local_addr(), "1000", "u1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.next().await, Seen::Established);
    match rt.next().await {
        Seen::Reinvite {
            direction,
            remote,
            codec,
            answer_direction,
        } => {
            assert_eq!(direction, Direction::SendOnly);
            assert_eq!(answer_direction, Direction::RecvOnly);
            assert_eq!(remote.port(), 40100);
            assert_eq!(codec, Codec::Pcma);
        }
        other => panic!("expected a re-INVITE, got {other:?}"),
    }
    assert_eq!(rt.next().await, Seen::RemoteHangup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_runtime_drops_is_refused_480() {
    let mut rt = TestRuntime::start(config(), Behaviour::Drop).await;
    sipp("reject_480.xml", rt.server.local_addr(), "1000", "u1").await;
    assert!(matches!(rt.next().await, Seen::Incoming { .. }));
    assert_eq!(rt.drain(), vec![]);
    assert_eq!(rt.server.active_calls(), 0);
}

/// Trust only 127.0.0.1 (`pbx`); SIPp from 127.0.0.2 is no trunk.
fn pbx_only(untrusted: Untrusted) -> SipConfig {
    let mut cfg = config();
    cfg.trust = TrustConfig {
        trunks: vec![Trunk {
            name: "pbx".into(),
            networks: vec!["127.0.0.1/32".parse().unwrap()],
            srtp: ringdesk_sip::SrtpPolicy::Optional,
            credentials: None,
        }],
        untrusted,
        untrusted_srtp: ringdesk_sip::SrtpPolicy::Optional,
    };
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_is_believed_and_others_are_refused() {
    let mut rt = TestRuntime::start(pbx_only(Untrusted::Refuse), Behaviour::Answer).await;
    let addr = rt.server.local_addr();
    sipp_from("reject_403.xml", addr, "1000", "u1", "127.0.0.2").await;
    assert_eq!(rt.drain(), vec![], "a refused INVITE reaches no runtime");
    sipp("asserted_identity.xml", addr, "1000", "u1").await;
    match rt.next().await {
        Seen::Incoming {
            ani,
            caller,
            headers,
            ..
        } => {
            assert_eq!(ani, "+12125550107", "P-Asserted-Identity from the trunk");
            assert_eq!(caller.trunk.as_deref(), Some("pbx"));
            assert_eq!(caller.verstat.as_deref(), Some("TN-Validation-Passed"));
            assert_eq!(caller.addr.ip().to_string(), "127.0.0.1");
            assert!(headers.iter().any(|(n, _)| n == "P-Asserted-Identity"));
        }
        other => panic!("expected an incoming call, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_caller_answered_anonymously_asserts_nothing() {
    let mut rt = TestRuntime::start(pbx_only(Untrusted::Anonymous), Behaviour::Answer).await;
    let addr = rt.server.local_addr();
    sipp_from("asserted_identity.xml", addr, "1000", "u1", "127.0.0.2").await;
    match rt.next().await {
        Seen::Incoming {
            ani,
            caller,
            headers,
            ..
        } => {
            assert_eq!(ani, "anonymous");
            assert_eq!(caller.trunk, None);
            assert_eq!(
                caller.verstat, None,
                "a claimed verification is not believed"
            );
            assert_eq!(caller.addr.ip().to_string(), "127.0.0.2");
            let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
            assert!(
                !names.contains(&"P-Asserted-Identity") && !names.contains(&"From"),
                "{names:?}"
            );
            assert!(names.contains(&"X-Account"), "{names:?}");
        }
        other => panic!("expected an incoming call, got {other:?}"),
    }
}
