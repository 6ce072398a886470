//! The worker media clock: one `Pacer` drives every outbound stream a worker owns.
//!
//! Each stream has its own 20 ms grid, anchored when it is added (its first packet is
//! due at once, so the greeting leaves right after the 200 OK, not at a shared tick).
//! Streams added at different moments therefore send at different phases of the 20 ms
//! period, and a worker with thousands of streams sends a few of them at a time, all
//! period long, instead of all of them at once on one shared tick (which made the last
//! stream of a large tick late by the time the others took).
//!
//! Due times are integer nanoseconds from the pacer's epoch, so nothing drifts over long
//! calls. [`Pacer::poll`] sends, for every stream due, the packets of the slots that have
//! come due since its last packet. After a stall (the worker was late), at most
//! `max_burst` packets per stream are sent at once; the older missed slots are skipped:
//! their timestamps are consumed (timestamps always advance 160 per 20 ms of wall time)
//! but no packet is sent for them and no audio is lost — the clip resumes where it was.
//! The runtime calls `poll` when [`Pacer::next_due`] is reached (usually a little
//! later, to batch nearby streams into one wake-up); it never needs one timer per call.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use crate::stream::{OutboundStream, StreamConfig, StreamEvent, MAX_PACKET};

/// Length of one media slot.
pub const TICK: Duration = Duration::from_millis(20);
/// [`TICK`] in nanoseconds.
const TICK_NS: u64 = 20_000_000;
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
    /// When the next packet is due (nanoseconds from the epoch); [`PAUSED`] while paused.
    next_due: u64,
    /// When it was paused (nanoseconds from the epoch).
    paused_at: u64,
}

/// `next_due` of a paused stream: never due (its heap entry is dropped when it comes up).
const PAUSED: u64 = u64::MAX;

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
    /// Every live stream's next due time, earliest first. Entries of removed streams
    /// stay until they come up and are then dropped (their generation no longer matches).
    due: BinaryHeap<Reverse<(u64, u32, u32)>>,
    max_burst: u32,
    events: VecDeque<(StreamId, StreamEvent)>,
    live: usize,
}

impl Pacer {
    /// A pacer whose clock starts at `epoch`.
    pub fn new(epoch: Instant) -> Self {
        Pacer {
            epoch,
            slots: Vec::new(),
            free: Vec::new(),
            due: BinaryHeap::new(),
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

    /// Nanoseconds from the epoch to `now` (0 before it).
    fn nanos(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// When the earliest stream is due (`None` with no stream): when to call
    /// [`Self::poll`] next. It may be a removed stream's old slot; polling then sends
    /// nothing.
    pub fn next_due(&self) -> Option<Instant> {
        self.due
            .peek()
            .map(|Reverse((due, _, _))| self.epoch + Duration::from_nanos(*due))
    }

    /// Add a stream; its first packet is due at once (at `now`), the next ones every
    /// 20 ms after it.
    pub fn add_stream(&mut self, now: Instant, config: StreamConfig) -> StreamId {
        let next_due = self.nanos(now);
        self.insert(Entry {
            stream: OutboundStream::new(config),
            next_due,
            paused_at: 0,
        })
    }

    /// Add a stream whose first packet was already produced (with
    /// [`OutboundStream::produce`]) and sent at `sent_at`, by whoever answered the call:
    /// the first packet then leaves with the answer, on the answering thread, without
    /// waiting for the pacer's thread to wake. The next packet is due one period after
    /// `sent_at`. Events the first packet caused are collected with its next packet.
    pub fn add_started(&mut self, sent_at: Instant, stream: OutboundStream) -> StreamId {
        let next_due = self.nanos(sent_at).saturating_add(TICK_NS);
        self.insert(Entry {
            stream,
            next_due,
            paused_at: 0,
        })
    }

    fn insert(&mut self, entry: Entry) -> StreamId {
        let next_due = entry.next_due;
        self.live += 1;
        let id = match self.free.pop() {
            Some(index) => match self.slots.get_mut(index as usize) {
                Some(slot) => {
                    slot.entry = Some(entry);
                    StreamId {
                        index,
                        generation: slot.generation,
                    }
                }
                None => self.push_slot(entry),
            },
            None => self.push_slot(entry),
        };
        self.due.push(Reverse((next_due, id.index, id.generation)));
        id
    }

    fn push_slot(&mut self, entry: Entry) -> StreamId {
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
            push_event(&mut self.events, id, ev);
        }
        Some(entry.stream)
    }

    fn entry_mut(&mut self, id: StreamId) -> Option<&mut Entry> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_mut()
    }

    /// Stops sending the stream's packets at `now`, keeping the stream (its sequence,
    /// what it plays) until [`Self::resume_stream`]: the call is bridged to an agent,
    /// whose packets the caller hears meanwhile. False for an unknown stream.
    pub fn pause_stream(&mut self, now: Instant, id: StreamId) -> bool {
        let now = self.nanos(now);
        let Some(entry) = self.entry_mut(id) else {
            return false;
        };
        if entry.next_due != PAUSED {
            entry.next_due = PAUSED;
            entry.paused_at = now;
        }
        true
    }

    /// Sends the paused stream's packets again, the next one due at `now`; its timestamp
    /// moves on by the time it was paused (sequence numbers go on from where they were).
    /// False for an unknown stream; a stream not paused is left as it is.
    pub fn resume_stream(&mut self, now: Instant, id: StreamId) -> bool {
        let now = self.nanos(now);
        let Some(entry) = self.entry_mut(id) else {
            return false;
        };
        if entry.next_due == PAUSED {
            let slots = now.saturating_sub(entry.paused_at) / TICK_NS;
            entry
                .stream
                .skip_slots(u32::try_from(slots % (1 << 32)).unwrap_or(0));
            entry.next_due = now;
            self.due.push(Reverse((now, id.index, id.generation)));
        }
        true
    }

    /// The stream, to queue clips, stop playout or send DTMF. Events this causes (a
    /// stopped clip's `Played`) are collected at the stream's next packet, or at once by
    /// [`Self::collect_events`].
    pub fn stream_mut(&mut self, id: StreamId) -> Option<&mut OutboundStream> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_mut().map(|e| &mut e.stream)
    }

    /// Move the stream's pending events to the pacer's queue ([`Self::poll_event`]).
    pub fn collect_events(&mut self, id: StreamId) {
        let Some(slot) = self.slots.get_mut(id.index as usize) else {
            return;
        };
        if slot.generation != id.generation {
            return;
        }
        if let Some(entry) = slot.entry.as_mut() {
            while let Some(ev) = entry.stream.poll_event() {
                push_event(&mut self.events, id, ev);
            }
        }
    }

    /// Number of streams.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no stream is registered.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Append to `out` every packet due at or before `now`, and collect the events of
    /// the streams that sent. Streams are served earliest due first.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        let now = self.nanos(now);
        let max_burst = u64::from(self.max_burst);
        while let Some(&Reverse((due, index, generation))) = self.due.peek() {
            if due > now {
                break;
            }
            self.due.pop();
            let Some(slot) = self.slots.get_mut(index as usize) else {
                continue;
            };
            if slot.generation != generation {
                continue;
            }
            let Some(entry) = slot.entry.as_mut() else {
                continue;
            };
            if entry.next_due != due {
                continue;
            }
            let id = StreamId { index, generation };
            // Slots due: this one and every whole period since.
            let owed = (now - due) / TICK_NS + 1;
            let send = owed.min(max_burst);
            entry
                .stream
                .skip_slots(u32::try_from((owed - send) % (1 << 32)).unwrap_or(0));
            for _ in 0..send {
                let mut buf = [0u8; MAX_PACKET];
                let len = entry.stream.produce(&mut buf);
                out.push(Transmit {
                    stream: id,
                    len,
                    buf,
                });
            }
            entry.next_due = due.saturating_add(owed.saturating_mul(TICK_NS));
            self.due.push(Reverse((entry.next_due, index, generation)));
            while let Some(ev) = entry.stream.poll_event() {
                push_event(&mut self.events, id, ev);
            }
        }
    }

    /// Next stream event collected by [`Self::poll`], [`Self::collect_events`] or
    /// [`Self::remove_stream`].
    pub fn poll_event(&mut self) -> Option<(StreamId, StreamEvent)> {
        self.events.pop_front()
    }
}

fn push_event(events: &mut VecDeque<(StreamId, StreamEvent)>, id: StreamId, ev: StreamEvent) {
    if events.len() >= MAX_EVENTS {
        events.pop_front();
    }
    events.push_back((id, ev));
}
