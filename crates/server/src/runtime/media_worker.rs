//! The media worker: one OS thread, one clock (the media crate's `Pacer`) driving every
//! outbound RTP stream of the server, 20 ms at a time. Calls talk to it by message; it
//! sends the packets and reports finished clips back to the call that queued them.
//!
//! It runs on its own thread (with its own single-threaded tokio runtime for timers and
//! channels) so that nothing else the server does — TTS resampling, HTTP, SQLite — can
//! delay a tick. It sends through a duplicate of each call's RTP socket (std, non-blocking).

use ringdesk_media::{Clip, Pacer, StreamConfig, StreamEvent, StreamId, Transmit};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// What a call hears back from the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    pub tag: u64,
    /// False when the clip was stopped before its end.
    pub completed: bool,
}

/// Requests to the worker.
pub enum Command {
    Add {
        config: StreamConfig,
        socket: Arc<UdpSocket>,
        dest: Option<SocketAddr>,
        events: mpsc::UnboundedSender<Played>,
        /// Clips to play from the very first packet (the greeting), with their tag.
        first: Option<(Vec<Clip>, u64)>,
        reply: oneshot::Sender<StreamId>,
    },
    /// Queue clips after what is queued; each reports with `tag`.
    Play {
        id: StreamId,
        clips: Vec<Clip>,
        tag: u64,
    },
    /// Loop a clip until stopped.
    Loop {
        id: StreamId,
        clip: Clip,
        tag: u64,
    },
    /// Stop everything queued on the stream (barge-in).
    Stop {
        id: StreamId,
    },
    /// Send to this address from now on (symmetric RTP latch, re-INVITE).
    Dest {
        id: StreamId,
        addr: Option<SocketAddr>,
    },
    Remove {
        id: StreamId,
    },
}

struct Sink {
    socket: Arc<UdpSocket>,
    dest: Option<SocketAddr>,
    events: mpsc::UnboundedSender<Played>,
}

/// A handle for sending commands to the worker.
#[derive(Clone)]
pub struct MediaWorker {
    tx: mpsc::UnboundedSender<Command>,
}

impl MediaWorker {
    /// Starts the worker thread.
    pub fn spawn() -> std::io::Result<MediaWorker> {
        let (tx, rx) = mpsc::unbounded_channel();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        std::thread::Builder::new()
            .name("ringdesk-media".into())
            .spawn(move || rt.block_on(run(rx)))?;
        Ok(MediaWorker { tx })
    }

    /// Adds a stream, its first packet sent at once (with `first` playing from it);
    /// `None` when the worker has stopped.
    pub async fn add(
        &self,
        config: StreamConfig,
        socket: Arc<UdpSocket>,
        dest: Option<SocketAddr>,
        events: mpsc::UnboundedSender<Played>,
        first: Option<(Vec<Clip>, u64)>,
    ) -> Option<StreamId> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Add {
                config,
                socket,
                dest,
                events,
                first,
                reply,
            })
            .ok()?;
        rx.await.ok()
    }

    pub fn send(&self, cmd: Command) {
        // The worker only stops when the server does.
        let _ = self.tx.send(cmd);
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Command>) {
    let epoch = Instant::now().into_std();
    let mut pacer = Pacer::new(epoch);
    let mut sinks: HashMap<StreamId, Sink> = HashMap::new();
    let mut out: Vec<Transmit> = Vec::new();
    loop {
        let now = Instant::now().into_std();
        let wake = Instant::from_std(pacer.next_tick(now));
        tokio::select! {
            biased;
            cmd = rx.recv() => match cmd {
                Some(cmd) => {
                    // A new stream's first packet is due now, not at the next tick.
                    if handle(&mut pacer, &mut sinks, cmd) {
                        send_due(&mut pacer, &sinks, &mut out);
                    }
                }
                None => return,
            },
            _ = tokio::time::sleep_until(wake), if !sinks.is_empty() => {
                send_due(&mut pacer, &sinks, &mut out);
            }
        }
    }
}

/// Sends every packet due now and reports finished clips.
fn send_due(pacer: &mut Pacer, sinks: &HashMap<StreamId, Sink>, out: &mut Vec<Transmit>) {
    out.clear();
    pacer.poll(Instant::now().into_std(), out);
    for t in out.iter() {
        if let Some(sink) = sinks.get(&t.stream) {
            if let Some(dest) = sink.dest {
                // UDP: a full socket buffer drops the packet, as the network would.
                let _ = sink.socket.send_to(t.packet(), dest);
            }
        }
    }
    while let Some((id, event)) = pacer.poll_event() {
        if let (Some(sink), StreamEvent::Played(p)) = (sinks.get(&id), event) {
            let _ = sink.events.send(Played {
                tag: p.tag,
                completed: p.completed,
            });
        }
    }
}

/// Applies a command; true when a stream was added (its first packet is due now).
fn handle(pacer: &mut Pacer, sinks: &mut HashMap<StreamId, Sink>, cmd: Command) -> bool {
    match cmd {
        Command::Add {
            config,
            socket,
            dest,
            events,
            first,
            reply,
        } => {
            let id = pacer.add_stream(Instant::now().into_std(), config);
            if let (Some((clips, tag)), Some(s)) = (first, pacer.stream_mut(id)) {
                for clip in clips {
                    if s.play(clip, tag).is_err() {
                        break;
                    }
                }
            }
            sinks.insert(
                id,
                Sink {
                    socket,
                    dest,
                    events,
                },
            );
            let _ = reply.send(id);
            return true;
        }
        Command::Play { id, clips, tag } => {
            if let Some(s) = pacer.stream_mut(id) {
                for clip in clips {
                    if s.play(clip, tag).is_err() {
                        tracing::warn!("playout queue full; prompt dropped");
                        break;
                    }
                }
            }
        }
        Command::Loop { id, clip, tag } => {
            if let Some(s) = pacer.stream_mut(id) {
                let _ = s.play_loop(clip, tag);
            }
        }
        Command::Stop { id } => {
            if let Some(s) = pacer.stream_mut(id) {
                s.stop_playout();
            }
        }
        Command::Dest { id, addr } => {
            if let Some(sink) = sinks.get_mut(&id) {
                sink.dest = addr;
            }
        }
        Command::Remove { id } => {
            pacer.remove_stream(id);
            sinks.remove(&id);
        }
    }
    false
}
