//! Named HTTP connectors: base URL, auth (API token, OAuth client credentials), timeouts and retry policy.
//!
//! A flow's HTTP Request activity names a connector; the connector holds what must never be
//! in a flow (base URL, credentials). The runtime builds [`Connectors`] once from the
//! `[connectors.<name>]` config tables and calls [`Connectors::execute`] per request.
//! The retry decision is the pure [`RetryPolicy::decide`]; the async part follows it.

mod attempt_error;
mod body;
mod client;
mod config;
mod error;
mod oauth;
mod prepare;
mod request;
mod resolve;
mod retry;
mod retry_after;
mod secret;
mod target;
mod token_cache;
mod token_response;

pub use client::Connectors;
pub use config::{
    AuthConfig, ConnectorConfig, TokenRequestFormat, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
};
pub use error::ConfigError;
pub use prepare::{PrepareError, MAX_HEADERS, MAX_REQUEST_BODY};
pub use request::{
    FailureKind, HttpFailure, HttpOutcome, HttpRequest, HttpResponse, Method, UnknownMethod,
};
pub use retry::{is_retryable, AttemptResult, AttemptState, Decision, RetryPolicy, StopReason};
pub use retry_after::{parse_retry_after, MAX_RETRY_AFTER_LEN};
pub use secret::Secret;
pub use target::{build_url, TargetError};
pub use token_cache::{CachedToken, TokenCache};
pub use token_response::{parse_token_response, TokenResponseError, MAX_TOKEN_LEN};
