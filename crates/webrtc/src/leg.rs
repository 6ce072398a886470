//! One browser agent leg: an ICE-lite, RTP-mode str0m `Rtc` with one PCMU audio m-line.
//!
//! ringdesk is the offerer (the SIP UAC) and ICE-lite: the browser checks connectivity
//! towards our one host candidate, picks the DTLS role (our offer says `actpass`) and
//! str0m keys SRTP from the handshake. Sizes of everything from the network are bounded
//! and anything malformed is an error, counted, never a panic.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, IceConnectionState, Input, Rtc, RtcConfig};

use crate::error::WebrtcError;
use crate::output::Output;
use crate::seq::SeqExtender;

/// Longest SDP answer accepted (browsers' answers for one audio line are 1-3 KiB).
pub const MAX_SDP: usize = 16 * 1024;
/// Longest datagram accepted (str0m's own receive limit).
pub const MAX_DATAGRAM: usize = 2000;
/// Longest audio payload sent (20 ms of G.711 is 160 bytes).
pub const MAX_PAYLOAD: usize = 1200;

/// What a leg saw, for metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LegCounters {
    /// Datagrams handed in.
    pub datagrams: u64,
    /// Of those, refused: too long, malformed, foreign or refused by str0m.
    pub rejected: u64,
    /// Decrypted RTP packets handed out.
    pub rtp_in: u64,
    /// RTP packets taken for sending.
    pub rtp_out: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    New,
    Offered,
    Answered,
    Connected,
    Closed,
}

/// The sans-IO core of one browser leg. See the module docs.
pub struct WebrtcLeg {
    rtc: Rtc,
    mid: Option<Mid>,
    pending: Option<SdpPendingOffer>,
    stage: Stage,
    seq: SeqExtender,
    counters: LegCounters,
    /// str0m panicked inside this leg: it answers every later call with an error.
    broken: bool,
}

impl std::fmt::Debug for WebrtcLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebrtcLeg")
            .field("stage", &self.stage)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl WebrtcLeg {
    /// A leg whose media will use the UDP socket bound at `local_addr` (the address the
    /// browser can reach: it becomes the offer's only host candidate).
    pub fn new(local_addr: SocketAddr, now: Instant) -> Result<Self, WebrtcError> {
        let crypto = str0m::crypto::from_feature_flags();
        // Generated here so a failure is an error: str0m's builder would panic instead.
        let cert = crypto
            .dtls_provider
            .generate_certificate()
            .ok_or(WebrtcError::NoCertificate)?;
        let mut rtc = RtcConfig::new()
            .set_crypto_provider(Arc::new(crypto))
            .set_dtls_cert(cert)
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_pcmu(true, false)
            .build(now);
        let candidate = Candidate::host(local_addr, "udp")
            .map_err(|_| WebrtcError::BadLocalAddress(local_addr))?;
        if rtc.add_local_candidate(candidate).is_none() {
            return Err(WebrtcError::BadLocalAddress(local_addr));
        }
        Ok(WebrtcLeg {
            rtc,
            mid: None,
            pending: None,
            stage: Stage::New,
            seq: SeqExtender::default(),
            counters: LegCounters::default(),
            broken: false,
        })
    }

    /// The SDP offer for the INVITE: one sendrecv audio line, PCMU, UDP/TLS/RTP/SAVPF with
    /// the DTLS fingerprint, ICE credentials, our host candidate and rtcp-mux. Once only.
    pub fn offer(&mut self) -> Result<String, WebrtcError> {
        if self.stage != Stage::New {
            return Err(WebrtcError::OutOfOrder("offer made twice"));
        }
        let mut api = self.rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api
            .apply()
            .ok_or(WebrtcError::OutOfOrder("nothing to offer"))?;
        self.mid = Some(mid);
        self.pending = Some(pending);
        self.stage = Stage::Offered;
        Ok(offer.to_sdp_string())
    }

    /// Runs `f` on the leg, turning a panic inside str0m into the end of this leg only:
    /// str0m 0.24 can panic on some hostile input (decision 0015), and one browser must
    /// not take the process down. A leg that panicked answers every later call with
    /// [`WebrtcError::Broken`].
    fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, WebrtcError>,
    ) -> Result<T, WebrtcError> {
        if self.broken {
            return Err(WebrtcError::Broken);
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self))) {
            Ok(result) => result,
            Err(_) => {
                self.broken = true;
                self.stage = Stage::Closed;
                self.counters.rejected += 1;
                Err(WebrtcError::Broken)
            }
        }
    }

    /// The browser's SDP answer. A refused answer ends the leg (the call should end too).
    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), WebrtcError> {
        self.guarded(|leg| leg.accept(sdp))
    }

    fn accept(&mut self, sdp: &str) -> Result<(), WebrtcError> {
        if sdp.len() > MAX_SDP {
            return Err(WebrtcError::SdpTooLong(sdp.len()));
        }
        let pending = self
            .pending
            .take()
            .ok_or(WebrtcError::OutOfOrder("answer without a pending offer"))?;
        // From here on, a failure leaves no offer to answer: the leg is over.
        self.stage = Stage::Closed;
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| WebrtcError::SdpParse(e.to_string()))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| WebrtcError::SdpRefused(e.to_string()))?;
        let audio_accepted = self
            .mid
            .and_then(|mid| self.rtc.media(mid))
            .is_some_and(|m| !m.disabled() && !m.remote_pts().is_empty());
        if !audio_accepted {
            self.rtc.disconnect();
            return Err(WebrtcError::SdpRefused("audio line rejected".into()));
        }
        self.stage = Stage::Answered;
        Ok(())
    }

    /// A UDP datagram received on the leg's socket `to` from `from` at `now`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        data: &[u8],
    ) -> Result<(), WebrtcError> {
        self.counters.datagrams += 1;
        let result = self.guarded(|leg| leg.receive(now, from, to, data));
        if result.is_err() {
            self.counters.rejected += 1;
        }
        result
    }

    fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        data: &[u8],
    ) -> Result<(), WebrtcError> {
        if data.len() > MAX_DATAGRAM {
            return Err(WebrtcError::DatagramTooLong(data.len()));
        }
        let receive =
            Receive::new(Protocol::Udp, from, to, data).map_err(|_| WebrtcError::Malformed)?;
        let input = Input::Receive(now, receive);
        if !self.rtc.accepts(&input) {
            return Err(WebrtcError::Foreign);
        }
        self.rtc.handle_input(input)?;
        Ok(())
    }

    /// Time has reached `now` (at least the last [`Output::Timeout`]).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), WebrtcError> {
        self.guarded(|leg| leg.tick(now))
    }

    fn tick(&mut self, now: Instant) -> Result<(), WebrtcError> {
        self.rtc.handle_input(Input::Timeout(now))?;
        Ok(())
    }

    /// The next thing for the runtime; call until it is [`Output::Timeout`]. An error
    /// means str0m failed: the leg is over.
    pub fn poll_output(&mut self) -> Result<Output, WebrtcError> {
        self.guarded(Self::next_output)
    }

    fn next_output(&mut self) -> Result<Output, WebrtcError> {
        loop {
            let out = match self.rtc.poll_output() {
                Ok(out) => out,
                Err(e) => {
                    self.close();
                    return Err(e.into());
                }
            };
            match out {
                str0m::Output::Timeout(at) => {
                    if !self.rtc.is_alive() && self.stage != Stage::Closed {
                        // Refused by str0m (e.g. a wrong DTLS fingerprint).
                        self.stage = Stage::Closed;
                        return Ok(Output::Disconnected);
                    }
                    return Ok(Output::Timeout(at));
                }
                str0m::Output::Transmit(t) => {
                    return Ok(Output::Transmit {
                        to: t.destination,
                        data: t.contents.into(),
                    });
                }
                str0m::Output::Event(event) => {
                    if let Some(out) = self.event(event) {
                        return Ok(out);
                    }
                }
            }
        }
    }

    fn event(&mut self, event: Event) -> Option<Output> {
        match event {
            Event::Connected => {
                self.stage = Stage::Connected;
                Some(Output::Connected)
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed => {
                if self.stage == Stage::Closed {
                    return None;
                }
                self.stage = Stage::Closed;
                Some(Output::Disconnected)
            }
            Event::RtpPacket(p) => {
                self.counters.rtp_in += 1;
                Some(Output::Rtp {
                    payload_type: *p.header.payload_type,
                    sequence: p.header.sequence_number,
                    timestamp: p.header.timestamp,
                    marker: p.header.marker,
                    payload: p.payload.to_vec(),
                })
            }
            _ => None,
        }
    }

    /// Audio for the browser (str0m encrypts it). Poll output afterwards for the datagram.
    pub fn send_rtp(
        &mut self,
        now: Instant,
        payload_type: u8,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), WebrtcError> {
        self.guarded(|leg| leg.write(now, payload_type, sequence, timestamp, payload))
    }

    fn write(
        &mut self,
        now: Instant,
        payload_type: u8,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), WebrtcError> {
        if self.stage != Stage::Connected {
            return Err(WebrtcError::NotConnected);
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(WebrtcError::PayloadTooLong(payload.len()));
        }
        let mid = self.mid.ok_or(WebrtcError::NotConnected)?;
        let negotiated = self
            .rtc
            .media(mid)
            .is_some_and(|m| m.remote_pts().contains(&payload_type.into()));
        if !negotiated {
            return Err(WebrtcError::PayloadType(payload_type));
        }
        let seq_no = self.seq.extend(sequence);
        let mut direct = self.rtc.direct_api();
        let stream = direct
            .stream_tx_by_mid(mid, None)
            .ok_or(WebrtcError::NotConnected)?;
        stream.write_rtp(RtpWrite::new(
            payload_type.into(),
            seq_no.into(),
            timestamp,
            now,
            payload,
        ));
        self.counters.rtp_out += 1;
        // str0m queues the packet; time moving to `now` releases it to poll_output.
        self.tick(now)
    }

    /// Whether ICE and DTLS are done and the leg has not ended.
    pub fn is_connected(&self) -> bool {
        self.stage == Stage::Connected
    }

    /// The counters so far.
    pub fn counters(&self) -> LegCounters {
        self.counters
    }

    /// Ends the leg now: no more output but a far timeout.
    pub fn close(&mut self) {
        self.stage = Stage::Closed;
        if !self.broken {
            let _ = self.guarded(|leg| {
                leg.rtc.disconnect();
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leg_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<WebrtcLeg>();
    }

    #[test]
    fn a_panic_inside_ends_this_leg_only() {
        let local: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let now = Instant::now();
        let mut leg = WebrtcLeg::new(local, now).unwrap();
        let mut other = WebrtcLeg::new(local, now).unwrap();
        let r: Result<(), _> = leg.guarded(|_| panic!("as str0m 0.24 may on hostile input"));
        assert!(matches!(r, Err(WebrtcError::Broken)));
        assert!(matches!(leg.handle_timeout(now), Err(WebrtcError::Broken)));
        assert!(matches!(leg.poll_output(), Err(WebrtcError::Broken)));
        let from: SocketAddr = "127.0.0.2:5000".parse().unwrap();
        assert!(leg.handle_datagram(now, from, local, &[0; 20]).is_err());
        assert_eq!(leg.counters().rejected, 2);
        leg.close();
        assert!(!leg.is_connected());
        // Another leg goes on.
        assert!(other.offer().is_ok());
        assert!(other.handle_timeout(now).is_ok());
    }

    #[test]
    fn an_unusable_local_address_is_an_error() {
        let any: SocketAddr = "0.0.0.0:4000".parse().unwrap();
        assert!(matches!(
            WebrtcLeg::new(any, Instant::now()),
            Err(WebrtcError::BadLocalAddress(_))
        ));
    }
}
