//! What the runtime asks for when it offers a call to an agent ([`OutboundCall`]), the leg
//! identifier, why a leg failed, and the sanitizing of everything that goes into the
//! INVITE (display name, user, extra headers): bounded, no CR/LF, no header injection.

use std::fmt;
use std::net::SocketAddr;

use crate::identity::bounded_to;
use crate::media::Codec;
use crate::sdes::SrtpPolicy;

/// Most extra headers on one INVITE.
pub const MAX_EXTRA_HEADERS: usize = 16;
/// Longest extra header value (bytes); longer values are cut at a character boundary.
pub const MAX_EXTRA_HEADER_VALUE: usize = 512;
/// Longest display name or user part (bytes).
pub const MAX_FROM_LEN: usize = 64;

/// Headers besides `X-*` that may be added to an agent INVITE.
pub const ALLOWED_EXTRA_HEADERS: &[&str] = &[
    "Call-Info",
    "Alert-Info",
    "Subject",
    "Priority",
    "Organization",
    "P-Asserted-Identity",
];

/// Identifies one outbound leg (call to an agent) for the lifetime of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// A call offered to an agent: who is calling and why (screen-pop material), and where
/// ringdesk receives the agent's audio.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboundCall {
    /// The agent to ring (its most recently registered contact is called).
    pub agent_id: String,
    /// Display name in `From` (e.g. the caller's name); sanitized and bounded.
    pub from_display: String,
    /// User part of `From` (e.g. the caller's number); `+`, digits, letters, `-_.*#`.
    pub from_user: String,
    /// Extra headers (`X-*` or [`ALLOWED_EXTRA_HEADERS`]): Call-Info with the ticket URL,
    /// X-Ringdesk-Ticket, X-Ringdesk-Ticket-Url, X-Ringdesk-Caller, X-Ringdesk-Caller-Name.
    pub extra_headers: Vec<(String, String)>,
    /// Where ringdesk receives RTP from the agent.
    pub local_rtp: SocketAddr,
    /// Codecs in order of preference (empty: PCMU, PCMA).
    pub codecs: Vec<Codec>,
    /// Whether the agent's media must, may or must not be encrypted (default: optional,
    /// keys offered best-effort).
    pub srtp: SrtpPolicy,
    /// Where to ring the agent when it is not registered with this server: a UDP contact
    /// it registered with another node of the cluster (its URI, the address its REGISTER
    /// came from, the proxy route it came through). A contact registered here is preferred.
    pub remote_contact: Option<RemoteContact>,
}

/// An agent's UDP contact as registered with some node: enough for another node to ring it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteContact {
    /// The contact URI the agent registered.
    pub uri: String,
    /// The address its REGISTER came from (where requests go when it is behind NAT).
    pub source: SocketAddr,
    /// The route to it when it registered through a proxy (RFC 3327 Path, top first).
    pub path: Vec<String>,
}

impl OutboundCall {
    /// A call to `agent_id` from `from_user`, receiving RTP at `local_rtp`, no display name,
    /// no extra headers, PCMU then PCMA.
    pub fn new(
        agent_id: impl Into<String>,
        from_user: impl Into<String>,
        local_rtp: SocketAddr,
    ) -> Self {
        OutboundCall {
            agent_id: agent_id.into(),
            from_display: String::new(),
            from_user: from_user.into(),
            extra_headers: Vec::new(),
            local_rtp,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            srtp: SrtpPolicy::default(),
            remote_contact: None,
        }
    }
}

/// Why a leg ended without being answered or rejected by the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentFailure {
    /// No final response in time (the INVITE transaction timed out).
    Timeout,
    /// The SIP stack or the transport failed (description without message contents).
    Transport(String),
    /// The agent answered with SDP ringdesk cannot use (the call was ended with BYE).
    BadAnswer(String),
    /// The agent's phone asked for authentication (401/407).
    AuthRequired,
}

impl fmt::Display for AgentFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentFailure::Timeout => f.write_str("no answer from the agent's phone (timeout)"),
            AgentFailure::Transport(detail) => write!(f, "transport error: {detail}"),
            AgentFailure::BadAnswer(detail) => write!(f, "unusable answer: {detail}"),
            AgentFailure::AuthRequired => f.write_str("the agent's phone requires authentication"),
        }
    }
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Remove control characters (CR, LF...) and cut to `max` bytes.
pub(crate) fn sanitize_value(value: &str, max: usize) -> String {
    bounded_to(value.trim(), max).trim().to_owned()
}

/// Check names and clean values of the extra headers. A name that is not a token, not
/// `X-*` and not in [`ALLOWED_EXTRA_HEADERS`] is refused; values are cleaned, never refused.
pub(crate) fn sanitize_headers(
    headers: &[(String, String)],
) -> Result<Vec<(String, String)>, &'static str> {
    if headers.len() > MAX_EXTRA_HEADERS {
        return Err("too many extra headers");
    }
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.trim();
            let is_x =
                name.len() > 2 && name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("x-"));
            let allowed = is_x
                || ALLOWED_EXTRA_HEADERS
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(name));
            if !is_token(name) || !allowed {
                return Err("extra header name not allowed");
            }
            Ok((
                name.to_owned(),
                sanitize_value(value, MAX_EXTRA_HEADER_VALUE),
            ))
        })
        .collect()
}

/// A display name safe inside double quotes: no quotes, backslashes or control characters.
pub(crate) fn sanitize_display(display: &str) -> String {
    let cleaned: String = display
        .chars()
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    sanitize_value(&cleaned, MAX_FROM_LEN)
}

/// A user part made of safe characters only; `anonymous` when nothing is left.
pub(crate) fn sanitize_user(user: &str) -> String {
    let cleaned: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+-_.*#".contains(*c))
        .take(MAX_FROM_LEN)
        .collect();
    if cleaned.is_empty() {
        "anonymous".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    //! Sanitizing of INVITE contents.
    use super::*;

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn headers_are_cleaned_and_bounded() {
        let got = sanitize_headers(&[
            pair("X-Ringdesk-Ticket", " 4711 "),
            pair(
                "Call-Info",
                "<https://acme.zendesk.com/agent/tickets/4711>;purpose=info",
            ),
            pair("X-Ringdesk-Caller-Name", "Eve\r\nVia: SIP/2.0/UDP evil"),
            pair("x-long", &"é".repeat(400)),
        ])
        .unwrap();
        assert_eq!(got[0], pair("X-Ringdesk-Ticket", "4711"));
        assert_eq!(got[1].0, "Call-Info");
        assert_eq!(got[2].1, "EveVia: SIP/2.0/UDP evil");
        assert!(!got
            .iter()
            .any(|(_, v)| v.contains('\r') || v.contains('\n')));
        assert!(got[3].1.len() <= MAX_EXTRA_HEADER_VALUE);
        assert!(got[3].1.chars().all(|c| c == 'é'));
    }

    #[test]
    fn dangerous_or_unknown_names_are_refused() {
        for name in [
            "Via",
            "Contact",
            "Content-Length",
            "X-",
            "X-Bad Name",
            "X-A\r\nB",
            "",
            "Route",
        ] {
            assert!(sanitize_headers(&[pair(name, "v")]).is_err(), "{name:?}");
        }
        let many: Vec<_> = (0..=MAX_EXTRA_HEADERS)
            .map(|i| pair(&format!("X-{i}"), "v"))
            .collect();
        assert!(sanitize_headers(&many).is_err());
    }

    #[test]
    fn from_parts_are_safe() {
        assert_eq!(sanitize_display("Ann \"The\" O\\Neil\r\n"), "Ann The ONeil");
        assert_eq!(sanitize_user("+1 (555) 123-4567"), "+1555123-4567");
        assert_eq!(sanitize_user("<sip:x@y>"), "sipxy");
        assert_eq!(sanitize_user("\r\n"), "anonymous");
        assert_eq!(sanitize_user(&"9".repeat(100)).len(), MAX_FROM_LEN);
    }
}
