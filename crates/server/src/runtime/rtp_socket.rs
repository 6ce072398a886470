//! A call's RTP socket in the async runtime, registered for *read* readiness only.
//!
//! A `tokio::net::UdpSocket` registers for reading and writing. An RTP socket sends a
//! packet every 20 ms (from the media threads, or the bridge relay), and every packet
//! the kernel frees makes the socket writable again: the runtime's epoll was woken once
//! per packet sent, for nothing (UDP sends never wait here: a full buffer drops the
//! packet, as the network would). This wrapper asks epoll for input events only and
//! sends straight on the non-blocking socket.

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Largest datagram received; longer ones are dropped (20 ms of G.711 is 172 bytes).
pub const MAX_DATAGRAM: usize = 2048;

thread_local! {
    /// One receive buffer per thread, lent to each read in turn: a call's receive task
    /// holds no buffer while it waits (the extra byte tells a too-long datagram).
    static RECV_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; MAX_DATAGRAM + 1].into());
}

/// Runs `f` with this thread's receive buffer (a fresh one if it is not available).
fn with_recv_buffer<R>(mut f: impl FnMut(&mut [u8]) -> R) -> R {
    let lent = RECV_BUF.try_with(|cell| cell.try_borrow_mut().ok().map(|mut buf| f(&mut buf)));
    match lent {
        Ok(Some(r)) => r,
        _ => f(&mut vec![0; MAX_DATAGRAM + 1]),
    }
}

/// A non-blocking UDP socket whose reads are awaited and whose sends never wait.
#[derive(Debug)]
pub struct RtpSocket {
    fd: AsyncFd<UdpSocket>,
}

impl RtpSocket {
    /// Wraps a bound socket (made non-blocking). Must run inside the tokio runtime.
    pub fn new(socket: UdpSocket) -> io::Result<RtpSocket> {
        socket.set_nonblocking(true)?;
        // SAFETY: the std socket owns its descriptor, which stays open and the same until
        // the AsyncFd (owning the socket) is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(RtpSocket { fd })
    }

    /// A new socket on `ip` (any port), shared by the call's receive task and the media
    /// thread that sends its packets (one descriptor per call: the process's file limit
    /// bounds the calls up at once).
    pub fn bind(ip: IpAddr) -> io::Result<Arc<RtpSocket>> {
        Ok(Arc::new(RtpSocket::new(UdpSocket::bind((ip, 0))?)?))
    }

    /// Waits for a datagram and hands it, with its source, to `f`. The bytes live in a
    /// buffer of the thread, so a waiting task holds none; datagrams longer than
    /// [`MAX_DATAGRAM`] are dropped.
    pub async fn recv_with<R>(&self, mut f: impl FnMut(&[u8], SocketAddr) -> R) -> io::Result<R> {
        loop {
            let mut ready = self.fd.readable().await?;
            let got = ready.try_io(|s| {
                with_recv_buffer(|buf| {
                    let (n, from) = s.get_ref().recv_from(buf)?;
                    Ok((n <= MAX_DATAGRAM)
                        .then(|| buf.get(..n).map(|data| f(data, from)))
                        .flatten())
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

    /// Sends at once; a full socket buffer is an error (the packet is dropped).
    pub fn try_send_to(&self, buf: &[u8], dest: SocketAddr) -> io::Result<usize> {
        self.fd.get_ref().send_to(buf, dest)
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let a = RtpSocket::bind(ip).unwrap();
        let b = RtpSocket::bind(ip).unwrap();
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
        let a = RtpSocket::bind(ip).unwrap();
        let b = RtpSocket::bind(ip).unwrap();
        let a_addr = a.local_addr().unwrap();
        b.try_send_to(&[7; MAX_DATAGRAM + 1], a_addr).unwrap();
        b.try_send_to(&[8; MAX_DATAGRAM], a_addr).unwrap();
        let (data, _) = recv(&a).await;
        assert_eq!(
            data,
            vec![8; MAX_DATAGRAM],
            "the long one never reaches the caller"
        );
    }
}
