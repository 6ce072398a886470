//! The receive side of one call's RTP socket: parses datagrams with the media crate's
//! inbound stream (strict RTP: only the leg's one source counts, see
//! `ringdesk_media::latch`), reports digits (RFC 4733) and the locked source address
//! (symmetric RTP) to the call task, relays the caller's audio when bridged, and counts
//! packets from foreign sources; while bridged, every datagram in the bridge's
//! `caller_to_agent` direction (`bridge_metrics.rs`), relayed or dropped and why.

use super::bridge::{self, Relay, Slot, Source};
use super::bridge_metrics::Outcome;
use super::msg::Msg;
use super::rtp_metrics::{self, Leg};
use super::rtp_socket::RtpSocket;
use ringdesk_media::{Codec, DtmfEvent, InboundStream, Received, RtpPacket};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Why the caller's stream passed `data` over (`Received::Ignored`): a telephone event it
/// could not read, or a payload type not negotiated.
fn ignored(data: &[u8], telephone_event_pt: Option<u8>) -> Outcome {
    let pt = RtpPacket::parse(data).ok().map(|p| p.header.payload_type);
    if pt.is_some() && pt == telephone_event_pt {
        Outcome::Malformed
    } else {
        Outcome::NotNegotiated
    }
}

/// Runs until the call task drops its receiver or the socket fails. `signalled` is the
/// address the caller's SDP names, which the call task changes on a re-INVITE.
///
/// The task holds no datagram buffer while it waits (the socket lends one of its
/// thread's), so a call on hold costs only its stream state here.
pub async fn receive(
    socket: Arc<RtpSocket>,
    codec: Codec,
    telephone_event_pt: Option<u8>,
    signalled: Arc<Slot<Option<SocketAddr>>>,
    tx: mpsc::UnboundedSender<Msg>,
    bridge_to: Arc<Slot<Option<Arc<Relay>>>>,
) {
    let src = Source {
        codec,
        telephone_event_pt,
    };
    let answered = Instant::now().into_std();
    let mut inbound =
        InboundStream::new(answered, codec, telephone_event_pt, signalled.with(|s| *s));
    let mut latched = inbound.remote();
    loop {
        let dtmf_timeout = inbound.poll_timeout().map(Instant::from_std);
        tokio::select! {
            r = socket.recv_with(|data, from| {
                let now = Instant::now().into_std();
                let sdp = signalled.with(|s| *s);
                if sdp != inbound.signalled() {
                    inbound.set_signalled(now, sdp);
                }
                // Malformed packets are dropped: the network is not trusted.
                let received = inbound.handle_datagram(now, from, data);
                if let Ok(Received::ForeignSource) = received {
                    rtp_metrics::foreign_packet(Leg::Caller);
                }
                // Bridged: the caller's audio and keys go on to the agent, and every
                // datagram is counted for the bridge.
                bridge_to.with(|out| {
                    if let Some(out) = out {
                        let outcome = match received {
                            Ok(Received::Audio { .. } | Received::Dtmf) => {
                                bridge::relay(data, src, out)
                            }
                            Ok(Received::ForeignSource) => Outcome::UnknownSource,
                            Ok(Received::Learning) => Outcome::Learning,
                            Ok(Received::Ignored) => ignored(data, telephone_event_pt),
                            Err(_) => Outcome::Malformed,
                        };
                        out.counts.caller_to_agent.count(outcome);
                    }
                });
            }) => {
                if let Err(e) = r {
                    // ICMP port unreachable surfaces here on Linux; keep listening.
                    tracing::trace!("RTP receive: {e}");
                    continue;
                }
            },
            _ = async { match dtmf_timeout { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {
                inbound.handle_timeout(Instant::now().into_std());
            }
        }
        while let Some(ev) = inbound.poll_dtmf() {
            if let DtmfEvent::Digit(d) = ev {
                if tx.send(Msg::Digit(d.as_char())).is_err() {
                    return;
                }
            }
        }
        let now_latched = inbound.remote();
        if now_latched != latched {
            latched = now_latched;
            if let Some(addr) = latched {
                tracing::debug!(%addr, "caller RTP source locked");
                if tx.send(Msg::Latched(Box::new(addr))).is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bridge_metrics::BridgeCounters;
    use ringdesk_media::RtpHeader;
    use std::time::Duration;

    fn packet(sequence: u16, pt: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        RtpHeader {
            marker: false,
            payload_type: pt,
            sequence,
            timestamp: 160 * u32::from(sequence),
            ssrc: 9,
        }
        .write(payload, &mut v);
        v
    }

    fn peer(ip: [u8; 4]) -> std::net::UdpSocket {
        let s = std::net::UdpSocket::bind((std::net::IpAddr::from(ip), 0)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s
    }

    async fn until_received(counts: &BridgeCounters, n: u64) -> ringdesk_store::PacketCounts {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let c = counts.caller_to_agent.snapshot();
            if c.received >= n || Instant::now() > deadline {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn while_bridged_each_datagram_of_the_caller_leg_is_counted_once() {
        let ip = [127, 0, 0, 1];
        let leg = RtpSocket::bind(ip.into(), Leg::Caller).unwrap();
        leg.secure(None).unwrap();
        let agent_leg = RtpSocket::bind(ip.into(), Leg::Agent).unwrap();
        agent_leg.secure(None).unwrap();
        let (phone, intruder, agent) = (peer(ip), peer([127, 0, 0, 2]), peer(ip));
        let (tx, _rx) = mpsc::unbounded_channel();
        let bridge_to = Slot::new(None);
        let task = tokio::spawn(receive(
            leg.clone(),
            Codec::Pcmu,
            Some(101),
            Slot::new(Some(phone.local_addr().unwrap())),
            tx,
            bridge_to.clone(),
        ));
        let to = leg.local_addr().unwrap();
        let audio = [0x55u8; 160];
        let counts = Arc::new(BridgeCounters::default());
        bridge_to.set(Some(Arc::new(Relay {
            socket: agent_leg,
            dest: agent.local_addr().unwrap(),
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event_pt: None,
            counts: counts.clone(),
        })));
        // The caller's first packet locks the leg on it (its SDP address); then the intruder.
        phone.send_to(&packet(2, 0, &audio), to).unwrap();
        phone.send_to(&packet(3, 0, &audio), to).unwrap();
        intruder.send_to(&packet(4, 0, &audio), to).unwrap();
        // A key the agent's leg takes no events for, comfort noise, and garbage.
        phone.send_to(&packet(4, 101, &[1, 0, 0, 160]), to).unwrap();
        phone.send_to(&packet(5, 13, &[0x40]), to).unwrap();
        phone.send_to(&[0xff; 5], to).unwrap();
        let c = until_received(&counts, 6).await;
        // Unbridged: no longer counted for the bridge.
        bridge_to.set(None);
        phone.send_to(&packet(6, 0, &audio), to).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = counts.caller_to_agent.snapshot();
        task.abort();

        assert_eq!(
            (
                c.received,
                c.relayed,
                c.unknown_source,
                c.event_refused,
                c.not_negotiated,
                c.malformed
            ),
            (6, 2, 1, 1, 1, 1),
            "{c:?}"
        );
        assert_eq!(c.received, c.relayed + c.dropped(), "{c:?}");
        assert_eq!(after, c, "nothing counted once unbridged");
        let mut got = 0;
        let mut buf = [0u8; 2048];
        while agent.recv(&mut buf).is_ok() {
            got += 1;
        }
        assert_eq!(got, 2, "the agent got the caller's two audio packets only");
        assert_eq!(counts.agent_to_caller.snapshot().received, 0);
    }
}
