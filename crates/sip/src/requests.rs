//! The request task: takes every new server transaction from the SIP stack and either
//! answers it directly (OPTIONS, 404, 488, 503...), hands it to its dialog (BYE, INFO,
//! re-INVITE, UPDATE), or turns a new INVITE into a call offered to the runtime. New
//! INVITEs get `503` with `Retry-After` at the call limit, when the event queue is full,
//! or while the [`crate::ShedSwitch`] is on. Requests from a source over its rate limit or
//! banned are dropped unanswered first (`request_guard`).

use std::sync::Arc;

use rsipstack::dialog::dialog::Dialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transaction::TransactionReceiver;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::call::{CallHandle, CallInner};
use crate::event::{CallerSource, SipEvent};
use crate::headers::select_headers;
use crate::identity;
use crate::sdp_offer::parse_offer_with;
use crate::shared::Shared;
use crate::trunk_auth::TrunkAuthVerdict;
use crate::trust::{Untrusted, IDENTITY_HEADERS};

/// Serve new transactions until the server is cancelled.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut incoming: TransactionReceiver,
    cancel: CancellationToken,
) {
    loop {
        let tx = tokio::select! {
            tx = incoming.recv() => tx,
            _ = cancel.cancelled() => None,
        };
        let Some(tx) = tx else { break };
        dispatch(&shared, tx);
    }
}

fn has_to_tag(tx: &Transaction) -> bool {
    tx.original
        .to_header()
        .ok()
        .and_then(|to| to.tag().ok().flatten())
        .is_some()
}

fn dispatch(shared: &Arc<Shared>, tx: Transaction) {
    let method = tx.original.method;
    let in_dialog = has_to_tag(&tx);
    if !crate::request_guard::admit(shared, &tx, in_dialog) {
        return; // over a rate limit or banned: dropped without a response
    }
    if in_dialog {
        match shared.dialog_layer.match_dialog(&tx) {
            Some(Dialog::Invite(mut dialog)) => {
                tokio::spawn(async move {
                    let mut tx = tx;
                    if let Err(error) = dialog.handle(&mut tx).await {
                        tracing::debug!(%error, %method, "in-dialog request failed");
                    }
                });
            }
            _ => reply(tx, StatusCode::CallTransactionDoesNotExist, vec![]),
        }
        return;
    }
    match method {
        Method::Invite => on_new_invite(shared, tx),
        Method::Register => crate::register::on_register(shared, tx),
        Method::Options => reply(
            tx,
            StatusCode::OK,
            vec![Header::Other("Accept".into(), "application/sdp".into())],
        ),
        // ACK and CANCEL are matched to their INVITE by the stack; stray ones end here.
        Method::Ack => {}
        Method::Bye | Method::Info | Method::Update | Method::Cancel => {
            reply(tx, StatusCode::CallTransactionDoesNotExist, vec![])
        }
        _ => reply(tx, StatusCode::MethodNotAllowed, vec![]),
    }
}

/// Send a final response from a task of its own. The stack keeps the response for
/// retransmitted requests after the transaction is dropped.
fn reply(mut tx: Transaction, status: StatusCode, headers: Vec<Header>) {
    tokio::spawn(async move {
        if let Err(error) = tx.reply_with(status, headers, None).await {
            tracing::debug!(%error, "could not send response");
        }
    });
}

fn header_value<'a>(tx: &'a Transaction, name: &str) -> Option<&'a str> {
    tx.original
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value())
}

fn on_new_invite(shared: &Arc<Shared>, tx: Transaction) {
    let config = &shared.config;
    if tx.original.headers.len() > config.max_headers {
        return reply(tx, StatusCode::BadRequest, vec![]);
    }
    if tx.original.body.len() > config.max_body {
        return reply(tx, StatusCode::RequestEntityTooLarge, vec![]);
    }
    let (source, _) = crate::register::source_of(&tx);
    let trunk_entry = config.trust.trunk_of(source.ip());
    let srtp = trunk_entry.map_or(config.trust.untrusted_srtp, |t| t.srtp);
    let trunk = trunk_entry.map(|t| t.name.clone());
    if trunk.is_none() && config.trust.untrusted == Untrusted::Refuse {
        // One line per refusal, for fail2ban (docs/security.md).
        tracing::info!(
            "SIP INVITE refused source={} reason=untrusted_source",
            source.ip()
        );
        return reply(tx, StatusCode::Forbidden, vec![]);
    }
    // A trunk with credentials authenticates every new call (digest, 401 challenge).
    if let Some(credentials) = trunk_entry.and_then(|t| t.credentials.as_ref()) {
        let verdict = shared.trunk_auth().check(
            std::time::Instant::now(),
            credentials,
            header_value(&tx, "Authorization"),
        );
        match verdict {
            TrunkAuthVerdict::Accept => {}
            TrunkAuthVerdict::Challenge(values) => {
                let headers = values
                    .into_iter()
                    .map(|value| Header::WwwAuthenticate(value.into()))
                    .collect();
                return reply(tx, StatusCode::Unauthorized, headers);
            }
            TrunkAuthVerdict::Refuse(reason) => {
                tracing::info!("SIP INVITE refused source={} reason={reason}", source.ip());
                return reply(tx, StatusCode::Forbidden, vec![]);
            }
        }
    }
    // Shedding load: refused before any work or state; logged by whoever sets the switch
    // (when shedding starts and stops), not per call.
    if config.shed.is_shedding() {
        config.shed.count_refused();
        return service_unavailable(shared, tx);
    }
    // No SIP extension is supported (no 100rel, no session timers as a requirement).
    if let Some(required) = header_value(&tx, "Require").filter(|v| !v.trim().is_empty()) {
        let unsupported = crate::identity::bounded_to(required.trim(), 256);
        return reply(
            tx,
            StatusCode::BadExtension,
            vec![Header::Unsupported(unsupported.into())],
        );
    }
    let (ani, verstat) = match trunk {
        Some(_) => (
            identity::ani(
                header_value(&tx, "P-Asserted-Identity"),
                header_value(&tx, "From"),
            ),
            crate::trust::verstat(
                ["P-Asserted-Identity", "From"]
                    .into_iter()
                    .filter_map(|name| header_value(&tx, name)),
            ),
        ),
        None => ("anonymous".to_owned(), None),
    };
    let dnis = identity::dnis(&tx.original.uri.to_string(), header_value(&tx, "To"));
    let Ok(route) = config.router.route(&dnis) else {
        tracing::info!(dnis = %dnis, "INVITE for an unknown number");
        return reply(tx, StatusCode::NotFound, vec![]);
    };
    if shared.calls().len() >= config.max_calls {
        return overloaded(shared, tx);
    }
    let is_sdp = header_value(&tx, "Content-Type").is_some_and(|ct| {
        ct.trim()
            .to_ascii_lowercase()
            .starts_with("application/sdp")
    });
    let offer = match parse_offer_with(&tx.original.body, srtp) {
        Ok(offer) if is_sdp => offer,
        Ok(_) => return reply(tx, StatusCode::NotAcceptableHere, vec![]),
        Err(error) => {
            tracing::info!(%error, "refusing SDP offer");
            return reply(tx, StatusCode::NotAcceptableHere, vec![]);
        }
    };
    let permit = match shared.events.clone().try_reserve_owned() {
        Ok(permit) => permit,
        Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => {
            return overloaded(shared, tx);
        }
    };
    let believed = |name: &str| {
        trunk.is_some()
            || !IDENTITY_HEADERS
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
    };
    let headers = select_headers(
        tx.original
            .headers
            .iter()
            .map(|h| (h.name(), h.value()))
            .filter(|(name, _)| believed(name)),
        &config.forwarded_headers,
    );
    // A call that came over TLS is told to send its in-dialog requests to our TLS port.
    let over_tls = tx
        .connection
        .as_ref()
        .is_some_and(|c| c.transport() == rsipstack::sip::Transport::Tls);
    let contact = shared.tls_addr.filter(|_| over_tls).and_then(|tls| {
        rsipstack::sip::Uri::try_from(format!("sip:ringdesk@{tls};transport=tls").as_str()).ok()
    });
    let dialog = match shared.dialog_layer.get_or_create_server_invite(
        &tx,
        shared.state_sender.clone(),
        None,
        contact,
    ) {
        Ok(dialog) => dialog,
        Err(error) => {
            tracing::warn!(%error, "cannot create dialog");
            return reply(tx, StatusCode::ServerInternalError, vec![]);
        }
    };
    let key = dialog.id().to_string();
    let id = shared.next_call_id();
    let call = Arc::new(CallInner::new(id, dialog.clone(), offer.clone()));
    if !shared.insert_call(key.clone(), call.clone()) {
        shared.dialog_layer.remove_dialog(&dialog.id());
        return overloaded(shared, tx);
    }
    match &trunk {
        Some(t) => tracing::info!(call = %id, trunk = %t, "incoming call"),
        None => {
            tracing::info!(call = %id, source = %source.ip(), "incoming call from an untrusted source: caller ID not believed")
        }
    }
    let mut dialog_task = dialog;
    tokio::spawn(async move {
        let mut tx = tx;
        if let Err(error) = dialog_task.handle(&mut tx).await {
            tracing::debug!(%error, "INVITE transaction ended with an error");
        }
    });
    permit.send(SipEvent::IncomingCall {
        call: CallHandle::new(call),
        ani,
        caller: Box::new(CallerSource {
            addr: source,
            trunk,
            verstat,
        }),
        dnis,
        route,
        headers,
        offer,
    });
}

fn overloaded(shared: &Shared, tx: Transaction) {
    tracing::warn!("call limit or event queue full, answering 503");
    service_unavailable(shared, tx);
}

/// `503 Service Unavailable` with `Retry-After`.
fn service_unavailable(shared: &Shared, tx: Transaction) {
    let retry = rsipstack::sip::RetryAfter::new(shared.config.retry_after_secs.to_string());
    reply(tx, StatusCode::ServiceUnavailable, vec![retry.into()]);
}
