//! The dialog task: follows the state changes the SIP stack reports for every call's dialog
//! (ACK, INFO, re-INVITE/UPDATE, BYE, CANCEL, timeouts), answers in-dialog requests, and
//! reports what the runtime needs as [`SipEvent`]s.

use std::sync::Arc;

use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::DialogId;
use rsipstack::sip::{Header, Method, Request, StatusCode};
use tokio_util::sync::CancellationToken;

use crate::call::{CallInner, Phase};
use crate::event::SipEvent;
use crate::media::{MediaAnswer, MediaOffer};
use crate::sdes::SrtpPolicy;
use crate::sdp_answer::build_answer;
use crate::sdp_offer::parse_offer_with;
use crate::shared::Shared;

/// Largest INFO body passed on as DTMF.
pub const MAX_DTMF_BODY: usize = 1024;

/// Follow dialog states until the server is cancelled.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut states: DialogStateReceiver,
    cancel: CancellationToken,
) {
    loop {
        let state = tokio::select! {
            state = states.recv() => state,
            _ = cancel.cancelled() => None,
        };
        let Some(state) = state else { break };
        match state {
            DialogState::Confirmed(id, _) => on_confirmed(&shared, &id).await,
            DialogState::Info(id, request, handle) => on_info(&shared, &id, &request, handle).await,
            DialogState::Updated(id, request, handle) => {
                on_session_update(&shared, &id, &request, handle).await
            }
            DialogState::Options(_, _, handle) => respond(handle, StatusCode::OK, None).await,
            DialogState::Message(_, _, handle)
            | DialogState::Notify(_, _, handle)
            | DialogState::Refer(_, _, handle)
            | DialogState::Publish(_, _, handle) => {
                respond(handle, StatusCode::NotImplemented, None).await
            }
            DialogState::Terminated(id, reason) => on_terminated(&shared, &id, reason).await,
            _ => {}
        }
    }
}

async fn emit(shared: &Shared, event: SipEvent) {
    if shared.events.send(event).await.is_err() {
        tracing::debug!("runtime closed the SIP event channel");
    }
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

fn find(shared: &Shared, id: &DialogId) -> Option<Arc<CallInner>> {
    shared.find_call(&id.to_string())
}

async fn on_confirmed(shared: &Shared, id: &DialogId) {
    let Some(call) = find(shared, id) else { return };
    let first = {
        let mut state = call.lock();
        let first = !state.established && state.phase == Phase::Answered;
        state.established |= first;
        first
    };
    if first {
        emit(shared, SipEvent::CallEstablished { call: call.id }).await;
    }
}

fn content_type(request: &Request) -> String {
    request
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Content-Type"))
        .map(|h| h.value())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

async fn on_info(shared: &Shared, id: &DialogId, request: &Request, handle: TransactionHandle) {
    let Some(call) = find(shared, id) else {
        return respond(handle, StatusCode::CallTransactionDoesNotExist, None).await;
    };
    let content_type = content_type(request);
    let is_dtmf = content_type == "application/dtmf-relay" || content_type == "application/dtmf";
    if !is_dtmf {
        let status = if request.body.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UnsupportedMediaType
        };
        return respond(handle, status, None).await;
    }
    if request.body.len() > MAX_DTMF_BODY {
        return respond(handle, StatusCode::RequestEntityTooLarge, None).await;
    }
    respond(handle, StatusCode::OK, None).await;
    emit(
        shared,
        SipEvent::Dtmf {
            call: call.id,
            content_type,
            body: request.body.clone(),
        },
    )
    .await;
}

/// What a re-INVITE or UPDATE leads to.
enum Outcome {
    /// A new offer, answered.
    Changed(MediaOffer, Box<MediaAnswer>),
    /// No SDP in an UPDATE: 200 without body.
    Unchanged,
    /// No SDP in a re-INVITE: 200 with our description as the offer.
    OfferAgain(String),
    /// Refused with this status.
    Refused(StatusCode),
}

/// A re-INVITE or UPDATE inside an answered call.
async fn on_session_update(
    shared: &Shared,
    id: &DialogId,
    request: &Request,
    handle: TransactionHandle,
) {
    let Some(call) = find(shared, id) else {
        return respond(handle, StatusCode::CallTransactionDoesNotExist, None).await;
    };
    let has_body = !request.body.is_empty();
    let outcome: Outcome = {
        let mut state = call.lock();
        match (state.phase, state.local_rtp) {
            // An encrypted call stays encrypted with the same keys (no re-keying), a plain
            // one stays plain: the media sockets were set up for one or the other.
            (Phase::Answered, Some(local)) if has_body => match parse_offer_with(
                &request.body,
                if state.srtp.is_some() {
                    SrtpPolicy::Required
                } else {
                    SrtpPolicy::Off
                },
            ) {
                Ok(offer)
                    if offer.crypto.as_ref().map(|c| &c.key)
                        != state.srtp.as_ref().map(|k| &k.receive) =>
                {
                    tracing::info!(call = %call.id, "refusing re-offer: SRTP keys changed");
                    Outcome::Refused(StatusCode::NotAcceptableHere)
                }
                Ok(offer) => {
                    state.origin.version = state.origin.version.saturating_add(1);
                    let answer = build_answer(&offer, local, state.origin, &state.key);
                    state.offer = offer.clone();
                    Outcome::Changed(offer, Box::new(answer))
                }
                Err(error) => {
                    tracing::info!(call = %call.id, %error, "refusing re-offer");
                    Outcome::Refused(StatusCode::NotAcceptableHere)
                }
            },
            // UPDATE without SDP (session refresh): nothing changes.
            (Phase::Answered, Some(_)) if request.method == Method::Update => Outcome::Unchanged,
            // Offerless re-INVITE: offer our current description again (RFC 3261 14.2);
            // the answer in the ACK is not read.
            (Phase::Answered, Some(local)) => {
                state.origin.version = state.origin.version.saturating_add(1);
                let answer = build_answer(&state.offer, local, state.origin, &state.key);
                Outcome::OfferAgain(answer.sdp)
            }
            _ => Outcome::Refused(StatusCode::RequestPending),
        }
    };
    match outcome {
        Outcome::Changed(offer, answer) => {
            let answer = *answer;
            respond(handle, StatusCode::OK, Some(answer.sdp.clone())).await;
            emit(
                shared,
                SipEvent::Reinvite {
                    call: call.id,
                    offer,
                    answer,
                },
            )
            .await;
        }
        Outcome::Unchanged => respond(handle, StatusCode::OK, None).await,
        Outcome::OfferAgain(sdp) => respond(handle, StatusCode::OK, Some(sdp)).await,
        Outcome::Refused(status) => respond(handle, status, None).await,
    }
}

async fn on_terminated(shared: &Shared, id: &DialogId, reason: TerminatedReason) {
    shared.dialog_layer.remove_dialog(id);
    let Some(call) = shared.remove_call(&id.to_string()) else {
        return;
    };
    call.lock().phase = Phase::Ended;
    tracing::info!(call = %call.id, ?reason, "call ended");
    let event = match reason {
        TerminatedReason::UacBye => SipEvent::RemoteHangup { call: call.id },
        TerminatedReason::UacCancel => SipEvent::Cancelled { call: call.id },
        // Our own doing: the runtime already knows.
        TerminatedReason::UasBye
        | TerminatedReason::UasDecline
        | TerminatedReason::UasBusy
        | TerminatedReason::UasOther(_) => return,
        _ => SipEvent::Lost { call: call.id },
    };
    emit(shared, event).await;
}
