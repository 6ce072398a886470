//! RFC 4733 DTMF sender: turns queued key presses into telephone-event payloads, one per
//! 20 ms media slot, for passing DTMF on (for example through a bridge).
//!
//! Per press: the first packet has the marker bit, every packet of the press carries the
//! press's start timestamp and a growing duration, and the end is sent three times (one
//! per slot, RFC 4733 §2.5.1.4) with the final duration. A short gap of audio separates
//! presses, so two presses of the same key have distinct timestamps.

use std::collections::VecDeque;
use std::time::Duration;

use thiserror::Error;

use crate::dtmf::{DtmfDigit, TelephoneEvent, EVENT_PAYLOAD_LEN};
use crate::SAMPLES_PER_FRAME;

/// Number of copies of the end packet.
const END_COPIES: u8 = 3;
/// Audio slots between two presses.
const GAP_SLOTS: u8 = 3;
/// Bound on presses waiting to be sent.
pub const MAX_QUEUED_DIGITS: usize = 64;
/// Shortest press we send (RFC 4733 senders commonly use 40 ms or more).
pub const MIN_PRESS: Duration = Duration::from_millis(40);
/// Longest press we send (keeps the duration field below saturation).
pub const MAX_PRESS: Duration = Duration::from_millis(5000);
/// Default volume, in -dBm0.
const VOLUME: u8 = 10;

/// A press that cannot be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DtmfSendError {
    /// [`MAX_QUEUED_DIGITS`] presses are already waiting.
    #[error("too many DTMF digits queued")]
    QueueFull,
}

/// One telephone-event packet to send in the current slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Marker bit (first packet of a press).
    pub marker: bool,
    /// RTP timestamp: the press's start slot.
    pub timestamp: u32,
    /// The payload.
    pub payload: [u8; EVENT_PAYLOAD_LEN],
    /// True for the first copy of the end packet (the press is complete).
    pub completed: bool,
    /// The key being sent.
    pub digit: DtmfDigit,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    digit: DtmfDigit,
    start_ts: u32,
    slots_sent: u16,
    total_slots: u16,
    ends_sent: u8,
}

/// The per-stream RFC 4733 send state.
#[derive(Debug, Clone, Default)]
pub struct DtmfSender {
    queue: VecDeque<(DtmfDigit, u16)>,
    active: Option<Active>,
    gap: u8,
}

impl DtmfSender {
    /// An idle sender.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue a press of `duration` (clamped to [`MIN_PRESS`]..=[`MAX_PRESS`]).
    pub fn enqueue(&mut self, digit: DtmfDigit, duration: Duration) -> Result<(), DtmfSendError> {
        if self.queue.len() >= MAX_QUEUED_DIGITS {
            return Err(DtmfSendError::QueueFull);
        }
        let clamped = duration.clamp(MIN_PRESS, MAX_PRESS);
        let slots = u16::try_from(clamped.as_millis().div_ceil(20)).unwrap_or(u16::MAX);
        self.queue.push_back((digit, slots));
        Ok(())
    }

    /// True while presses are being sent or waiting.
    pub fn is_busy(&self) -> bool {
        self.active.is_some() || !self.queue.is_empty()
    }

    /// Drop queued presses; a press in progress still ends properly.
    pub fn clear_queue(&mut self) {
        self.queue.clear();
    }

    /// The event packet for the slot starting at `slot_ts`, or `None` to send audio.
    pub fn next_packet(&mut self, slot_ts: u32) -> Option<EventPacket> {
        if self.active.is_none() {
            if self.gap > 0 {
                self.gap -= 1;
                return None;
            }
            let (digit, total_slots) = self.queue.pop_front()?;
            self.active = Some(Active {
                digit,
                start_ts: slot_ts,
                slots_sent: 0,
                total_slots,
                ends_sent: 0,
            });
        }
        let active = self.active.as_mut()?;
        let marker = active.slots_sent == 0 && active.ends_sent == 0;
        let end = active.slots_sent + 1 >= active.total_slots;
        if !end {
            active.slots_sent += 1;
        }
        let slots = u32::from(active.slots_sent + u16::from(end));
        let duration = u16::try_from(slots * SAMPLES_PER_FRAME).unwrap_or(u16::MAX);
        let completed = end && active.ends_sent == 0;
        if end {
            active.ends_sent += 1;
        }
        let packet = EventPacket {
            marker,
            timestamp: active.start_ts,
            payload: TelephoneEvent {
                event: active.digit.event_code(),
                end,
                volume: VOLUME,
                duration,
            }
            .to_bytes(),
            completed,
            digit: active.digit,
        };
        if active.ends_sent >= END_COPIES {
            self.active = None;
            self.gap = GAP_SLOTS;
        }
        Some(packet)
    }
}
