//! The IO of one browser leg: a task that feeds the leg's sans-IO WebRTC core
//! (`ringdesk_webrtc::WebrtcLeg`) with the datagrams of its public UDP socket and the
//! clock, sends what it asks to send, and relays audio between it and the bridge as plain
//! RTP over a loopback socket pair: the browser's decrypted PCMU goes to the bridge's end,
//! and the caller's audio that the bridge sends there goes to the browser. The bridge sees
//! an ordinary RTP agent leg, so strict media, transcoding and its counters stay one copy.

use super::phone::Phones;
use ringdesk_media::{RtpHeader, RtpPacket};
use ringdesk_webrtc::{Output, WebrtcError, WebrtcLeg};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// How long ICE and DTLS may take after the page answered.
pub const CONNECT_WAIT: Duration = Duration::from_secs(15);
/// A connected browser that sends nothing for this long is gone (browsers send audio
/// every 20 ms, silence included, and ICE consent checks every few seconds).
pub const SILENT_LIMIT: Duration = Duration::from_secs(5);
/// The payload type of PCMU, the one codec offered to browsers.
const PCMU: u8 = 0;
/// Longest datagram read from either socket.
const MAX_DATAGRAM: usize = 2048;

/// What the page and the call ask of the relay.
#[derive(Debug)]
pub enum Cmd {
    /// The page's SDP answer; the reply says whether it was accepted.
    Answer {
        sdp: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// End the leg (decline, hang-up from either side, cancel).
    Close,
}

/// One browser leg's relay, before it runs.
pub struct Relay {
    id: u64,
    leg: WebrtcLeg,
    public: std::net::UdpSocket,
    inner: std::net::UdpSocket,
    /// The bridge's end of the loopback pair: the only source accepted on `inner`.
    bridge: SocketAddr,
}

impl Relay {
    /// A leg whose browser side is `public` and whose bridge side is `inner`, talking to
    /// the bridge's socket at `bridge`; with its SDP offer.
    pub fn new(
        id: u64,
        public: std::net::UdpSocket,
        inner: std::net::UdpSocket,
        bridge: SocketAddr,
    ) -> Result<(Relay, String), WebrtcError> {
        let local = public.local_addr().map_err(|_| WebrtcError::NotConnected)?;
        let mut leg = WebrtcLeg::new(local, Instant::now())?;
        let offer = leg.offer()?;
        Ok((
            Relay {
                id,
                leg,
                public,
                inner,
                bridge,
            },
            offer,
        ))
    }

    /// Runs the leg until it is closed, lost or failed; tells `phones` what happened.
    pub async fn run(self, mut cmds: mpsc::UnboundedReceiver<Cmd>, phones: Arc<Phones>) {
        let id = self.id;
        let Relay {
            mut leg,
            public,
            inner,
            bridge,
            ..
        } = self;
        let (Ok(public), Ok(inner)) = (UdpSocket::from_std(public), UdpSocket::from_std(inner))
        else {
            phones.failed(id, "cannot register the media sockets");
            return;
        };
        let Ok(local) = public.local_addr() else {
            phones.failed(id, "the media socket has no address");
            return;
        };
        let mut state = Run {
            id,
            bridge,
            answered_at: None,
            heard_at: Instant::now(),
            connected: false,
            ssrc: rand::random(),
            out: Vec::with_capacity(MAX_DATAGRAM),
        };
        let mut from_browser = vec![0u8; MAX_DATAGRAM];
        let mut from_bridge = vec![0u8; MAX_DATAGRAM];
        let end = loop {
            let wake = match state.drain(&mut leg, &public, &inner, &phones).await {
                Ok(wake) => wake,
                Err(why) => break why,
            };
            tokio::select! {
                r = public.recv_from(&mut from_browser) => {
                    let Ok((n, from)) = r else { continue };
                    let now = Instant::now();
                    if leg.handle_datagram(now, from, local, &from_browser[..n]).is_ok() {
                        state.heard_at = now;
                    }
                }
                r = inner.recv_from(&mut from_bridge) => {
                    let Ok((n, from)) = r else { continue };
                    if from != bridge || !state.connected {
                        continue;
                    }
                    if let Ok(p) = RtpPacket::parse(&from_bridge[..n]) {
                        if p.header.payload_type == PCMU {
                            let h = p.header;
                            let _ = leg.send_rtp(Instant::now(), PCMU, h.sequence, h.timestamp, p.payload);
                        }
                    }
                }
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Answer { sdp, reply }) => {
                        let r = leg.accept_answer(&sdp).map_err(|e| e.to_string());
                        let ok = r.is_ok();
                        let _ = reply.send(r);
                        if !ok {
                            break "the page's answer was refused".to_string();
                        }
                        state.answered_at = Some(Instant::now());
                    }
                    Some(Cmd::Close) | None => {
                        leg.close();
                        let _ = state.drain(&mut leg, &public, &inner, &phones).await;
                        super::phone_metrics::rejected(leg.counters().rejected);
                        tracing::debug!(leg = id, counters = ?leg.counters(), "browser leg closed");
                        return;
                    }
                },
                () = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if leg.handle_timeout(now).is_err() {
                        break "the WebRTC stack failed".to_string();
                    }
                    if let Some(why) = state.overdue(now) {
                        break why.to_string();
                    }
                }
            }
        };
        leg.close();
        super::phone_metrics::rejected(leg.counters().rejected);
        tracing::info!(leg = id, counters = ?leg.counters(), "browser leg ended: {end}");
        phones.lost(id, &end);
    }
}

/// The relay's own state while it runs.
struct Run {
    id: u64,
    bridge: SocketAddr,
    answered_at: Option<Instant>,
    /// When the browser last sent something the leg accepted.
    heard_at: Instant,
    connected: bool,
    ssrc: u32,
    out: Vec<u8>,
}

impl Run {
    /// Carries out everything the leg has to say; when to wake it next.
    async fn drain(
        &mut self,
        leg: &mut WebrtcLeg,
        public: &UdpSocket,
        inner: &UdpSocket,
        phones: &Phones,
    ) -> Result<Instant, String> {
        loop {
            match leg.poll_output() {
                Err(e) => return Err(format!("the WebRTC stack failed: {e}")),
                Ok(Output::Timeout(at)) => {
                    // Wake at least once a second to check the deadlines.
                    let cap = Instant::now() + Duration::from_secs(1);
                    return Ok(at.min(cap));
                }
                Ok(Output::Transmit { to, data }) => {
                    let _ = public.try_send_to(&data, to);
                }
                Ok(Output::Rtp {
                    payload_type,
                    sequence,
                    timestamp,
                    marker,
                    payload,
                }) => {
                    if payload_type != PCMU {
                        continue;
                    }
                    let header = RtpHeader {
                        marker,
                        payload_type: PCMU,
                        sequence,
                        timestamp,
                        ssrc: self.ssrc,
                    };
                    self.out.clear();
                    header.write(&payload, &mut self.out);
                    let _ = inner.try_send_to(&self.out, self.bridge);
                }
                Ok(Output::Connected) => {
                    self.connected = true;
                    self.heard_at = Instant::now();
                    phones.connected(self.id);
                }
                Ok(Output::Disconnected) => return Err("the browser disconnected".into()),
            }
        }
    }

    /// Why the leg is over by `now`, if it is: no connection in time after the answer, or
    /// silence from a connected browser.
    fn overdue(&self, now: Instant) -> Option<&'static str> {
        if self.connected {
            (now.saturating_duration_since(self.heard_at) > SILENT_LIMIT)
                .then_some("nothing from the browser for 5 s")
        } else {
            self.answered_at
                .filter(|at| now.saturating_duration_since(*at) > CONNECT_WAIT)
                .map(|_| "no connection within 15 s of the answer")
        }
    }
}
