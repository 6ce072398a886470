//! The runtime's handle on one inbound call: answer with an SDP answer, reject, or hang up.
//!
//! The handle wraps the SIP library's dialog without exposing it. When the runtime drops
//! every clone of a handle without answering or rejecting, the call is refused with
//! `480 Temporarily Unavailable`, so no caller is left ringing forever.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, StatusCode};

use crate::error::SipError;
use crate::media::{MediaAnswer, MediaOffer};
use crate::sdes::{random_key, SrtpKeys};
use crate::sdp_answer::{build_answer, SdpOrigin};
use ringdesk_media::srtp::SrtpKey;

/// Identifies one call for the lifetime of the server (never reused, not the SIP Call-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Where a call is in its life, as far as the runtime's decisions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Offered to the runtime, not yet answered or rejected.
    Offered,
    /// 200 OK sent.
    Answered,
    /// Rejected, cancelled, hung up or lost.
    Ended,
}

/// Mutable per-call state, shared by the handle and the server's event task.
#[derive(Debug)]
pub(crate) struct CallState {
    pub(crate) phase: Phase,
    /// The latest offer (the INVITE's, then each re-INVITE's).
    pub(crate) offer: MediaOffer,
    /// Our RTP address once answered.
    pub(crate) local_rtp: Option<SocketAddr>,
    pub(crate) origin: SdpOrigin,
    /// ACK seen for the initial 200 OK.
    pub(crate) established: bool,
    /// Our SRTP key, announced when the offer carries keys (the same for every answer in
    /// the dialog).
    pub(crate) key: SrtpKey,
    /// The negotiated keys once answered, when the call's media is encrypted.
    pub(crate) srtp: Option<SrtpKeys>,
}

/// One call as the server tracks it.
pub(crate) struct CallInner {
    pub(crate) id: CallId,
    pub(crate) dialog: InviteDialog,
    pub(crate) state: Mutex<CallState>,
}

impl CallInner {
    pub(crate) fn new(id: CallId, dialog: InviteDialog, offer: MediaOffer) -> Self {
        CallInner {
            id,
            dialog,
            state: Mutex::new(CallState {
                phase: Phase::Offered,
                offer,
                local_rtp: None,
                origin: SdpOrigin {
                    session_id: id.0,
                    version: 1,
                },
                established: false,
                key: random_key(),
                srtp: None,
            }),
        }
    }

    /// Lock the state; a poisoned lock still holds consistent data (every critical section
    /// is a few assignments), so it is used rather than propagated as a panic.
    pub(crate) fn lock(&self) -> MutexGuard<'_, CallState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stack_error(&self, error: rsipstack::Error) -> SipError {
        SipError::Stack {
            call: self.id,
            detail: error.to_string(),
        }
    }

    fn reject(&self, code: u16) -> Result<(), SipError> {
        if !(300..=699).contains(&code) {
            return Err(SipError::InvalidStatus(code));
        }
        let mut state = self.lock();
        match state.phase {
            Phase::Offered => {}
            Phase::Answered => return Err(SipError::AlreadyAnswered(self.id)),
            Phase::Ended => return Err(SipError::CallEnded(self.id)),
        }
        state.phase = Phase::Ended;
        drop(state);
        self.dialog
            .reject(Some(StatusCode::from(code)), None)
            .map_err(|e| self.stack_error(e))
    }
}

/// Drops with the last runtime handle: refuses a call nobody answered.
struct Guard(Arc<CallInner>);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.lock().phase == Phase::Offered {
            // Nothing to report to: the runtime let go of the call.
            let _ = self.0.reject(480);
        }
    }
}

/// The runtime's handle on one call. Cheap to clone; all clones control the same call.
#[derive(Clone)]
pub struct CallHandle {
    inner: Arc<CallInner>,
    _guard: Arc<Guard>,
}

impl std::fmt::Debug for CallHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallHandle")
            .field("id", &self.inner.id)
            .finish()
    }
}

impl CallHandle {
    pub(crate) fn new(inner: Arc<CallInner>) -> Self {
        CallHandle {
            _guard: Arc::new(Guard(inner.clone())),
            inner,
        }
    }

    /// This call's id (the one every later [`crate::SipEvent`] carries).
    pub fn id(&self) -> CallId {
        self.inner.id
    }

    /// Whether the call still holds the channel into the transaction of its INVITE: true
    /// until the caller's ACK (or the end of the call), then false, so an established
    /// call does not keep that channel's ~11 KiB (decision 0010). For tests and
    /// diagnostics.
    pub fn holds_invite_transaction(&self) -> bool {
        self.inner.dialog.holds_transaction_sender()
    }

    /// Answer the call: send `200 OK` with an SDP answer that receives RTP at `local_rtp`.
    ///
    /// Returns the negotiated media. Fails when the call was already answered or has ended
    /// (for example the caller cancelled meanwhile).
    pub fn answer(&self, local_rtp: SocketAddr) -> Result<MediaAnswer, SipError> {
        let mut state = self.inner.lock();
        match state.phase {
            Phase::Offered => {}
            Phase::Answered => return Err(SipError::AlreadyAnswered(self.inner.id)),
            Phase::Ended => return Err(SipError::CallEnded(self.inner.id)),
        }
        let answer = build_answer(&state.offer, local_rtp, state.origin, &state.key);
        self.inner
            .dialog
            .accept(
                Some(vec![Header::ContentType("application/sdp".into())]),
                Some(answer.sdp.clone().into_bytes()),
            )
            .map_err(|e| self.inner.stack_error(e))?;
        state.phase = Phase::Answered;
        state.local_rtp = Some(local_rtp);
        state.srtp = answer.srtp.clone();
        Ok(answer)
    }

    /// Refuse the call with a final status `code` (300-699), e.g. 486 Busy Here,
    /// 480 Temporarily Unavailable, 603 Decline.
    pub fn reject(&self, code: u16) -> Result<(), SipError> {
        self.inner.reject(code)
    }

    /// End the call: BYE when answered, `480 Temporarily Unavailable` when not yet
    /// answered. Ending an ended call does nothing.
    pub async fn hangup(&self) -> Result<(), SipError> {
        let phase = {
            let mut state = self.inner.lock();
            let phase = state.phase;
            if phase == Phase::Answered {
                state.phase = Phase::Ended;
            }
            phase
        };
        match phase {
            Phase::Offered => match self.inner.reject(480) {
                Err(SipError::CallEnded(_)) => Ok(()),
                other => other,
            },
            // Boxed: the stack's BYE state is large, and a caller's future would otherwise
            // keep room for it during the whole call.
            Phase::Answered => Box::pin(self.inner.dialog.bye())
                .await
                .map_err(|e| self.inner.stack_error(e)),
            Phase::Ended => Ok(()),
        }
    }
}
