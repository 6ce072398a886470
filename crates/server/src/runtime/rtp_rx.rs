//! The receive side of one call's RTP socket: parses datagrams with the media crate's
//! inbound stream, reports digits (RFC 4733) and the latched source address (symmetric
//! RTP) to the call task.

use super::bridge::{self, Relay, Source};
use super::call::Msg;
use super::rtp_socket::RtpSocket;
use ringdesk_media::{Codec, DtmfEvent, InboundStream};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::sync::watch;
use tokio::time::Instant;

/// Largest datagram read (bigger ones are truncated and fail to parse).
const MAX_DATAGRAM: usize = 2048;

/// Runs until the call task drops its receiver or the socket fails.
pub async fn receive(
    socket: Arc<RtpSocket>,
    codec: Codec,
    telephone_event_pt: Option<u8>,
    signalled: Option<SocketAddr>,
    tx: mpsc::UnboundedSender<Msg>,
    bridge_to: watch::Receiver<Option<Arc<Relay>>>,
) {
    let src = Source {
        codec,
        telephone_event_pt,
    };
    let mut relayed = Vec::with_capacity(MAX_DATAGRAM);
    let mut inbound = InboundStream::new(codec, telephone_event_pt, signalled);
    let mut latched = inbound.remote();
    let mut buf = [0u8; MAX_DATAGRAM];
    loop {
        let dtmf_timeout = inbound.poll_timeout().map(Instant::from_std);
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) => {
                    let data = buf.get(..n).unwrap_or(&[]);
                    // Bridged: the caller's audio and keys go on to the agent.
                    if let Some(out) = bridge_to.borrow().as_ref() {
                        if inbound.remote().is_none_or(|r| r == from)
                            && bridge::rewrite(data, src, out, &mut relayed)
                        {
                            let _ = out.socket.try_send_to(&relayed, out.dest);
                        }
                    }
                    // Malformed packets are dropped: the network is not trusted.
                    let _ = inbound.handle_datagram(Instant::now().into_std(), from, data);
                }
                Err(e) => {
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
                if tx.send(Msg::Latched(addr)).is_err() {
                    return;
                }
            }
        }
    }
}
