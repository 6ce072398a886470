//! A packet capture on the loopback interface, as tcpdump would take it: an `AF_PACKET`
//! socket (Linux, needs root or CAP_NET_RAW, which the test machines have) reads every IPv4
//! packet on `lo` on a thread of its own; [`Capture::udp_to`] returns the UDP payloads sent
//! to a range of ports. Tests use it to see what travels on the wire (SRTP or plain G.711).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Most packets kept (about 10 minutes of one call both ways).
const MAX_PACKETS: usize = 200_000;

/// One captured UDP datagram.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub src: (Ipv4Addr, u16),
    pub dst: (Ipv4Addr, u16),
    pub payload: Vec<u8>,
}

/// A running capture; stops when dropped.
pub struct Capture {
    packets: Arc<Mutex<Vec<Datagram>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Starts capturing on `lo`. Panics with what to do when the socket cannot be opened.
    pub fn start() -> Capture {
        // SAFETY: plain libc calls on a descriptor this function owns; every return value
        // is checked.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM,
                i32::from((libc::ETH_P_IP as u16).to_be()),
            )
        };
        assert!(
            fd >= 0,
            "cannot open a packet capture socket ({}): the capture tests need root or CAP_NET_RAW",
            std::io::Error::last_os_error()
        );
        let index = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        assert!(index > 0, "no loopback interface");
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = (libc::ETH_P_IP as u16).to_be();
        addr.sll_ifindex = index as i32;
        let bound = unsafe {
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(
            bound,
            0,
            "cannot bind the capture socket to lo: {}",
            std::io::Error::last_os_error()
        );
        // A 100 ms receive timeout lets the thread notice the stop flag.
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
        let packets = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (packets.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !s.load(Ordering::Relaxed) {
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n <= 0 {
                    continue;
                }
                if let Some(d) = parse(&buf[..n as usize]) {
                    let mut all = p.lock().unwrap_or_else(|e| e.into_inner());
                    if all.len() < MAX_PACKETS {
                        all.push(d);
                    }
                }
            }
            unsafe { libc::close(fd) };
        });
        Capture {
            packets,
            stop,
            thread: Some(thread),
        }
    }

    /// The UDP payloads captured so far whose destination port is in `ports`.
    pub fn udp_to(&self, ports: std::ops::RangeInclusive<u16>) -> Vec<Datagram> {
        self.packets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|d| ports.contains(&d.dst.1))
            .cloned()
            .collect()
    }
}

/// Checks that at least `at_least` datagrams were captured and that each one is SRTP: a
/// 20 ms G.711 packet or an RFC 4733 event plus the 80-bit tag (plain RTP is 10 bytes
/// shorter); `what` names the stream in the message.
pub fn assert_all_srtp(datagrams: &[Datagram], at_least: usize, what: &str) {
    assert!(
        datagrams.len() >= at_least,
        "{what}: {} packets captured, expected at least {at_least}",
        datagrams.len()
    );
    let lengths: std::collections::BTreeSet<usize> =
        datagrams.iter().map(|d| d.payload.len()).collect();
    assert!(
        lengths
            .iter()
            .all(|&n| n == 12 + 160 + 10 || n == 12 + 4 + 10),
        "{what}: every packet carries an SRTP tag (audio 182 bytes, events 26): {lengths:?}"
    );
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An IPv4 packet carrying UDP → the datagram (fragments and other protocols: `None`).
fn parse(ip: &[u8]) -> Option<Datagram> {
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ip.first()? >> 4 != 4 || *ip.get(9)? != 17 || ihl < 20 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let addr = |at: usize| -> Option<Ipv4Addr> {
        let b = ip.get(at..at + 4)?;
        Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    };
    let udp = ip.get(ihl..total.min(ip.len()))?;
    let port =
        |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*udp.get(at)?, *udp.get(at + 1)?])) };
    Some(Datagram {
        src: (addr(12)?, port(0)?),
        dst: (addr(16)?, port(2)?),
        payload: udp.get(8..)?.to_vec(),
    })
}
