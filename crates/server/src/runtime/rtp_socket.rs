//! A call's RTP socket in the async runtime, registered for *read* readiness only, and
//! where a leg's SRTP happens (SDES keys from its SDP: every packet sent on the socket is
//! protected, every packet received is authenticated and decrypted before anyone reads it,
//! so the media threads, the receive task and the bridge handle plain RTP only). A socket
//! sends and receives nothing until its leg's keys (or their absence) are set: a leg that
//! negotiated SRTP can never leak a packet in the clear.
//!
//! A `tokio::net::UdpSocket` registers for reading and writing. An RTP socket sends a
//! packet every 20 ms (from the media threads, or the bridge relay), and every packet
//! the kernel frees makes the socket writable again: the runtime's epoll was woken once
//! per packet sent, for nothing (UDP sends never wait here: a full buffer drops the
//! packet, as the network would). This wrapper asks epoll for input events only and
//! sends straight on the non-blocking socket.

use super::rtp_metrics::{self, Leg};
use ringdesk_media::{SrtpError, SrtpReceiver, SrtpSender};
use ringdesk_sip::SrtpKeys;
use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Largest datagram received; longer ones are dropped (20 ms of G.711 is 172 bytes).
pub const MAX_DATAGRAM: usize = 2048;

thread_local! {
    /// One receive buffer per thread, lent to each read in turn: a call's receive task
    /// holds no buffer while it waits (the extra byte tells a too-long datagram).
    static RECV_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; MAX_DATAGRAM + 1].into());
    /// One buffer per thread for a packet being protected or unprotected.
    static CRYPT_BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(MAX_DATAGRAM + 16));
}

/// Runs `f` with this thread's SRTP buffer (a fresh one if it is not available).
fn with_crypt_buffer<R>(mut f: impl FnMut(&mut Vec<u8>) -> R) -> R {
    let lent = CRYPT_BUF.try_with(|cell| cell.try_borrow_mut().ok().map(|mut buf| f(&mut buf)));
    match lent {
        Ok(Some(r)) => r,
        _ => f(&mut Vec::with_capacity(MAX_DATAGRAM + 16)),
    }
}

/// How a leg's packets are carried.
#[derive(Debug)]
enum Security {
    /// Plain RTP (negotiated so).
    Plain,
    /// SRTP with the leg's keys.
    Srtp(Box<Srtp>),
}

/// A leg's SRTP state: one context per direction, each used by one task or thread at a
/// time (the lock is uncontended).
#[derive(Debug)]
struct Srtp {
    send: Mutex<SrtpSender>,
    receive: Mutex<SrtpReceiver>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned context is still whole: protect/unprotect change it only on success.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` with this thread's receive buffer (a fresh one if it is not available).
fn with_recv_buffer<R>(mut f: impl FnMut(&mut [u8]) -> R) -> R {
    let lent = RECV_BUF.try_with(|cell| cell.try_borrow_mut().ok().map(|mut buf| f(&mut buf)));
    match lent {
        Ok(Some(r)) => r,
        _ => f(&mut vec![0; MAX_DATAGRAM + 1]),
    }
}

/// Datagrams a socket read and dropped before anyone saw them, since it was made (a
/// bridge counts the difference between its start and its end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketDrops {
    /// Failed SRTP authentication (also in `rtp_metrics`, process-wide).
    pub srtp_failed: u64,
    /// Longer than [`MAX_DATAGRAM`].
    pub too_long: u64,
}

impl SocketDrops {
    /// What was dropped after `earlier`.
    pub fn since(self, earlier: SocketDrops) -> SocketDrops {
        SocketDrops {
            srtp_failed: self.srtp_failed.saturating_sub(earlier.srtp_failed),
            too_long: self.too_long.saturating_sub(earlier.too_long),
        }
    }
}

/// A non-blocking UDP socket whose reads are awaited and whose sends never wait.
#[derive(Debug)]
pub struct RtpSocket {
    fd: AsyncFd<UdpSocket>,
    /// Which side of the call this socket serves (for the SRTP failure counter).
    leg: Leg,
    /// Set once, when the leg's media is negotiated; until then nothing passes.
    security: OnceLock<Security>,
    /// Datagrams dropped here: failed SRTP, too long (bumped by the one reading task).
    srtp_failed: AtomicU64,
    too_long: AtomicU64,
}

impl RtpSocket {
    /// Wraps a bound socket (made non-blocking) for `leg`. Must run inside the tokio
    /// runtime. Nothing is sent or received until [`RtpSocket::secure`] is called.
    pub fn new(socket: UdpSocket, leg: Leg) -> io::Result<RtpSocket> {
        socket.set_nonblocking(true)?;
        // SAFETY: the std socket owns its descriptor, which stays open and the same until
        // the AsyncFd (owning the socket) is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(RtpSocket {
            fd,
            leg,
            security: OnceLock::new(),
            srtp_failed: AtomicU64::new(0),
            too_long: AtomicU64::new(0),
        })
    }

    /// A new socket on `ip` (any port), shared by the call's receive task and the media
    /// thread that sends its packets (one descriptor per call: the process's file limit
    /// bounds the calls up at once). Call [`RtpSocket::secure`] once the SDP is done.
    pub fn bind(ip: IpAddr, leg: Leg) -> io::Result<Arc<RtpSocket>> {
        Ok(Arc::new(RtpSocket::new(UdpSocket::bind((ip, 0))?, leg)?))
    }

    /// Sets how the leg's packets are carried, from its negotiated media: SRTP with
    /// `keys`, or plain RTP when `None`. Only the first call counts.
    pub fn secure(&self, keys: Option<&SrtpKeys>) -> io::Result<()> {
        let security = match keys {
            None => Security::Plain,
            Some(keys) => {
                let bad = |e: SrtpError| io::Error::other(e.to_string());
                Security::Srtp(Box::new(Srtp {
                    send: Mutex::new(SrtpSender::new(keys.suite, &keys.send).map_err(bad)?),
                    receive: Mutex::new(SrtpReceiver::new(keys.suite, &keys.receive).map_err(bad)?),
                }))
            }
        };
        let _ = self.security.set(security);
        Ok(())
    }

    /// Datagrams dropped on this socket so far, before anyone saw them.
    pub fn drops(&self) -> SocketDrops {
        SocketDrops {
            srtp_failed: self.srtp_failed.load(Ordering::Relaxed),
            too_long: self.too_long.load(Ordering::Relaxed),
        }
    }

    /// Whether the leg's media is SRTP.
    pub fn is_srtp(&self) -> bool {
        matches!(self.security.get(), Some(Security::Srtp(_)))
    }

    /// Waits for a datagram and hands it, with its source, to `f`. The bytes live in a
    /// buffer of the thread, so a waiting task holds none; datagrams longer than
    /// [`MAX_DATAGRAM`] are dropped. On an SRTP leg `f` sees the decrypted packet, and
    /// packets that fail authentication (forged, replayed, plain) are dropped and counted
    /// (process-wide and in [`RtpSocket::drops`], as are the datagrams too long).
    pub async fn recv_with<R>(&self, mut f: impl FnMut(&[u8], SocketAddr) -> R) -> io::Result<R> {
        loop {
            let mut ready = self.fd.readable().await?;
            let got = ready.try_io(|s| {
                with_recv_buffer(|buf| {
                    let (n, from) = s.get_ref().recv_from(buf)?;
                    let Some(data) = buf.get(..n).filter(|_| n <= MAX_DATAGRAM) else {
                        self.too_long.fetch_add(1, Ordering::Relaxed);
                        return Ok(None);
                    };
                    Ok(match self.security.get() {
                        None => None,
                        Some(Security::Plain) => Some(f(data, from)),
                        Some(Security::Srtp(srtp)) => with_crypt_buffer(|plain| {
                            match lock(&srtp.receive).unprotect(data, plain) {
                                Ok(()) => Some(f(plain, from)),
                                Err(_) => {
                                    rtp_metrics::srtp_rejected(self.leg);
                                    self.srtp_failed.fetch_add(1, Ordering::Relaxed);
                                    None
                                }
                            }
                        }),
                    })
                })
            });
            match got {
                Ok(Ok(Some(r))) => return Ok(r),
                // Too long: dropped.
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e),
                // Spurious readiness: wait again.
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends at once (protected first on an SRTP leg); a full socket buffer is an error
    /// (the packet is dropped), and so is a send before the leg's media is negotiated.
    pub fn try_send_to(&self, buf: &[u8], dest: SocketAddr) -> io::Result<usize> {
        match self.security.get() {
            Some(Security::Plain) => self.fd.get_ref().send_to(buf, dest),
            Some(Security::Srtp(srtp)) => with_crypt_buffer(|out| {
                lock(&srtp.send)
                    .protect(buf, out)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                self.fd.get_ref().send_to(out, dest)
            }),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the leg's media is not negotiated yet",
            )),
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(ip: IpAddr) -> Arc<RtpSocket> {
        let s = RtpSocket::bind(ip, Leg::Caller).unwrap();
        s.secure(None).unwrap();
        s
    }

    async fn recv(s: &RtpSocket) -> (Vec<u8>, SocketAddr) {
        let read = s.recv_with(|data, from| (data.to_vec(), from));
        tokio::time::timeout(std::time::Duration::from_secs(5), read)
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn receives_and_sends_from_another_thread_on_one_descriptor() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let a = plain(ip);
        let b = plain(ip);
        let a_addr = a.local_addr().unwrap();
        b.try_send_to(b"one", a_addr).unwrap();
        let (a_send, to) = (a.clone(), b.local_addr().unwrap());
        std::thread::spawn(move || a_send.try_send_to(b"two", to).unwrap())
            .join()
            .unwrap();
        assert_eq!(recv(&a).await, (b"one".to_vec(), b.local_addr().unwrap()));
        assert_eq!(recv(&b).await, (b"two".to_vec(), a_addr));
        // Many sends in a row never make a read return without data.
        for _ in 0..100 {
            a.try_send_to(b"x", b.local_addr().unwrap()).unwrap();
        }
        for _ in 0..100 {
            assert_eq!(recv(&b).await.0, b"x");
        }
    }

    #[tokio::test]
    async fn a_datagram_longer_than_the_bound_is_dropped_whole() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let a = plain(ip);
        let b = plain(ip);
        let a_addr = a.local_addr().unwrap();
        b.try_send_to(&[7; MAX_DATAGRAM + 1], a_addr).unwrap();
        b.try_send_to(&[8; MAX_DATAGRAM], a_addr).unwrap();
        let (data, _) = recv(&a).await;
        assert_eq!(
            data,
            vec![8; MAX_DATAGRAM],
            "the long one never reaches the caller"
        );
        assert_eq!(
            a.drops(),
            SocketDrops {
                srtp_failed: 0,
                too_long: 1
            }
        );
    }

    fn rtp(sequence: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        ringdesk_media::RtpHeader {
            marker: false,
            payload_type: 0,
            sequence,
            timestamp: 160 * u32::from(sequence),
            ssrc: 7,
        }
        .write(payload, &mut v);
        v
    }

    #[tokio::test]
    async fn an_srtp_leg_encrypts_what_it_sends_and_drops_what_does_not_authenticate() {
        use ringdesk_media::{SrtpKey, SrtpSuite};
        let ip: IpAddr = [127, 0, 0, 1].into();
        let (ours, theirs) = (SrtpKey([1; 30]), SrtpKey([2; 30]));
        let suite = SrtpSuite::AesCm128HmacSha1_80;
        let a = RtpSocket::bind(ip, Leg::Caller).unwrap();
        let b = RtpSocket::bind(ip, Leg::Agent).unwrap();
        // Nothing leaves before the leg's media is settled.
        assert!(a
            .try_send_to(&rtp(1, &[0; 160]), b.local_addr().unwrap())
            .is_err());
        a.secure(Some(&SrtpKeys {
            suite,
            send: ours.clone(),
            receive: theirs.clone(),
        }))
        .unwrap();
        b.secure(Some(&SrtpKeys {
            suite,
            send: theirs,
            receive: ours,
        }))
        .unwrap();
        assert!(a.is_srtp() && b.is_srtp());
        // What a leaves with is not the packet it was given; b reads the packet back.
        let wire = std::net::UdpSocket::bind((ip, 0)).unwrap();
        wire.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let sent = rtp(1, &[0x55; 160]);
        a.try_send_to(&sent, wire.local_addr().unwrap()).unwrap();
        let mut seen = [0u8; 400];
        let n = wire.recv(&mut seen).unwrap();
        assert_eq!(n, sent.len() + 10);
        assert_ne!(&seen[12..172], &sent[12..], "the payload travels encrypted");
        // Plain RTP and a replay are dropped and counted; the next good packet passes.
        let before = rtp_metrics::srtp_rejected_packets(Leg::Agent);
        let to_b = b.local_addr().unwrap();
        wire.send_to(&rtp(2, &[0x55; 160]), to_b).unwrap();
        a.try_send_to(&rtp(3, &[0x66; 160]), to_b).unwrap();
        let (got, _) = recv(&b).await;
        assert_eq!(got, rtp(3, &[0x66; 160]));
        wire.send_to(&seen[..n], to_b).unwrap();
        wire.send_to(&seen[..n], to_b).unwrap();
        a.try_send_to(&rtp(4, &[0x77; 160]), to_b).unwrap();
        assert_eq!(
            recv(&b).await.0,
            rtp(1, &[0x55; 160]),
            "first copy of the capture"
        );
        assert_eq!(recv(&b).await.0, rtp(4, &[0x77; 160]), "the replay is gone");
        assert_eq!(rtp_metrics::srtp_rejected_packets(Leg::Agent) - before, 2);
        assert_eq!(b.drops().srtp_failed, 2, "and on the socket itself");
        assert_eq!(
            b.drops().since(SocketDrops {
                srtp_failed: 1,
                too_long: 0
            }),
            SocketDrops {
                srtp_failed: 1,
                too_long: 0
            }
        );
    }
}
