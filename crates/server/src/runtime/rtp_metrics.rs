//! Counters of strict RTP (`ringdesk_media::latch`) and SRTP, for `/metrics`: packets
//! dropped because they came from a source other than the one a leg is locked on, or
//! failed SRTP authentication. Process-wide atomics (one server per process), bumped only
//! for dropped packets.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which side of a call a packet arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The caller's RTP socket.
    Caller,
    /// An agent leg's RTP socket (bridged calls).
    Agent,
}

static FOREIGN_CALLER: AtomicU64 = AtomicU64::new(0);
static FOREIGN_AGENT: AtomicU64 = AtomicU64::new(0);
static SRTP_CALLER: AtomicU64 = AtomicU64::new(0);
static SRTP_AGENT: AtomicU64 = AtomicU64::new(0);

fn srtp_counter(leg: Leg) -> &'static AtomicU64 {
    match leg {
        Leg::Caller => &SRTP_CALLER,
        Leg::Agent => &SRTP_AGENT,
    }
}

/// One packet on an SRTP leg failed authentication (forged, replayed, damaged or plain)
/// and was dropped.
pub fn srtp_rejected(leg: Leg) {
    srtp_counter(leg).fetch_add(1, Ordering::Relaxed);
}

/// Packets dropped on SRTP legs of `leg`'s side since the start.
pub fn srtp_rejected_packets(leg: Leg) -> u64 {
    srtp_counter(leg).load(Ordering::Relaxed)
}

fn counter(leg: Leg) -> &'static AtomicU64 {
    match leg {
        Leg::Caller => &FOREIGN_CALLER,
        Leg::Agent => &FOREIGN_AGENT,
    }
}

/// One packet from a foreign source was dropped on `leg`.
pub fn foreign_packet(leg: Leg) {
    counter(leg).fetch_add(1, Ordering::Relaxed);
}

/// Foreign packets dropped on `leg` since the start.
pub fn foreign_packets(leg: Leg) -> u64 {
    counter(leg).load(Ordering::Relaxed)
}

/// Appends the counters in the Prometheus text format.
pub fn render(out: &mut String) {
    out.push_str(
        "# HELP ringdesk_rtp_foreign_packets_total RTP packets dropped because they came from a source other than the one the leg is locked on (strict RTP).\n# TYPE ringdesk_rtp_foreign_packets_total counter\n",
    );
    for (name, leg) in [("caller", Leg::Caller), ("agent", Leg::Agent)] {
        let _ = writeln!(
            out,
            "ringdesk_rtp_foreign_packets_total{{leg=\"{name}\"}} {}",
            foreign_packets(leg)
        );
    }
    out.push_str(
        "# HELP ringdesk_srtp_rejected_packets_total Packets dropped on SRTP legs because they failed authentication (forged, replayed, damaged or sent in the clear).\n# TYPE ringdesk_srtp_rejected_packets_total counter\n",
    );
    for (name, leg) in [("caller", Leg::Caller), ("agent", Leg::Agent)] {
        let _ = writeln!(
            out,
            "ringdesk_srtp_rejected_packets_total{{leg=\"{name}\"}} {}",
            srtp_rejected_packets(leg)
        );
    }
}
