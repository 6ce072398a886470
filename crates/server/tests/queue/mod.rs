//! Helpers of the queue end-to-end tests: `ringdesk serve` with agents and a `support`
//! queue against an in-process Zendesk sandbox, its admin API, SIPp as the callers, as the
//! agents' softphones (REGISTER) and as their phones (a UAS per agent on the registered
//! contact port), and test-owned RTP endpoints that send and record tones through the
//! bridge. What a caller hears is checked with the voice tests' audio analysis and
//! prompt rendering (`tests/voice/audio.rs`, `heard.rs`, `prompts.rs`).

// Each queue test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod agent;
#[path = "../voice/audio.rs"]
pub mod audio;
#[path = "../voice/baresip.rs"]
pub mod baresip;
#[path = "../support/capture.rs"]
pub mod capture;
#[path = "../support/certs.rs"]
pub mod certs;
#[path = "../voice/heard.rs"]
pub mod heard;
#[path = "../support/ports.rs"]
pub mod ports;
#[path = "../voice/prompts.rs"]
pub mod prompts;
pub mod rtp;
#[path = "../support/serve_child.rs"]
pub mod serve_child;
pub mod server;
pub mod sipp;
pub mod tone;

/// Demo customers (crates/zendesk/data/README.md) and the queue priority the default flow
/// gives them (urgent 1, high 3, normal 5, low 7, none 5).
pub mod demo {
    /// Bruno Lima: ticket 5 (hold, urgent) → priority 1.
    pub const BRUNO_URGENT: &str = "+5521987650102";
    /// Patricia Davis: ticket 17 (new, urgent) → priority 1.
    pub const PATRICIA_URGENT: &str = "+15125550112";
    /// Robert Smith: ticket 13 (new, no priority) → priority 5.
    pub const ROBERT_NORMAL: &str = "+13125550109";
    /// Mary Johnson: ticket 12 (open, normal; stored in a local format) → priority 5.
    pub const MARY_NORMAL: &str = "+14155550134";
    /// Diego/Carla Mendes share this number: ambiguous caller → priority 5.
    pub const SHARED_NORMAL: &str = "+5511987650120";
    /// Linda Garcia: ticket 14 (hold, high) → priority 3.
    pub const LINDA_HIGH: &str = "+16175550110";
    /// Michael Brown: ticket 15 (pending, low) → priority 7.
    pub const MICHAEL_LOW: &str = "+12065550111";
    /// Robert's ticket.
    pub const ROBERT_TICKET: u64 = 13;
}
