//! What a call session takes in (what happened: the ports' answers, the caller, the queue)
//! and what it gives out (what to do: play, stop, send, queue, bridge, hang up).

pub use ringdesk_acd::Party;
use ringdesk_flow::{
    ActionId, AgentRef, AvailabilityCheck, HttpOutcome, HttpRequest, LogEntry, QueueInfo,
    QueueResult, Segment,
};
use std::time::Duration;

/// Something that happened to the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The caller pressed a key (`0`-`9`, `*`, `#`).
    Digit(char),
    /// The media finished playing a prompt ([`Output::Play`]).
    PlayDone(ActionId),
    /// A prompt or music could not play (rendering or file failed).
    PlayFailed { id: ActionId, reason: String },
    /// The answer to [`Output::Http`].
    HttpDone { id: ActionId, outcome: HttpOutcome },
    /// The answer to [`Output::Enqueue`].
    QueueResult { id: ActionId, result: QueueResult },
    /// The answer to [`Output::QueueInfo`].
    QueueInfo { id: ActionId, info: QueueInfo },
    /// The queue is offering the call to an agent.
    AgentOffered(AgentRef),
    /// An agent answered: the session answers with [`Output::Bridge`].
    AgentAnswered(AgentRef),
    /// [`Output::Bridge`] could not be carried out.
    BridgeFailed { reason: String },
    /// The bridged agent hung up.
    AgentHangup,
    /// The bridged agent's phone went away without hanging up (a browser page closed,
    /// its network lost): the flow's `agent_disconnected` handler sees `agent_lost` and
    /// may queue the caller again.
    AgentLost,
    /// The queue's maximum wait passed; the call is out of the queue.
    MaxWait,
    /// The caller hung up (or the call was otherwise lost).
    CallerHangup,
}

/// Who is calling and why: shown to the agent (screen pop). Serialized as the nodes of a
/// cluster share it (the server's `desk_calls`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScreenPop {
    pub ani: String,
    pub caller_name: String,
    pub ticket_id: String,
    /// Empty when the helpdesk or the ticket is unknown.
    pub ticket_url: String,
    /// The call's language (`language`), e.g. `en-US`.
    pub language: String,
    /// What the caller chose in the menu (`menu_choice`), empty when nothing.
    pub menu_choice: String,
    /// The ticket's status and priority as the flow read them (`ticket_status`,
    /// `ticket_priority`): why the call has its queue priority.
    pub ticket_status: String,
    pub ticket_priority: String,
}

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Queue a prompt behind what is playing; answer [`Input::PlayDone`] when it has
    /// played, or [`Input::PlayFailed`].
    Play {
        id: ActionId,
        node: String,
        segments: Vec<Segment>,
        interruptible: bool,
    },
    /// Loop music until [`Output::Stop`] (the session ends it when its duration is over);
    /// answer [`Input::PlayFailed`] if it cannot play.
    Music {
        id: ActionId,
        node: String,
        file: String,
        duration: Option<Duration>,
    },
    /// Stop everything playing and queued to the caller. `barge_in`: a prompt was cut
    /// short by the flow (a key, or the flow moved on).
    Stop { barge_in: bool },
    /// Send a request now; answer [`Input::HttpDone`].
    Http {
        id: ActionId,
        node: String,
        request: HttpRequest,
    },
    /// A durable request was kept for the outbox (it leaves after the call, with the
    /// record), or a durable `call_ended` handler met an outage at `request` and the rest
    /// of it was kept to run when the service is back. Nothing to answer.
    Deferred { node: String, request: HttpRequest },
    /// Put the caller in a queue; answer [`Input::QueueResult`], later the agent inputs.
    Enqueue {
        id: ActionId,
        node: String,
        queue: String,
        priority: u8,
        availability: AvailabilityCheck,
        skills: Vec<String>,
        pop: ScreenPop,
    },
    /// Ask about a queue; answer [`Input::QueueInfo`].
    QueueInfo {
        id: ActionId,
        node: String,
        queue: String,
    },
    /// Connect the caller and the agent who answered, both ways.
    Bridge { agent: AgentRef },
    /// Take the bridge down; `hang_up_agent`: the agent's leg is still up and gets a BYE.
    Unbridge { hang_up_agent: bool },
    /// The call left its queue or its agent (the queue frees the agent, counts abandons).
    LeaveQueue { by: Party },
    /// The flow ends the call; `send_bye`: the caller is still on the line.
    Disconnect { reason: String, send_bye: bool },
    /// Transcript and log material from the executor.
    Log(LogEntry),
}
