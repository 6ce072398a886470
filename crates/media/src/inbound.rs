//! The receive side of one call's media: classifies datagrams (audio, DTMF, other),
//! applies the strict-RTP latch ([`crate::latch`]), and runs the RFC 4733 receiver.

use std::time::Instant;

use crate::dtmf_receiver::{DtmfEvent, DtmfReceiver};
use crate::g711::Codec;
use crate::latch::{LatchVerdict, RemoteLatch};
use crate::rtp::{RtpError, RtpHeader, RtpPacket};

/// What a received datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received<'a> {
    /// Audio in a negotiated codec (for a recorder or a bridge).
    Audio {
        /// The codec of this payload.
        codec: Codec,
        /// Packet header.
        header: RtpHeader,
        /// Code words.
        payload: &'a [u8],
    },
    /// A telephone-event packet (digits, if any, are in [`InboundStream::poll_dtmf`]).
    Dtmf,
    /// Dropped: from a source other than the one the stream is locked on (count it).
    ForeignSource,
    /// Dropped: from a source still proving itself at the start of the stream.
    Learning,
    /// Ignored: a payload type not negotiated (comfort noise, video...), or a malformed
    /// telephone-event payload.
    Ignored,
}

/// The per-call receive state (a few hundred bytes).
#[derive(Debug, Clone)]
pub struct InboundStream<A> {
    latch: RemoteLatch<A>,
    dtmf: DtmfReceiver,
    codec: Codec,
    telephone_event_pt: Option<u8>,
    remote_ssrc: Option<u32>,
}

impl<A: Copy + Eq> InboundStream<A> {
    /// Receive `codec` audio and telephone-events on `telephone_event_pt` on a leg
    /// answered at `now` whose SDP names `signalled` (see [`crate::latch`] for which
    /// sources are accepted).
    pub fn new(
        now: Instant,
        codec: Codec,
        telephone_event_pt: Option<u8>,
        signalled: Option<A>,
    ) -> Self {
        InboundStream {
            latch: RemoteLatch::new(now, signalled),
            dtmf: DtmfReceiver::default(),
            codec,
            telephone_event_pt,
            remote_ssrc: None,
        }
    }

    /// Replace the latch (e.g. one with a different learning threshold).
    pub fn with_latch(mut self, latch: RemoteLatch<A>) -> Self {
        self.latch = latch;
        self
    }

    /// Handle one datagram received from `from` at `now`.
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        from: A,
        datagram: &'a [u8],
    ) -> Result<Received<'a>, RtpError> {
        let packet = RtpPacket::parse(datagram)?;
        let header = packet.header;
        match self.latch.on_packet(now, from, header.sequence) {
            LatchVerdict::Accept | LatchVerdict::Latched => {}
            LatchVerdict::Learning => return Ok(Received::Learning),
            LatchVerdict::Reject => return Ok(Received::ForeignSource),
        }
        let is_event = self.telephone_event_pt == Some(header.payload_type);
        let audio_codec = Codec::from_payload_type(header.payload_type);
        if !is_event && audio_codec.is_none() {
            return Ok(Received::Ignored);
        }
        if self.remote_ssrc != Some(header.ssrc) {
            if self.remote_ssrc.is_some() {
                self.dtmf.reset();
            }
            self.remote_ssrc = Some(header.ssrc);
        }
        if is_event {
            return Ok(
                match self
                    .dtmf
                    .handle_packet(now, header.timestamp, packet.payload)
                {
                    Ok(()) => Received::Dtmf,
                    Err(_) => Received::Ignored,
                },
            );
        }
        match audio_codec {
            Some(codec) => Ok(Received::Audio {
                codec,
                header,
                payload: packet.payload,
            }),
            None => Ok(Received::Ignored),
        }
    }

    /// Close DTMF presses whose end never came; call at [`Self::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.dtmf.handle_timeout(now);
    }

    /// When [`Self::handle_timeout`] next needs to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.dtmf.poll_timeout()
    }

    /// Next DTMF event.
    pub fn poll_dtmf(&mut self) -> Option<DtmfEvent> {
        self.dtmf.poll_event()
    }

    /// A re-INVITE at `now` names `signalled` (a different address is learned again).
    pub fn set_signalled(&mut self, now: Instant, signalled: Option<A>) {
        self.latch.set_signalled(now, signalled);
    }

    /// The address the SDP names.
    pub fn signalled(&self) -> Option<A> {
        self.latch.signalled()
    }

    /// Where to send this call's packets.
    pub fn remote(&self) -> Option<A> {
        self.latch.target()
    }

    /// The negotiated codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }
}
