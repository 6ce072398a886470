//! One answered phone call: the thin loop around its [`Session`] (the sans-IO call core).
//! Messages from the network, the media threads and the queue become session inputs; the
//! session's outputs are carried out through three ports: the media (`media.rs`), the
//! agent bridge (`bridge_port.rs`) and the queue and HTTP below. Answering (RTP socket,
//! greeting in the first packet) is in `answer.rs`.

mod answer;
mod bridge_port;
mod media;
mod shared;

pub use shared::{Incoming, Shared};

use super::acd::QueueEvent;
use super::http;
use super::media_worker::Played;
use super::msg::{HttpDone, Msg};
use answer::Answered;
use bridge_port::BridgePort;
use media::MediaPort;
use ringdesk_flow::{ActionId, LogEntry};
use ringdesk_session::{Input, Output, Session};
use ringdesk_sip::CallHandle;
use ringdesk_store::BridgeMedia;
use shared::now;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Runs a call from answer to the end of its flow (call-ended handlers included).
pub async fn run(
    shared: Arc<Shared>,
    flow: Arc<ringdesk_flow::Flow>,
    inc: Incoming,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
) {
    let call_id = inc.call.id();
    let store = shared.store.clone();
    // Answering's state is large and short-lived: it is boxed, so that what a call keeps
    // for its whole life is only what a call in progress needs (a future keeps room for
    // its largest await, and for every local still in scope there, moved or not).
    let (session, media) = match Box::pin(answer::answer(&shared, flow, inc, &tx)).await {
        Ok(answered) => drive(Running::new(shared, tx, answered), rx).await,
        Err(session) => (*session, None),
    };
    let (mut interaction, items) = session.finish(now());
    // What the bridge did with the call's RTP: measured here, not decided by the session.
    interaction.media = media;
    let n = items.len();
    // A failed write (disk full) is retried with backoff and counted; given up on, it is
    // counted as lost (ringdesk_records_lost_total) and logged by the store too.
    let retry = ringdesk_store::RecordRetry::default();
    let written = store.record_call_retrying(interaction, items, jiff::Timestamp::now(), retry);
    if let Err(e) = Box::pin(written).await {
        tracing::error!(%call_id, outbox_items = n, "the call's record and post-call requests could not be stored: {e}");
    }
}

/// An answered call with what its loop reads from. Kept in one box: the call's future
/// holds only the box while the call lasts.
struct Running {
    call: Call,
    /// What the session asked for before the answer.
    early: Vec<Output>,
    /// The greeting playing from the first packet: its action and its number of clips.
    greeting: Option<(ActionId, usize)>,
    played_rx: mpsc::UnboundedReceiver<Played>,
    queue_rx: mpsc::UnboundedReceiver<QueueEvent>,
    receiver: tokio::task::JoinHandle<()>,
}

impl Running {
    fn new(shared: Arc<Shared>, tx: mpsc::UnboundedSender<Msg>, a: Box<Answered>) -> Box<Running> {
        let a = *a;
        Box::new(Running {
            call: Call {
                session: a.session,
                shared,
                handle: a.handle,
                tx,
                media: a.media,
                bridge: BridgePort::default(),
                interaction_id: a.interaction_id,
                flow_name: a.flow_name,
                queue_tx: a.queue_tx,
            },
            early: a.early,
            greeting: a.greeting,
            played_rx: a.played_rx,
            queue_rx: a.queue_rx,
            receiver: a.receiver,
        })
    }
}

/// Drives the call to the end of its flow; returns its session and what its bridges did
/// with its RTP (for the record).
async fn drive(
    mut r: Box<Running>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) -> (Session, Option<BridgeMedia>) {
    let early = std::mem::take(&mut r.early);
    let greeting = r.greeting;
    let call = &mut r.call;
    // What the session asked for before the answer: the greeting already plays.
    for out in early {
        match (&out, greeting) {
            (Output::Play { id, node, .. }, Some((g, clips))) if *id == g => {
                tracing::debug!(call = %call.interaction_id, node, "prompt");
                call.media.started(*id, clips)
            }
            _ => {
                if let Some(slow) = call.perform_now(out) {
                    Box::pin(call.perform_slow(slow)).await;
                }
            }
        }
    }
    let Running {
        call,
        played_rx,
        queue_rx,
        receiver,
        ..
    } = &mut *r;
    call.drive(&mut rx, played_rx, queue_rx).await;
    receiver.abort();
    call.close().await;
    let media = r.call.bridge.media();
    (r.call.session, media)
}

/// A call in progress: its session and the ports that carry out its outputs.
struct Call {
    session: Session,
    shared: Arc<Shared>,
    handle: CallHandle,
    tx: mpsc::UnboundedSender<Msg>,
    media: MediaPort,
    bridge: BridgePort,
    interaction_id: String,
    flow_name: Arc<str>,
    queue_tx: mpsc::UnboundedSender<QueueEvent>,
}

impl Call {
    fn input(&mut self, input: Input) {
        self.session.handle_input(now(), input);
    }

    /// Carries out the session's outputs until it has none; returns when the flow is done
    /// or the call's channel closed.
    async fn drive(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Msg>,
        played: &mut mpsc::UnboundedReceiver<Played>,
        queue: &mut mpsc::UnboundedReceiver<QueueEvent>,
    ) {
        loop {
            self.perform_all().await;
            if self.session.is_finished() {
                return;
            }
            let wake = self.session.poll_timeout().map(Instant::from_std);
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => self.on_msg(m),
                    None => return,
                },
                Some(p) = played.recv() => {
                    if let Some(id) = self.media.on_played(p) {
                        self.input(Input::PlayDone(id));
                    }
                }
                Some(q) = queue.recv() => self.on_queue(q),
                _ = sleep_until_opt(wake) => self.session.handle_timeout(now()),
            }
        }
    }

    /// Carries out every output the session has.
    async fn perform_all(&mut self) {
        while let Some(out) = self.session.poll_output() {
            // Most outputs are done at once; the few that wait (rendering a prompt, the
            // queue, the hang-up) are boxed, so an idle call keeps no room for them.
            if let Some(slow) = self.perform_now(out) {
                Box::pin(self.perform_slow(slow)).await;
            }
        }
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Digit(key) => self.input(Input::Digit(key)),
            Msg::Info(info) => {
                match ringdesk_media::sip_info::parse_info(&info.content_type, &info.body) {
                    Ok(d) => self.input(Input::Digit(d.digit.as_char())),
                    Err(e) => tracing::debug!("SIP INFO without a usable digit: {e}"),
                }
            }
            Msg::Latched(addr) => self.media.latched(&self.shared.media, *addr),
            Msg::Reinvite { remote, hold } => {
                self.media.reinvite(&self.shared.media, *remote, hold)
            }
            Msg::AgentHangup => self.input(Input::AgentHangup),
            Msg::AgentLost => self.input(Input::AgentLost),
            Msg::Http(done) => {
                let HttpDone { id, outcome } = *done;
                self.input(Input::HttpDone { id, outcome })
            }
            Msg::Hangup => self.input(Input::CallerHangup),
        }
    }

    /// Queue events for this call.
    fn on_queue(&mut self, q: QueueEvent) {
        match q {
            QueueEvent::Offered(agent) => self.input(Input::AgentOffered(*agent)),
            QueueEvent::Answered { agent, leg } => {
                self.bridge.answered(leg);
                self.input(Input::AgentAnswered(*agent));
            }
            QueueEvent::MaxWait => {
                tracing::info!(call = %self.interaction_id, "maximum queue wait reached");
                self.input(Input::MaxWait);
            }
        }
    }

    /// Does an output; returns the part that has to wait for IO (rendering a prompt, the
    /// queue, the hang-up), for [`Call::perform_slow`].
    fn perform_now(&mut self, out: Output) -> Option<Slow> {
        match out {
            Output::Play {
                id, node, segments, ..
            } => {
                // What the caller hears, by node (never the text: it may be personal).
                tracing::debug!(call = %self.interaction_id, node, "prompt");
                let ready: Option<Vec<Vec<_>>> = segments
                    .iter()
                    .map(|s| self.shared.prompts.ready(s))
                    .collect();
                match ready {
                    Some(clips) => self.play(id, clips.into_iter().flatten().collect()),
                    None => return Some(Slow::Play { id, segments }),
                }
            }
            Output::Music { id, node, file, .. } => match self.shared.prompts.file(&file) {
                Ok(clip) => {
                    tracing::debug!(call = %self.interaction_id, node, "music");
                    self.media.music(&self.shared.media, id, clip)
                }
                Err(e) => {
                    tracing::warn!("music cannot play: {e:#}");
                    self.input(Input::PlayFailed {
                        id,
                        reason: format!("{e:#}"),
                    });
                }
            },
            Output::Stop { .. } => self.media.stop(&self.shared.media),
            Output::Http { id, request, .. } => {
                let connectors = self.shared.connectors.clone();
                let helpdesk = self.shared.helpdesk.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let outcome = http::execute_now(&connectors, &*helpdesk, &request).await;
                    let _ = tx.send(Msg::Http(Box::new(HttpDone { id, outcome })));
                });
            }
            Output::Deferred { node, .. } => {
                tracing::debug!(node, "durable request kept for the outbox")
            }
            Output::Enqueue {
                id,
                queue,
                priority,
                availability,
                skills,
                pop,
                ..
            } => {
                self.shared
                    .desk
                    .queued(&self.interaction_id, pop, &queue, priority);
                return Some(Slow::Enqueue {
                    id,
                    queue,
                    priority,
                    availability,
                    skills,
                });
            }
            Output::QueueInfo { id, queue, .. } => return Some(Slow::QueueInfo { id, queue }),
            Output::Bridge { agent } => {
                // Our prompts and music are stopped and the stream paused: the agent is
                // heard. The stream comes back if the agent leaves and the flow goes on.
                self.media.pause(&self.shared.media);
                match self
                    .bridge
                    .start(&self.shared, &self.media, &self.tx, &agent.id)
                {
                    Ok(()) => {
                        tracing::info!(call = %self.interaction_id, agent = %agent.id, "caller bridged to agent")
                    }
                    Err(e) => self.input(Input::BridgeFailed {
                        reason: format!("{e:#}"),
                    }),
                }
            }
            Output::Unbridge { hang_up_agent } => {
                self.bridge.end(&self.shared, &self.media, hang_up_agent);
                self.media.resume(&self.shared.media);
            }
            Output::LeaveQueue { by } => self.shared.acd.left(&self.interaction_id, by),
            Output::Disconnect { reason, send_bye } => {
                tracing::info!(call = %self.handle.id(), "flow disconnects: {reason}");
                if send_bye {
                    return Some(Slow::Hangup);
                }
            }
            Output::Log(entry) => {
                if let LogEntry::NodeEntered { node, .. } = &entry {
                    let today = jiff::Zoned::now().date();
                    self.shared
                        .flow_counts
                        .entered(today, &self.flow_name, node);
                }
                log(&self.interaction_id, &entry)
            }
        }
        None
    }

    /// The part of an output that waits for IO.
    async fn perform_slow(&mut self, slow: Slow) {
        match slow {
            Slow::Play { id, segments } => {
                let mut clips = Vec::with_capacity(segments.len());
                for s in &segments {
                    match self.shared.prompts.clips(s).await {
                        Ok(c) => clips.extend(c),
                        Err(e) => {
                            tracing::warn!("prompt cannot play: {e:#}");
                            return self.input(Input::PlayFailed {
                                id,
                                reason: format!("{e:#}"),
                            });
                        }
                    }
                }
                self.play(id, clips);
            }
            Slow::Enqueue {
                id,
                queue,
                priority,
                availability,
                skills,
            } => {
                let result = self
                    .shared
                    .acd
                    .enqueue(
                        &self.interaction_id,
                        &queue,
                        priority,
                        availability,
                        skills,
                        self.queue_tx.clone(),
                    )
                    .await;
                self.input(Input::QueueResult { id, result });
            }
            Slow::QueueInfo { id, queue } => {
                let info = self
                    .shared
                    .acd
                    .info(&queue, Some(&self.interaction_id))
                    .await;
                self.input(Input::QueueInfo { id, info });
            }
            Slow::Hangup => {
                if let Err(e) = self.handle.hangup().await {
                    tracing::debug!("hangup: {e}");
                }
            }
        }
    }

    /// Starts a prompt's clips (an empty prompt is done at once).
    fn play(&mut self, id: ActionId, clips: Vec<ringdesk_media::Clip>) {
        if !self.media.play(&self.shared.media, id, clips) {
            self.input(Input::PlayDone(id));
        }
    }

    /// The flow is done (or the call's channel closed): leave the queue and the bridge,
    /// stop the media, hang up if the caller is still there.
    async fn close(&mut self) {
        self.session.end(now());
        self.perform_all().await;
        self.shared.desk.ended(&self.interaction_id);
        self.media.remove(&self.shared.media);
        if !self.session.caller_gone() {
            let _ = self.handle.hangup().await;
        }
        tracing::info!(call_id = %self.handle.id(), "call finished");
    }
}

/// What an output still has to do after [`Call::perform_now`]: IO to wait for.
enum Slow {
    Play {
        id: ActionId,
        segments: Vec<ringdesk_flow::Segment>,
    },
    Enqueue {
        id: ActionId,
        queue: String,
        priority: u8,
        availability: ringdesk_flow::AvailabilityCheck,
        skills: Vec<String>,
    },
    QueueInfo {
        id: ActionId,
        queue: String,
    },
    Hangup,
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn log(call: &str, entry: &LogEntry) {
    match entry {
        LogEntry::Error { node, message } => tracing::warn!(call, node, "flow error: {message}"),
        // The call's path through the flow, by node and exit (never a variable's value).
        LogEntry::ExitTaken { node, exit, target } => {
            let target = target.as_deref().unwrap_or("-");
            tracing::debug!(call, node, exit, target, "exit")
        }
        LogEntry::Finished { reason } => tracing::debug!("flow finished: {reason}"),
        other => tracing::trace!(?other, "flow"),
    }
}
