//! What the SIP server's defences refused, for metrics: requests over a rate limit, source
//! bans, stream connections refused, account lockouts, registrations with a contact host
//! the agent may not use.

/// Counts since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecurityCounts {
    /// Requests and datagrams dropped: over a per-source rate limit, or from a banned source.
    pub requests_refused: u64,
    /// Sources banned for going over a rate limit.
    pub bans: u64,
    /// Stream (TCP) connections refused: banned source, or a connection cap reached.
    pub connections_refused: u64,
    /// Agent accounts locked after failed REGISTERs.
    pub lockouts: u64,
    /// REGISTERs refused because a contact pointed at a host the agent may not use.
    pub contacts_refused: u64,
}
