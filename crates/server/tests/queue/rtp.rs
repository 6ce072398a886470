//! A test-owned RTP endpoint: a UDP socket whose address a caller's or an agent's SDP
//! names. A receive thread stamps every datagram that arrives; the endpoint sends RFC 4733
//! key presses and paced G.711 tones from the same socket (symmetric RTP).

use super::tone;
use ringdesk_media::{Codec, DtmfDigit, DtmfSender, RtpHeader};
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
/// One packet's worth of time.
const PTIME: Duration = Duration::from_millis(20);
/// Samples per 20 ms packet at 8 kHz.
const FRAME: usize = 160;

/// One datagram as it arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub at: Instant,
    pub from: SocketAddr,
    pub data: Vec<u8>,
}

/// Our outgoing stream's header state, shared by presses and tones.
#[derive(Debug)]
struct Outgoing {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
}

impl Outgoing {
    fn packet(&mut self, marker: bool, pt: u8, timestamp: u32, payload: &[u8]) -> Vec<u8> {
        let header = RtpHeader {
            marker,
            payload_type: pt,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        };
        self.sequence = self.sequence.wrapping_add(1);
        let mut out = Vec::with_capacity(12 + payload.len());
        header.write(payload, &mut out);
        out
    }
}

/// The endpoint; the receive thread stops when it is dropped.
pub struct RtpEndpoint {
    socket: UdpSocket,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    out: Arc<Mutex<Outgoing>>,
}

impl RtpEndpoint {
    /// Binds 127.0.0.1:0 and starts receiving; `ssrc` tells the endpoints apart.
    pub fn bind(ssrc: u32) -> RtpEndpoint {
        RtpEndpoint::bind_on([127, 0, 0, 1].into(), ssrc)
    }

    /// Binds `ip`, any port (e.g. 127.0.0.2: a source no SDP names), and starts receiving.
    pub fn bind_on(ip: std::net::IpAddr, ssrc: u32) -> RtpEndpoint {
        let socket = UdpSocket::bind((ip, 0)).expect("bind the test RTP socket");
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
            out: Arc::new(Mutex::new(Outgoing {
                ssrc,
                sequence: 1000,
                timestamp: 80_000,
            })),
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

    /// The first datagram's sender, waiting up to `wait` for it.
    pub async fn first_sender(&self, wait: Duration) -> Option<SocketAddr> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(a) = self.arrivals.lock().ok().and_then(|a| a.first().cloned()) {
                return Some(a.from);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sends one press of `key` lasting `press` to `to` as RFC 4733 events (payload type
    /// `event_pt`), one packet per 20 ms and the three end packets. Blocks for the press
    /// (call it from a blocking task).
    pub fn press(&self, to: SocketAddr, event_pt: u8, key: char, press: Duration) {
        let digit = DtmfDigit::from_char(key).expect("a DTMF key");
        let mut sender = DtmfSender::new();
        sender.enqueue(digit, press).expect("one press queued");
        let start = Instant::now();
        let mut slot = 0u32;
        while sender.is_busy() {
            if let Ok(mut out) = self.out.lock() {
                let slot_ts = out.timestamp;
                if let Some(p) = sender.next_packet(slot_ts) {
                    let pkt = out.packet(p.marker, event_pt, p.timestamp, &p.payload);
                    self.socket
                        .send_to(&pkt, to)
                        .expect("send a telephone event");
                }
                out.timestamp = out.timestamp.wrapping_add(FRAME as u32);
            }
            slot += 1;
            sleep_until(start + PTIME * slot);
        }
    }

    /// Starts sending a `freq` Hz tone (amplitude `amplitude`) in `codec` to `to` for
    /// `length`, one 20 ms packet at a time on a thread; the handle ends with the tone.
    pub fn send_tone(
        &self,
        to: SocketAddr,
        codec: Codec,
        freq: f64,
        length: Duration,
    ) -> JoinHandle<()> {
        let socket = self.socket.try_clone().expect("clone the RTP socket");
        let out = self.out.clone();
        let samples = tone::sine(freq, tone::AMPLITUDE, length);
        std::thread::spawn(move || {
            let start = Instant::now();
            for (i, frame) in samples.chunks(FRAME).enumerate() {
                let mut payload = Vec::with_capacity(FRAME);
                codec.encode_into(frame, &mut payload);
                if let Ok(mut o) = out.lock() {
                    let ts = o.timestamp;
                    let pkt = o.packet(i == 0, codec.payload_type(), ts, &payload);
                    o.timestamp = o.timestamp.wrapping_add(FRAME as u32);
                    let _ = socket.send_to(&pkt, to);
                }
                sleep_until(start + PTIME * (i as u32 + 1));
            }
        })
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

fn sleep_until(due: Instant) {
    if let Some(wait) = due.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

fn receive(socket: UdpSocket, arrivals: Arc<Mutex<Vec<Arrival>>>, stop: Arc<AtomicBool>) {
    let mut buf = [0u8; MAX_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
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
    }
}
