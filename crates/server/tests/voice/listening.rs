//! A call whose media comes to the test: SIPp places it (signalling only), a test-owned
//! RTP endpoint hears ringdesk and presses keys (RFC 4733), and the stream heard is
//! returned at the caller's hang-up for the audio checks.

use super::heard::Heard;
use super::rtp::RtpEndpoint;
use super::server::Server;
use super::sipp::{Sipp, SippRun};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A call in progress whose media comes to the test.
pub struct Listening {
    rtp: RtpEndpoint,
    sipp: tokio::task::JoinHandle<SippRun>,
    /// First packet's arrival: time zero of the call as heard.
    t0: Instant,
    /// ringdesk's RTP address (where the packets come from).
    server_rtp: SocketAddr,
}

impl Listening {
    /// Places a call from `caller` with SIPp `scenario`, staying `hold`, media here.
    pub async fn call(server: &Server, scenario: &str, caller: &str, hold: Duration) -> Listening {
        let rtp = RtpEndpoint::bind();
        let run = Sipp::new(scenario, "support")
            .caller(caller)
            .rtp(rtp.addr())
            .pause(hold);
        let (addr, dir) = (server.sip_addr(), server.dir().to_path_buf());
        let sipp = tokio::spawn(async move { run.run(addr, &dir).await });
        let Some((t0, server_rtp)) = rtp.first_arrival(Duration::from_secs(10)).await else {
            let run = sipp.await.expect("SIPp task");
            panic!("no RTP within 10 s of the call\n{}", run.report());
        };
        Listening {
            rtp,
            sipp,
            t0,
            server_rtp,
        }
    }

    /// Presses `key` for `press` at `at` after the first packet; returns when the press
    /// started.
    pub async fn press_at(&mut self, at: Duration, key: char, press: Duration) -> Instant {
        tokio::time::sleep_until((self.t0 + at).into()).await;
        let started = Instant::now();
        let to = self.server_rtp;
        tokio::task::block_in_place(|| self.rtp.press(to, super::EVENT_PT, key, press));
        started
    }

    /// Waits for the caller's BYE (the scenario fails if ringdesk hangs up first) and
    /// returns the stream heard.
    pub async fn hang_up(self) -> Heard {
        self.sipp
            .await
            .expect("SIPp task")
            .assert_passed("call with the test's media");
        Heard::new(&self.rtp.arrivals(), self.server_rtp)
    }
}
