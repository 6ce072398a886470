//! The bridge between a caller and an agent: relays RTP both ways, rewriting the payload
//! type, transcoding PCMU↔PCMA when the legs differ, and passing RFC 4733 events on. The
//! agent leg's packets count only from its one source (strict RTP). Every datagram that
//! arrives is counted once, relayed or dropped with its reason (`bridge_metrics.rs`).

use super::bridge_metrics::{BridgeCounters, Outcome};
use super::rtp_metrics::{self, Leg};
use super::rtp_socket::{RtpSocket, MAX_DATAGRAM};
use ringdesk_media::g711::transcode_in_place;
use ringdesk_media::{Codec, LatchVerdict, RemoteLatch, RtpPacket};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

thread_local! {
    /// One buffer per thread for rewritten packets: no call holds one between packets.
    static OUT_BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(MAX_DATAGRAM));
}

/// One direction's destination and encoding.
#[derive(Debug)]
pub struct Relay {
    /// The socket to send from (the destination's own leg socket, for symmetric RTP).
    pub socket: Arc<RtpSocket>,
    pub dest: SocketAddr,
    /// What the destination expects.
    pub codec: Codec,
    pub payload_type: u8,
    pub telephone_event_pt: Option<u8>,
    /// The bridge's counters (the task receiving each direction counts it).
    pub counts: Arc<BridgeCounters>,
}

/// A value the call task sets and a receive task reads at each packet (nobody waits for
/// it to change): a lock and the value, where a watch channel took ~350 bytes per call.
#[derive(Debug)]
pub struct Slot<T>(Mutex<T>);

impl<T> Slot<T> {
    pub fn new(value: T) -> Arc<Slot<T>> {
        Arc::new(Slot(Mutex::new(value)))
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        // A poisoned lock still holds a whole value (every writer stores one at once).
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the value.
    pub fn set(&self, value: T) {
        *self.lock() = value;
    }

    /// Changes the value in place (readers wait meanwhile).
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        f(&mut self.lock());
    }

    /// Runs `f` on the value (the writer waits meanwhile).
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.lock())
    }
}

/// What arrives from the source leg.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub codec: Codec,
    pub telephone_event_pt: Option<u8>,
}

/// Rewrites one datagram from `src` for `out` into `buf`; the reason it is not relayed
/// otherwise (malformed, not negotiated, or an event the destination did not accept).
pub fn rewrite(data: &[u8], src: Source, out: &Relay, buf: &mut Vec<u8>) -> Result<(), Outcome> {
    let Ok(p) = RtpPacket::parse(data) else {
        return Err(Outcome::Malformed);
    };
    let mut header = p.header;
    buf.clear();
    if Some(header.payload_type) == src.telephone_event_pt {
        let Some(pt) = out.telephone_event_pt else {
            return Err(Outcome::EventRefused);
        };
        header.payload_type = pt;
        header.write(p.payload, buf);
        return Ok(());
    }
    if Codec::from_payload_type(header.payload_type) != Some(src.codec) {
        return Err(Outcome::NotNegotiated);
    }
    header.payload_type = out.payload_type;
    let start = buf.len();
    header.write(p.payload, buf);
    let body_at = buf.len() - p.payload.len();
    if let Some(body) = buf.get_mut(body_at.max(start)..) {
        transcode_in_place(src.codec, out.codec, body);
    }
    Ok(())
}

/// Rewrites one datagram from `src` for `out` and sends it at once; what became of it
/// (dropped when it is not relayed, or when the socket cannot take it).
pub fn relay(data: &[u8], src: Source, out: &Relay) -> Outcome {
    let send = |buf: &mut Vec<u8>| match rewrite(data, src, out, buf) {
        Err(dropped) => dropped,
        Ok(()) => match out.socket.try_send_to(buf, out.dest) {
            Ok(_) => Outcome::Relayed,
            Err(e) => {
                tracing::trace!(dest = %out.dest, "bridge send: {e}");
                Outcome::SendFailed
            }
        },
    };
    let lent = OUT_BUF.try_with(|cell| cell.try_borrow_mut().ok().map(|mut buf| send(&mut buf)));
    match lent {
        Ok(Some(outcome)) => outcome,
        _ => send(&mut Vec::new()),
    }
}

/// Relays the agent's RTP to the caller until the socket fails or the task is aborted.
/// Strict RTP (`ringdesk_media::latch`): the agent leg, answered now, accepts packets
/// from the address its SDP answer names (`agent_sdp`), or from the one source learned at
/// its start (an agent behind NAT: the caller's audio then goes there, in `to_agent`);
/// packets from anywhere else are dropped and counted. `to_caller` is the caller's leg
/// (socket, codec, payload types, the bridge's counters); its `dest` is replaced at each
/// packet by `caller_dest`, where the caller's RTP goes now. Every datagram is counted in
/// the bridge's `agent_to_caller` direction.
pub async fn agent_to_caller(
    agent_socket: Arc<RtpSocket>,
    src: Source,
    agent_sdp: SocketAddr,
    to_agent: Arc<Slot<Option<Arc<Relay>>>>,
    mut to_caller: Relay,
    caller_dest: Arc<Slot<Option<SocketAddr>>>,
) {
    let named = (!agent_sdp.ip().is_unspecified()).then_some(agent_sdp);
    let mut latch = RemoteLatch::new(Instant::now(), named);
    loop {
        let _ = agent_socket
            .recv_with(|data, from| {
                let outcome = match RtpPacket::parse(data) {
                    Err(_) => Outcome::Malformed,
                    Ok(p) => match latch.on_packet(Instant::now(), from, p.header.sequence) {
                        LatchVerdict::Accept => forward(data, src, &mut to_caller, &caller_dest),
                        LatchVerdict::Latched => {
                            redirect(&to_agent, from);
                            forward(data, src, &mut to_caller, &caller_dest)
                        }
                        LatchVerdict::Learning => Outcome::Learning,
                        LatchVerdict::Reject => {
                            rtp_metrics::foreign_packet(Leg::Agent);
                            Outcome::UnknownSource
                        }
                    },
                };
                to_caller.counts.agent_to_caller.count(outcome);
            })
            .await;
    }
}

/// Relays an accepted packet of the agent's to where the caller's RTP goes now.
fn forward(
    data: &[u8],
    src: Source,
    to_caller: &mut Relay,
    caller_dest: &Slot<Option<SocketAddr>>,
) -> Outcome {
    match caller_dest.with(|d| *d) {
        Some(dest) => {
            to_caller.dest = dest;
            relay(data, src, to_caller)
        }
        None => Outcome::NoDestination,
    }
}

/// The caller's audio goes to `dest` from now on (symmetric RTP to a learned agent),
/// unless the bridge is already down.
fn redirect(to_agent: &Slot<Option<Arc<Relay>>>, dest: SocketAddr) {
    to_agent.update(|relay| {
        if let Some(current) = relay.as_ref().filter(|r| r.dest != dest) {
            *relay = Some(Arc::new(Relay {
                socket: current.socket.clone(),
                dest,
                codec: current.codec,
                payload_type: current.payload_type,
                telephone_event_pt: current.telephone_event_pt,
                counts: current.counts.clone(),
            }));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringdesk_media::RtpHeader;

    fn packet(pt: u8, payload: &[u8]) -> Vec<u8> {
        let h = RtpHeader {
            marker: false,
            payload_type: pt,
            sequence: 7,
            timestamp: 1600,
            ssrc: 42,
        };
        let mut v = Vec::new();
        h.write(payload, &mut v);
        v
    }

    async fn relay(codec: Codec, pt: u8, te: Option<u8>) -> Relay {
        Relay {
            socket: {
                let s = RtpSocket::bind([127, 0, 0, 1].into(), Leg::Agent).unwrap();
                s.secure(None).unwrap();
                s
            },
            dest: "127.0.0.1:9".parse().unwrap(),
            codec,
            payload_type: pt,
            telephone_event_pt: te,
            counts: Arc::default(),
        }
    }

    #[tokio::test]
    async fn transcodes_pcmu_to_pcma_and_rewrites_the_payload_type() {
        let out = relay(Codec::Pcma, 8, Some(96)).await;
        let src = Source {
            codec: Codec::Pcmu,
            telephone_event_pt: Some(101),
        };
        let ulaw: Vec<u8> = (0..160).map(|i| i as u8).collect();
        let mut buf = Vec::new();
        assert_eq!(rewrite(&packet(0, &ulaw), src, &out, &mut buf), Ok(()));
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.header.payload_type, 8);
        assert_eq!(
            (p.header.sequence, p.header.timestamp, p.header.ssrc),
            (7, 1600, 42)
        );
        let expected: Vec<u8> = ulaw
            .iter()
            .map(|&c| ringdesk_media::g711::ulaw_to_alaw(c))
            .collect();
        assert_eq!(p.payload, &expected[..]);
        // Telephone events pass with the destination's payload type, unchanged.
        let ev = [5u8, 0x8a, 0x03, 0x20];
        assert_eq!(rewrite(&packet(101, &ev), src, &out, &mut buf), Ok(()));
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!((p.header.payload_type, p.payload), (96, &ev[..]));
        // Not negotiated, or garbage: dropped, each with its reason.
        assert_eq!(
            rewrite(&packet(18, &[1, 2, 3]), src, &out, &mut buf),
            Err(Outcome::NotNegotiated)
        );
        assert_eq!(
            rewrite(&[0xff; 5], src, &out, &mut buf),
            Err(Outcome::Malformed)
        );
    }

    #[tokio::test]
    async fn same_codec_passes_audio_unchanged_and_events_need_a_peer_payload_type() {
        let out = relay(Codec::Pcmu, 0, None).await;
        let src = Source {
            codec: Codec::Pcmu,
            telephone_event_pt: Some(101),
        };
        let mut buf = Vec::new();
        let audio = [0x7fu8; 160];
        assert_eq!(rewrite(&packet(0, &audio), src, &out, &mut buf), Ok(()));
        assert_eq!(RtpPacket::parse(&buf).unwrap().payload, &audio[..]);
        assert_eq!(
            rewrite(&packet(101, &[1, 0, 0, 160]), src, &out, &mut buf),
            Err(Outcome::EventRefused)
        );
    }

    /// A plain UDP socket on `ip` whose reads give up after a while.
    fn peer(ip: [u8; 4]) -> std::net::UdpSocket {
        let s = std::net::UdpSocket::bind((std::net::IpAddr::from(ip), 0)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_millis(300)))
            .unwrap();
        s
    }

    /// Datagrams `s` receives until none comes for a while.
    fn drain(s: &std::net::UdpSocket) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = s.recv(&mut buf) {
            got.push(buf[..n].to_vec());
        }
        got
    }

    /// Waits until `counts` saw `n` datagrams.
    async fn received(counts: &BridgeCounters, n: u64) -> ringdesk_store::PacketCounts {
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let c = counts.agent_to_caller.snapshot();
            if c.received >= n || Instant::now() > deadline {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn the_agent_leg_counts_each_datagram_once_relayed_or_dropped_with_its_reason() {
        let agent_leg = relay(Codec::Pcmu, 0, None).await.socket;
        let mut to_caller = relay(Codec::Pcma, 8, None).await;
        let counts = to_caller.counts.clone();
        let (phone, intruder, caller) = (
            peer([127, 0, 0, 1]),
            peer([127, 0, 0, 2]),
            peer([127, 0, 0, 1]),
        );
        to_caller.dest = "0.0.0.0:0".parse().unwrap();
        let caller_dest = Slot::new(Some(caller.local_addr().unwrap()));
        let foreign_before = rtp_metrics::foreign_packets(Leg::Agent);
        let task = tokio::spawn(agent_to_caller(
            agent_leg.clone(),
            Source {
                codec: Codec::Pcmu,
                telephone_event_pt: Some(101),
            },
            phone.local_addr().unwrap(),
            Slot::new(None),
            to_caller,
            caller_dest.clone(),
        ));
        let to = agent_leg.local_addr().unwrap();
        // The phone's SDP address locks the leg at its first packet; then the intruder.
        for _ in 0..3 {
            phone.send_to(&packet(0, &[0xff; 160]), to).unwrap();
        }
        intruder.send_to(&packet(0, &[0x00; 160]), to).unwrap();
        intruder.send_to(&packet(0, &[0x00; 160]), to).unwrap();
        phone.send_to(&packet(101, &[1, 0, 0, 160]), to).unwrap();
        phone.send_to(&packet(18, &[1, 2, 3]), to).unwrap();
        phone.send_to(&[0xff; 5], to).unwrap();
        let c = received(&counts, 8).await;
        // The caller's address is not known for a while: nowhere to send.
        caller_dest.set(None);
        phone.send_to(&packet(0, &[0xff; 160]), to).unwrap();
        let c9 = received(&counts, 9).await;
        task.abort();

        let at_caller = drain(&caller);
        assert_eq!(at_caller.len(), 3, "the phone's three audio packets only");
        for p in &at_caller {
            let p = RtpPacket::parse(p).unwrap();
            assert_eq!(p.header.payload_type, 8, "transcoded for the caller");
        }
        assert_eq!(
            (
                c.received,
                c.relayed,
                c.unknown_source,
                c.event_refused,
                c.not_negotiated,
                c.malformed
            ),
            (8, 3, 2, 1, 1, 1),
            "{c:?}"
        );
        assert_eq!(c.received, c.relayed + c.dropped(), "{c:?}");
        assert_eq!((c9.received, c9.no_destination), (9, 1), "{c9:?}");
        assert!(rtp_metrics::foreign_packets(Leg::Agent) >= foreign_before + 2);
        assert_eq!(
            counts.caller_to_agent.snapshot().received,
            0,
            "the other direction"
        );
    }
}
