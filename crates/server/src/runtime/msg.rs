//! Messages to a call task: what the network reports about one call (keys, the latched
//! RTP source, re-INVITEs, HTTP answers, hang-ups from either side). The call task reads
//! them; the SIP dispatcher, the RTP receiver, HTTP tasks and the agent dialer send them.

use ringdesk_flow::ActionId;
use std::net::SocketAddr;

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
    /// The bridged agent's browser went away (page closed, network lost).
    AgentLost,
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_call_message_stays_small() {
        // Each call's channel holds room for 32 messages from the start, for the whole
        // call: large payloads go in boxes.
        assert!(std::mem::size_of::<super::Msg>() <= 16);
    }
}
