//! Why one attempt (or its OAuth token fetch) failed, classified for the retry policy, with
//! a message built from error kinds only: no URL, no query values, no secrets.

use crate::request::FailureKind;
use crate::retry::AttemptResult;
use std::error::Error as _;

/// Longest failure message kept.
const MAX_MESSAGE: usize = 300;

/// A failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptError {
    pub kind: FailureKind,
    pub message: String,
}

impl AttemptError {
    /// An error of `kind` with `message` (bounded).
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        let mut message = message.into();
        truncate(&mut message);
        Self { kind, message }
    }

    /// Classify a reqwest error; `context` says what was being done ("request", "OAuth token request").
    pub fn from_reqwest(context: &str, err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            FailureKind::Timeout
        } else if err.is_connect() {
            FailureKind::Connect
        } else {
            FailureKind::Other
        };
        let what = match kind {
            FailureKind::Timeout => "timed out",
            FailureKind::Connect => "could not connect",
            _ => "failed",
        };
        // reqwest's own Display carries the URL (and so the query): drop it, then walk
        // the sources (hyper, io) which name the cause only.
        let err = err.without_url();
        let mut message = format!("{context} {what}: {err}");
        let mut source = err.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Self::new(kind, message)
    }

    /// What the retry policy sees.
    pub fn as_attempt_result(&self) -> AttemptResult {
        match self.kind {
            FailureKind::Connect => AttemptResult::Connect,
            FailureKind::Timeout => AttemptResult::Timeout,
            FailureKind::UnknownConnector | FailureKind::Other => AttemptResult::Fatal,
        }
    }
}

fn truncate(message: &mut String) {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_char_boundary() {
        let e = AttemptError::new(FailureKind::Other, "é".repeat(400));
        assert!(e.message.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(e.message.ends_with('…'));
    }

    #[test]
    fn kinds_map_to_policy_results() {
        let r = |k| AttemptError::new(k, "x").as_attempt_result();
        assert_eq!(r(FailureKind::Connect), AttemptResult::Connect);
        assert_eq!(r(FailureKind::Timeout), AttemptResult::Timeout);
        assert_eq!(r(FailureKind::Other), AttemptResult::Fatal);
    }
}
