//! RFC 3327 `Path` on agent registrations relayed by a proxy in front of ringdesk
//! (Kamailio's `add_path_received()`): the Path URIs become the route set of the INVITEs
//! that ring the agent, so a node reaches an agent through the proxy it registered
//! through, and the proxy's `received` parameter says where the agent really is (its
//! address as the proxy saw it, behind NAT or not).
//!
//! Pure and bounded: the values come from the network. Only the registrar decides whether
//! a REGISTER's Path is believed (it came from a configured proxy); nothing here trusts.

use std::net::{IpAddr, SocketAddr};

/// Most Path entries kept from one REGISTER (one per proxy on the way).
pub const MAX_PATH_ENTRIES: usize = 4;
/// Longest Path URI kept (bytes).
pub const MAX_PATH_URI: usize = 512;

/// Why a REGISTER's Path cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// More than [`MAX_PATH_ENTRIES`] entries.
    #[error("too many Path entries")]
    TooMany,
    /// An entry that is not `<sip:...>` (or `sips:`), too long, or with control characters.
    #[error("malformed Path")]
    Malformed,
}

/// The URIs of the `Path` header values, top first (the proxy that sent the REGISTER
/// first), without angle brackets or display names.
pub fn parse_path<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, PathError> {
    let mut out = Vec::new();
    for value in values {
        for entry in split_entries(value) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            if out.len() == MAX_PATH_ENTRIES {
                return Err(PathError::TooMany);
            }
            out.push(uri_of(entry)?);
        }
    }
    Ok(out)
}

/// Entries of one header value: commas outside `<...>` and quotes separate them.
fn split_entries(value: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let (mut start, mut in_angle, mut in_quote) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' if !in_angle => in_quote = !in_quote,
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            ',' if !in_angle && !in_quote => {
                entries.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    entries.push(&value[start..]);
    entries
}

/// The URI inside `<...>` of one entry (a name-addr; RFC 3327 requires the brackets).
fn uri_of(entry: &str) -> Result<String, PathError> {
    let open = entry.find('<').ok_or(PathError::Malformed)?;
    let close = entry[open..].find('>').ok_or(PathError::Malformed)? + open;
    let uri = &entry[open + 1..close];
    let scheme_ok = uri.len() > 4
        && (uri[..4].eq_ignore_ascii_case("sip:")
            || uri
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("sips:")));
    if !scheme_ok
        || uri.len() > MAX_PATH_URI
        || uri.chars().any(|c| c.is_control() || c == ' ' || c == '<')
    {
        return Err(PathError::Malformed);
    }
    Ok(uri.to_owned())
}

/// The `received` parameter of a Path URI as an address: the source the proxy saw
/// (`received=sip:192.0.2.7:5062`, percent-escaped or not; no port means 5060).
pub fn received_of(uri: &str) -> Option<SocketAddr> {
    let value = param_value(uri, "received")?;
    let decoded = percent_decode(value)?;
    let rest = decoded
        .strip_prefix("sip:")
        .or_else(|| decoded.strip_prefix("sips:"))
        .unwrap_or(&decoded);
    let hostport = rest.split([';', '?', '>']).next()?;
    if let Ok(addr) = hostport.parse::<SocketAddr>() {
        return Some(addr);
    }
    let host = hostport.trim_start_matches('[').trim_end_matches(']');
    host.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 5060))
}

/// The URI without its `received` parameter: the proxy then sends to the request URI
/// (the registered contact) instead of the address the REGISTER came from.
pub fn without_received(uri: &str) -> String {
    let (base, headers) = match uri.find('?') {
        Some(i) => (&uri[..i], &uri[i..]),
        None => (uri, ""),
    };
    let mut parts = base.split(';');
    let mut out = parts.next().unwrap_or_default().to_owned();
    for p in parts {
        let name = p.split('=').next().unwrap_or_default();
        if !name.eq_ignore_ascii_case("received") {
            out.push(';');
            out.push_str(p);
        }
    }
    out.push_str(headers);
    out
}

/// The value of URI parameter `name` (before any `?headers`).
fn param_value<'a>(uri: &'a str, name: &str) -> Option<&'a str> {
    let base = uri.split('?').next()?;
    base.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// `%XX` escapes decoded; `None` for a broken escape or a result that is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    //! Path parsing and the `received` parameter, as Kamailio writes them.
    use super::*;

    #[test]
    fn entries_of_one_or_several_headers_top_first() {
        let got = parse_path([
            "<sip:10.0.0.5;lr;received=sip:192.0.2.7:5062>",
            "\"edge, west\" <sip:edge.example;lr>, <sip:198.51.100.1:5070;lr>",
        ])
        .unwrap();
        assert_eq!(
            got,
            [
                "sip:10.0.0.5;lr;received=sip:192.0.2.7:5062",
                "sip:edge.example;lr",
                "sip:198.51.100.1:5070;lr"
            ]
        );
        assert_eq!(parse_path([]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn malformed_or_too_many_entries_are_refused() {
        for bad in [
            "sip:10.0.0.5;lr",
            "<http://x>",
            "<sip:a\r\nVia: x>",
            "<sip:10.0.0.5;lr",
            "<sip:a b>",
        ] {
            assert_eq!(parse_path([bad]), Err(PathError::Malformed), "{bad:?}");
        }
        let long = format!("<sip:{}>", "a".repeat(MAX_PATH_URI));
        assert_eq!(parse_path([long.as_str()]), Err(PathError::Malformed));
        let five = vec!["<sip:p;lr>"; MAX_PATH_ENTRIES + 1];
        assert_eq!(parse_path(five), Err(PathError::TooMany));
    }

    #[test]
    fn received_is_read_escaped_or_not() {
        let cases = [
            (
                "sip:10.0.0.5;lr;received=sip:192.0.2.7:5062",
                Some("192.0.2.7:5062"),
            ),
            (
                "sip:10.0.0.5;lr;received=sip%3A192.0.2.7%3A5062",
                Some("192.0.2.7:5062"),
            ),
            (
                "sip:10.0.0.5;received=sip:192.0.2.7;lr",
                Some("192.0.2.7:5060"),
            ),
            (
                "sip:10.0.0.5;received=sip%3A%5B2001%3Adb8%3A%3A1%5D%3A5062%3Btransport%3Dudp;lr",
                Some("[2001:db8::1]:5062"),
            ),
            ("sip:10.0.0.5;lr", None),
            ("sip:10.0.0.5;lr;received=sip:host.example:5060", None),
            ("sip:10.0.0.5;lr;received=sip%3", None),
        ];
        for (uri, want) in cases {
            assert_eq!(received_of(uri), want.map(|w| w.parse().unwrap()), "{uri}");
        }
    }

    #[test]
    fn received_is_removed_and_the_rest_kept() {
        assert_eq!(
            without_received("sip:10.0.0.5:5060;lr;received=sip%3A192.0.2.7%3A5062;ob"),
            "sip:10.0.0.5:5060;lr;ob"
        );
        assert_eq!(without_received("sip:10.0.0.5;lr"), "sip:10.0.0.5;lr");
    }
}
