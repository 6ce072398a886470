//! Sans-IO media for ringdesk: G.711, RTP, RFC 4733 events, clips and paced playout.
//!
//! Nothing here opens a socket, reads a clock or spawns a thread: the runtime passes
//! datagrams and `now` in and sends the bytes handed back.
//!
//! - [`g711`]: both laws, tables, transcoding.
//! - [`rtp`]: packet parse/build; [`latch`]: strict, symmetric RTP (which source counts).
//! - [`dtmf`], [`dtmf_receiver`], [`dtmf_sender`], [`sip_info`]: DTMF in every form.
//! - [`wav`], [`resample`], [`clip`]: files converted once to shared 8 kHz G.711 clips.
//! - [`playout`], [`stream`], [`pacer`]: what each call plays, one clock per worker.
//! - [`inbound`]: the receive side of a call; [`srtp`]: SRTP for SDES-keyed legs.
//! - [`record`], [`analysis`]: helpers for tests that check what a caller heard.

pub mod analysis;
pub mod clip;
pub mod dtmf;
pub mod dtmf_receiver;
pub mod dtmf_sender;
pub mod g711;
pub mod inbound;
pub mod latch;
pub mod pacer;
pub mod playout;
pub mod record;
pub mod resample;
pub mod rtp;
pub mod sip_info;
pub mod srtp;
pub mod stream;
pub mod wav;

/// The G.711 and telephone-event clock rate.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples (and timestamp units) per 20 ms packet.
pub const SAMPLES_PER_FRAME: u32 = 160;

pub use clip::{Clip, ClipError};
pub use dtmf::DtmfDigit;
pub use dtmf_receiver::{DtmfEvent, DtmfReceiver};
pub use dtmf_sender::DtmfSender;
pub use g711::Codec;
pub use inbound::{InboundStream, Received};
pub use latch::{LatchVerdict, RemoteLatch};
pub use pacer::{Pacer, StreamId, Transmit};
pub use playout::{PlayTag, PlayoutEvent};
pub use record::Recorder;
pub use rtp::{RtpHeader, RtpPacket};
pub use srtp::{SrtpError, SrtpKey, SrtpReceiver, SrtpSender, SrtpSuite};
pub use stream::{OutboundStream, StreamConfig, StreamEvent};
