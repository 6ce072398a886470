//! The media port of a call: the caller's RTP leg (its socket, where its RTP goes, where
//! its audio is relayed when bridged) and its stream on the media threads. Prompts are
//! reported done when their last clip has played; a stopped prompt is never reported.

use super::super::bridge::{Relay, Slot};
use super::super::media_worker::{Command, MediaStream, MediaWorker, Played};
use super::super::rtp_socket::RtpSocket;
use ringdesk_flow::ActionId;
use ringdesk_media::{Clip, Codec};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The media crate's codec for the one SIP negotiated.
pub(super) fn media_codec(c: ringdesk_sip::Codec) -> Codec {
    match c {
        ringdesk_sip::Codec::Pcmu => Codec::Pcmu,
        ringdesk_sip::Codec::Pcma => Codec::Pcma,
    }
}

/// The caller's leg and what plays on it.
pub(super) struct MediaPort {
    pub stream: MediaStream,
    /// Prompts playing: tag → (action, clips still to finish).
    plays: HashMap<u64, (ActionId, usize)>,
    pub socket: Arc<RtpSocket>,
    /// The caller's codec, payload type and telephone-event payload type.
    pub caller_media: (Codec, u8, Option<u8>),
    /// Where the caller's RTP goes (signalled, then latched).
    pub dest: Arc<Slot<Option<SocketAddr>>>,
    /// The address the caller's SDP names (read by the receive task, for strict RTP).
    pub signalled: Arc<Slot<Option<SocketAddr>>>,
    /// The source the receive task locked on, if it reported one.
    latched: Option<SocketAddr>,
    /// Where the caller's RTP is relayed when bridged (read by the receive task).
    pub bridge_to: Arc<Slot<Option<Arc<Relay>>>>,
}

impl MediaPort {
    pub fn new(
        stream: MediaStream,
        socket: Arc<RtpSocket>,
        caller_media: (Codec, u8, Option<u8>),
        dest: Arc<Slot<Option<SocketAddr>>>,
        signalled: Arc<Slot<Option<SocketAddr>>>,
        bridge_to: Arc<Slot<Option<Arc<Relay>>>>,
    ) -> MediaPort {
        MediaPort {
            stream,
            plays: HashMap::new(),
            socket,
            caller_media,
            dest,
            signalled,
            latched: None,
            bridge_to,
        }
    }

    /// The greeting already plays from the first packet: count its clips.
    pub fn started(&mut self, id: ActionId, clips: usize) {
        self.plays.insert(id.0, (id, clips));
    }

    /// Queues a prompt's clips; `false` when there is nothing to play (done at once).
    pub fn play(&mut self, media: &MediaWorker, id: ActionId, clips: Vec<Clip>) -> bool {
        if clips.is_empty() {
            return false;
        }
        self.plays.insert(id.0, (id, clips.len()));
        media.send(Command::Play {
            id: self.stream,
            clips,
            tag: id.0,
        });
        true
    }

    /// Loops music until stopped.
    pub fn music(&mut self, media: &MediaWorker, id: ActionId, clip: Clip) {
        media.send(Command::Loop {
            id: self.stream,
            clip,
            tag: id.0,
        });
    }

    /// Stops everything playing and queued.
    pub fn stop(&mut self, media: &MediaWorker) {
        self.plays.clear();
        media.send(Command::Stop { id: self.stream });
    }

    /// Stops sending the caller our audio (bridged: they hear the agent), keeping the
    /// stream for [`MediaPort::resume`].
    pub fn pause(&mut self, media: &MediaWorker) {
        self.plays.clear();
        media.send(Command::Pause { id: self.stream });
    }

    /// Sends the caller our audio again (the agent left; the flow goes on).
    pub fn resume(&mut self, media: &MediaWorker) {
        media.send(Command::Resume { id: self.stream });
    }

    /// Takes the stream off the media threads (the call is over).
    pub fn remove(&mut self, media: &MediaWorker) {
        self.plays.clear();
        media.send(Command::Remove { id: self.stream });
    }

    /// Our RTP goes to `addr` from now on (`None`: on hold).
    pub fn set_dest(&mut self, media: &MediaWorker, addr: Option<SocketAddr>) {
        self.dest.set(addr);
        media.send(Command::Dest {
            id: self.stream,
            addr,
        });
    }

    /// The receive task locked the caller's RTP on `addr`: ours goes there.
    pub fn latched(&mut self, media: &MediaWorker, addr: SocketAddr) {
        self.latched = Some(addr);
        self.set_dest(media, Some(addr));
    }

    /// A re-INVITE names `remote` (`hold`: send nothing). A new address is learned again
    /// by the receive task (strict RTP); the same one keeps the source locked on.
    pub fn reinvite(&mut self, media: &MediaWorker, remote: SocketAddr, hold: bool) {
        let named = (!remote.ip().is_unspecified()).then_some(remote);
        if named.is_some() && named != self.signalled.with(|s| *s) {
            self.signalled.set(named);
            self.latched = None;
        }
        let dest = if hold { None } else { self.latched.or(named) };
        self.set_dest(media, dest);
    }

    /// A clip finished (or was cut): the prompt it ends, when it was the last one.
    pub fn on_played(&mut self, p: Played) -> Option<ActionId> {
        let (id, remaining) = self.plays.get_mut(&p.tag)?;
        let id = *id;
        if !p.completed {
            self.plays.remove(&p.tag);
            return None;
        }
        *remaining = remaining.saturating_sub(1);
        if *remaining > 0 {
            return None;
        }
        self.plays.remove(&p.tag);
        Some(id)
    }
}
