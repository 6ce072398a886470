//! Selection of the SIP headers passed to the flow as `(name, value)` variables: an
//! allow-list plus every `X-` header, bounded in count and size.

use crate::identity::bounded_to;

/// Most headers passed on per call.
pub const MAX_FORWARDED_HEADERS: usize = 32;
/// Longest header value passed on (bytes); longer values are left out, not cut.
pub const MAX_FORWARDED_VALUE: usize = 512;

/// Headers forwarded by default (besides every `X-` header).
pub const DEFAULT_FORWARDED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Call-ID",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Remote-Party-ID",
    "Privacy",
    "Diversion",
    "History-Info",
    "User-Agent",
    "Subject",
];

/// Headers never forwarded, whatever the allow-list says (they carry credentials).
const NEVER_FORWARDED: &[&str] = &["Authorization", "Proxy-Authorization"];

/// Keep the headers whose name is in `allow` (case-insensitive) or starts with `X-`, in
/// message order, at most [`MAX_FORWARDED_HEADERS`], skipping values over
/// [`MAX_FORWARDED_VALUE`] bytes. Control characters are removed from values.
pub fn select_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    allow: &[String],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in headers {
        if out.len() >= MAX_FORWARDED_HEADERS {
            break;
        }
        if value.len() > MAX_FORWARDED_VALUE || name.len() > 64 {
            continue;
        }
        if NEVER_FORWARDED.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        let is_x = name.len() > 2 && name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("x-"));
        if is_x || allow.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            out.push((
                bounded_to(name, 64),
                bounded_to(value.trim(), MAX_FORWARDED_VALUE),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Unit tests for header selection.
    use super::*;

    fn allow() -> Vec<String> {
        DEFAULT_FORWARDED_HEADERS
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn allow_list_and_x_headers_in_order() {
        let got = select_headers(
            [
                ("Via", "SIP/2.0/UDP x"),
                ("from", "<sip:1@x>"),
                ("X-Account", "42"),
                ("Authorization", "Digest secret"),
                ("User-Agent", "phone\r\n"),
                ("X-", "too short a name"),
            ],
            &allow(),
        );
        assert_eq!(
            got,
            vec![
                ("from".to_owned(), "<sip:1@x>".to_owned()),
                ("X-Account".to_owned(), "42".to_owned()),
                ("User-Agent".to_owned(), "phone".to_owned()),
            ]
        );
    }

    #[test]
    fn credentials_are_never_forwarded() {
        let allow = vec!["Authorization".to_owned(), "X-Token".to_owned()];
        let got = select_headers([("authorization", "Digest x"), ("X-Token", "t")], &allow);
        assert_eq!(got, vec![("X-Token".to_owned(), "t".to_owned())]);
    }

    #[test]
    fn bounded_count_and_size() {
        let big = "v".repeat(MAX_FORWARDED_VALUE + 1);
        let mut input: Vec<(&str, &str)> = vec![("X-Big", big.as_str())];
        input.extend(std::iter::repeat_n(("X-Many", "1"), 100));
        let got = select_headers(input, &[]);
        assert_eq!(got.len(), MAX_FORWARDED_HEADERS);
        assert!(got.iter().all(|(name, _)| name == "X-Many"));
    }
}
