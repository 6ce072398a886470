//! Strict RTP: which source a stream's packets are accepted from, and where ours go.
//!
//! This is Asterisk's `strictrtp=yes` with its learning mode, made the only behaviour,
//! and the one copy of the rule (the runtime's caller and agent legs both use it). The
//! "RTP bleed" attack — a stranger spraying RTP at media ports to take over a stream in
//! progress — gets nothing: a stream's source is fixed once, at its start.
//!
//! The rule, for one leg (`t0` is when the leg is answered; `W` is the learning window,
//! [`DEFAULT_LEARN_WINDOW`]; `N` is [`DEFAULT_LEARN_PACKETS`]):
//!
//! 1. The leg starts *learning* at `t0`, knowing the address its SDP names (if any: an
//!    unspecified address names none).
//! 2. While learning, a packet from the SDP address locks the leg on it at once and is
//!    accepted: the signalling is believed first.
//! 3. While learning, a packet from any other source is dropped (not counted as foreign:
//!    behind NAT this is the rightful peer). That source locks the leg once `N` packets
//!    with consecutive sequence numbers arrive from it, none from another source in
//!    between, the last one before `t0 + W`; that last one is accepted.
//! 4. At `t0 + W` a leg still learning locks on its SDP address (on none, if the SDP
//!    named none: nothing is accepted until a re-INVITE names one).
//! 5. Once locked, the leg accepts packets from that one source; every packet from
//!    anywhere else is dropped and reported [`LatchVerdict::Reject`] (the runtime counts
//!    them). Packets never move a lock, however many and however well in sequence.
//! 6. A re-INVITE naming a *different* address starts learning again, with a new window
//!    from the re-INVITE (Asterisk does the same on a remote address change); one naming
//!    the same address (hold, resume) keeps the lock.
//!
//! Our packets go to the locked source, or to the SDP address before the lock (symmetric
//! RTP, RFC 4961). The address type is opaque: `SocketAddr` in the runtime, anything in
//! tests. Per packet this is a few comparisons: no allocation, no clock read.

use std::time::{Duration, Instant};

/// Default number of in-sequence packets a source other than the SDP address needs, at
/// the start of the stream, to be learned.
pub const DEFAULT_LEARN_PACKETS: u8 = 4;

/// Default time after the answer during which a source other than the SDP address may
/// be learned.
pub const DEFAULT_LEARN_WINDOW: Duration = Duration::from_secs(3);

/// What to do with a received packet, as far as its source goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatchVerdict {
    /// From the locked source: accept.
    Accept,
    /// This packet locked the stream on its source (the SDP address, or a source that
    /// proved itself while learning): accept.
    Latched,
    /// Dropped while its source is still proving itself at the start of the stream.
    Learning,
    /// From a source other than the locked one: drop (a foreign packet).
    Reject,
}

/// Where a stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State<A> {
    /// Until `until`; `candidate` is a source proving itself: (source, last sequence
    /// number, packets in the run).
    Learning {
        until: Instant,
        candidate: Option<(A, u16, u8)>,
    },
    /// Accepting from this source only (none: accepting nothing).
    Locked(Option<A>),
}

/// One leg's strict-RTP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteLatch<A> {
    signalled: Option<A>,
    state: State<A>,
    learn_packets: u8,
    window: Duration,
}

impl<A: Copy + Eq> RemoteLatch<A> {
    /// A leg answered at `now` whose SDP names `signalled`: learning starts.
    pub fn new(now: Instant, signalled: Option<A>) -> Self {
        RemoteLatch {
            signalled,
            state: State::Learning {
                until: now + DEFAULT_LEARN_WINDOW,
                candidate: None,
            },
            learn_packets: DEFAULT_LEARN_PACKETS,
            window: DEFAULT_LEARN_WINDOW,
        }
    }

    /// Require `n` (at least 1) consecutive packets before learning a source other than
    /// the SDP address.
    pub fn with_learn_packets(mut self, n: u8) -> Self {
        self.learn_packets = n.max(1);
        self
    }

    /// Learn for `window` after the answer instead of [`DEFAULT_LEARN_WINDOW`] (call
    /// before the first packet: the window keeps its start).
    pub fn with_learn_window(mut self, window: Duration) -> Self {
        if let State::Learning { until, .. } = &mut self.state {
            if let Some(start) = until.checked_sub(self.window) {
                *until = start + window;
            }
        }
        self.window = window;
        self
    }

    /// Accounts for a parsed RTP packet with sequence number `sequence` from `from`,
    /// received at `now`.
    pub fn on_packet(&mut self, now: Instant, from: A, sequence: u16) -> LatchVerdict {
        match self.state {
            State::Locked(Some(current)) if current == from => LatchVerdict::Accept,
            State::Locked(_) => LatchVerdict::Reject,
            State::Learning { until, .. } if now >= until => {
                self.state = State::Locked(self.signalled);
                self.on_packet(now, from, sequence)
            }
            State::Learning { .. } if self.signalled == Some(from) => {
                self.state = State::Locked(Some(from));
                LatchVerdict::Latched
            }
            State::Learning { until, candidate } => {
                let run = match candidate {
                    Some((addr, last, n)) if addr == from && sequence == last.wrapping_add(1) => {
                        n.saturating_add(1)
                    }
                    _ => 1,
                };
                if run >= self.learn_packets {
                    self.state = State::Locked(Some(from));
                    LatchVerdict::Latched
                } else {
                    self.state = State::Learning {
                        until,
                        candidate: Some((from, sequence, run)),
                    };
                    LatchVerdict::Learning
                }
            }
        }
    }

    /// A re-INVITE at `now` names `signalled`: a different address starts learning again
    /// (rule 6); the same one changes nothing.
    pub fn set_signalled(&mut self, now: Instant, signalled: Option<A>) {
        if signalled == self.signalled {
            return;
        }
        self.signalled = signalled;
        self.state = State::Learning {
            until: now + self.window,
            candidate: None,
        };
    }

    /// The address the SDP names.
    pub fn signalled(&self) -> Option<A> {
        self.signalled
    }

    /// The destination for outgoing packets: the locked source, else the SDP address.
    pub fn target(&self) -> Option<A> {
        match self.state {
            State::Locked(Some(a)) => Some(a),
            _ => self.signalled,
        }
    }

    /// True once the stream is locked on a source.
    pub fn is_latched(&self) -> bool {
        matches!(self.state, State::Locked(Some(_)))
    }
}
