//! Calling agents: [`SipServer::call_agent`] builds the INVITE (From with the caller's
//! identity, screen-pop headers, SDP offer) for the agent's most recently registered
//! contact and starts the leg task that reports its progress.

use std::sync::Arc;

use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::typed::Route;
use rsipstack::sip::{Header, HostWithPort, Uri};
use rsipstack::transport::SipAddr;

use crate::error::SipError;
use crate::leg::{LegInner, OutboundHandle};
use crate::outbound::{sanitize_display, sanitize_headers, sanitize_user, LegId, OutboundCall};
use crate::path::without_received;
use crate::registrar::{AgentContact, Transport};
use crate::sdes::random_key;
use crate::sdp_answer::SdpOrigin;
use crate::sdp_uac::{build_offer, OfferSrtp};
use crate::server::SipServer;

impl SipServer {
    /// Ring `call.agent_id` on its most recently registered contact (no forking: one leg,
    /// one phone). The INVITE goes to the contact URI, except over UDP when the contact's
    /// host differs from the address the REGISTER came from (NAT): then to that address.
    ///
    /// Progress arrives as [`crate::SipEvent::AgentRinging`], then one of `AgentAnswered`,
    /// `AgentRejected`, `AgentCancelled`, `AgentFailed`; after an answer, `AgentHangup` when
    /// the agent hangs up. Ring-no-answer is the runtime's timer: call
    /// [`OutboundHandle::cancel`]. Must be called inside the tokio runtime.
    pub fn call_agent(&self, call: OutboundCall) -> Result<OutboundHandle, SipError> {
        let shared = &self.shared;
        let headers = sanitize_headers(&call.extra_headers).map_err(SipError::InvalidOutbound)?;
        let local_contact = shared
            .registrar()
            .contacts(&call.agent_id)
            .into_iter()
            .next();
        // Not registered here: a UDP contact it registered with another node.
        let contact = match (local_contact, &call.remote_contact) {
            (Some(c), _) => c,
            (None, Some(remote)) => AgentContact {
                uri: remote.uri.clone(),
                source: remote.source,
                transport: Transport::Udp,
                path: remote.path.clone(),
                expires_at: std::time::Instant::now(),
                registered_at: std::time::Instant::now(),
            },
            (None, None) => return Err(SipError::AgentNotRegistered(call.agent_id.clone())),
        };
        let callee = Uri::try_from(contact.uri.as_str())
            .map_err(|_| SipError::InvalidOutbound("registered contact is not a valid URI"))?;
        let local = shared.config.external.unwrap_or(shared.local_addr);
        let user = sanitize_user(&call.from_user);
        let caller = Uri::try_from(format!("sip:{user}@{local}").as_str())
            .map_err(|_| SipError::InvalidOutbound("caller URI"))?;
        // An agent on TLS is called over the connection it registered on (the stack
        // reuses it: RFC 5626 flow), and its in-dialog requests come back to our TLS port.
        let our_contact = match (contact.transport, shared.tls_addr) {
            (Transport::Tls, Some(tls)) => format!("sip:ringdesk@{tls};transport=tls"),
            _ => format!("sip:ringdesk@{local}"),
        };
        let our_contact = Uri::try_from(our_contact.as_str())
            .map_err(|_| SipError::InvalidOutbound("contact URI"))?;
        let display = sanitize_display(&call.from_display);
        let id = LegId(shared.next_call_id().0);
        let origin = SdpOrigin {
            session_id: id.0,
            version: 1,
        };
        let srtp = OfferSrtp {
            policy: call.srtp,
            key: random_key(),
        };
        let offer = build_offer(call.local_rtp, &call.codecs, origin, &srtp);
        // Behind NAT (the contact names another address than the REGISTER came from), UDP
        // requests go to the source address; otherwise to the contact itself.
        let behind_nat = callee.host_with_port.host.to_string() != contact.source.ip().to_string();
        // Registered through a proxy (RFC 3327 Path): the INVITE goes to the proxy with the
        // Path as its route set; the proxy sends it on to the `received` address of the top
        // entry when the agent is behind NAT, else (the parameter removed) to the contact.
        let route_set = route_set(&contact.path, behind_nat)?;
        let destination = match contact.transport {
            _ if !route_set.is_empty() => None,
            Transport::Udp if behind_nat => Some(SipAddr {
                r#type: Some(rsipstack::sip::Transport::Udp),
                addr: HostWithPort::from(contact.source),
            }),
            Transport::Tls => Some(SipAddr {
                r#type: Some(rsipstack::sip::Transport::Tls),
                addr: HostWithPort::from(contact.source),
            }),
            Transport::Udp | Transport::Tcp => None,
        };
        let option = InviteOption {
            caller_display_name: (!display.is_empty()).then_some(display),
            caller,
            callee,
            destination,
            content_type: Some("application/sdp".to_owned()),
            offer: Some(offer.into_bytes()),
            contact: our_contact,
            route_set,
            headers: Some(
                headers
                    .into_iter()
                    .map(|(name, value)| Header::Other(name, value))
                    .collect(),
            ),
            ..InviteOption::default()
        };
        let (state_sender, states) = shared.dialog_layer.new_dialog_state_channel();
        let (dialog, invite) = shared
            .dialog_layer
            .do_invite_async(option, state_sender)
            .map_err(|error| SipError::LegStack {
                leg: id,
                detail: error.to_string(),
            })?;
        let leg = Arc::new(LegInner::new(
            id,
            dialog,
            call.local_rtp,
            call.codecs.clone(),
            origin,
            srtp,
        ));
        tracing::info!(leg = %id, agent = %call.agent_id, "calling agent");
        tokio::spawn(crate::leg::run(
            shared.clone(),
            leg.clone(),
            states,
            invite,
            self.cancel_token(),
        ));
        Ok(OutboundHandle::new(leg))
    }
}

/// The Route headers of an INVITE to a contact registered through a proxy: its Path, top
/// first, the top entry's `received` kept only when the agent is behind NAT.
fn route_set(path: &[String], behind_nat: bool) -> Result<Vec<Route>, SipError> {
    path.iter()
        .enumerate()
        .map(|(i, uri)| {
            let uri = if i == 0 && !behind_nat {
                without_received(uri)
            } else {
                uri.clone()
            };
            let uri = Uri::try_from(uri.as_str())
                .map_err(|_| SipError::InvalidOutbound("registered Path is not a valid URI"))?;
            Ok(Route::from(uri))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The route set built from a registered Path.
    use super::*;

    #[test]
    fn the_path_becomes_the_route_set_with_received_only_behind_nat() {
        let path = vec![
            "sip:10.0.0.5:5060;lr;received=sip%3A192.0.2.7%3A5062".to_owned(),
            "sip:edge.example;lr".to_owned(),
        ];
        let text = |routes: Vec<Route>| routes.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        assert_eq!(
            text(route_set(&path, true).unwrap()),
            [
                "<sip:10.0.0.5:5060;lr;received=sip%3A192.0.2.7%3A5062>",
                "<sip:edge.example;lr>"
            ]
        );
        assert_eq!(
            text(route_set(&path, false).unwrap()),
            ["<sip:10.0.0.5:5060;lr>", "<sip:edge.example;lr>"]
        );
        assert!(route_set(&[], true).unwrap().is_empty());
    }
}
