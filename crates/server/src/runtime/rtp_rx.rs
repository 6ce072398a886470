//! The receive side of one call's RTP socket: parses datagrams with the media crate's
//! inbound stream (strict RTP: only the leg's one source counts, see
//! `ringdesk_media::latch`), reports digits (RFC 4733) and the locked source address
//! (symmetric RTP) to the call task, relays the caller's audio when bridged, and counts
//! packets from foreign sources.

use super::bridge::{self, Relay, Slot, Source};
use super::msg::Msg;
use super::rtp_metrics::{self, Leg};
use super::rtp_socket::RtpSocket;
use ringdesk_media::{Codec, DtmfEvent, InboundStream, Received};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

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
                match inbound.handle_datagram(now, from, data) {
                    Ok(Received::Audio { .. } | Received::Dtmf) => {
                        // Bridged: the caller's audio and keys go on to the agent.
                        bridge_to.with(|out| {
                            if let Some(out) = out {
                                bridge::relay(data, src, out);
                            }
                        });
                    }
                    Ok(Received::ForeignSource) => rtp_metrics::foreign_packet(Leg::Caller),
                    Ok(Received::Learning | Received::Ignored) | Err(_) => {}
                }
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
