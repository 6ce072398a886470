//! UDP sockets with kernel receive timestamps (`SO_TIMESTAMPNS`) read in batches with
//! `recvmmsg`: arrival times are taken by the kernel when the datagram is queued, so
//! the receiver's own scheduling delays do not count against ringdesk.

use std::io;
use std::mem;
use std::net::{SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Largest datagram read; longer ones are truncated (and then fail to parse).
pub const MAX_DATAGRAM: usize = 2048;
/// Datagrams per `recvmmsg` call.
pub const BATCH: usize = 64;
const CTRL_LEN: usize = 64;

/// One received datagram.
pub struct Received<'a> {
    pub data: &'a [u8],
    pub from: SocketAddrV4,
    /// Kernel arrival time, ns since the epoch (CLOCK_REALTIME).
    pub at_ns: i64,
}

/// Binds `addr`, turns on kernel timestamps, asks for a large receive buffer and sets a
/// receive timeout so blocking reads wake up to check for shutdown.
pub fn bind(addr: SocketAddrV4, rcvbuf: usize, timeout: Duration) -> io::Result<UdpSocket> {
    let sock = UdpSocket::bind(addr)?;
    let fd = sock.as_raw_fd();
    set_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
    let want = i32::try_from(rcvbuf).unwrap_or(i32::MAX);
    // FORCE needs CAP_NET_ADMIN; fall back to the capped size without it.
    if set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, want).is_err() {
        set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, want)?;
    }
    sock.set_read_timeout(Some(timeout))?;
    Ok(sock)
}

fn set_int(fd: i32, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: passes a pointer to a live i32 and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reusable buffers for batched receive.
pub struct Batch {
    bufs: Vec<[u8; MAX_DATAGRAM]>,
    addrs: Vec<libc::sockaddr_in>,
    ctrl: Vec<[u8; CTRL_LEN]>,
    lens: Vec<usize>,
    stamps: Vec<i64>,
    count: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch {
            bufs: vec![[0u8; MAX_DATAGRAM]; BATCH],
            // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
            addrs: vec![unsafe { mem::zeroed() }; BATCH],
            ctrl: vec![[0u8; CTRL_LEN]; BATCH],
            lens: vec![0; BATCH],
            stamps: vec![0; BATCH],
            count: 0,
        }
    }

    /// Blocks until at least one datagram (or the socket's timeout); returns how many
    /// were read. A timeout returns 0.
    pub fn recv(&mut self, sock: &UdpSocket) -> io::Result<usize> {
        let mut iovs: Vec<libc::iovec> = self
            .bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: MAX_DATAGRAM,
            })
            .collect();
        // SAFETY: mmsghdr is plain old data; every pointer set below outlives the call.
        let mut hdrs: Vec<libc::mmsghdr> = vec![unsafe { mem::zeroed() }; BATCH];
        for (i, h) in hdrs.iter_mut().enumerate() {
            if let (Some(iov), Some(addr), Some(ctrl)) =
                (iovs.get_mut(i), self.addrs.get_mut(i), self.ctrl.get_mut(i))
            {
                h.msg_hdr.msg_name = (addr as *mut libc::sockaddr_in).cast();
                h.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                h.msg_hdr.msg_iov = iov;
                h.msg_hdr.msg_iovlen = 1;
                h.msg_hdr.msg_control = ctrl.as_mut_ptr().cast();
                h.msg_hdr.msg_controllen = CTRL_LEN as _;
            }
        }
        // SAFETY: hdrs holds BATCH initialized headers pointing at live buffers.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            self.count = 0;
            return match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        let n = usize::try_from(n).unwrap_or(0).min(BATCH);
        for (i, h) in hdrs.iter().take(n).enumerate() {
            if let Some(l) = self.lens.get_mut(i) {
                *l = (h.msg_len as usize).min(MAX_DATAGRAM);
            }
            if let Some(s) = self.stamps.get_mut(i) {
                *s = timestamp_of(&h.msg_hdr).unwrap_or_else(realtime_ns);
            }
        }
        self.count = n;
        Ok(n)
    }

    /// The i-th datagram of the last `recv`.
    pub fn get(&self, i: usize) -> Option<Received<'_>> {
        if i >= self.count {
            return None;
        }
        let len = *self.lens.get(i)?;
        let a = self.addrs.get(i)?;
        let from = SocketAddrV4::new(
            u32::from_be(a.sin_addr.s_addr).into(),
            u16::from_be(a.sin_port),
        );
        Some(Received {
            data: self.bufs.get(i)?.get(..len)?,
            from,
            at_ns: *self.stamps.get(i)?,
        })
    }
}

fn timestamp_of(msg: &libc::msghdr) -> Option<i64> {
    // SAFETY: the control buffer was filled by the kernel for this msghdr; the CMSG
    // macros stay within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                return Some(ts.tv_sec * 1_000_000_000 + ts.tv_nsec);
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

/// Now, ns since the epoch (the clock the kernel stamps with).
pub fn realtime_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_reads_datagrams_with_kernel_timestamps() {
        let any: SocketAddrV4 = "127.0.0.1:0".parse().unwrap();
        let rx = bind(any, 1 << 20, Duration::from_millis(200)).unwrap();
        let tx = UdpSocket::bind(any).unwrap();
        let before = realtime_ns();
        for i in 0..3u8 {
            tx.send_to(&[i; 20], rx.local_addr().unwrap()).unwrap();
        }
        let mut b = Batch::new();
        let mut got = Vec::new();
        while got.len() < 3 {
            let n = b.recv(&rx).unwrap();
            assert!(n > 0, "datagrams sent on loopback must arrive");
            for i in 0..n {
                let r = b.get(i).unwrap();
                assert_eq!(r.from.port(), tx.local_addr().unwrap().port());
                assert!(r.at_ns >= before - 1_000_000 && r.at_ns <= realtime_ns());
                got.push(r.data.to_vec());
            }
        }
        assert_eq!(got, vec![vec![0u8; 20], vec![1u8; 20], vec![2u8; 20]]);
        assert!(b.get(3).is_none());
    }

    #[test]
    fn timeout_returns_zero() {
        let rx = bind(
            "127.0.0.1:0".parse().unwrap(),
            1 << 16,
            Duration::from_millis(20),
        )
        .unwrap();
        assert_eq!(Batch::new().recv(&rx).unwrap(), 0);
    }
}
