//! The typed client's error: HTTP status with Zendesk's error body, rate limiting with
//! Retry-After, transport, decoding. Never carries the Authorization value.

use crate::types::ErrorBody;
use std::time::Duration;

/// Everything a [`super::ZendeskClient`] call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ZendeskError {
    /// The base URL does not parse or cannot be a base.
    #[error("invalid Zendesk base URL: {0}")]
    InvalidBaseUrl(String),
    /// The Authorization value is not a valid header value (the value is not shown).
    #[error("the Authorization value is not a valid HTTP header value")]
    InvalidAuthorization,
    /// An argument was refused before sending (e.g. a phone "number" with non-digits).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// 429: over the rate limit.
    #[error("rate limited by Zendesk (retry after {retry_after:?})")]
    RateLimited {
        /// The parsed Retry-After, if any.
        retry_after: Option<Duration>,
    },
    /// Any other non-2xx status; `body` is Zendesk's error body when it sent one.
    #[error("Zendesk answered HTTP {status}{}", body.as_ref().map(|b| format!(" ({b})")).unwrap_or_default())]
    Status {
        /// HTTP status code.
        status: u16,
        /// Parsed error body.
        body: Option<ErrorBody>,
        /// Retry-After, when sent (503s may carry one).
        retry_after: Option<Duration>,
    },
    /// Connection, TLS or timeout failure.
    #[error("transport error talking to Zendesk: {0}")]
    Transport(#[source] reqwest::Error),
    /// The response body exceeded the client's size bound.
    #[error("Zendesk response body larger than {limit} bytes")]
    BodyTooLarge {
        /// The bound in bytes.
        limit: usize,
    },
    /// A 2xx body that does not decode as the expected type.
    #[error("could not decode Zendesk response (HTTP {status}): {source}")]
    Decode {
        /// HTTP status code.
        status: u16,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl ZendeskError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ZendeskError::RateLimited { .. } => Some(429),
            ZendeskError::Status { status, .. } | ZendeskError::Decode { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// True for a timeout (connect or overall).
    pub fn is_timeout(&self) -> bool {
        matches!(self, ZendeskError::Transport(e) if e.is_timeout())
    }

    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True when retrying the same request later may succeed: 429, 5xx, transport.
    pub fn is_retryable(&self) -> bool {
        match self {
            ZendeskError::RateLimited { .. } | ZendeskError::Transport(_) => true,
            ZendeskError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The server's Retry-After, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ZendeskError::RateLimited { retry_after }
            | ZendeskError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
