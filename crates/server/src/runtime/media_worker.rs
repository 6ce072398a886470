//! The media workers: a few OS threads (one per CPU core by default), each with one
//! clock (the media crate's `Pacer`) driving the outbound RTP streams it owns. Calls
//! talk to them by message; a worker sends the packets and reports finished clips back
//! to the call that queued them.
//!
//! A stream's first packet (the greeting's start) is sent by the call's task right
//! after the 200 OK ([`send_first`]); the worker takes the stream over from the next.
//! Each stream keeps its own 20 ms grid from that first packet, so a worker's streams
//! are spread over the period and it wakes about once per millisecond to send the few
//! that are due, instead of sending every stream at once on a shared tick. Workers are
//! plain threads that sleep on their command channel with a timeout, so nothing else the
//! server does — TTS resampling, HTTP, SQLite, the async runtime's scheduling — can
//! delay a packet. A worker sends on the call's own RTP socket (non-blocking; the
//! call's task only reads from it).
//!
//! Each worker records how late it runs: at every wake-up, how long ago its most overdue
//! packet was due. The worst since the last look is read by the load governor
//! ([`MediaWorker::take_lateness`], `runtime/admission.rs`).

use super::priority::{self, MediaPriority};
use super::rtp_socket::RtpSocket;
use ringdesk_media::stream::MAX_PACKET;
use ringdesk_media::{Clip, OutboundStream, Pacer, StreamEvent, StreamId, Transmit};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Shortest sleep between two wake-ups of a worker: streams due within it are sent
/// together (each at most half of it early or late).
const QUANTUM: Duration = Duration::from_millis(1);
/// Packets due this soon are sent in the current wake-up.
const LEAD: Duration = Duration::from_micros(500);
/// Most workers, whatever the configuration says.
pub const MAX_WORKERS: usize = 64;

/// What a call hears back from the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    pub tag: u64,
    /// False when the clip was stopped before its end.
    pub completed: bool,
}

/// A stream: which worker owns it, and its handle there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaStream {
    worker: usize,
    id: StreamId,
}

/// Requests to a worker.
pub enum Command {
    Add {
        /// The stream, its first packet already sent (see [`send_first`]).
        stream: Box<OutboundStream>,
        /// When the first packet was sent: the next is due one period after.
        sent_at: Instant,
        socket: Arc<RtpSocket>,
        dest: Option<SocketAddr>,
        events: mpsc::UnboundedSender<Played>,
        reply: oneshot::Sender<StreamId>,
    },
    /// Queue clips after what is queued; each reports with `tag`.
    Play {
        id: MediaStream,
        clips: Vec<Clip>,
        tag: u64,
    },
    /// Loop a clip until stopped.
    Loop {
        id: MediaStream,
        clip: Clip,
        tag: u64,
    },
    /// Stop everything queued on the stream (barge-in).
    Stop {
        id: MediaStream,
    },
    /// Send to this address from now on (symmetric RTP latch, re-INVITE).
    Dest {
        id: MediaStream,
        addr: Option<SocketAddr>,
    },
    /// Send nothing, keeping the stream (the call is bridged to an agent).
    Pause {
        id: MediaStream,
    },
    /// Send again after [`Command::Pause`] (the agent left, the caller stays).
    Resume {
        id: MediaStream,
    },
    Remove {
        id: MediaStream,
    },
}

impl Command {
    /// The stream a command (other than `Add`) is about.
    fn stream(&self) -> Option<MediaStream> {
        match self {
            Command::Add { .. } => None,
            Command::Play { id, .. }
            | Command::Loop { id, .. }
            | Command::Stop { id }
            | Command::Dest { id, .. }
            | Command::Pause { id }
            | Command::Resume { id }
            | Command::Remove { id } => Some(*id),
        }
    }
}

struct Sink {
    socket: Arc<RtpSocket>,
    dest: Option<SocketAddr>,
    events: mpsc::UnboundedSender<Played>,
}

struct Worker {
    tx: Sender<Command>,
    /// Streams it owns (new streams go to the least loaded worker).
    streams: Arc<AtomicUsize>,
    /// Worst lateness (µs) of its wake-ups since the governor last read it.
    late_us: Arc<AtomicU64>,
}

/// A handle for sending commands to the workers.
#[derive(Clone)]
pub struct MediaWorker {
    workers: Arc<[Worker]>,
    /// The scheduling priority the threads got (the lowest among them).
    priority: MediaPriority,
}

impl MediaWorker {
    /// Starts `workers` threads (0: one per CPU core, at most [`MAX_WORKERS`]), each
    /// asking for scheduling priority `want` (see [`priority`]).
    pub fn spawn(workers: usize, want: MediaPriority) -> std::io::Result<MediaWorker> {
        let n = match workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .clamp(1, MAX_WORKERS);
        let mut list = Vec::with_capacity(n);
        let (applied_tx, applied_rx) = channel();
        for i in 0..n {
            let (tx, rx) = channel();
            let streams = Arc::new(AtomicUsize::new(0));
            let count = streams.clone();
            let late_us = Arc::new(AtomicU64::new(0));
            let late = late_us.clone();
            let applied_tx = applied_tx.clone();
            std::thread::Builder::new()
                .name(format!("ringdesk-media-{i}"))
                .spawn(move || {
                    let _ = applied_tx.send(priority::apply(want));
                    run(&rx, &count, &late)
                })?;
            list.push(Worker {
                tx,
                streams,
                late_us,
            });
        }
        drop(applied_tx);
        // Each thread reports once, before its loop.
        let priority = applied_rx
            .iter()
            .take(n)
            .fold(want, |lowest, got| lowest.max(got));
        Ok(MediaWorker {
            workers: list.into(),
            priority,
        })
    }

    /// The scheduling priority the media threads run at.
    pub fn priority(&self) -> MediaPriority {
        self.priority
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The worst lateness of any worker since the last call: how long after its due time
    /// the most overdue packet of a wake-up started being sent. Resets the record. A
    /// worker stalled for the whole interval reports its lateness at its next wake-up.
    pub fn take_lateness(&self) -> Duration {
        let worst = self
            .workers
            .iter()
            .map(|w| w.late_us.swap(0, Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        Duration::from_micros(worst)
    }

    /// Hands a stream whose first packet was sent at `sent_at` ([`send_first`]) to the
    /// least loaded worker, which sends the rest; `None` when the worker has stopped.
    pub async fn add(
        &self,
        stream: OutboundStream,
        sent_at: Instant,
        socket: Arc<RtpSocket>,
        dest: Option<SocketAddr>,
        events: mpsc::UnboundedSender<Played>,
    ) -> Option<MediaStream> {
        let (worker, w) = self
            .workers
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| w.streams.load(Ordering::Relaxed))?;
        let (reply, rx) = oneshot::channel();
        w.tx.send(Command::Add {
            stream: Box::new(stream),
            sent_at,
            socket,
            dest,
            events,
            reply,
        })
        .ok()?;
        let id = rx.await.ok()?;
        Some(MediaStream { worker, id })
    }

    /// Sends a command to the worker owning its stream.
    pub fn send(&self, cmd: Command) {
        let Some(stream) = cmd.stream() else {
            return;
        };
        if let Some(w) = self.workers.get(stream.worker) {
            // A worker only stops when the server does.
            let _ = w.tx.send(cmd);
        }
    }
}

/// One worker's loop: commands as they come, packets when due.
fn run(rx: &Receiver<Command>, count: &AtomicUsize, late: &AtomicU64) {
    let mut pacer = Pacer::new(Instant::now());
    let mut sinks: HashMap<StreamId, Sink> = HashMap::new();
    let mut out: Vec<Transmit> = Vec::new();
    let mut last_poll = Instant::now();
    loop {
        // Packets first: a steady stream of commands must not hold them back.
        let wake = pacer.next_due().map(|due| {
            due.checked_sub(LEAD)
                .unwrap_or(due)
                .max(last_poll + QUANTUM)
        });
        let now = Instant::now();
        let cmd = match wake {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(wake) if wake <= now => Err(RecvTimeoutError::Timeout),
            Some(wake) => rx.recv_timeout(wake - now),
        };
        match cmd {
            Ok(cmd) => {
                handle(&mut pacer, &mut sinks, cmd, count);
                report(&mut pacer, &sinks);
            }
            Err(RecvTimeoutError::Timeout) => {
                last_poll = Instant::now();
                send_due(&mut pacer, &sinks, &mut out, last_poll, late);
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Sends every packet due by `now` (plus the lead) and reports finished clips; records
/// in `late` how overdue the earliest of them was.
fn send_due(
    pacer: &mut Pacer,
    sinks: &HashMap<StreamId, Sink>,
    out: &mut Vec<Transmit>,
    now: Instant,
    late: &AtomicU64,
) {
    if let Some(due) = pacer.next_due() {
        let behind = now.saturating_duration_since(due).as_micros();
        late.fetch_max(u64::try_from(behind).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
    out.clear();
    pacer.poll(now + LEAD, out);
    for t in out.iter() {
        if let Some(sink) = sinks.get(&t.stream) {
            if let Some(dest) = sink.dest {
                // UDP: a full socket buffer drops the packet, as the network would.
                let _ = sink.socket.try_send_to(t.packet(), dest);
            }
        }
    }
    report(pacer, sinks);
}

/// Hands the pacer's collected events to the calls.
fn report(pacer: &mut Pacer, sinks: &HashMap<StreamId, Sink>) {
    while let Some((id, event)) = pacer.poll_event() {
        if let (Some(sink), StreamEvent::Played(p)) = (sinks.get(&id), event) {
            let _ = sink.events.send(Played {
                tag: p.tag,
                completed: p.completed,
            });
        }
    }
}

/// Applies a command.
fn handle(
    pacer: &mut Pacer,
    sinks: &mut HashMap<StreamId, Sink>,
    cmd: Command,
    count: &AtomicUsize,
) {
    match cmd {
        Command::Add {
            stream,
            sent_at,
            socket,
            dest,
            events,
            reply,
        } => {
            let id = pacer.add_started(sent_at, *stream);
            // What the first packet caused (a prompt shorter than a packet ended).
            pacer.collect_events(id);
            sinks.insert(
                id,
                Sink {
                    socket,
                    dest,
                    events,
                },
            );
            count.fetch_add(1, Ordering::Relaxed);
            let _ = reply.send(id);
        }
        Command::Play { id, clips, tag } => {
            if let Some(s) = pacer.stream_mut(id.id) {
                if !queue_clips(s, clips, tag) {
                    tracing::warn!("playout queue full; prompt dropped");
                }
            }
        }
        Command::Loop { id, clip, tag } => {
            if let Some(s) = pacer.stream_mut(id.id) {
                let _ = s.play_loop(clip, tag);
            }
        }
        Command::Stop { id } => {
            if let Some(s) = pacer.stream_mut(id.id) {
                s.stop_playout();
            }
            pacer.collect_events(id.id);
        }
        Command::Dest { id, addr } => {
            if let Some(sink) = sinks.get_mut(&id.id) {
                sink.dest = addr;
            }
        }
        Command::Pause { id } => {
            pacer.pause_stream(Instant::now(), id.id);
        }
        Command::Resume { id } => {
            pacer.resume_stream(Instant::now(), id.id);
        }
        Command::Remove { id } => {
            if pacer.remove_stream(id.id).is_some() {
                count.fetch_sub(1, Ordering::Relaxed);
            }
            // Events of the removed stream go out before its sink does.
            report(pacer, sinks);
            sinks.remove(&id.id);
        }
    }
}

/// Queues `clips` after what the stream plays, each reported with `tag`; false when the
/// playout queue filled up (the clips from there on are dropped).
fn queue_clips(stream: &mut OutboundStream, clips: Vec<Clip>, tag: u64) -> bool {
    clips.into_iter().all(|clip| stream.play(clip, tag).is_ok())
}

/// Starts a stream on the calling thread: queues `first` (the greeting, reported with
/// its tag) and sends the first packet at once to `dest`, so that it leaves right after
/// the 200 OK without waiting for a media thread to wake. Returns when it was sent: hand
/// the stream to [`MediaWorker::add`] with it.
pub fn send_first(
    stream: &mut OutboundStream,
    first: Option<(Vec<Clip>, u64)>,
    socket: &RtpSocket,
    dest: Option<SocketAddr>,
) -> Instant {
    if let Some((clips, tag)) = first {
        if !queue_clips(stream, clips, tag) {
            tracing::warn!("playout queue full; greeting cut short");
        }
    }
    let mut buf = [0u8; MAX_PACKET];
    let len = stream.produce(&mut buf);
    let sent_at = Instant::now();
    if let (Some(dest), Some(packet)) = (dest, buf.get(..len)) {
        // UDP: a full socket buffer drops the packet, as the network would.
        let _ = socket.try_send_to(packet, dest);
    }
    sent_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringdesk_media::{Codec, RtpPacket, StreamConfig};

    fn config(ssrc: u32) -> StreamConfig {
        StreamConfig {
            codec: Codec::Pcmu,
            telephone_event_pt: 101,
            ssrc,
            initial_sequence: 1,
            initial_timestamp: 0,
        }
    }

    fn socket() -> Arc<RtpSocket> {
        let s = RtpSocket::bind(
            [127, 0, 0, 1].into(),
            super::super::rtp_metrics::Leg::Caller,
        )
        .unwrap();
        s.secure(None).unwrap();
        s
    }

    /// Reads packets until `n` arrived (or 5 s passed); returns (ssrc, seq) pairs.
    fn receive(rx: &std::net::UdpSocket, n: usize) -> Vec<(u32, u16)> {
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while got.len() < n {
            let Ok(len) = rx.recv(&mut buf) else { break };
            let p = RtpPacket::parse(&buf[..len]).unwrap();
            got.push((p.header.ssrc, p.header.sequence));
        }
        got
    }

    #[tokio::test]
    async fn streams_spread_over_workers_send_in_sequence_and_stop_when_removed() {
        let media = MediaWorker::spawn(3, MediaPriority::Normal).unwrap();
        assert_eq!(media.workers(), 3);
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dest = rx.local_addr().unwrap();
        let mut streams = Vec::new();
        for ssrc in 0..6u32 {
            let (tx, _events) = mpsc::unbounded_channel();
            let socket = socket();
            let mut stream = OutboundStream::new(config(ssrc));
            let sent_at = send_first(&mut stream, None, &socket, Some(dest));
            let s = media
                .add(stream, sent_at, socket, Some(dest), tx)
                .await
                .unwrap();
            streams.push(s);
        }
        // Least loaded first: two streams on each of the three workers.
        for w in 0..3 {
            assert_eq!(streams.iter().filter(|s| s.worker == w).count(), 2);
            assert_eq!(media.workers[w].streams.load(Ordering::Relaxed), 2);
        }
        // Every stream sends consecutive sequence numbers from its first.
        let got = receive(&rx, 6 * 5);
        assert_eq!(got.len(), 30);
        for ssrc in 0..6u32 {
            let seqs: Vec<u16> = got.iter().filter(|g| g.0 == ssrc).map(|g| g.1).collect();
            assert!(!seqs.is_empty(), "stream {ssrc} sent nothing");
            let expected: Vec<u16> = (1..=seqs.len() as u16).collect();
            assert_eq!(seqs, expected, "stream {ssrc}");
        }
        for s in &streams {
            media.send(Command::Remove { id: *s });
        }
        // Give the workers a moment, drain, then nothing more may arrive.
        std::thread::sleep(Duration::from_millis(100));
        rx.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 512];
        while rx.recv(&mut buf).is_ok() {}
        std::thread::sleep(Duration::from_millis(100));
        assert!(rx.recv(&mut buf).is_err(), "a removed stream still sends");
        for w in 0..3 {
            assert_eq!(media.workers[w].streams.load(Ordering::Relaxed), 0);
        }
    }

    #[tokio::test]
    async fn the_first_packet_leaves_from_the_caller_and_the_worker_continues_a_period_later() {
        let media = MediaWorker::spawn(1, MediaPriority::Normal).unwrap();
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dest = rx.local_addr().unwrap();
        let socket = socket();
        let (tx, mut events) = mpsc::unbounded_channel();
        let mut stream = OutboundStream::new(config(42));
        let greeting = Clip::from_pcm(&[1000i16; 480], 8000).unwrap(); // 60 ms
        let sent_at = send_first(&mut stream, Some((vec![greeting], 7)), &socket, Some(dest));
        // Sent before the worker knows the stream.
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let len = rx.recv(&mut buf).unwrap();
        let first = RtpPacket::parse(&buf[..len]).unwrap().header;
        assert_eq!((first.ssrc, first.sequence), (42, 1));
        assert!(first.marker);
        let s = media
            .add(stream, sent_at, socket, Some(dest), tx)
            .await
            .unwrap();
        // The worker sends from sequence 2, one period after the first, not at once.
        let len = rx.recv(&mut buf).unwrap();
        let arrived = Instant::now();
        let second = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!((second.header.ssrc, second.header.sequence), (42, 2));
        assert_eq!(second.header.timestamp, first.timestamp + 160);
        assert!(
            arrived >= sent_at + Duration::from_millis(19),
            "second packet {:?} after the first",
            arrived - sent_at
        );
        // The greeting (60 ms: this packet and two more) is reported once, completed.
        let played = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            played,
            Played {
                tag: 7,
                completed: true
            }
        );
        media.send(Command::Remove { id: s });
    }

    #[test]
    fn lateness_is_how_overdue_the_earliest_packet_was_worst_kept_until_read() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        pacer.add_stream(t0, config(1));
        let late = AtomicU64::new(0);
        let mut out = Vec::new();
        let sinks = HashMap::new();
        // First packet due at t0, the wake-up comes 30 ms after.
        send_due(
            &mut pacer,
            &sinks,
            &mut out,
            t0 + Duration::from_millis(30),
            &late,
        );
        assert_eq!(late.load(Ordering::Relaxed), 30_000);
        assert_eq!(out.len(), 2, "the slots at 0 and 20 ms were owed");
        // Next due at 40 ms; a wake-up 1 ms late does not lower the worst.
        send_due(
            &mut pacer,
            &sinks,
            &mut out,
            t0 + Duration::from_millis(41),
            &late,
        );
        assert_eq!(late.load(Ordering::Relaxed), 30_000);
        // On time (60 ms due, woken at 60): nothing behind.
        let fresh = AtomicU64::new(0);
        send_due(
            &mut pacer,
            &sinks,
            &mut out,
            t0 + Duration::from_millis(60),
            &fresh,
        );
        assert_eq!(fresh.load(Ordering::Relaxed), 0);

        // The governor reads the worst of all workers and resets them.
        let worker = |us| Worker {
            tx: channel().0,
            streams: Arc::new(AtomicUsize::new(0)),
            late_us: Arc::new(AtomicU64::new(us)),
        };
        let media = MediaWorker {
            workers: vec![worker(700), worker(12_000), worker(0)].into(),
            priority: MediaPriority::Normal,
        };
        assert_eq!(media.take_lateness(), Duration::from_millis(12));
        assert_eq!(media.take_lateness(), Duration::ZERO);
        media.workers[0].late_us.fetch_max(3_000, Ordering::Relaxed);
        assert_eq!(media.take_lateness(), Duration::from_millis(3));
    }

    async fn next_played(events: &mut mpsc::UnboundedReceiver<Played>) -> Played {
        tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn first_packet_carries_the_greeting_and_played_is_reported() {
        let media = MediaWorker::spawn(1, MediaPriority::High).unwrap();
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dest = rx.local_addr().unwrap();
        let samples: Vec<i16> = (0..800)
            .map(|i| ((i as f64 * 0.3).sin() * 9000.0) as i16)
            .collect();
        let clip = Clip::from_pcm(&samples, 8000).unwrap();
        let (tx, mut events) = mpsc::unbounded_channel();
        let socket = socket();
        let mut stream = OutboundStream::new(config(9));
        let first = Some((vec![clip.clone()], 77));
        let sent_at = send_first(&mut stream, first, &socket, Some(dest));
        let s = media
            .add(stream, sent_at, socket, Some(dest), tx)
            .await
            .unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let len = rx.recv(&mut buf).unwrap();
        let p = RtpPacket::parse(&buf[..len]).unwrap();
        assert!(p.header.marker);
        assert_eq!(
            p.payload,
            clip.frame(Codec::Pcmu, 0).unwrap(),
            "greeting in the first packet"
        );
        // 100 ms clip: reported complete.
        let played = next_played(&mut events).await;
        assert_eq!(
            played,
            Played {
                tag: 77,
                completed: true
            }
        );
        // Barge-in: a looped clip stopped is reported at once, not completed.
        media.send(Command::Loop {
            id: s,
            clip,
            tag: 78,
        });
        media.send(Command::Stop { id: s });
        let played = next_played(&mut events).await;
        assert_eq!(
            played,
            Played {
                tag: 78,
                completed: false
            }
        );
    }
}
