//! ringdesk SIP adapter: answers real calls over SIP (UDP and TCP) through `rsipstack`,
//! registers agents' softphones (digest-authenticated REGISTER) and calls agents (UAC), and
//! turns all of it into plain events and handles for the call runtime.
//!
//! Defences for a public address: per-source rate limits and bans on new requests and caps
//! on TCP connections ([`FloodConfig`]), per-account REGISTER lockout ([`LockoutConfig`]),
//! allowed contact hosts per agent ([`ContactHosts`]); what they refused is counted in
//! [`SipCounters`].
//!
//! No type of the SIP library crosses this crate's public API. The SDP offer/answer and the
//! caller-identity extraction are pure functions, usable and tested without sockets.
//!
//! Use: `let (server, mut events) = SipServer::bind(SipConfig::new(addr)).await?;` then
//! handle each [`SipEvent`]; answer an [`SipEvent::IncomingCall`] with
//! [`CallHandle::answer`]. Agents configured in [`SipConfig::registrar`] register; ring one
//! with [`SipServer::call_agent`] and follow its leg with the `Agent*` events.

mod call;
mod config;
mod contact;
mod contact_hosts;
mod counts;
mod dialog_events;
mod digest;
mod error;
mod event;
mod flood;
mod flood_config;
mod headers;
mod identity;
mod leg;
mod lockout;
mod media;
mod nonce;
mod outbound;
mod path;
mod register;
mod registrar;
mod registrar_config;
mod registrar_task;
mod request_guard;
mod requests;
mod sdes;
mod sdp_answer;
mod sdp_offer;
mod sdp_uac;
mod secret;
mod server;
mod shared;
mod shed;
mod tls;
mod transport_guard;
mod trunk_auth;
mod trust;
mod uac;

pub use call::CallHandle;
pub use call::CallId;
pub use config::{RouteFn, Router, SipConfig, TlsListen};
pub use contact::{
    parse_contacts, ContactError, ContactList, ContactSpec, MAX_CONTACTS_PER_REQUEST,
    MAX_CONTACT_URI_LEN,
};
pub use contact_hosts::{parse_net, ContactHosts, ContactHostsError, MAX_CONTACT_HOSTS};
pub use counts::{SecurityCounts, SipCounters};
pub use dialog_events::MAX_DTMF_BODY;
pub use digest::{
    parse_authorization, verify, DigestAlgorithm, DigestAuthorization, DigestError,
    MAX_AUTHORIZATION_LEN,
};
pub use error::SipError;
pub use event::{CallerSource, SipEvent};
pub use flood_config::{FloodConfig, Rate};
pub use headers::{
    select_headers, DEFAULT_FORWARDED_HEADERS, MAX_FORWARDED_HEADERS, MAX_FORWARDED_VALUE,
};
pub use identity::{ani, dnis, user_part_of_header, user_part_of_uri, MAX_IDENTITY_LEN};
pub use ipnet::IpNet;
pub use leg::OutboundHandle;
pub use lockout::{Locked, LockoutConfig, Lockouts};
pub use media::{Codec, Direction, MediaAnswer, MediaOffer};
pub use outbound::{
    AgentFailure, LegId, OutboundCall, RemoteContact, ALLOWED_EXTRA_HEADERS, MAX_EXTRA_HEADERS,
    MAX_EXTRA_HEADER_VALUE, MAX_FROM_LEN,
};
pub use path::{
    parse_path, received_of, without_received, PathError, MAX_PATH_ENTRIES, MAX_PATH_URI,
};
pub use registrar::{
    AgentContact, RegisterReply, RegisterRequest, Registrar, RegistrarEvent, Transport,
    MAX_TRACKED_SOURCES,
};
pub use registrar_config::{AgentCredential, RegistrarConfig};
pub use sdes::{
    crypto_line, parse_crypto, random_key, suite_name, SdesCrypto, SrtpKeys, SrtpPolicy,
    MAX_CRYPTO_LEN, MAX_CRYPTO_LINES,
};
pub use sdp_answer::{build_answer, SdpOrigin, PTIME_MS};
pub use sdp_offer::{
    parse_offer, parse_offer_with, SdpError, MAX_FORMATS, MAX_MEDIA_LINES, MAX_SDP_BYTES,
    MAX_SDP_LINES,
};
pub use sdp_uac::{
    build_offer, parse_answer, AgentMedia, AnswerError, OfferSrtp, OFFER_TELEPHONE_EVENT_PT,
};
pub use secret::Secret;
pub use server::SipServer;
pub use shed::ShedSwitch;
pub use tls::check_certificate;
pub use trunk_auth::{TrunkAuthVerdict, TrunkCredentials};
pub use trust::{verstat, Trunk, TrustConfig, Untrusted, IDENTITY_HEADERS, MAX_VERSTAT_LEN};
