//! Calling agents: [`SipServer::call_agent`] builds the INVITE (From with the caller's
//! identity, screen-pop headers, SDP offer) for the agent's most recently registered
//! contact and starts the leg task that reports its progress.

use std::sync::Arc;

use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::{Header, HostWithPort, Uri};
use rsipstack::transport::SipAddr;

use crate::error::SipError;
use crate::leg::{LegInner, OutboundHandle};
use crate::outbound::{sanitize_display, sanitize_headers, sanitize_user, LegId, OutboundCall};
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
        let destination = match contact.transport {
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
