//! Joins a request path and query to a connector's base URL without letting the path
//! leave the base (`..`, absolute URLs, `//host`, encoded slashes) and encoding every
//! query pair so that no value can add a parameter or change the path.

use thiserror::Error;
use url::Url;

/// Longest accepted path.
pub const MAX_PATH_LEN: usize = 2048;
/// Most query pairs accepted.
pub const MAX_QUERY_PAIRS: usize = 64;
/// Longest accepted query name or value.
pub const MAX_QUERY_LEN: usize = 8192;

/// Why a path or query was refused. Messages never quote query values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    #[error("path must start with a single '/'")]
    NotRooted,
    #[error("path is longer than {MAX_PATH_LEN} bytes")]
    PathTooLong,
    #[error("path must not contain '.' or '..' segments")]
    DotSegment,
    #[error("path contains a character that is not allowed (query goes in `query`, not the path)")]
    BadCharacter,
    #[error("path contains an invalid or forbidden percent-escape")]
    BadEscape,
    #[error("too many query parameters (at most {MAX_QUERY_PAIRS})")]
    TooManyQueryPairs,
    #[error("a query parameter is longer than {MAX_QUERY_LEN} bytes")]
    QueryTooLong,
}

/// The URL for `path` and `query` below `base`.
pub fn build_url(base: &Url, path: &str, query: &[(String, String)]) -> Result<Url, TargetError> {
    check_path(path)?;
    if query.len() > MAX_QUERY_PAIRS {
        return Err(TargetError::TooManyQueryPairs);
    }
    if query
        .iter()
        .any(|(k, v)| k.len() > MAX_QUERY_LEN || v.len() > MAX_QUERY_LEN)
    {
        return Err(TargetError::QueryTooLong);
    }
    let prefix = base.path().trim_end_matches('/');
    let mut url = base.clone();
    url.set_path(&format!("{prefix}{path}"));
    url.set_fragment(None);
    if query.is_empty() {
        url.set_query(None);
    } else {
        let mut pairs = url.query_pairs_mut();
        pairs.clear();
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
    }
    // Defence in depth: the result must still be below the base.
    if url.origin() != base.origin() || !url.path().starts_with(prefix) {
        return Err(TargetError::DotSegment);
    }
    Ok(url)
}

/// Allowed path bytes: RFC 3986 `pchar` and `/`, minus `\`; `%` only as a valid escape
/// that does not decode to `/`, `\`, `.` or a control byte.
fn check_path(path: &str) -> Result<(), TargetError> {
    if path.len() > MAX_PATH_LEN {
        return Err(TargetError::PathTooLong);
    }
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(TargetError::NotRooted);
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(TargetError::BadEscape);
            };
            let decoded = hi * 16 + lo;
            if decoded < 0x20 || decoded == 0x7f || [b'/', b'\\', b'.'].contains(&(decoded as u8)) {
                return Err(TargetError::BadEscape);
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if !allowed {
            return Err(TargetError::BadCharacter);
        }
        i += 1;
    }
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(TargetError::DotSegment);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> Url {
        Url::parse(s).expect("valid base")
    }

    #[test]
    fn joins_under_base_with_and_without_prefix() {
        let u = build_url(
            &base("https://acme.zendesk.com"),
            "/api/v2/tickets/1.json",
            &[],
        )
        .unwrap();
        assert_eq!(u.as_str(), "https://acme.zendesk.com/api/v2/tickets/1.json");
        let u = build_url(&base("http://127.0.0.1:9/zd/"), "/api/v2/x.json", &[]).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9/zd/api/v2/x.json");
    }

    #[test]
    fn escaping_paths_refused() {
        let b = base("https://acme.zendesk.com/api/");
        let cases = [
            ("api/v2", TargetError::NotRooted),
            ("//evil.example/x", TargetError::NotRooted),
            ("https://evil.example/x", TargetError::NotRooted),
            ("/../admin", TargetError::DotSegment),
            ("/a/./b", TargetError::DotSegment),
            ("/a/..", TargetError::DotSegment),
            ("/a/%2e%2e/b", TargetError::BadEscape),
            ("/a/.%2E/b", TargetError::BadEscape),
            ("/a%2Fb", TargetError::BadEscape),
            ("/a%5c..", TargetError::BadEscape),
            ("/a%0d%0a", TargetError::BadEscape),
            ("/a%zz", TargetError::BadEscape),
            ("/a%2", TargetError::BadEscape),
            ("/a\\..\\b", TargetError::BadCharacter),
            ("/search.json?query=x", TargetError::BadCharacter),
            ("/a#frag", TargetError::BadCharacter),
            ("/a b", TargetError::BadCharacter),
            ("/caf\u{e9}", TargetError::BadCharacter),
            ("/a\r\nHost: x", TargetError::BadCharacter),
        ];
        for (path, want) in cases {
            assert_eq!(build_url(&b, path, &[]), Err(want), "{path}");
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert_eq!(build_url(&b, &long, &[]), Err(TargetError::PathTooLong));
    }

    #[test]
    fn allowed_path_characters_pass() {
        let b = base("https://x.example");
        let u = build_url(&b, "/a/b..c/.well-known/x:y@z/%41~", &[]).unwrap();
        assert_eq!(u.path(), "/a/b..c/.well-known/x:y@z/%41~");
    }

    #[test]
    fn hostile_query_values_stay_one_parameter() {
        let b = base("https://x.example");
        let q = vec![
            ("query".to_owned(), "1 type:ticket&x=y".to_owned()),
            ("p".to_owned(), "../".to_owned()),
            ("n".to_owned(), "Jos\u{e9} #1 /?=".to_owned()),
        ];
        let u = build_url(&b, "/api/v2/search.json", &q).unwrap();
        assert_eq!(u.path(), "/api/v2/search.json");
        let back: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(back, q);
        assert!(!u.query().unwrap_or("").contains("&x=y"));
    }

    #[test]
    fn query_bounds() {
        let b = base("https://x.example");
        let many: Vec<_> = (0..=MAX_QUERY_PAIRS)
            .map(|i| (i.to_string(), String::new()))
            .collect();
        assert_eq!(
            build_url(&b, "/", &many),
            Err(TargetError::TooManyQueryPairs)
        );
        let long = vec![("a".to_owned(), "v".repeat(MAX_QUERY_LEN + 1))];
        assert_eq!(build_url(&b, "/", &long), Err(TargetError::QueryTooLong));
    }

    #[test]
    fn no_query_leaves_no_question_mark() {
        let u = build_url(&base("https://x.example"), "/a", &[]).unwrap();
        assert_eq!(u.query(), None);
    }
}
