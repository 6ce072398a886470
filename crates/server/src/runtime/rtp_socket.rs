//! A call's RTP socket in the async runtime, registered for *read* readiness only.
//!
//! A `tokio::net::UdpSocket` registers for reading and writing. An RTP socket sends a
//! packet every 20 ms (from the media threads, or the bridge relay), and every packet
//! the kernel frees makes the socket writable again: the runtime's epoll was woken once
//! per packet sent, for nothing (UDP sends never wait here: a full buffer drops the
//! packet, as the network would). This wrapper asks epoll for input events only and
//! sends straight on the non-blocking socket.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

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

    /// A new socket on `ip` (any port), and a duplicate of it for the media threads to
    /// send from.
    pub fn bind(ip: IpAddr) -> io::Result<(Arc<RtpSocket>, Arc<UdpSocket>)> {
        let socket = UdpSocket::bind((ip, 0))?;
        let send = socket.try_clone()?;
        send.set_nonblocking(true)?;
        Ok((Arc::new(RtpSocket::new(socket)?), Arc::new(send)))
    }

    /// Waits for a datagram.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.try_io(|s| s.get_ref().recv_from(buf)) {
                Ok(result) => return result,
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

    #[tokio::test]
    async fn receives_and_sends_and_the_duplicate_shares_the_port() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let (a, a_send) = RtpSocket::bind(ip).unwrap();
        let (b, _) = RtpSocket::bind(ip).unwrap();
        let a_addr = a.local_addr().unwrap();
        assert_eq!(a_send.local_addr().unwrap(), a_addr);
        b.try_send_to(b"one", a_addr).unwrap();
        a_send.send_to(b"two", b.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) =
            tokio::time::timeout(std::time::Duration::from_secs(5), a.recv_from(&mut buf))
                .await
                .unwrap()
                .unwrap();
        assert_eq!((&buf[..n], from), (&b"one"[..], b.local_addr().unwrap()));
        let (n, from) =
            tokio::time::timeout(std::time::Duration::from_secs(5), b.recv_from(&mut buf))
                .await
                .unwrap()
                .unwrap();
        assert_eq!((&buf[..n], from), (&b"two"[..], a_addr));
        // Many sends in a row never make a read return without data.
        for _ in 0..100 {
            a_send.send_to(b"x", b.local_addr().unwrap()).unwrap();
        }
        for _ in 0..100 {
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"x");
        }
    }
}
