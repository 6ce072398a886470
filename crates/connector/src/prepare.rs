//! Checks a request before any attempt: URL (via `target`), headers and body size. The
//! result is reused unchanged by every attempt.

use crate::request::{HttpRequest, Method};
use crate::target::build_url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use thiserror::Error;
use url::Url;

/// Most extra headers accepted.
pub const MAX_HEADERS: usize = 32;
/// Longest accepted header value.
pub const MAX_HEADER_VALUE: usize = 8192;
/// Largest accepted request body.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// Headers the connector owns; a flow may not set them.
const FORBIDDEN: [&str; 7] = [
    "authorization",
    "proxy-authorization",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "cookie",
];

/// Why a request was refused before sending. Messages never quote values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrepareError {
    #[error("invalid path or query: {0}")]
    Target(#[from] crate::target::TargetError),
    #[error("too many headers (at most {MAX_HEADERS})")]
    TooManyHeaders,
    #[error("invalid header name")]
    BadHeaderName,
    #[error("header {0} is set by the connector and may not be given")]
    ForbiddenHeader(String),
    #[error("header {0} has an invalid or too long value")]
    BadHeaderValue(String),
    #[error("request body exceeds {MAX_REQUEST_BODY} bytes")]
    BodyTooLarge,
}

/// A request ready to be sent (any number of times).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<String>,
}

/// Check `req` against `base`.
pub fn prepare(base: &Url, req: &HttpRequest) -> Result<Prepared, PrepareError> {
    let url = build_url(base, &req.path, &req.query)?;
    if req.headers.len() > MAX_HEADERS {
        return Err(PrepareError::TooManyHeaders);
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &req.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| PrepareError::BadHeaderName)?;
        if FORBIDDEN.contains(&name.as_str()) {
            return Err(PrepareError::ForbiddenHeader(name.to_string()));
        }
        if value.len() > MAX_HEADER_VALUE {
            return Err(PrepareError::BadHeaderValue(name.to_string()));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| PrepareError::BadHeaderValue(name.to_string()))?;
        headers.append(name, value);
    }
    if let Some(body) = &req.body {
        if body.len() > MAX_REQUEST_BODY {
            return Err(PrepareError::BodyTooLarge);
        }
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
    }
    Ok(Prepared {
        method: to_reqwest(req.method),
        url,
        headers,
        body: req.body.clone(),
    })
}

fn to_reqwest(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> HttpRequest {
        HttpRequest {
            connector: "zd".into(),
            method: Method::Put,
            path: "/api/v2/tickets/1.json".into(),
            query: vec![],
            headers: vec![],
            body: None,
            timeout: None,
            retries: 0,
        }
    }

    fn base() -> Url {
        Url::parse("https://x.example").expect("url")
    }

    #[test]
    fn body_defaults_to_json_content_type() {
        let mut r = req();
        r.body = Some("{}".into());
        let p = prepare(&base(), &r).expect("ok");
        assert_eq!(p.headers[CONTENT_TYPE], "application/json");
        r.headers = vec![("Content-Type".into(), "text/plain".into())];
        let p = prepare(&base(), &r).expect("ok");
        assert_eq!(p.headers[CONTENT_TYPE], "text/plain");
        assert_eq!(p.method, reqwest::Method::PUT);
    }

    #[test]
    fn owned_and_broken_headers_refused() {
        let cases = [
            (
                ("Authorization", "Bearer x"),
                PrepareError::ForbiddenHeader("authorization".into()),
            ),
            (
                ("HOST", "evil"),
                PrepareError::ForbiddenHeader("host".into()),
            ),
            (
                ("X-A", "a\r\nInjected: 1"),
                PrepareError::BadHeaderValue("x-a".into()),
            ),
            (("bad name", "v"), PrepareError::BadHeaderName),
        ];
        for ((n, v), want) in cases {
            let mut r = req();
            r.headers = vec![(n.into(), v.into())];
            assert_eq!(prepare(&base(), &r).unwrap_err(), want, "{n}");
        }
        let mut r = req();
        r.headers = (0..=MAX_HEADERS)
            .map(|i| (format!("x-{i}"), "v".into()))
            .collect();
        assert_eq!(
            prepare(&base(), &r).unwrap_err(),
            PrepareError::TooManyHeaders
        );
    }

    #[test]
    fn oversized_body_refused() {
        let mut r = req();
        r.body = Some("x".repeat(MAX_REQUEST_BODY + 1));
        assert_eq!(
            prepare(&base(), &r).unwrap_err(),
            PrepareError::BodyTooLarge
        );
    }

    #[test]
    fn bad_path_refused() {
        let mut r = req();
        r.path = "/../x".into();
        assert!(matches!(prepare(&base(), &r), Err(PrepareError::Target(_))));
    }
}
