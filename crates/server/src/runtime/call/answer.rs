//! Answering a call: the session starts just before the answer (its first prompt, the
//! greeting, pre-rendered, goes out in the stream's very first packet, right after the
//! 200 OK), then the RTP socket, the media stream and the receive task.

use super::super::bridge::Slot;
use super::super::media_worker;
use super::super::msg::Msg;
use super::super::prompts::Prompts;
use super::super::rtp_metrics::Leg;
use super::super::rtp_rx;
use super::super::rtp_socket::RtpSocket;
use super::media::{media_codec, MediaPort};
use super::shared::{now, Incoming, Shared};
use crate::runtime::acd::QueueEvent;
use crate::runtime::media_worker::Played;
use ringdesk_flow::{ActionId, CallStart, Flow};
use ringdesk_media::{OutboundStream, StreamConfig};
use ringdesk_session::{Output, Session, SessionConfig};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A call answered, with its stream set up, ready to be driven.
pub(super) struct Answered {
    pub session: Session,
    pub handle: ringdesk_sip::CallHandle,
    pub media: MediaPort,
    pub interaction_id: String,
    /// The flow's name (for the count of calls per node).
    pub flow_name: Arc<str>,
    pub queue_tx: mpsc::UnboundedSender<QueueEvent>,
    /// What the session asked for before the answer.
    pub early: Vec<Output>,
    /// The greeting playing from the first packet: its action and its number of clips.
    pub greeting: Option<(ActionId, usize)>,
    pub played_rx: mpsc::UnboundedReceiver<Played>,
    pub queue_rx: mpsc::UnboundedReceiver<QueueEvent>,
    /// The RTP receive task.
    pub receiver: tokio::task::JoinHandle<()>,
}

/// Answers the call (the session starts just before), opens its RTP and its media stream.
/// On failure the session comes back for the call's record.
pub(super) async fn answer(
    shared: &Shared,
    flow: Arc<Flow>,
    inc: Incoming,
    tx: &mpsc::UnboundedSender<Msg>,
) -> Result<Box<Answered>, Box<Session>> {
    let call_id = inc.call.id();
    let interaction_id = uuid::Uuid::new_v4().to_string();
    let mut extra = shared.extra.clone();
    extra.insert(
        crate::config::CALLER_IDENTITY_VARIABLE.into(),
        inc.identity.as_str().into(),
    );
    let start = CallStart {
        call_id: interaction_id.clone(),
        ani: inc.ani,
        dnis: inc.dnis,
        headers: inc.headers,
        started_at: jiff::Timestamp::now().to_string(),
        extra,
    };
    let flow_name = flow.name().to_string();
    let mut session = Session::new(
        flow,
        start,
        shared.helpdesk.clone(),
        SessionConfig::default(),
        now(),
        jiff::Timestamp::now(),
    );
    // One socket, one descriptor: the call's receive task reads it, the media thread
    // sends on it.
    let socket = match RtpSocket::bind(shared.rtp_ip, Leg::Caller) {
        Ok(socket) => socket,
        Err(e) => {
            tracing::error!(%call_id, "cannot open an RTP socket: {e}");
            let _ = inc.call.reject(503);
            return Err(Box::new(session));
        }
    };
    let local = match socket.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(%call_id, "RTP socket has no address: {e}");
            let _ = inc.call.reject(503);
            return Err(Box::new(session));
        }
    };
    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let (early, greeting) = first_prompt(&mut session, &shared.prompts);
    let answer = match inc.call.answer(local) {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(%call_id, "call not answered: {e}");
            return Err(Box::new(session));
        }
    };
    // From here the leg's packets are SRTP or plain, as the SDP said (nothing passed
    // before: the 200 OK has only just gone).
    if let Err(e) = socket.secure(answer.srtp.as_ref()) {
        tracing::error!(%call_id, "cannot set up SRTP: {e}");
        let _ = inc.call.hangup().await;
        return Err(Box::new(session));
    }
    let codec = media_codec(answer.codec);
    let te_pt = answer.telephone_event_pt;
    let signalled = (!answer.remote_addr.ip().is_unspecified()).then_some(answer.remote_addr);
    let payload_type = answer.payload_type;
    // Not kept for the whole call (its SDP text is only for the 200 OK).
    drop(answer);
    let (played_tx, played_rx) = mpsc::unbounded_channel();
    let config = StreamConfig {
        codec,
        telephone_event_pt: te_pt.unwrap_or(101),
        ssrc: rand::random(),
        initial_sequence: rand::random(),
        initial_timestamp: rand::random(),
    };
    let first = greeting.as_ref().map(|(id, clips)| (clips.clone(), id.0));
    // The greeting's first packet leaves from here, right after the 200 OK.
    let mut outbound = OutboundStream::new(config);
    let sent_at = media_worker::send_first(&mut outbound, first, &socket, signalled);
    let Some(stream) = shared
        .media
        .add(outbound, sent_at, socket.clone(), signalled, played_tx)
        .await
    else {
        tracing::error!(%call_id, "media worker stopped");
        let _ = inc.call.hangup().await;
        return Err(Box::new(session));
    };
    let bridge_to = Slot::new(None);
    let dest = Slot::new(signalled);
    let sdp_addr = Slot::new(signalled);
    let receiver = tokio::spawn(rtp_rx::receive(
        socket.clone(),
        codec,
        te_pt,
        sdp_addr.clone(),
        tx.clone(),
        bridge_to.clone(),
    ));
    tracing::info!(%call_id, codec = ?codec, srtp = socket.is_srtp(), %local, flow = %flow_name, "call answered");
    session.answered(now());
    let media = MediaPort::new(
        stream,
        socket,
        (codec, payload_type, te_pt),
        dest,
        sdp_addr,
        bridge_to,
    );
    Ok(Box::new(Answered {
        session,
        handle: inc.call,
        media,
        interaction_id,
        flow_name: flow_name.as_str().into(),
        queue_tx,
        early,
        greeting: greeting.map(|(id, clips)| (id, clips.len())),
        played_rx,
        queue_rx,
        receiver,
    }))
}

/// The session's first outputs up to and including its first prompt, and that prompt's
/// clips when they are already rendered (static prompts are, at flow load): they play
/// from the first packet. Nothing is synthesized here, so the answer is never delayed.
fn first_prompt(
    session: &mut Session,
    prompts: &Prompts,
) -> (Vec<Output>, Option<(ActionId, Vec<ringdesk_media::Clip>)>) {
    let mut early = Vec::new();
    let mut greeting = None;
    while let Some(out) = session.poll_output() {
        match &out {
            Output::Log(_) => early.push(out),
            Output::Play { id, segments, .. } => {
                let clips: Option<Vec<Vec<_>>> =
                    segments.iter().map(|s| prompts.ready(s)).collect();
                let clips: Option<Vec<_>> = clips.map(|c| c.into_iter().flatten().collect());
                if let Some(clips) = clips.filter(|c| !c.is_empty()) {
                    greeting = Some((*id, clips));
                }
                early.push(out);
                break;
            }
            _ => {
                early.push(out);
                break;
            }
        }
    }
    (early, greeting)
}
