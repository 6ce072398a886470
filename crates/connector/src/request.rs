//! The request the runtime hands to a connector and the outcome it gets back. These are
//! this crate's own types; the binary maps them to and from the flow's.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// HTTP method of a connector request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Upper-case name, e.g. `GET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The method name is not one of GET, POST, PUT, PATCH, DELETE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported HTTP method (use GET, POST, PUT, PATCH or DELETE)")]
pub struct UnknownMethod;

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            "PUT" => Ok(Method::Put),
            "PATCH" => Ok(Method::Patch),
            "DELETE" => Ok(Method::Delete),
            _ => Err(UnknownMethod),
        }
    }
}

/// A request through a named connector. Values are rendered but not encoded: the
/// connector encodes query pairs and refuses paths that would leave the base URL.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Connector name as configured (e.g. `zendesk`).
    pub connector: String,
    pub method: Method,
    /// Path below the base URL, starting with `/` (e.g. `/api/v2/search.json`).
    pub path: String,
    /// Query parameters, not yet URL-encoded; each pair arrives as exactly one parameter.
    pub query: Vec<(String, String)>,
    /// Extra headers. `Authorization`, `Host`, `Content-Length`, `Transfer-Encoding`,
    /// `Connection` are refused: the connector owns them.
    pub headers: Vec<(String, String)>,
    /// Body; sent as `application/json` unless a `Content-Type` header says otherwise.
    pub body: Option<String>,
    /// Time budget for all attempts together; `None` takes the connector's `timeout`.
    pub timeout: Option<Duration>,
    /// How many times to retry a retryable failure (connect error, timeout, 5xx, 429).
    pub retries: u32,
}

/// A response arrived (any status).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-case; values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
    /// Body, lossily decoded as UTF-8, at most the connector's `max_response_bytes`.
    pub body: String,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// Time from the call to the end of the last attempt.
    pub elapsed: Duration,
}

/// Why a request produced no usable response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Could not connect (refused, DNS, TLS handshake).
    Connect,
    /// The time budget or an attempt timeout ran out.
    Timeout,
    /// No connector of that name is configured.
    UnknownConnector,
    /// Anything else: invalid request, response too large, OAuth token refused, ...
    Other,
}

/// No usable response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpFailure {
    pub kind: FailureKind,
    /// Human-readable; never contains secrets or query values.
    pub message: String,
    pub attempts: u32,
    pub elapsed: Duration,
}

/// What became of an [`HttpRequest`].
#[derive(Debug, Clone, PartialEq)]
pub enum HttpOutcome {
    Response(HttpResponse),
    Failure(HttpFailure),
}

impl HttpOutcome {
    /// The response, if one arrived.
    pub fn response(&self) -> Option<&HttpResponse> {
        match self {
            HttpOutcome::Response(r) => Some(r),
            HttpOutcome::Failure(_) => None,
        }
    }

    /// The failure, if no response arrived.
    pub fn failure(&self) -> Option<&HttpFailure> {
        match self {
            HttpOutcome::Response(_) => None,
            HttpOutcome::Failure(f) => Some(f),
        }
    }

    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        match self {
            HttpOutcome::Response(r) => r.attempts,
            HttpOutcome::Failure(f) => f.attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_case_insensitively() {
        assert_eq!("get".parse::<Method>(), Ok(Method::Get));
        assert_eq!("Patch".parse::<Method>(), Ok(Method::Patch));
        assert_eq!("TRACE".parse::<Method>(), Err(UnknownMethod));
        for m in [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ] {
            assert_eq!(m.as_str().parse::<Method>(), Ok(m));
        }
    }
}
