//! Caller identity extraction: ANI (caller number) and DNIS (dialled number) from raw SIP
//! header values, as bounded, untrusted strings.
//!
//! Pure string functions with no SIP library types, so they are tested directly. Anonymous or
//! withheld identities (`anonymous`, an empty user, an invalid user behind an `Anonymous`
//! display name) are passed on unchanged: the flow decides what they mean.

/// Longest ANI or DNIS kept (in bytes); longer values are cut at a character boundary.
pub const MAX_IDENTITY_LEN: usize = 64;

/// The user part of the URI in a `From`, `To` or `P-Asserted-Identity` header value
/// (`"Alice" <sip:+15551234567@host;user=phone>;tag=x` → `+15551234567`).
///
/// Returns `None` when no URI can be found. A URI without a user part (`sip:host`) gives
/// `Some("")`. Control characters are removed and the result is bounded.
pub fn user_part_of_header(value: &str) -> Option<String> {
    let uri = match value.find('<') {
        Some(start) => {
            let rest = value.get(start + 1..)?;
            let end = rest.find('>')?;
            rest.get(..end)?
        }
        // addr-spec form: header parameters start at the first ';'
        None => value.split(';').next()?.trim(),
    };
    user_part_of_uri(uri)
}

/// The user part of a `sip:`, `sips:` or `tel:` URI (`sip:1000@host` → `1000`,
/// `tel:+15551234567;phone-context=x` → `+15551234567`). `None` for other schemes.
pub fn user_part_of_uri(uri: &str) -> Option<String> {
    let uri = uri.trim();
    let (scheme, rest) = uri.split_once(':')?;
    let user = if scheme.eq_ignore_ascii_case("tel") {
        rest.split(';').next().unwrap_or("")
    } else if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        match rest.rfind('@') {
            // userinfo = user [":" password]; user parameters (";npdi") are not the number
            Some(at) => {
                let userinfo = rest.get(..at).unwrap_or("");
                let user = userinfo.split(':').next().unwrap_or("");
                user.split(';').next().unwrap_or("")
            }
            None => "",
        }
    } else {
        return None;
    };
    Some(bounded(user))
}

/// The caller's number: the user part of the first `P-Asserted-Identity`, else of `From`;
/// empty when neither has one.
pub fn ani(p_asserted_identity: Option<&str>, from: Option<&str>) -> String {
    p_asserted_identity
        .and_then(user_part_of_header)
        .filter(|user| !user.is_empty())
        .or_else(|| from.and_then(user_part_of_header))
        .unwrap_or_default()
}

/// The dialled number: the Request-URI user, else the `To` user; empty when neither has one.
pub fn dnis(request_uri: &str, to: Option<&str>) -> String {
    user_part_of_uri(request_uri)
        .filter(|user| !user.is_empty())
        .or_else(|| to.and_then(user_part_of_header))
        .unwrap_or_default()
}

/// Remove control characters and cut to [`MAX_IDENTITY_LEN`] bytes at a char boundary.
pub(crate) fn bounded(text: &str) -> String {
    bounded_to(text, MAX_IDENTITY_LEN)
}

pub(crate) fn bounded_to(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for ch in text.chars().filter(|c| !c.is_control()) {
        if out.len() + ch.len_utf8() > max {
            break;
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
