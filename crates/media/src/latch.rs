//! Symmetric RTP (RFC 4961 style "latching"): send to where the caller's packets come
//! from, which behind NAT is often not the address in the SDP.
//!
//! The latch starts at the SDP address (if any), latches to the source of the first
//! RTP packet, and afterwards only moves to a new source that proves itself with a run
//! of consecutive sequence numbers (so a single spoofed packet cannot steal the
//! stream). The address type is opaque: `SocketAddr` in the runtime, anything in tests.

/// Default number of in-sequence packets a new source needs to take over.
pub const DEFAULT_LEARN_PACKETS: u8 = 4;

/// What to do with a received packet, as far as its source goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatchVerdict {
    /// From the latched source: accept.
    Accept,
    /// The latch moved to this packet's source (first packet, or a proven new one): accept.
    Latched,
    /// From another source that has not proven itself: drop.
    Reject,
}

/// Where to send a stream's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteLatch<A> {
    signalled: Option<A>,
    latched: Option<A>,
    candidate: Option<(A, u16, u8)>,
    learn_packets: u8,
}

impl<A: Copy + Eq> RemoteLatch<A> {
    /// A latch that sends to `signalled` (the SDP address) until a packet arrives.
    pub fn new(signalled: Option<A>) -> Self {
        RemoteLatch {
            signalled,
            latched: None,
            candidate: None,
            learn_packets: DEFAULT_LEARN_PACKETS,
        }
    }

    /// Require `n` (at least 1) consecutive packets before moving to a new source.
    pub fn with_learn_packets(mut self, n: u8) -> Self {
        self.learn_packets = n.max(1);
        self
    }

    /// Account for a valid RTP packet with sequence number `sequence` from `from`.
    pub fn on_packet(&mut self, from: A, sequence: u16) -> LatchVerdict {
        match self.latched {
            None => {
                self.latched = Some(from);
                LatchVerdict::Latched
            }
            Some(current) if current == from => {
                self.candidate = None;
                LatchVerdict::Accept
            }
            Some(_) => {
                let count = match self.candidate {
                    Some((addr, last, n)) if addr == from && sequence == last.wrapping_add(1) => {
                        n.saturating_add(1)
                    }
                    _ => 1,
                };
                if count >= self.learn_packets {
                    self.latched = Some(from);
                    self.candidate = None;
                    LatchVerdict::Latched
                } else {
                    self.candidate = Some((from, sequence, count));
                    LatchVerdict::Reject
                }
            }
        }
    }

    /// The SDP address changed (re-INVITE): send there until packets prove otherwise.
    pub fn set_signalled(&mut self, signalled: Option<A>) {
        self.signalled = signalled;
        self.latched = None;
        self.candidate = None;
    }

    /// The destination for outgoing packets: the latched source, else the SDP address.
    pub fn target(&self) -> Option<A> {
        self.latched.or(self.signalled)
    }

    /// True once a packet has been received.
    pub fn is_latched(&self) -> bool {
        self.latched.is_some()
    }
}
