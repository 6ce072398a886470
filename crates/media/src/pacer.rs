//! The worker media clock: one `Pacer` drives every outbound stream a worker owns.
//!
//! Time is cut into 20 ms ticks counted from the pacer's epoch (integer nanoseconds, so
//! nothing drifts over long calls). Each [`Pacer::poll`] sends, for every stream, the
//! packets of the ticks that have come due since its last packet. After a stall (the
//! worker was late), at most `max_burst` packets per stream are sent at once; the older
//! missed slots are skipped: their timestamps are consumed (timestamps always advance
//! 160 per 20 ms of wall time) but no packet is sent for them and no audio is lost — the
//! clip resumes where it was. The runtime calls `poll` when [`Pacer::next_tick`] is
//! reached; it never needs one timer per call.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::stream::{OutboundStream, StreamConfig, StreamEvent, MAX_PACKET};

/// Length of one media slot.
pub const TICK: Duration = Duration::from_millis(20);
/// Default bound on packets sent per stream in one poll after a stall.
pub const DEFAULT_MAX_BURST: u32 = 3;
/// Bound on collected, not yet polled events (oldest dropped beyond it).
const MAX_EVENTS: usize = 1 << 16;

/// Handle of a stream inside its pacer (stale handles are detected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId {
    index: u32,
    generation: u32,
}

/// One packet to send.
#[derive(Clone)]
pub struct Transmit {
    /// The stream it belongs to (the runtime maps it to a socket and destination).
    pub stream: StreamId,
    len: usize,
    buf: [u8; MAX_PACKET],
}

impl Transmit {
    /// The RTP datagram.
    pub fn packet(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl std::fmt::Debug for Transmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transmit")
            .field("stream", &self.stream)
            .field("len", &self.len)
            .finish()
    }
}

#[derive(Debug)]
struct Entry {
    stream: OutboundStream,
    next_tick: u64,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// The per-worker scheduler of outbound streams.
#[derive(Debug)]
pub struct Pacer {
    epoch: Instant,
    slots: Vec<Slot>,
    free: Vec<u32>,
    max_burst: u32,
    events: VecDeque<(StreamId, StreamEvent)>,
    live: usize,
}

impl Pacer {
    /// A pacer whose ticks start at `epoch`.
    pub fn new(epoch: Instant) -> Self {
        Pacer {
            epoch,
            slots: Vec::new(),
            free: Vec::new(),
            max_burst: DEFAULT_MAX_BURST,
            events: VecDeque::new(),
            live: 0,
        }
    }

    /// Set the most packets one stream may send in one poll (at least 1).
    pub fn with_max_burst(mut self, max_burst: u32) -> Self {
        self.max_burst = max_burst.max(1);
        self
    }

    /// Index of the tick containing `now`.
    fn tick_at(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(nanos / TICK.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Start of the first tick after `now`: when to call [`Self::poll`] next.
    pub fn next_tick(&self, now: Instant) -> Instant {
        let next = self.tick_at(now).saturating_add(1);
        let nanos = u128::from(next) * TICK.as_nanos();
        let offset = Duration::new(
            u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
            (nanos % 1_000_000_000) as u32,
        );
        self.epoch + offset
    }

    /// Add a stream; its first packet is due at once.
    pub fn add_stream(&mut self, now: Instant, config: StreamConfig) -> StreamId {
        let entry = Entry {
            stream: OutboundStream::new(config),
            next_tick: self.tick_at(now),
        };
        self.live += 1;
        if let Some(index) = self.free.pop() {
            if let Some(slot) = self.slots.get_mut(index as usize) {
                slot.entry = Some(entry);
                return StreamId {
                    index,
                    generation: slot.generation,
                };
            }
        }
        let index = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(Slot {
            generation: 0,
            entry: Some(entry),
        });
        StreamId {
            index,
            generation: 0,
        }
    }

    /// Remove a stream; its pending events are still delivered.
    pub fn remove_stream(&mut self, id: StreamId) -> Option<OutboundStream> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let mut entry = slot.entry.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(id.index);
        self.live -= 1;
        while let Some(ev) = entry.stream.poll_event() {
            self.events.push_back((id, ev));
        }
        Some(entry.stream)
    }

    /// The stream, to queue clips, stop playout or send DTMF.
    pub fn stream_mut(&mut self, id: StreamId) -> Option<&mut OutboundStream> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_mut().map(|e| &mut e.stream)
    }

    /// Number of streams.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no stream is registered.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Append to `out` every packet due at `now`, and collect stream events.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        let tick = self.tick_at(now);
        let max_burst = u64::from(self.max_burst);
        for (index, slot) in self.slots.iter_mut().enumerate() {
            let generation = slot.generation;
            let Some(entry) = slot.entry.as_mut() else {
                continue;
            };
            let id = StreamId {
                index: index as u32,
                generation,
            };
            if tick >= entry.next_tick {
                let due = tick - entry.next_tick + 1;
                let send = due.min(max_burst);
                let skipped = due - send;
                entry
                    .stream
                    .skip_slots(u32::try_from(skipped % (1 << 32)).unwrap_or(0));
                for _ in 0..send {
                    let mut buf = [0u8; MAX_PACKET];
                    let len = entry.stream.produce(&mut buf);
                    out.push(Transmit {
                        stream: id,
                        len,
                        buf,
                    });
                }
                entry.next_tick = tick + 1;
            }
            while let Some(ev) = entry.stream.poll_event() {
                if self.events.len() >= MAX_EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back((id, ev));
            }
        }
    }

    /// Next stream event collected by [`Self::poll`] or [`Self::remove_stream`].
    pub fn poll_event(&mut self) -> Option<(StreamId, StreamEvent)> {
        self.events.pop_front()
    }
}
