//! One benchmark call's state (INVITE → 200 → ACK → key presses → BYE) and how it ends.

use crate::sip_msg::{Dialog, SdpMedia};
use std::time::Instant;

/// Where the call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Idle,
    Inviting,
    Up,
    Byeing,
    Done,
}

/// How the call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// We hung up and ringdesk confirmed.
    ByeOk,
    /// We hung up and ringdesk never confirmed.
    ByeTimeout,
    /// ringdesk answered the INVITE with a failure.
    Rejected(u16),
    /// No final answer to the INVITE.
    NoAnswer,
    /// ringdesk hung up while we were on hold.
    RemoteBye,
}

/// One call.
#[derive(Debug)]
pub struct Call {
    pub dialog: Dialog,
    pub invite_branch: String,
    /// Media socket index (which receiver owns its RTP).
    pub media: usize,
    pub state: State,
    /// A provisional answer arrived: stop retransmitting the INVITE.
    pub proceeding: bool,
    /// Kernel arrival time of the 200 OK (ns, CLOCK_REALTIME).
    pub ok_at_ns: Option<i64>,
    pub answered_at: Option<Instant>,
    /// ringdesk's RTP address and telephone-event payload type.
    pub remote_media: Option<SdpMedia>,
    pub end: Option<End>,
    pub keys_sent: u8,
    /// Talk packets sent (`--talk-after`).
    pub talk_sent: u64,
    /// Our DTMF stream.
    pub ssrc: u32,
    pub seq: u16,
    /// With `--srtp on`: the `a=crypto` line offered, and what protects our packets.
    pub srtp: Option<(String, ringdesk_media::SrtpSender)>,
}

impl Call {
    pub fn new(dialog: Dialog, invite_branch: String, media: usize, seed: u32) -> Call {
        Call {
            dialog,
            invite_branch,
            media,
            state: State::Idle,
            proceeding: false,
            ok_at_ns: None,
            answered_at: None,
            remote_media: None,
            end: None,
            keys_sent: 0,
            talk_sent: 0,
            ssrc: seed.wrapping_mul(2_654_435_761),
            seq: (seed as u16).wrapping_mul(31),
            srtp: None,
        }
    }

    /// Offers SRTP with a key of its own and protects what it sends.
    pub fn with_srtp(mut self, seed: u32) -> Call {
        let key = crate::srtp::key(seed);
        self.srtp = Some((crate::srtp::crypto_line(&key), crate::srtp::sender(&key)));
        self
    }

    /// `packet` as it goes on the wire (protected when the call has SRTP).
    pub fn wire(&mut self, packet: &[u8]) -> Vec<u8> {
        match &mut self.srtp {
            None => packet.to_vec(),
            Some((_, sender)) => {
                let mut out = Vec::with_capacity(packet.len() + 10);
                match sender.protect(packet, &mut out) {
                    Ok(()) => out,
                    Err(_) => packet.to_vec(),
                }
            }
        }
    }

    /// Ends the call once.
    pub fn finish(&mut self, end: End) {
        if self.state != State::Done {
            self.state = State::Done;
            self.end = Some(end);
        }
    }
}

/// Call-ID of call `idx` in run `run`: the index is recoverable from it.
pub fn call_id(idx: usize, run: u32) -> String {
    format!("rb{idx}-{run}@ringbench")
}

/// The call index in a Call-ID made by [`call_id`].
pub fn index_of(call_id: &str) -> Option<usize> {
    call_id.strip_prefix("rb")?.split('-').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_round_trip_and_strangers_do_not_match() {
        assert_eq!(index_of(&call_id(4711, 99)), Some(4711));
        assert_eq!(index_of("abc@host"), None);
        assert_eq!(index_of("rbx-1@ringbench"), None);
    }
}
