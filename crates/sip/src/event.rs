//! Events the SIP server reports to the call runtime, and the call identifier they carry.

use crate::call::{CallHandle, CallId};
use crate::media::{MediaAnswer, MediaOffer};
use crate::outbound::{AgentFailure, LegId};
use crate::sdp_uac::AgentMedia;

/// Something the runtime must know or decide about.
///
/// Non-exhaustive: outbound calls and registrations will add variants; match with a
/// `_ =>` arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum SipEvent {
    /// A new call passed routing, the call limit and the SDP check; `100 Trying` is sent.
    /// The runtime answers it with [`CallHandle::answer`] or refuses it with
    /// [`CallHandle::reject`].
    IncomingCall {
        /// Handle to answer, reject or hang up the call.
        call: CallHandle,
        /// Caller number (P-Asserted-Identity user, else From user), from a trusted trunk;
        /// `anonymous` from any other source. May be empty or `anonymous` either way.
        ani: String,
        /// Who sent the INVITE, and whether its word about the caller is believed.
        caller: Box<CallerSource>,
        /// Dialled number (Request-URI user, else To user); untrusted.
        dnis: String,
        /// The flow name the router chose, `None` when no routing is configured.
        route: Option<String>,
        /// Selected SIP headers as (name, value), bounded.
        headers: Vec<(String, String)>,
        /// The caller's media offer (codec already chosen).
        offer: MediaOffer,
    },
    /// The caller acknowledged our 200 OK (ACK): media may flow.
    CallEstablished {
        /// The call.
        call: CallId,
    },
    /// A SIP INFO carrying a DTMF body (`application/dtmf-relay` or `application/dtmf`),
    /// already answered 200. The media crate parses the body.
    Dtmf {
        /// The call.
        call: CallId,
        /// The Content-Type, lower-case, without parameters.
        content_type: String,
        /// The raw body (bounded).
        body: Vec<u8>,
    },
    /// The caller changed the session (re-INVITE or UPDATE with SDP: hold, unhold, new media
    /// address); it was answered 200 with the included answer.
    Reinvite {
        /// The call.
        call: CallId,
        /// The new offer.
        offer: MediaOffer,
        /// What we answered.
        answer: MediaAnswer,
    },
    /// The caller hung up (BYE).
    RemoteHangup {
        /// The call.
        call: CallId,
    },
    /// The caller cancelled before the call was answered (487 sent).
    Cancelled {
        /// The call.
        call: CallId,
    },
    /// The call ended without a BYE from the caller: our 200 OK was never acknowledged
    /// (a BYE was sent), or the transport failed.
    Lost {
        /// The call.
        call: CallId,
    },
    /// An agent registered a new contact (its softphone logged in). Refreshes are not
    /// reported.
    AgentRegistered {
        /// The agent id (from the credential table).
        agent: String,
        /// The contact URI registered.
        contact: String,
    },
    /// An agent has no registered contact left: it unregistered, every registration lapsed,
    /// or it was removed from the credential table. The agent is logged out.
    AgentUnregistered {
        /// The agent id.
        agent: String,
    },
    /// The agent's phone is ringing (first 180/183 of an outbound leg).
    AgentRinging {
        /// The leg.
        leg: LegId,
    },
    /// The agent answered (200 OK, ACK sent): relay RTP to `media.remote_addr`.
    AgentAnswered {
        /// The leg.
        leg: LegId,
        /// The agent's media.
        media: AgentMedia,
    },
    /// The agent's phone refused the call with a final status (486 busy, 603 decline,
    /// 480, 404...).
    AgentRejected {
        /// The leg.
        leg: LegId,
        /// The SIP status code.
        code: u16,
    },
    /// The leg was cancelled by the runtime before the agent answered (487).
    AgentCancelled {
        /// The leg.
        leg: LegId,
    },
    /// The leg failed without an answer or a refusal from the agent (timeout, transport,
    /// unusable SDP answer).
    AgentFailed {
        /// The leg.
        leg: LegId,
        /// Why.
        reason: AgentFailure,
    },
    /// The agent hung up an answered leg (BYE), or the answered leg was lost.
    AgentHangup {
        /// The leg.
        leg: LegId,
    },
}

/// Where a call came from and what its sender asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerSource {
    /// The sender's address (top Via with `received`/`rport`).
    pub addr: std::net::SocketAddr,
    /// The trusted trunk it belongs to; `None` when it is no trunk (then `ani` is
    /// `anonymous` and the identity headers were not forwarded).
    pub trunk: Option<String>,
    /// The trunk's verification of the number (`verstat`), e.g. `TN-Validation-Passed`;
    /// always `None` from an untrusted source.
    pub verstat: Option<String>,
}
