//! Outbound legs (calls to agents) over the SIP stack: the runtime's [`OutboundHandle`]
//! (cancel before answer, hang up after), and the task that follows one leg's INVITE
//! transaction and dialog and reports [`SipEvent`]s.
//!
//! When the runtime drops every clone of a handle, a ringing leg is cancelled and an
//! answered one is hung up, so no agent phone is left ringing or connected.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::invitation::InviteAsyncResult;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Method, StatusCode};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::SipError;
use crate::event::SipEvent;
use crate::media::Codec;
use crate::outbound::{AgentFailure, LegId};
use crate::sdes::{SrtpKeys, SrtpPolicy};
use crate::sdp_answer::{build_answer, SdpOrigin};
use crate::sdp_offer::parse_offer_with;
use crate::sdp_uac::{build_offer, parse_answer, OfferSrtp};
use crate::shared::Shared;

/// Where a leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegPhase {
    /// INVITE sent, no provisional response yet.
    Calling,
    /// 180/183 received.
    Ringing,
    /// 200 OK received and ACKed.
    Answered,
    /// Rejected, cancelled, failed or hung up.
    Ended,
}

pub(crate) struct LegState {
    pub(crate) phase: LegPhase,
    pub(crate) cancel_requested: bool,
    pub(crate) origin: SdpOrigin,
    /// The negotiated SRTP keys once answered, when the leg is encrypted.
    pub(crate) srtp: Option<SrtpKeys>,
}

/// One leg as the server tracks it.
pub(crate) struct LegInner {
    pub(crate) id: LegId,
    pub(crate) dialog: InviteDialog,
    pub(crate) local_rtp: SocketAddr,
    pub(crate) codecs: Vec<Codec>,
    /// How SRTP was offered (policy and our key).
    pub(crate) srtp_offer: OfferSrtp,
    pub(crate) state: Mutex<LegState>,
}

impl LegInner {
    pub(crate) fn new(
        id: LegId,
        dialog: InviteDialog,
        local_rtp: SocketAddr,
        codecs: Vec<Codec>,
        origin: SdpOrigin,
        srtp_offer: OfferSrtp,
    ) -> Self {
        LegInner {
            id,
            dialog,
            local_rtp,
            codecs,
            srtp_offer,
            state: Mutex::new(LegState {
                phase: LegPhase::Calling,
                cancel_requested: false,
                origin,
                srtp: None,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LegState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stack_error(&self, error: rsipstack::Error) -> SipError {
        SipError::LegStack {
            leg: self.id,
            detail: error.to_string(),
        }
    }

    /// Sends one CANCEL per leg: cancelling again (or dropping the last handle right
    /// after a cancel, before the 487 is in) does nothing, since a second CANCEL crossing
    /// the agent's 487 is a stray request to the phone.
    async fn cancel(&self) -> Result<(), SipError> {
        {
            let mut state = self.lock();
            match state.phase {
                LegPhase::Calling | LegPhase::Ringing if state.cancel_requested => return Ok(()),
                LegPhase::Calling | LegPhase::Ringing => state.cancel_requested = true,
                LegPhase::Answered => return Err(SipError::LegAnswered(self.id)),
                LegPhase::Ended => return Ok(()),
            }
        }
        self.dialog.cancel().await.map_err(|e| self.stack_error(e))
    }

    async fn hangup(&self) -> Result<(), SipError> {
        let phase = {
            let mut state = self.lock();
            let phase = state.phase;
            if phase == LegPhase::Answered {
                state.phase = LegPhase::Ended;
            }
            phase
        };
        match phase {
            LegPhase::Calling | LegPhase::Ringing => match self.cancel().await {
                Err(SipError::LegAnswered(_)) => Box::pin(self.hangup()).await,
                other => other,
            },
            LegPhase::Answered => self.dialog.bye().await.map_err(|e| self.stack_error(e)),
            LegPhase::Ended => Ok(()),
        }
    }
}

/// Ends the leg when the last runtime handle is dropped.
struct Guard(Arc<LegInner>);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.lock().phase == LegPhase::Ended {
            return;
        }
        let leg = self.0.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = leg.hangup().await {
                    tracing::debug!(leg = %leg.id, %error, "ending a dropped leg failed");
                }
            });
        }
    }
}

/// The runtime's handle on one call to an agent. Cheap to clone.
#[derive(Clone)]
pub struct OutboundHandle {
    inner: Arc<LegInner>,
    _guard: Arc<Guard>,
}

impl std::fmt::Debug for OutboundHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundHandle")
            .field("id", &self.inner.id)
            .finish()
    }
}

impl OutboundHandle {
    pub(crate) fn new(inner: Arc<LegInner>) -> Self {
        OutboundHandle {
            _guard: Arc::new(Guard(inner.clone())),
            inner,
        }
    }

    /// This leg's id (the one its [`SipEvent`]s carry).
    pub fn id(&self) -> LegId {
        self.inner.id
    }

    /// Stop ringing (CANCEL). The leg then ends with [`SipEvent::AgentCancelled`]. Fails
    /// with [`SipError::LegAnswered`] when the agent answered first (hang up instead);
    /// cancelling an ended leg does nothing.
    pub async fn cancel(&self) -> Result<(), SipError> {
        self.inner.cancel().await
    }

    /// End the leg: BYE when answered, CANCEL while ringing, nothing when ended. No event
    /// follows a BYE ringdesk sent.
    pub async fn hangup(&self) -> Result<(), SipError> {
        self.inner.hangup().await
    }
}

/// Whether the leg task goes on.
enum Next {
    Continue,
    Done,
}

async fn emit(shared: &Shared, event: SipEvent) {
    if shared.events.send(event).await.is_err() {
        tracing::debug!("runtime closed the SIP event channel");
    }
}

/// Follow one leg until it ends or the server stops.
pub(crate) async fn run(
    shared: Arc<Shared>,
    leg: Arc<LegInner>,
    mut states: DialogStateReceiver,
    mut invite: JoinHandle<InviteAsyncResult>,
    cancel: CancellationToken,
) {
    let mut invite_done = false;
    loop {
        let next = tokio::select! {
            biased;
            state = states.recv() => match state {
                Some(state) => on_state(&shared, &leg, state).await,
                None => Next::Done,
            },
            result = &mut invite, if !invite_done => {
                invite_done = true;
                on_final(&shared, &leg, result).await
            }
            _ = cancel.cancelled() => Next::Done,
        };
        if let Next::Done = next {
            break;
        }
    }
}

fn end(leg: &LegInner) {
    leg.lock().phase = LegPhase::Ended;
}

async fn on_final(
    shared: &Shared,
    leg: &LegInner,
    result: Result<InviteAsyncResult, tokio::task::JoinError>,
) -> Next {
    let response = match result {
        Ok(Ok((_, Some(response)))) => response,
        Ok(Ok((_, None))) => return fail(shared, leg, AgentFailure::Timeout).await,
        Ok(Err(error)) => {
            let text = error.to_string();
            let reason = if text.to_ascii_lowercase().contains("timeout") {
                AgentFailure::Timeout
            } else {
                AgentFailure::Transport(text)
            };
            return fail(shared, leg, reason).await;
        }
        Err(_) => {
            return fail(
                shared,
                leg,
                AgentFailure::Transport("INVITE task failed".into()),
            )
            .await
        }
    };
    let code = u16::from(response.status_code.clone());
    let cancelled = leg.lock().cancel_requested;
    if (200..300).contains(&code) {
        if cancelled {
            // The stack ACKs and BYEs a 2xx that crossed our CANCEL.
            end(leg);
            emit(shared, SipEvent::AgentCancelled { leg: leg.id }).await;
            return Next::Done;
        }
        return match parse_answer(&response.body, &leg.codecs, &leg.srtp_offer) {
            Ok(media) => {
                {
                    let mut state = leg.lock();
                    state.phase = LegPhase::Answered;
                    state.srtp = media.srtp.clone();
                }
                tracing::info!(leg = %leg.id, "agent answered");
                emit(shared, SipEvent::AgentAnswered { leg: leg.id, media }).await;
                Next::Continue
            }
            Err(error) => {
                end(leg);
                if let Err(bye) = leg.dialog.bye().await {
                    tracing::debug!(leg = %leg.id, error = %bye, "BYE after a bad answer failed");
                }
                fail(shared, leg, AgentFailure::BadAnswer(error.to_string())).await
            }
        };
    }
    end(leg);
    let event = match code {
        487 if cancelled => SipEvent::AgentCancelled { leg: leg.id },
        401 | 407 => SipEvent::AgentFailed {
            leg: leg.id,
            reason: AgentFailure::AuthRequired,
        },
        _ => SipEvent::AgentRejected { leg: leg.id, code },
    };
    tracing::info!(leg = %leg.id, code, "agent leg ended before answer");
    emit(shared, event).await;
    Next::Done
}

async fn fail(shared: &Shared, leg: &LegInner, reason: AgentFailure) -> Next {
    end(leg);
    tracing::info!(leg = %leg.id, %reason, "agent leg failed");
    emit(
        shared,
        SipEvent::AgentFailed {
            leg: leg.id,
            reason,
        },
    )
    .await;
    Next::Done
}

async fn respond(handle: TransactionHandle, status: StatusCode, sdp: Option<String>) {
    let (headers, body) = match sdp {
        Some(sdp) => (
            Some(vec![Header::ContentType("application/sdp".into())]),
            Some(sdp.into_bytes()),
        ),
        None => (None, None),
    };
    if handle.respond(status, headers, body).await.is_err() {
        tracing::debug!("in-dialog transaction gone before the response");
    }
}

async fn on_state(shared: &Shared, leg: &LegInner, state: DialogState) -> Next {
    match state {
        DialogState::Early(_, _) => {
            let first = {
                let mut state = leg.lock();
                let first = state.phase == LegPhase::Calling;
                if first {
                    state.phase = LegPhase::Ringing;
                }
                first
            };
            if first {
                emit(shared, SipEvent::AgentRinging { leg: leg.id }).await;
            }
            Next::Continue
        }
        DialogState::Terminated(id, reason) => {
            shared.dialog_layer.remove_dialog(&id);
            let was = {
                let mut state = leg.lock();
                let was = state.phase;
                if was == LegPhase::Answered {
                    state.phase = LegPhase::Ended;
                }
                was
            };
            match (was, reason) {
                // Before the answer the INVITE's final response decides.
                (LegPhase::Calling | LegPhase::Ringing, _) => Next::Continue,
                (LegPhase::Answered, TerminatedReason::UasBye) => {
                    tracing::info!(leg = %leg.id, "agent hung up");
                    emit(shared, SipEvent::AgentHangup { leg: leg.id }).await;
                    Next::Done
                }
                (LegPhase::Answered, reason) => {
                    tracing::info!(leg = %leg.id, ?reason, "answered agent leg lost");
                    emit(shared, SipEvent::AgentHangup { leg: leg.id }).await;
                    Next::Done
                }
                (LegPhase::Ended, _) => Next::Done,
            }
        }
        DialogState::Updated(_, request, handle) => {
            on_reoffer(leg, &request.body, request.method, handle).await;
            Next::Continue
        }
        DialogState::Options(_, _, handle) | DialogState::Info(_, _, handle) => {
            respond(handle, StatusCode::OK, None).await;
            Next::Continue
        }
        DialogState::Message(_, _, handle)
        | DialogState::Notify(_, _, handle)
        | DialogState::Refer(_, _, handle)
        | DialogState::Publish(_, _, handle) => {
            respond(handle, StatusCode::NotImplemented, None).await;
            Next::Continue
        }
        _ => Next::Continue,
    }
}

/// A re-INVITE or UPDATE from the agent (hold, new address): answered with our address;
/// not reported (the runtime keeps relaying to the first answer's address). An encrypted
/// leg stays encrypted with the same keys, a plain one stays plain.
async fn on_reoffer(leg: &LegInner, body: &[u8], method: Method, handle: TransactionHandle) {
    let sdp = {
        let mut state = leg.lock();
        let encrypted = state.srtp.is_some();
        let key = &leg.srtp_offer.key;
        if state.phase != LegPhase::Answered {
            None
        } else if body.is_empty() {
            if method == Method::Update {
                Some(None)
            } else {
                state.origin.version = state.origin.version.saturating_add(1);
                let srtp = OfferSrtp {
                    policy: if encrypted {
                        leg.srtp_offer.policy
                    } else {
                        SrtpPolicy::Off
                    },
                    key: key.clone(),
                };
                Some(Some(build_offer(
                    leg.local_rtp,
                    &leg.codecs,
                    state.origin,
                    &srtp,
                )))
            }
        } else {
            let policy = if encrypted {
                SrtpPolicy::Required
            } else {
                SrtpPolicy::Off
            };
            match parse_offer_with(body, policy) {
                Ok(offer)
                    if offer.crypto.as_ref().map(|c| &c.key)
                        == state.srtp.as_ref().map(|k| &k.receive) =>
                {
                    state.origin.version = state.origin.version.saturating_add(1);
                    Some(Some(
                        build_answer(&offer, leg.local_rtp, state.origin, key).sdp,
                    ))
                }
                _ => None,
            }
        }
    };
    match sdp {
        Some(sdp) => respond(handle, StatusCode::OK, sdp).await,
        None => respond(handle, StatusCode::NotAcceptableHere, None).await,
    }
}
