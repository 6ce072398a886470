//! RFC 4733 DTMF receiver: turns telephone-event packets into exactly one digit per press.
//!
//! Event identity is the RTP timestamp (the event's start), never the marker bit, which
//! many carriers do not set and which is lost with the first packet anyway. The receiver
//! copes with: redundant end packets, lost start packets, missing marker bits, long
//! presses (including RFC 4733 §2.5.1.3 segments when the duration field saturates),
//! the same key pressed again right after, duplicated and reordered packets, and events
//! whose end never arrives (closed by a timeout driven by `now`).
//!
//! A digit is reported as soon as the first packet of a press is seen (low latency for
//! menus); the matching [`DtmfEvent::Ended`] follows on the end bit or the timeout.
//! Call [`DtmfReceiver::reset`] when the sender's SSRC changes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::dtmf::{DtmfDigit, EventPayloadError, TelephoneEvent};
use crate::rtp::ts_newer;

/// Default time without packets after which an event with no end packet is closed.
pub const DEFAULT_EVENT_TIMEOUT: Duration = Duration::from_millis(800);
/// How many finished event timestamps are remembered to reject late duplicates.
const RECENT: usize = 8;
/// Bound on queued, not yet polled events.
const MAX_QUEUED: usize = 32;
/// A duration at least this long means the sender may continue with a new segment.
const SEGMENT_SATURATION: u16 = 0xFFFF - 4 * 160;
/// Tolerance (timestamp units) when matching a segment's start to its predecessor's end.
const SEGMENT_SLACK: u32 = 4 * 160;

/// What the receiver reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfEvent {
    /// A key was pressed (reported once per press, at its first packet).
    Digit(DtmfDigit),
    /// The press ended.
    Ended {
        /// The key.
        digit: DtmfDigit,
        /// Total duration in 8 kHz timestamp units (across segments).
        duration: u32,
        /// True when no end packet arrived and the timeout closed the event.
        timed_out: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    digit: DtmfDigit,
    /// Duration of earlier segments of a long press.
    earlier_segments: u32,
    max_duration: u16,
    ended: bool,
    last_seen: Instant,
}

/// The per-stream RFC 4733 receive state (about 200 bytes).
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    current: Option<Current>,
    recent: [Option<u32>; RECENT],
    recent_next: usize,
    events: VecDeque<DtmfEvent>,
    timeout: Duration,
}

impl Default for DtmfReceiver {
    fn default() -> Self {
        Self::new(DEFAULT_EVENT_TIMEOUT)
    }
}

impl DtmfReceiver {
    /// A receiver closing unterminated events after `timeout` without packets.
    pub fn new(timeout: Duration) -> Self {
        DtmfReceiver {
            current: None,
            recent: [None; RECENT],
            recent_next: 0,
            events: VecDeque::new(),
            timeout,
        }
    }

    /// Feed the payload of one telephone-event packet with its RTP timestamp.
    ///
    /// The marker bit is deliberately not an input. Non-DTMF events (codes above 15)
    /// are ignored.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), EventPayloadError> {
        let ev = TelephoneEvent::parse(payload)?;
        self.handle_timeout(now);
        let Some(digit) = DtmfDigit::from_event_code(ev.event) else {
            return Ok(());
        };
        if let Some(cur) = self.current.as_mut() {
            if cur.timestamp == timestamp {
                if cur.digit != digit {
                    // Same identity, different key: a broken sender; keep the first.
                    return Ok(());
                }
                cur.max_duration = cur.max_duration.max(ev.duration);
                if cur.ended {
                    return Ok(());
                }
                cur.last_seen = now;
                if ev.end {
                    cur.ended = true;
                    let total = cur.earlier_segments + u32::from(cur.max_duration);
                    self.push(DtmfEvent::Ended {
                        digit,
                        duration: total,
                        timed_out: false,
                    });
                }
                return Ok(());
            }
            if ts_newer(cur.timestamp, timestamp) {
                // Older than the current event: a late packet; never report out of order.
                return Ok(());
            }
        }
        if self.recent.contains(&Some(timestamp)) {
            return Ok(());
        }
        if let Some(cur) = self.current {
            if !cur.ended && cur.digit == digit && Self::continues(&cur, timestamp) {
                // Next segment of a long press: same press, new identity.
                self.remember(cur.timestamp);
                let earlier = cur.earlier_segments + u32::from(cur.max_duration);
                self.current = Some(Current {
                    timestamp,
                    digit,
                    earlier_segments: earlier,
                    max_duration: ev.duration,
                    ended: false,
                    last_seen: now,
                });
                if ev.end {
                    self.finish(false);
                }
                return Ok(());
            }
            if !cur.ended {
                // A new event started before this one's end arrived: close it now.
                self.finish(false);
            }
            self.remember(cur.timestamp);
        }
        self.current = Some(Current {
            timestamp,
            digit,
            earlier_segments: 0,
            max_duration: ev.duration,
            ended: false,
            last_seen: now,
        });
        self.push(DtmfEvent::Digit(digit));
        if ev.end {
            self.finish(false);
        }
        Ok(())
    }

    /// Close an event whose packets stopped without an end packet.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.poll_timeout() {
            if now >= deadline {
                self.finish(true);
            }
        }
    }

    /// When [`Self::handle_timeout`] next needs to run, if an event is open.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current
            .filter(|c| !c.ended)
            .map(|c| c.last_seen + self.timeout)
    }

    /// Next reported event.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    /// Forget all state (the sender changed SSRC); an open press is reported as ended.
    pub fn reset(&mut self) {
        if self.current.is_some_and(|c| !c.ended) {
            self.finish(true);
        }
        self.current = None;
        self.recent = [None; RECENT];
    }

    /// True while a press is open (no end packet and no timeout yet).
    pub fn is_pressed(&self) -> bool {
        self.current.is_some_and(|c| !c.ended)
    }

    fn continues(cur: &Current, timestamp: u32) -> bool {
        if cur.max_duration < SEGMENT_SATURATION {
            return false;
        }
        let delta = timestamp.wrapping_sub(cur.timestamp);
        let expected = u32::from(cur.max_duration);
        delta >= expected.saturating_sub(SEGMENT_SLACK) && delta <= expected + SEGMENT_SLACK
    }

    fn finish(&mut self, timed_out: bool) {
        if let Some(cur) = self.current.as_mut() {
            if !cur.ended {
                cur.ended = true;
                let ev = DtmfEvent::Ended {
                    digit: cur.digit,
                    duration: cur.earlier_segments + u32::from(cur.max_duration),
                    timed_out,
                };
                self.push(ev);
            }
        }
    }

    fn remember(&mut self, timestamp: u32) {
        if let Some(slot) = self.recent.get_mut(self.recent_next) {
            *slot = Some(timestamp);
        }
        self.recent_next = (self.recent_next + 1) % RECENT;
    }

    fn push(&mut self, ev: DtmfEvent) {
        if self.events.len() >= MAX_QUEUED {
            self.events.pop_front();
        }
        self.events.push_back(ev);
    }
}
