//! The REGISTER adapter: turns a REGISTER transaction of the SIP stack into a plain
//! [`RegisterRequest`] for the sans-IO [`crate::Registrar`], and its reply into a response
//! (401 with challenges, 403, 400 or 200 with the current contacts).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipConnection;

use crate::contact::parse_contacts;
use crate::identity::user_part_of_header;
use crate::path::{parse_path, PathError};
use crate::registrar::{RegisterReply, RegisterRequest, Transport};
use crate::shared::Shared;

/// Where the request came from (the top Via after the stack added `received`/`rport`) and
/// on which transport. An unknown source counts as `0.0.0.0:0`.
pub(crate) fn source_of(tx: &Transaction) -> (SocketAddr, Transport) {
    let transport = match &tx.connection {
        Some(connection) if connection.transport() == rsipstack::sip::Transport::Tls => {
            Transport::Tls
        }
        Some(connection) if connection.is_reliable() => Transport::Tcp,
        _ => Transport::Udp,
    };
    let source = tx
        .original
        .via_header()
        .ok()
        .and_then(|via| SipConnection::parse_target_from_via(via).ok())
        .and_then(|(_, host)| SocketAddr::try_from(host).ok())
        .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    (source, transport)
}

fn values<'a>(tx: &'a Transaction, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    tx.original
        .headers
        .iter()
        .filter(move |h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value())
}

/// Build the registrar's view of a REGISTER, or the reason it is a bad request.
fn request_of(tx: &Transaction) -> Result<RegisterRequest, &'static str> {
    let (source, transport) = source_of(tx);
    let aor_user = values(tx, "To")
        .next()
        .and_then(user_part_of_header)
        .ok_or("no To URI")?;
    let contacts = parse_contacts(values(tx, "Contact").chain(values(tx, "m")))
        .map_err(|_| "malformed Contact")?;
    let expires = match values(tx, "Expires").next() {
        None => None,
        Some(value) => {
            let seconds: u64 = value.trim().parse().map_err(|_| "malformed Expires")?;
            Some(u32::try_from(seconds).unwrap_or(u32::MAX))
        }
    };
    let path = parse_path(values(tx, "Path")).map_err(|e| match e {
        PathError::TooMany => "too many Path entries",
        PathError::Malformed => "malformed Path",
    })?;
    Ok(RegisterRequest {
        source,
        transport,
        aor_user,
        authorization: values(tx, "Authorization").next().map(str::to_owned),
        contacts,
        expires,
        path,
    })
}

/// Answer one REGISTER (from its own task, so the request task never waits).
pub(crate) fn on_register(shared: &Arc<Shared>, tx: Transaction) {
    let reply = if tx.original.headers.len() > shared.config.max_headers {
        RegisterReply::BadRequest("too many headers")
    } else {
        match request_of(&tx) {
            Ok(request) => {
                let mut registrar = shared.registrar();
                let reply = registrar.handle_register(Instant::now(), &request);
                shared
                    .config
                    .counters
                    .set_registrar(registrar.lockouts_started(), registrar.contacts_refused());
                reply
            }
            Err(reason) => RegisterReply::BadRequest(reason),
        }
    };
    shared.registrar_changed.notify_one();
    let (status, headers) = match reply {
        RegisterReply::Challenge { www_authenticate } => (
            StatusCode::Unauthorized,
            www_authenticate
                .into_iter()
                .map(|value| Header::WwwAuthenticate(value.into()))
                .collect(),
        ),
        RegisterReply::Forbidden => (StatusCode::Forbidden, vec![]),
        RegisterReply::BadRequest(reason) => {
            tracing::info!(reason, "bad REGISTER");
            (StatusCode::BadRequest, vec![])
        }
        RegisterReply::Ok { contacts } => (
            StatusCode::OK,
            contacts
                .into_iter()
                .map(|value| Header::Contact(value.into()))
                .collect(),
        ),
    };
    tokio::spawn(async move {
        let mut tx = tx;
        if let Err(error) = tx.reply_with(status, headers, None).await {
            tracing::debug!(%error, "could not answer REGISTER");
        }
    });
}
