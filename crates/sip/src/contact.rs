//! Parsing of REGISTER `Contact` header values (RFC 3261 section 10.2): the wildcard `*`, or
//! a list of `sip:`/`sips:` URIs with their `expires` parameters. Pure, bounded, no panics.

/// Most contacts accepted in one REGISTER.
pub const MAX_CONTACTS_PER_REQUEST: usize = 16;
/// Longest contact URI accepted (bytes).
pub const MAX_CONTACT_URI_LEN: usize = 512;

/// The bindings a REGISTER asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactList {
    /// `Contact: *` (remove every binding; only valid with `Expires: 0`).
    Star,
    /// Zero or more contacts (zero: a query for the current bindings).
    List(Vec<ContactSpec>),
}

/// One contact of a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSpec {
    /// The contact URI, without angle brackets.
    pub uri: String,
    /// Its `expires` parameter (seconds), if any.
    pub expires: Option<u32>,
}

/// Why the Contact headers cannot be used (answer `400 Bad Request`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    /// More than [`MAX_CONTACTS_PER_REQUEST`] contacts or a URI over [`MAX_CONTACT_URI_LEN`].
    #[error("too many or too long contacts")]
    TooLarge,
    /// Syntax ringdesk does not accept.
    #[error("malformed contact ({0})")]
    Malformed(&'static str),
}

/// Split at commas outside quotes and angle brackets.
fn split_top_level(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    let mut start = 0;
    for (index, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(value.get(start..index).unwrap_or(""));
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or(""));
    parts
}

fn parse_one(entry: &str) -> Result<ContactSpec, ContactError> {
    let (uri, params) = match entry.find('<') {
        Some(open) => {
            let rest = entry.get(open + 1..).unwrap_or("");
            let close = rest
                .find('>')
                .ok_or(ContactError::Malformed("unclosed <"))?;
            (
                rest.get(..close).unwrap_or(""),
                rest.get(close + 1..).unwrap_or(""),
            )
        }
        None => match entry.split_once(';') {
            Some((uri, params)) => (uri, params),
            None => (entry, ""),
        },
    };
    let uri = uri.trim();
    if uri.len() > MAX_CONTACT_URI_LEN {
        return Err(ContactError::TooLarge);
    }
    let scheme_ok = uri.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("sip:"))
        || uri
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case("sips:"));
    if !scheme_ok {
        return Err(ContactError::Malformed("not a sip: URI"));
    }
    if uri
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '"')
    {
        return Err(ContactError::Malformed("invalid character in URI"));
    }
    let mut expires = None;
    for param in params.split(';') {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("expires") {
            let value = value.trim().trim_matches('"');
            let seconds: u64 = value
                .parse()
                .map_err(|_| ContactError::Malformed("expires"))?;
            expires = Some(u32::try_from(seconds).unwrap_or(u32::MAX));
        }
    }
    Ok(ContactSpec {
        uri: uri.to_owned(),
        expires,
    })
}

/// Parse every `Contact` header value of a REGISTER, in order.
pub fn parse_contacts<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<ContactList, ContactError> {
    let mut contacts = Vec::new();
    let mut star = false;
    for value in values {
        if value.len() > MAX_CONTACT_URI_LEN * MAX_CONTACTS_PER_REQUEST {
            return Err(ContactError::TooLarge);
        }
        for entry in split_top_level(value) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                star = true;
                continue;
            }
            if contacts.len() >= MAX_CONTACTS_PER_REQUEST {
                return Err(ContactError::TooLarge);
            }
            contacts.push(parse_one(entry)?);
        }
    }
    match (star, contacts.is_empty()) {
        (true, true) => Ok(ContactList::Star),
        (true, false) => Err(ContactError::Malformed("* with other contacts")),
        (false, _) => Ok(ContactList::List(contacts)),
    }
}

#[cfg(test)]
mod tests {
    //! Contact parsing: forms, parameters, wildcard and bounds.
    use super::*;

    fn spec(uri: &str, expires: Option<u32>) -> ContactSpec {
        ContactSpec {
            uri: uri.to_owned(),
            expires,
        }
    }

    #[test]
    fn name_addr_and_addr_spec_forms() {
        let got = parse_contacts([
            r#""Desk, 1" <sip:1001@10.0.0.5:5062;transport=tcp>;expires=120;q=0.5"#,
            "sip:1001@10.0.0.6;expires=30, <sip:1001@10.0.0.7>",
        ])
        .unwrap();
        assert_eq!(
            got,
            ContactList::List(vec![
                spec("sip:1001@10.0.0.5:5062;transport=tcp", Some(120)),
                spec("sip:1001@10.0.0.6", Some(30)),
                spec("sip:1001@10.0.0.7", None),
            ])
        );
    }

    #[test]
    fn wildcard_alone_only() {
        assert_eq!(parse_contacts(["*"]).unwrap(), ContactList::Star);
        assert_eq!(
            parse_contacts(["*, <sip:a@b>"]),
            Err(ContactError::Malformed("* with other contacts"))
        );
        assert_eq!(parse_contacts([]).unwrap(), ContactList::List(vec![]));
    }

    #[test]
    fn huge_expires_saturates() {
        let got = parse_contacts(["<sip:a@b>;expires=99999999999999"]).unwrap();
        assert_eq!(
            got,
            ContactList::List(vec![spec("sip:a@b", Some(u32::MAX))])
        );
    }

    #[test]
    fn refused_inputs() {
        let bad = [
            "<sip:a@b",
            "<http://x>",
            "<sip:a b@c>",
            "<sip:a@b>;expires=soon",
            "<sip:a@b>;expires=-1",
            "tel:+1555",
        ];
        for input in bad {
            assert!(parse_contacts([input]).is_err(), "{input}");
        }
        let many = vec!["<sip:a@b>"; MAX_CONTACTS_PER_REQUEST + 1].join(",");
        assert_eq!(parse_contacts([many.as_str()]), Err(ContactError::TooLarge));
        let long = format!("<sip:{}@b>", "a".repeat(MAX_CONTACT_URI_LEN));
        assert_eq!(parse_contacts([long.as_str()]), Err(ContactError::TooLarge));
    }
}
