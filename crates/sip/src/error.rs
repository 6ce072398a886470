//! Typed errors of the SIP adapter. Messages never include SIP bodies or credentials.

/// What went wrong in the SIP adapter.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    /// The configuration cannot be used (no transport enabled, bad limits...).
    #[error("invalid SIP configuration: {0}")]
    Config(&'static str),
    /// A listening socket could not be opened.
    #[error("cannot bind SIP {transport} on {addr}: {source}")]
    Bind {
        /// `udp` or `tcp`.
        transport: &'static str,
        /// The address we tried.
        addr: std::net::SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The TLS certificate or key cannot be used (the message names the problem, never
    /// the key).
    #[error("SIP over TLS: {0}")]
    Tls(String),
    /// The call was already answered (or rejected, or hung up).
    #[error("call {0} was already answered or ended")]
    AlreadyAnswered(crate::CallId),
    /// The call is gone: the caller cancelled or hung up, or it was ended.
    #[error("call {0} has ended")]
    CallEnded(crate::CallId),
    /// A final status code outside 300-699 was given to `reject`.
    #[error("{0} is not a rejection status code (300-699)")]
    InvalidStatus(u16),
    /// The agent has no registered contact to call.
    #[error("agent {0} is not registered")]
    AgentNotRegistered(String),
    /// An [`crate::OutboundCall`] cannot be sent as asked (bad header name, bad contact...).
    #[error("invalid outbound call: {0}")]
    InvalidOutbound(&'static str),
    /// The leg was answered: hang it up rather than cancel it.
    #[error("{0} was already answered")]
    LegAnswered(crate::LegId),
    /// The SIP stack refused an operation on an outbound leg.
    #[error("SIP stack error on {leg}: {detail}")]
    LegStack {
        /// The leg concerned.
        leg: crate::LegId,
        /// The stack's description (no message contents).
        detail: String,
    },
    /// The SIP stack refused the operation.
    #[error("SIP stack error on call {call}: {detail}")]
    Stack {
        /// The call concerned.
        call: crate::CallId,
        /// The stack's description (no message contents).
        detail: String,
    },
}
