//! A test-owned RTP endpoint: a UDP socket whose address the caller's SDP names, so the
//! test receives every RTP packet ringdesk sends (stamped on arrival by a dedicated
//! receive thread) and can send RFC 4733 key presses back from the same socket.

use ringdesk_media::{DtmfDigit, DtmfSender, RtpHeader};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most packets kept (10 minutes of 20 ms packets).
const MAX_PACKETS: usize = 30_000;
/// Largest datagram read.
const MAX_DATAGRAM: usize = 2048;
/// How often the receive thread checks whether it should stop.
const POLL: Duration = Duration::from_millis(20);

/// One datagram as it arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// When the receive thread got it.
    pub at: Instant,
    /// Who sent it (ringdesk's RTP socket).
    pub from: SocketAddr,
    /// The datagram.
    pub data: Vec<u8>,
}

/// The endpoint; the receive thread stops when it is dropped.
pub struct RtpEndpoint {
    socket: UdpSocket,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Our outgoing stream's state (telephone events only).
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
}

impl RtpEndpoint {
    /// Binds 127.0.0.1:0 and starts receiving.
    pub fn bind() -> RtpEndpoint {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the test RTP socket");
        socket
            .set_read_timeout(Some(POLL))
            .expect("socket read timeout");
        let rx = socket.try_clone().expect("clone the RTP socket");
        let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let arrivals = arrivals.clone();
            let stop = stop.clone();
            std::thread::spawn(move || receive(rx, arrivals, stop))
        };
        RtpEndpoint {
            socket,
            arrivals,
            stop,
            thread: Some(thread),
            ssrc: 0x7e57_0001,
            sequence: 1000,
            timestamp: 80_000,
        }
    }

    /// The address to put in the SDP.
    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("RTP socket address")
    }

    /// Every datagram so far, in arrival order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// The first datagram's arrival time and sender, waiting up to `wait` for it.
    pub async fn first_arrival(&self, wait: Duration) -> Option<(Instant, SocketAddr)> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(a) = self.arrivals.lock().ok().and_then(|a| a.first().cloned()) {
                return Some((a.at, a.from));
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sends one key press of `press` to `to` as RFC 4733 telephone events (payload type
    /// `event_pt`), one packet per 20 ms, ending with the three end packets. Blocks for
    /// the length of the press (call it from a blocking task).
    pub fn press(&mut self, to: SocketAddr, event_pt: u8, key: char, press: Duration) {
        let digit = DtmfDigit::from_char(key).expect("a DTMF key");
        let mut sender = DtmfSender::new();
        sender.enqueue(digit, press).expect("one press queued");
        let start = Instant::now();
        let mut slot = 0u32;
        while sender.is_busy() {
            let slot_ts = self.timestamp;
            if let Some(p) = sender.next_packet(slot_ts) {
                let header = RtpHeader {
                    marker: p.marker,
                    payload_type: event_pt,
                    sequence: self.sequence,
                    timestamp: p.timestamp,
                    ssrc: self.ssrc,
                };
                let mut out = Vec::with_capacity(16);
                header.write(&p.payload, &mut out);
                self.socket
                    .send_to(&out, to)
                    .expect("send a telephone event");
                self.sequence = self.sequence.wrapping_add(1);
            }
            self.timestamp = self.timestamp.wrapping_add(160);
            slot += 1;
            // Pace on the 20 ms grid of the press's start.
            let due = start + Duration::from_millis(20) * slot;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
}

impl Drop for RtpEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn receive(socket: UdpSocket, arrivals: Arc<Mutex<Vec<Arrival>>>, stop: Arc<AtomicBool>) {
    let mut buf = [0u8; MAX_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let at = Instant::now();
                if let Ok(mut a) = arrivals.lock() {
                    if a.len() < MAX_PACKETS {
                        a.push(Arrival {
                            at,
                            from,
                            data: buf.get(..n).unwrap_or(&[]).to_vec(),
                        });
                    }
                }
            }
            Err(_) => continue,
        }
    }
}
