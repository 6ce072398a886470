//! One outbound RTP stream: sequence numbers, timestamps, SSRC and marker bit, fed by a
//! playout queue and an RFC 4733 sender, producing one packet per 20 ms slot.
//!
//! When nothing plays the stream sends silence frames (no marker) rather than nothing:
//! many trunks, session border controllers and NATs tear down or unlatch a stream that
//! stops flowing, and a continuous stream keeps the far end's jitter buffer settled.
//! The marker bit is set on the first packet and on the first audio packet of each clip
//! sequence that starts after silence or DTMF (talkspurt start).

use std::collections::VecDeque;
use std::time::Duration;

use crate::clip::{Clip, FRAME_LEN};
use crate::dtmf::{DtmfDigit, EVENT_PAYLOAD_LEN};
use crate::dtmf_sender::{DtmfSendError, DtmfSender};
use crate::g711::Codec;
use crate::playout::{PlayTag, Playout, PlayoutError, PlayoutEvent};
use crate::rtp::{RtpHeader, HEADER_LEN};
use crate::SAMPLES_PER_FRAME;

/// Largest packet a stream produces (header + one G.711 frame).
pub const MAX_PACKET: usize = HEADER_LEN + FRAME_LEN;
/// Bound on events waiting to be polled (queue bound plus DTMF bound, with room).
const MAX_EVENTS: usize = 256;

/// What a stream needs from the SDP negotiation and the runtime.
///
/// SSRC, first sequence number and first timestamp should be random (RFC 3550); the
/// runtime draws them, so the core stays deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Negotiated audio codec.
    pub codec: Codec,
    /// Negotiated telephone-event payload type (usually 101).
    pub telephone_event_pt: u8,
    /// Our SSRC.
    pub ssrc: u32,
    /// First sequence number.
    pub initial_sequence: u16,
    /// First timestamp.
    pub initial_timestamp: u32,
}

/// Something that happened on a stream, for the runtime to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// A queued clip left the queue (the runtime's PlayDone).
    Played(PlayoutEvent),
    /// A queued DTMF press was fully sent (first end packet out).
    DtmfSent(DtmfDigit),
}

/// The send side of one call's media (about 200 bytes plus its bounded queues).
#[derive(Debug, Clone)]
pub struct OutboundStream {
    codec: Codec,
    te_pt: u8,
    ssrc: u32,
    sequence: u16,
    next_timestamp: u32,
    started: bool,
    talking: bool,
    playout: Playout,
    dtmf: DtmfSender,
    events: VecDeque<StreamEvent>,
}

impl OutboundStream {
    /// A stream that has sent nothing yet.
    pub fn new(config: StreamConfig) -> Self {
        OutboundStream {
            codec: config.codec,
            te_pt: config.telephone_event_pt & 0x7F,
            ssrc: config.ssrc,
            sequence: config.initial_sequence,
            next_timestamp: config.initial_timestamp,
            started: false,
            talking: false,
            playout: Playout::new(),
            dtmf: DtmfSender::new(),
            events: VecDeque::new(),
        }
    }

    /// Queue a clip to play once.
    pub fn play(&mut self, clip: Clip, tag: PlayTag) -> Result<(), PlayoutError> {
        self.playout.enqueue(clip, tag)
    }

    /// Queue a clip to loop until stopped.
    pub fn play_loop(&mut self, clip: Clip, tag: PlayTag) -> Result<(), PlayoutError> {
        self.playout.enqueue_loop(clip, tag)
    }

    /// Stop all playout at once (barge-in); the stream continues with silence.
    pub fn stop_playout(&mut self) {
        let events = &mut self.events;
        self.playout
            .stop(&mut |e| push_event(events, StreamEvent::Played(e)));
    }

    /// True while clips are queued.
    pub fn is_playing(&self) -> bool {
        self.playout.is_playing()
    }

    /// Queue an RFC 4733 press; audio pauses while it is sent.
    pub fn send_dtmf(&mut self, digit: DtmfDigit, duration: Duration) -> Result<(), DtmfSendError> {
        self.dtmf.enqueue(digit, duration)
    }

    /// Change codec (re-INVITE); takes effect at the next packet.
    pub fn set_codec(&mut self, codec: Codec) {
        self.codec = codec;
    }

    /// The codec in use.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Next event (clip done, DTMF sent).
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// Let `slots` 20 ms slots pass without sending (after a stall): the timestamp
    /// advances, sequence numbers and audio do not.
    pub fn skip_slots(&mut self, slots: u32) {
        self.next_timestamp = self
            .next_timestamp
            .wrapping_add(slots.wrapping_mul(SAMPLES_PER_FRAME));
    }

    /// Produce the packet for the next 20 ms slot into `out`; returns its length.
    pub fn produce(&mut self, out: &mut [u8; MAX_PACKET]) -> usize {
        let slot_ts = self.next_timestamp;
        self.next_timestamp = slot_ts.wrapping_add(SAMPLES_PER_FRAME);
        let (header, len) = if let Some(ev) = self.dtmf.next_packet(slot_ts) {
            if let Some(dst) = out.get_mut(HEADER_LEN..HEADER_LEN + EVENT_PAYLOAD_LEN) {
                dst.copy_from_slice(&ev.payload);
            }
            if ev.completed {
                push_event(&mut self.events, StreamEvent::DtmfSent(ev.digit));
            }
            self.talking = false;
            let header = self.header(ev.marker, self.te_pt, ev.timestamp);
            (header, HEADER_LEN + EVENT_PAYLOAD_LEN)
        } else {
            let events = &mut self.events;
            let (_, body) = out.split_at_mut(HEADER_LEN);
            let playing = self.playout.next_frame(self.codec, body, &mut |e| {
                push_event(events, StreamEvent::Played(e))
            });
            if !playing {
                body.fill(self.codec.silence());
            }
            let marker = !self.started || (playing && !self.talking);
            self.talking = playing;
            let header = self.header(marker, self.codec.payload_type(), slot_ts);
            (header, MAX_PACKET)
        };
        if let Some(dst) = out.get_mut(..HEADER_LEN) {
            dst.copy_from_slice(&header.to_bytes());
        }
        self.started = true;
        self.sequence = self.sequence.wrapping_add(1);
        len
    }

    fn header(&self, marker: bool, payload_type: u8, timestamp: u32) -> RtpHeader {
        RtpHeader {
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        }
    }
}

fn push_event(events: &mut VecDeque<StreamEvent>, ev: StreamEvent) {
    if events.len() >= MAX_EVENTS {
        events.pop_front();
    }
    events.push_back(ev);
}
