//! One answered phone call: answers the SIP offer, opens its RTP socket, and drives the
//! flow executor with real events (prompt finished, digit, HTTP done, hang-up, timers),
//! performing its actions through the media worker, the prompt cache and the connectors.

use super::acd::{AcdHandle, QueueEvent};
use super::agents::{CallInfo, SipDialer};
use super::bridge::{self, Relay, Slot, Source};
use super::media_worker::{self, Command, MediaStream, MediaWorker, Played};
use super::prompts::Prompts;
use super::record::CallRecorder;
use super::rtp_socket::RtpSocket;
use super::{http, rtp_rx};
use jiff::Timestamp;
use ringdesk_acd::Party;
use ringdesk_connector::Connectors;
use ringdesk_flow::{Action, ActionId, CallStart, Event, Executor, Flow, LogEntry};
use ringdesk_media::{Codec, OutboundStream, StreamConfig};
use ringdesk_sip::CallHandle;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the server shares with every call.
pub struct Shared {
    pub media: MediaWorker,
    pub prompts: Arc<Prompts>,
    pub connectors: Connectors,
    /// The queue (routing core task) and the agent dialer.
    pub acd: AcdHandle,
    pub dialer: Arc<SipDialer>,
    /// Interaction records and the durable outbox.
    pub store: ringdesk_store::Store,
    /// Address RTP sockets bind to.
    pub rtp_ip: IpAddr,
    /// Variables every call starts with (language, region, Zendesk URL).
    pub extra: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Messages to a call task. Rare or large payloads are boxed: a call's channel holds room
/// for 32 messages from the start, for the whole call.
#[derive(Debug)]
pub enum Msg {
    Digit(char),
    /// SIP INFO DTMF body.
    Info(Box<InfoBody>),
    /// Our RTP now goes to this address (symmetric RTP latch).
    Latched(Box<SocketAddr>),
    /// re-INVITE: new remote address, or hold.
    Reinvite {
        remote: Box<SocketAddr>,
        hold: bool,
    },
    Http(Box<HttpDone>),
    Hangup,
    /// The bridged agent hung up.
    AgentHangup,
}

/// A SIP INFO request's body, as received.
#[derive(Debug)]
pub struct InfoBody {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The answer to one of the flow's HTTP requests.
#[derive(Debug)]
pub struct HttpDone {
    pub id: ActionId,
    pub outcome: ringdesk_flow::HttpOutcome,
}

fn media_codec(c: ringdesk_sip::Codec) -> Codec {
    match c {
        ringdesk_sip::Codec::Pcmu => Codec::Pcmu,
        ringdesk_sip::Codec::Pcma => Codec::Pcma,
    }
}

/// The caller side of a call, as the network delivered it.
pub struct Incoming {
    pub call: CallHandle,
    pub ani: String,
    pub dnis: String,
    pub headers: Vec<(String, String)>,
}

/// Runs a call from answer to the end of its flow (call-ended handlers included).
pub async fn run(
    shared: Arc<Shared>,
    flow: Arc<Flow>,
    inc: Incoming,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
) {
    let call_id = inc.call.id();
    let store = shared.store.clone();
    // Answering's state is large and short-lived: it is boxed, so that what a call keeps
    // for its whole life is only what a call in progress needs (a future keeps room for
    // its largest await, and for every local still in scope there, moved or not).
    let recorder = match Box::pin(answer(shared, flow, inc, tx)).await {
        Ok(answered) => answered.drive(rx).await,
        Err(recorder) => *recorder,
    };
    let (interaction, items) = recorder.finish(Timestamp::now());
    let n = items.len();
    if let Err(e) = Box::pin(store.record_call(interaction, items, Timestamp::now())).await {
        tracing::error!(%call_id, outbox_items = n, "the call's record and post-call requests could not be stored: {e}");
    }
}

/// A call answered, with its stream set up, ready to be driven.
struct Answered {
    call: Call,
    /// What the flow did before the answer.
    early: Vec<Action>,
    /// The greeting playing from the first packet: its action and its number of clips.
    greeting: Option<(ActionId, usize)>,
    played_rx: mpsc::UnboundedReceiver<Played>,
    queue_rx: mpsc::UnboundedReceiver<QueueEvent>,
    receiver: tokio::task::JoinHandle<()>,
}

/// Answers the call (the flow starts just before), opens its RTP and its media stream.
async fn answer(
    shared: Arc<Shared>,
    flow: Arc<Flow>,
    inc: Incoming,
    tx: mpsc::UnboundedSender<Msg>,
) -> Result<Box<Answered>, Box<CallRecorder>> {
    let call_id = inc.call.id();
    let interaction_id = uuid::Uuid::new_v4().to_string();
    let mut recorder = CallRecorder::new(&interaction_id, &inc.ani, &inc.dnis, Timestamp::now());
    // One socket, one descriptor: the call's receive task reads it, the media thread
    // sends on it.
    let socket = match RtpSocket::bind(shared.rtp_ip) {
        Ok(socket) => socket,
        Err(e) => {
            tracing::error!(%call_id, "cannot open an RTP socket: {e}");
            let _ = inc.call.reject(503);
            return Err(Box::new(recorder));
        }
    };
    let local = match socket.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(%call_id, "RTP socket has no address: {e}");
            let _ = inc.call.reject(503);
            return Err(Box::new(recorder));
        }
    };
    // The flow starts before the answer: its first prompt (the greeting, pre-rendered)
    // then goes out in the stream's very first packet, right after the 200 OK.
    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let start = CallStart {
        call_id: interaction_id.clone(),
        ani: inc.ani,
        dnis: inc.dnis,
        headers: inc.headers,
        started_at: jiff::Timestamp::now().to_string(),
        extra: shared.extra.clone(),
    };
    let flow_name = flow.name().to_string();
    let mut ex = Executor::new(flow, start, Instant::now().into_std());
    let (early, greeting) = first_prompt(&mut ex, &shared.prompts);
    let answer = match inc.call.answer(local) {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(%call_id, "call not answered: {e}");
            return Err(Box::new(recorder));
        }
    };
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
        return Err(Box::new(recorder));
    };
    let bridge_to = Slot::new(None);
    let dest = Slot::new(signalled);
    let receiver = tokio::spawn(rtp_rx::receive(
        socket.clone(),
        codec,
        te_pt,
        signalled,
        tx.clone(),
        bridge_to.clone(),
    ));
    tracing::info!(%call_id, codec = ?codec, %local, flow = %flow_name, "call answered");
    recorder.answered(Timestamp::now());

    let call = Call {
        ex,
        shared: shared.clone(),
        handle: inc.call,
        stream,
        tx,
        plays: HashMap::new(),
        music: None,
        hung_up: false,
        recorder,
        interaction_id,
        socket: socket.clone(),
        caller_media: (codec, payload_type, te_pt),
        dest,
        bridge_to,
        queue_tx,
        queued: false,
        bridge: None,
    };
    Ok(Box::new(Answered {
        call,
        early,
        greeting: greeting.map(|(id, clips)| (id, clips.len())),
        played_rx,
        queue_rx,
        receiver,
    }))
}

impl Answered {
    /// Drives the call to the end of its flow; returns its record. The call stays in its
    /// box (the future holds only the box).
    async fn drive(mut self: Box<Self>, mut rx: mpsc::UnboundedReceiver<Msg>) -> CallRecorder {
        let early = std::mem::take(&mut self.early);
        let greeting = self.greeting;
        let call = &mut self.call;
        // What the flow did before the answer: the greeting already plays.
        for action in early {
            match (&action, greeting) {
                (Action::Play { id, .. }, Some((g, clips))) if *id == g => {
                    call.recorder.on_action(&action);
                    call.plays.insert(id.0, (*id, clips));
                }
                _ => {
                    if let Some(slow) = call.perform_now(action) {
                        Box::pin(call.perform_slow(slow)).await;
                    }
                }
            }
        }
        let Answered {
            call,
            played_rx,
            queue_rx,
            receiver,
            ..
        } = &mut *self;
        call.drive(&mut rx, played_rx, queue_rx).await;
        call.leave_queue().await;
        receiver.abort();
        call.shared.media.send(Command::Remove { id: call.stream });
        if !call.hung_up {
            let _ = call.handle.hangup().await;
        }
        tracing::info!(call_id = %call.handle.id(), "call finished");
        self.call.recorder
    }
}

struct Call {
    ex: Executor,
    shared: Arc<Shared>,
    handle: CallHandle,
    stream: MediaStream,
    tx: mpsc::UnboundedSender<Msg>,
    /// Prompts playing: tag → (action, clips still to finish).
    plays: HashMap<u64, (ActionId, usize)>,
    /// Music playing: (action, when its duration ends).
    music: Option<(ActionId, Option<Instant>)>,
    hung_up: bool,
    recorder: CallRecorder,
    interaction_id: String,
    socket: Arc<RtpSocket>,
    /// The caller's codec, payload type and telephone-event payload type.
    caller_media: (Codec, u8, Option<u8>),
    /// Where the caller's RTP goes (signalled, then latched).
    dest: Arc<Slot<Option<SocketAddr>>>,
    /// Where the caller's RTP is relayed when bridged.
    bridge_to: Arc<Slot<Option<Arc<Relay>>>>,
    queue_tx: mpsc::UnboundedSender<QueueEvent>,
    /// In a queue (not yet answered by an agent).
    queued: bool,
    bridge: Option<Bridge>,
}

/// A caller bridged to an agent.
struct Bridge {
    agent: ringdesk_flow::AgentRef,
    handle: ringdesk_sip::OutboundHandle,
    relay: tokio::task::JoinHandle<()>,
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

impl Call {
    /// Feeds an event to the executor and the record.
    fn feed(&mut self, event: Event) {
        self.recorder.on_event(&event, Timestamp::now());
        self.ex.handle_event(now(), event);
    }

    async fn drive(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Msg>,
        played: &mut mpsc::UnboundedReceiver<Played>,
        queue: &mut mpsc::UnboundedReceiver<QueueEvent>,
    ) {
        loop {
            while let Some(action) = self.ex.poll_action() {
                // Most actions are done at once; the few that wait (rendering a prompt,
                // the queue, the hang-up) are boxed, so an idle call keeps no room for them.
                if let Some(slow) = self.perform_now(action) {
                    Box::pin(self.perform_slow(slow)).await;
                }
            }
            if self.ex.is_finished() {
                return;
            }
            let flow_timer = self.ex.poll_timeout().map(Instant::from_std);
            let music_end = self.music.and_then(|(_, end)| end);
            let wake = [flow_timer, music_end].into_iter().flatten().min();
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => self.on_msg(m),
                    None => return,
                },
                Some(p) = played.recv() => self.on_played(p),
                Some(q) = queue.recv() => self.on_queue(q),
                _ = sleep_until_opt(wake) => {
                    let t = Instant::now();
                    if let Some((id, Some(end))) = self.music {
                        if end <= t {
                            self.music = None;
                            self.shared.media.send(Command::Stop { id: self.stream });
                            self.feed(Event::PlayDone { id });
                        }
                    }
                    if flow_timer.is_some_and(|f| f <= t) {
                        self.ex.handle_timeout(now());
                    }
                }
            }
        }
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Digit(key) => self.feed(Event::Digit { key }),
            Msg::Info(info) => {
                match ringdesk_media::sip_info::parse_info(&info.content_type, &info.body) {
                    Ok(d) => self.feed(Event::Digit {
                        key: d.digit.as_char(),
                    }),
                    Err(e) => tracing::debug!("SIP INFO without a usable digit: {e}"),
                }
            }
            Msg::Latched(addr) => {
                let addr = *addr;
                self.dest.set(Some(addr));
                self.shared.media.send(Command::Dest {
                    id: self.stream,
                    addr: Some(addr),
                })
            }
            Msg::Reinvite { remote, hold } => {
                let addr = (!hold).then_some(*remote);
                self.dest.set(addr);
                self.shared.media.send(Command::Dest {
                    id: self.stream,
                    addr,
                })
            }
            Msg::AgentHangup => {
                if let Some(b) = self.bridge.take() {
                    b.relay.abort();
                    self.bridge_to.set(None);
                    self.shared.acd.left(&self.interaction_id, Party::Agent);
                    self.feed(Event::AgentDisconnected { agent: b.agent });
                }
            }
            Msg::Http(done) => {
                let HttpDone { id, outcome } = *done;
                self.feed(Event::HttpDone { id, outcome })
            }
            Msg::Hangup => {
                if !self.hung_up {
                    self.hung_up = true;
                    self.stop_media();
                    self.end_bridge(Party::Caller);
                    self.feed(Event::CallerHangup);
                }
            }
        }
    }

    fn on_played(&mut self, p: Played) {
        if let Some((id, remaining)) = self.plays.get_mut(&p.tag) {
            let id = *id;
            if !p.completed {
                self.plays.remove(&p.tag);
                return;
            }
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                self.plays.remove(&p.tag);
                self.feed(Event::PlayDone { id });
            }
        }
    }

    /// Queue events for this call.
    fn on_queue(&mut self, q: QueueEvent) {
        match q {
            QueueEvent::Offered(agent) => self.feed(Event::AgentOffered { agent: *agent }),
            QueueEvent::Answered { agent, leg } => {
                let agent = *agent;
                self.queued = false;
                if let Err(e) = self.start_bridge(leg, agent.clone()) {
                    tracing::error!("cannot bridge to the agent: {e}");
                    self.shared.acd.left(&self.interaction_id, Party::System);
                    return;
                }
                self.feed(Event::AgentAnswered { agent });
            }
            QueueEvent::MaxWait => {
                self.queued = false;
                tracing::info!(call = %self.interaction_id, "maximum queue wait reached");
                self.feed(Event::QueueMaxWait);
            }
        }
    }

    /// Connects the caller's media to the answered agent leg, both ways.
    fn start_bridge(&mut self, leg: u64, agent: ringdesk_flow::AgentRef) -> anyhow::Result<()> {
        let answered = self
            .shared
            .dialer
            .take_answered(leg, self.tx.clone())
            .ok_or_else(|| anyhow::anyhow!("agent leg {leg} is not answered"))?;
        let agent_socket = Arc::new(RtpSocket::new(answered.socket)?);
        let m = &answered.media;
        let agent_codec = media_codec(m.codec);
        // Our prompts and music stop: from now on the caller hears the agent.
        self.stop_media();
        self.shared.media.send(Command::Remove { id: self.stream });
        self.bridge_to.set(Some(Arc::new(Relay {
            socket: agent_socket.clone(),
            dest: m.remote_addr,
            codec: agent_codec,
            payload_type: m.payload_type,
            telephone_event_pt: m.telephone_event_pt,
        })));
        let (codec, pt, te) = self.caller_media;
        let relay = tokio::spawn(bridge::agent_to_caller(
            agent_socket,
            Source {
                codec: agent_codec,
                telephone_event_pt: m.telephone_event_pt,
            },
            self.socket.clone(),
            self.dest.clone(),
            codec,
            pt,
            te,
        ));
        tracing::info!(call = %self.interaction_id, agent = %agent.id, "caller bridged to agent");
        self.bridge = Some(Bridge {
            agent,
            handle: answered.handle,
            relay,
        });
        Ok(())
    }

    /// Ends the bridge from the caller's side (or the system's): the agent gets a BYE.
    fn end_bridge(&mut self, by: Party) {
        if let Some(b) = self.bridge.take() {
            b.relay.abort();
            self.bridge_to.set(None);
            tokio::spawn(async move {
                let _ = b.handle.hangup().await;
            });
            self.shared.acd.left(&self.interaction_id, by);
        } else if self.queued {
            // Still waiting: whoever ends it, the caller leaves the queue unanswered.
            self.queued = false;
            self.shared.acd.left(&self.interaction_id, Party::Caller);
        }
    }

    /// Leaves the queue and any bridge when the call task ends.
    async fn leave_queue(&mut self) {
        self.end_bridge(Party::System);
        self.shared.dialer.forget_call(&self.interaction_id);
    }

    fn stop_media(&mut self) {
        self.plays.clear();
        self.music = None;
        self.shared.media.send(Command::Stop { id: self.stream });
    }

    /// Does an action; returns the part that has to wait for IO (rendering a prompt, the
    /// queue, the hang-up), for [`Call::perform_slow`].
    fn perform_now(&mut self, action: Action) -> Option<Slow> {
        self.recorder.on_action(&action);
        match action {
            Action::Play { id, segments, .. } => {
                if self.hung_up {
                    self.feed(Event::PlayFailed {
                        id,
                        reason: "the caller has hung up".into(),
                    });
                    return None;
                }
                let ready: Option<Vec<Vec<_>>> = segments
                    .iter()
                    .map(|s| self.shared.prompts.ready(s))
                    .collect();
                match ready {
                    Some(clips) => self.play(id, clips.into_iter().flatten().collect()),
                    None => return Some(Slow::Play { id, segments }),
                }
            }
            Action::StopPlay { id } => {
                let was_music = self.music.is_some_and(|(m, _)| m == id);
                if self.plays.remove(&id.0).is_some() || was_music {
                    self.shared.media.send(Command::Stop { id: self.stream });
                }
                if was_music {
                    self.music = None;
                }
            }
            Action::PlayMusic {
                id, file, duration, ..
            } => {
                if self.hung_up {
                    self.feed(Event::PlayFailed {
                        id,
                        reason: "the caller has hung up".into(),
                    });
                    return None;
                }
                match self.shared.prompts.file(&file) {
                    Ok(clip) => {
                        self.shared.media.send(Command::Loop {
                            id: self.stream,
                            clip,
                            tag: id.0,
                        });
                        self.music = Some((id, duration.map(|d| Instant::now() + d)));
                    }
                    Err(e) => {
                        tracing::warn!("music cannot play: {e:#}");
                        self.feed(Event::PlayFailed {
                            id,
                            reason: format!("{e:#}"),
                        });
                    }
                }
            }
            Action::Http { id, request, .. } if request.durable => {
                // Stored with the call's record in one transaction when the flow ends.
                self.recorder.durable(&request, Timestamp::now());
                self.feed(Event::HttpDone {
                    id,
                    outcome: ringdesk_flow::HttpOutcome::Deferred,
                });
            }
            Action::Http { id, request, .. } => {
                let connectors = self.shared.connectors.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let outcome = http::execute_now(&connectors, &request).await;
                    let _ = tx.send(Msg::Http(Box::new(HttpDone { id, outcome })));
                });
            }
            Action::Enqueue {
                id,
                queue,
                priority,
                availability,
                skills,
                ..
            } => {
                let info = self.call_info();
                self.shared.dialer.set_call_info(&self.interaction_id, info);
                return Some(Slow::Enqueue {
                    id,
                    queue,
                    priority,
                    availability,
                    skills,
                });
            }
            Action::QueueInfo { id, queue, .. } => return Some(Slow::QueueInfo { id, queue }),
            Action::Disconnect { reason } => {
                tracing::info!(call = %self.handle.id(), "flow disconnects: {reason}");
                self.stop_media();
                self.end_bridge(Party::System);
                if !self.hung_up {
                    self.hung_up = true;
                    return Some(Slow::Hangup);
                }
            }
            Action::Log(entry) => log(&entry),
        }
        None
    }

    /// The part of an action that waits for IO.
    async fn perform_slow(&mut self, slow: Slow) {
        match slow {
            Slow::Play { id, segments } => {
                let mut clips = Vec::with_capacity(segments.len());
                for s in &segments {
                    match self.shared.prompts.clips(s).await {
                        Ok(c) => clips.extend(c),
                        Err(e) => {
                            tracing::warn!("prompt cannot play: {e:#}");
                            return self.feed(Event::PlayFailed {
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
                self.queued = result == ringdesk_flow::QueueResult::Queued;
                self.feed(Event::QueueResult { id, result });
            }
            Slow::QueueInfo { id, queue } => {
                let info = self
                    .shared
                    .acd
                    .info(&queue, Some(&self.interaction_id))
                    .await;
                self.feed(Event::QueueInfo { id, info });
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
        if clips.is_empty() {
            return self.feed(Event::PlayDone { id });
        }
        self.plays.insert(id.0, (id, clips.len()));
        self.shared.media.send(Command::Play {
            id: self.stream,
            clips,
            tag: id.0,
        });
    }
}

/// What an action still has to do after [`Call::perform_now`]: IO to wait for.
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

impl Call {
    /// Screen-pop material from the flow's variables.
    fn call_info(&self) -> CallInfo {
        let v = self.ex.variables();
        let text = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let ticket_id = text("ticket_id");
        let base = text("zendesk_url");
        let ticket_url = if ticket_id.is_empty() || base.is_empty() {
            String::new()
        } else {
            format!("{}/agent/tickets/{ticket_id}", base.trim_end_matches('/'))
        };
        CallInfo {
            ani: text("ani"),
            caller_name: text("user_name"),
            ticket_id,
            ticket_url,
        }
    }
}

/// The executor's first actions up to and including its first prompt, and that prompt's
/// clips when they are already rendered (static prompts are, at flow load): they play
/// from the first packet. Nothing is synthesized here, so the answer is never delayed.
fn first_prompt(
    ex: &mut Executor,
    prompts: &Prompts,
) -> (Vec<Action>, Option<(ActionId, Vec<ringdesk_media::Clip>)>) {
    let mut early = Vec::new();
    let mut greeting = None;
    while let Some(action) = ex.poll_action() {
        match &action {
            Action::Log(_) => early.push(action),
            Action::Play { id, segments, .. } => {
                let clips: Option<Vec<Vec<_>>> =
                    segments.iter().map(|s| prompts.ready(s)).collect();
                let clips: Option<Vec<_>> = clips.map(|c| c.into_iter().flatten().collect());
                if let Some(clips) = clips.filter(|c| !c.is_empty()) {
                    greeting = Some((*id, clips));
                }
                early.push(action);
                break;
            }
            _ => {
                early.push(action);
                break;
            }
        }
    }
    (early, greeting)
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn log(entry: &LogEntry) {
    match entry {
        LogEntry::Error { node, message } => tracing::warn!(node, "flow error: {message}"),
        LogEntry::Finished { reason } => tracing::debug!("flow finished: {reason}"),
        other => tracing::trace!(?other, "flow"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_call_message_stays_small() {
        // Each call's channel holds room for 32 messages from the start, for the whole
        // call: large payloads go in boxes.
        assert!(std::mem::size_of::<super::Msg>() <= 16);
    }
}
