//! The OAuth 2.0 token endpoint's answer (RFC 6749 §5): the one parser of it, for the
//! token fetch and the fuzz target. The token must be short printable ASCII (it goes into
//! an `Authorization` header); an error body is never echoed, only a plain error code.

use crate::secret::Secret;
use serde::Deserialize;
use std::time::Duration;

/// Longest access token accepted.
pub const MAX_TOKEN_LEN: usize = 8192;

/// Why a token endpoint's answer gives no usable token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenResponseError {
    /// Not a 2xx status; `code` is ` (<error>)` for a plain RFC 6749 error code, or empty.
    #[error("OAuth token endpoint answered HTTP {status}{code}")]
    Status { status: u16, code: String },
    /// The body is not JSON with a string `access_token`.
    #[error("OAuth token response is not JSON with an access_token")]
    NotJson,
    /// The token is empty, too long, or not printable ASCII.
    #[error("OAuth token response has an unusable access_token")]
    Unusable,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenErrorBody {
    error: String,
}

/// The token and its lifetime from a token endpoint's answer with HTTP `status`.
pub fn parse_token_response(
    status: u16,
    body: &[u8],
) -> Result<(Secret, Option<Duration>), TokenResponseError> {
    if !(200..300).contains(&status) {
        return Err(TokenResponseError::Status {
            status,
            code: error_code(body),
        });
    }
    let parsed: TokenResponse =
        serde_json::from_slice(body).map_err(|_| TokenResponseError::NotJson)?;
    let token = parsed.access_token;
    let usable = !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token.bytes().all(|b| (0x21..0x7f).contains(&b));
    if !usable {
        return Err(TokenResponseError::Unusable);
    }
    Ok((
        Secret::new(token),
        parsed.expires_in.map(Duration::from_secs),
    ))
}

/// `" (<code>)"` from an RFC 6749 error body when the code is a short plain word; the body
/// itself is never echoed (it could carry anything).
fn error_code(body: &[u8]) -> String {
    match serde_json::from_slice::<TokenErrorBody>(body) {
        Ok(e)
            if !e.error.is_empty()
                && e.error.len() <= 40
                && e.error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            format!(" ({})", e.error)
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_only_plain_words() {
        assert_eq!(
            error_code(br#"{"error":"invalid_client"}"#),
            " (invalid_client)"
        );
        assert_eq!(error_code(br#"{"error":"secret=abc"}"#), "");
        assert_eq!(error_code(b"<html>"), "");
    }

    #[test]
    fn only_printable_bounded_tokens_are_taken() {
        let (token, ttl) =
            parse_token_response(200, br#"{"access_token":"abc","expires_in":60}"#).unwrap();
        assert_eq!(
            (token.expose(), ttl),
            ("abc", Some(Duration::from_secs(60)))
        );
        for body in [
            &br#"{"access_token":""}"#[..],
            br#"{"access_token":"a b"}"#,
            br#"{"access_token":"a\r\nX-Evil: 1"}"#,
        ] {
            assert_eq!(
                parse_token_response(200, body).unwrap_err(),
                TokenResponseError::Unusable
            );
        }
        assert_eq!(
            parse_token_response(200, b"{}").unwrap_err(),
            TokenResponseError::NotJson
        );
        assert_eq!(
            parse_token_response(401, br#"{"error":"invalid_client"}"#)
                .unwrap_err()
                .to_string(),
            "OAuth token endpoint answered HTTP 401 (invalid_client)"
        );
    }
}
