//! Helpers of the voice end-to-end tests: the real `ringdesk serve` binary run against an
//! in-process Zendesk sandbox, SIPp and baresip as the calling peers, a test-owned RTP
//! endpoint, and the audio analysis that checks what the caller heard.

// Each voice test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod audio;
pub mod baresip;
#[path = "../support/capture.rs"]
pub mod capture;
#[path = "../support/certs.rs"]
pub mod certs;
pub mod heard;
pub mod listening;
#[path = "../support/ports.rs"]
pub mod ports;
pub mod prompts;
pub mod rtp;
#[path = "../support/serve_child.rs"]
pub mod serve_child;
pub mod server;
pub mod sipp;

/// The RFC 4733 payload type the test endpoints press keys with.
pub const EVENT_PT: u8 = 101;

/// 20 ms frames per second.
pub const FRAMES_PER_SECOND: usize = 50;

/// Demo customers used by the voice tests (crates/zendesk/data/README.md).
pub mod demo {
    /// John Carter, en-US: most recently updated unsolved ticket 10 (open, urgent).
    pub const JOHN: (&str, u64) = ("+12125550107", 10);
    /// Ana Souza, pt-BR: ticket 2 (open, high).
    pub const ANA: (&str, u64) = ("+5511987650101", 2);
    /// Linda Garcia, en-US: ticket 14 (hold, high).
    pub const LINDA: (&str, u64) = ("+16175550110", 14);
    /// Robert Smith, en-US: ticket 13 (new, no priority).
    pub const ROBERT: (&str, u64) = ("+13125550109", 13);
    /// Patricia Davis, en-US: ticket 17 (new, urgent).
    pub const PATRICIA: (&str, u64) = ("+15125550112", 17);
    /// Michael Brown, en-US: ticket 15 (pending, low).
    pub const MICHAEL: (&str, u64) = ("+12065550111", 15);
}
