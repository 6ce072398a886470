//! The bridge between a caller and an agent: relays RTP both ways, rewriting the payload
//! type, transcoding PCMU↔PCMA when the legs differ, and passing RFC 4733 events on. The
//! agent leg's packets count only from its one source (strict RTP).

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

/// Rewrites one datagram from `src` for `out` into `buf`; `false` when it is not relayed
/// (malformed, not negotiated, or events the destination did not accept).
pub fn rewrite(data: &[u8], src: Source, out: &Relay, buf: &mut Vec<u8>) -> bool {
    let Ok(p) = RtpPacket::parse(data) else {
        return false;
    };
    let mut header = p.header;
    buf.clear();
    if Some(header.payload_type) == src.telephone_event_pt {
        let Some(pt) = out.telephone_event_pt else {
            return false;
        };
        header.payload_type = pt;
        header.write(p.payload, buf);
        return true;
    }
    if Codec::from_payload_type(header.payload_type) != Some(src.codec) {
        return false;
    }
    header.payload_type = out.payload_type;
    let start = buf.len();
    header.write(p.payload, buf);
    let body_at = buf.len() - p.payload.len();
    if let Some(body) = buf.get_mut(body_at.max(start)..) {
        transcode_in_place(src.codec, out.codec, body);
    }
    true
}

/// Rewrites one datagram from `src` for `out` and sends it at once (dropped when it is not
/// relayed, or when the socket cannot take it).
pub fn relay(data: &[u8], src: Source, out: &Relay) {
    let send = |buf: &mut Vec<u8>| {
        if rewrite(data, src, out, buf) {
            let _ = out.socket.try_send_to(buf, out.dest);
        }
    };
    let lent = OUT_BUF.try_with(|cell| cell.try_borrow_mut().ok().map(|mut buf| send(&mut buf)));
    if !matches!(lent, Ok(Some(()))) {
        send(&mut Vec::new());
    }
}

/// Relays the agent's RTP to the caller until the socket fails or the task is aborted.
/// Strict RTP (`ringdesk_media::latch`): the agent leg, answered now, accepts packets
/// from the address its SDP answer names (`agent_sdp`), or from the one source learned at
/// its start (an agent behind NAT: the caller's audio then goes there, in `to_agent`);
/// packets from anywhere else are dropped and counted. `caller_media` is the caller's
/// codec, payload type and telephone-event payload type.
pub async fn agent_to_caller(
    agent_socket: Arc<RtpSocket>,
    src: Source,
    agent_sdp: SocketAddr,
    to_agent: Arc<Slot<Option<Arc<Relay>>>>,
    caller: Arc<RtpSocket>,
    caller_dest: Arc<Slot<Option<SocketAddr>>>,
    caller_media: (Codec, u8, Option<u8>),
) {
    let (codec, payload_type, telephone_event_pt) = caller_media;
    let named = (!agent_sdp.ip().is_unspecified()).then_some(agent_sdp);
    let mut latch = RemoteLatch::new(Instant::now(), named);
    loop {
        let _ = agent_socket
            .recv_with(|data, from| {
                let Ok(p) = RtpPacket::parse(data) else {
                    return;
                };
                match latch.on_packet(Instant::now(), from, p.header.sequence) {
                    LatchVerdict::Accept => {}
                    LatchVerdict::Latched => redirect(&to_agent, from),
                    LatchVerdict::Learning => return,
                    LatchVerdict::Reject => {
                        rtp_metrics::foreign_packet(Leg::Agent);
                        return;
                    }
                }
                let Some(dest) = caller_dest.with(|d| *d) else {
                    return;
                };
                let out = Relay {
                    socket: caller.clone(),
                    dest,
                    codec,
                    payload_type,
                    telephone_event_pt,
                };
                relay(data, src, &out);
            })
            .await;
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
        assert!(rewrite(&packet(0, &ulaw), src, &out, &mut buf));
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
        assert!(rewrite(&packet(101, &ev), src, &out, &mut buf));
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!((p.header.payload_type, p.payload), (96, &ev[..]));
        // Not negotiated, or garbage: dropped.
        assert!(!rewrite(&packet(18, &[1, 2, 3]), src, &out, &mut buf));
        assert!(!rewrite(&[0xff; 5], src, &out, &mut buf));
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
        assert!(rewrite(&packet(0, &audio), src, &out, &mut buf));
        assert_eq!(RtpPacket::parse(&buf).unwrap().payload, &audio[..]);
        assert!(!rewrite(&packet(101, &[1, 0, 0, 160]), src, &out, &mut buf));
    }
}
