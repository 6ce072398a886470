//! Receiver threads: each owns one media socket (advertised in many calls' SDP), reads
//! ringdesk's RTP in batches with kernel timestamps, and keeps per-stream timing records
//! keyed by ringdesk's source address. Packets count for timing only inside the window.

use crate::net::{self, Batch};
use crate::rtp;
use crate::stats::{StreamRec, Streams};
use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Most distinct streams one receiver tracks (more are counted as strays).
pub const MAX_STREAMS: usize = 40_000;

/// The measurement window, in kernel-timestamp ns; 0 = not started / not ended.
#[derive(Debug, Default)]
pub struct Window {
    pub start_ns: AtomicI64,
    pub end_ns: AtomicI64,
}

impl Window {
    fn contains(&self, at: i64) -> bool {
        let s = self.start_ns.load(Ordering::Relaxed);
        let e = self.end_ns.load(Ordering::Relaxed);
        s != 0 && at >= s && (e == 0 || at < e)
    }
}

/// What a receiver hands back when stopped.
#[derive(Debug, Default)]
pub struct Received {
    pub streams: Streams,
    /// Datagrams that were not RTP or came from one stream too many.
    pub strays: u64,
}

/// Starts a receiver on `sock` until `stop` is set.
pub fn spawn(
    sock: Arc<UdpSocket>,
    window: Arc<Window>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<io::Result<Received>>> {
    std::thread::Builder::new()
        .name("rtp-rx".into())
        .spawn(move || {
            realtime_below_ringdesk();
            run(&sock, &window, &stop)
        })
}

/// Receivers run SCHED_FIFO at priority 5 when permitted (ringdesk's media threads ask
/// for 10): arrival times come from the kernel, so a starved receiver would not skew
/// them, but on a saturated machine it would fall behind and its socket buffers would
/// overflow, which reads as packets ringdesk never sent. Without the privilege nothing
/// changes.
fn realtime_below_ringdesk() {
    let param = libc::sched_param { sched_priority: 5 };
    // SAFETY: the calling thread, a valid sched_param.
    let _ = unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
}

/// Pause after a read that emptied the socket. The receiver drains its sockets every
/// millisecond instead of sleeping on them: on loopback, a sleeping reader makes the
/// *sender's* `sendto` pay for waking it up for every datagram (the kernel delivers
/// inline), a cost a real network (the packet leaves by the NIC, the reader is another
/// machine) does not put on ringdesk. Arrival times are kernel timestamps taken at
/// enqueue, so reading late does not change them.
const DRAIN_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

fn run(sock: &UdpSocket, window: &Window, stop: &AtomicBool) -> io::Result<Received> {
    let mut out = Received::default();
    let mut batch = Batch::new();
    while !stop.load(Ordering::Relaxed) {
        let n = batch.recv(sock)?;
        if n < net::BATCH {
            std::thread::sleep(DRAIN_PAUSE);
        }
        for i in 0..n {
            let Some(r) = batch.get(i) else { continue };
            let Some(h) = rtp::parse(r.data) else {
                out.strays += 1;
                continue;
            };
            if !out.streams.contains_key(&r.from) && out.streams.len() >= MAX_STREAMS {
                out.strays += 1;
                continue;
            }
            let rec: &mut StreamRec = out.streams.entry(r.from).or_default();
            rec.on_packet(r.at_ns, h.sequence, h.timestamp, window.contains(r.at_ns));
        }
    }
    Ok(out)
}

/// Binds `n` media sockets on loopback (ephemeral ports).
pub fn bind_all(n: usize) -> io::Result<Vec<Arc<UdpSocket>>> {
    (0..n)
        .map(|_| {
            net::bind(
                "127.0.0.1:0".parse().map_err(io::Error::other)?,
                64 << 20,
                std::time::Duration::from_millis(100),
            )
            .map(Arc::new)
        })
        .collect()
}
