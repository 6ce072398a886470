//! Custom template filters: `digits`, `e164`, `ticket_status` and Pebble's map-form `replace`.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// Longest caller id the `e164` filter will look at; longer input is not a phone number.
const MAX_PHONE_INPUT: usize = 64;

/// `{{ x | digits }}`: keeps the ASCII digits 0-9 only.
pub(crate) fn digits(value: &Value) -> String {
    value_text(value)
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// `{{ ani | e164 }}` / `{{ ani | e164("BR") }}`: normalizes a phone number to E.164
/// (`+5511987654321`). The default region is the argument, else the `default_region`
/// variable, else none (then only numbers written with a country code are accepted).
/// Anything that is not a valid number (anonymous, withheld, text, too long) gives "".
pub(crate) fn e164(state: &State, value: &Value, region: Option<&str>) -> String {
    let region = match region {
        Some(r) => Some(r.to_string()),
        None => state
            .lookup("default_region")
            .and_then(|v| v.as_str().map(str::to_string)),
    };
    normalize_e164(&value_text(value), region.as_deref())
}

/// The logic of the `e164` filter, usable without a template state.
pub fn normalize_e164(raw: &str, region: Option<&str>) -> String {
    if raw.len() > MAX_PHONE_INPUT * 4 {
        return String::new();
    }
    let mut s = raw.trim();
    // Accept SIP/tel URIs: take the user part, drop parameters.
    for prefix in ["sip:", "sips:", "tel:"] {
        if s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) {
            let (head, tail) = s.split_at(prefix.len());
            if head.eq_ignore_ascii_case(prefix) {
                s = tail;
            }
        }
    }
    if let Some((user, _host)) = s.split_once('@') {
        s = user;
    }
    if let Some((user, _params)) = s.split_once(';') {
        s = user;
    }
    if s.chars().count() > MAX_PHONE_INPUT {
        return String::new();
    }
    // Only phone-number characters may be present; this rejects `anonymous`,
    // `1 type:ticket` and the like before the parser sees them.
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return String::new();
    }
    let digit_count = s.chars().filter(char::is_ascii_digit).count();
    if !(5..=17).contains(&digit_count) {
        return String::new();
    }
    // An international prefix makes the region irrelevant; phonenumber 0.3 also mis-parses
    // `+` numbers when given a region (`+5511...` with US loses the area code).
    let text = match s.strip_prefix("00") {
        Some(rest) if !s.starts_with('+') => format!("+{rest}"),
        _ => s.to_string(),
    };
    let country = if text.starts_with('+') {
        None
    } else {
        match region.and_then(|r| r.trim().to_ascii_uppercase().parse().ok()) {
            Some(c) => Some(c),
            None => return String::new(),
        }
    };
    match phonenumber::parse(country, &text) {
        Ok(n) if n.is_valid() => n.format().mode(phonenumber::Mode::E164).to_string(),
        _ => String::new(),
    }
}

/// `{{ phone | national }}`: the national significant number of an E.164 number, digits
/// only (`+14155550134` → `4155550134`, `+5511987654321` → `11987654321`), for Zendesk's
/// `phone:*<digits>` search that also finds numbers stored in local formats. Anything
/// that is not a valid E.164 number gives "".
pub(crate) fn national(value: &Value) -> String {
    national_digits(&value_text(value))
}

/// The logic of the `national` filter.
pub fn national_digits(e164: &str) -> String {
    let normalized = normalize_e164(e164, None);
    if normalized.is_empty() {
        return String::new();
    }
    match phonenumber::parse(None, &normalized) {
        Ok(n) => {
            let nn = n.national();
            let zeros = "0".repeat(usize::from(nn.zeros()));
            format!("{zeros}{}", nn.value())
        }
        Err(_) => String::new(),
    }
}

/// `{{ status | ticket_status(language) }}`: the caller-facing words for a Zendesk ticket
/// status. `hold` is internal to Zendesk and is spoken as in progress (a slash, as in
/// "open / in progress", is read aloud by a neural voice).
pub(crate) fn ticket_status(value: &Value, language: Option<&str>) -> String {
    status_words(&value_text(value), language.unwrap_or("en-US")).to_string()
}

/// Caller-facing words for a ticket status in a language (`pt*` → Brazilian Portuguese,
/// anything else → English).
pub fn status_words(status: &str, language: &str) -> &'static str {
    let portuguese = language.trim().to_ascii_lowercase().starts_with("pt");
    let status = status.trim().to_ascii_lowercase();
    match (portuguese, status.as_str()) {
        (false, "new") => "new",
        (false, "open") => "open",
        (false, "pending") => "waiting for your reply",
        (false, "hold") => "in progress",
        (false, "solved") => "solved",
        (false, "closed") => "closed",
        (false, _) => "being processed",
        (true, "new") => "novo",
        (true, "open") => "aberto",
        (true, "pending") => "aguardando a sua resposta",
        (true, "hold") => "em andamento",
        (true, "solved") => "resolvido",
        (true, "closed") => "encerrado",
        (true, _) => "em processamento",
    }
}

/// `replace`: both Jinja's `replace("a", "b")` and Pebble's `replace({"a": "b", "+": ""})`.
pub(crate) fn replace(value: &Value, from: &Value, to: Option<&str>) -> Result<String, Error> {
    let mut text = value_text(value);
    if from.kind() == ValueKind::Map {
        if to.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "replace with a map takes no second argument",
            ));
        }
        for key in from.try_iter()? {
            let replacement = from.get_item(&key)?;
            let key = value_text(&key);
            if !key.is_empty() {
                text = text.replace(&key, &value_text(&replacement));
            }
        }
        return Ok(text);
    }
    let Some(to) = to else {
        return Err(Error::new(
            ErrorKind::MissingArgument,
            "replace needs (from, to) or a map {from: to}",
        ));
    };
    let from = value_text(from);
    if from.is_empty() {
        return Ok(text);
    }
    Ok(text.replace(&from, to))
}

/// The text of a value: strings as they are, none/undefined as "", others as rendered.
pub(crate) fn value_text(value: &Value) -> String {
    if let Some(s) = value.as_str() {
        return s.to_string();
    }
    if value.is_none() || value.is_undefined() {
        return String::new();
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_normalizes_valid_numbers() {
        assert_eq!(
            normalize_e164("+5511987654321", Some("US")),
            "+5511987654321"
        );
        assert_eq!(normalize_e164("+55 11 98765-4321", None), "+5511987654321");
        assert_eq!(
            normalize_e164("(11) 98765-4321", Some("BR")),
            "+5511987654321"
        );
        assert_eq!(
            normalize_e164("sip:+15135557611@example.com;user=phone", None),
            "+15135557611"
        );
        assert_eq!(normalize_e164("0015135557611", None), "+15135557611");
        assert_eq!(normalize_e164("5135557611", Some("us")), "+15135557611");
    }

    #[test]
    fn national_digits_of_valid_numbers_only() {
        assert_eq!(national_digits("+14155550134"), "4155550134");
        assert_eq!(national_digits("+5511987654321"), "11987654321");
        assert_eq!(national_digits("anonymous"), "");
        assert_eq!(national_digits("4155550134"), "", "needs a country code");
        assert_eq!(national_digits("+1 type:ticket"), "");
    }

    #[test]
    fn e164_rejects_non_numbers() {
        let long = "1".repeat(5000);
        for bad in [
            "",
            "anonymous",
            "*",
            "1 type:ticket",
            "Anonymous <sip:anonymous@anonymous.invalid>",
            long.as_str(),
            "١٢٣٤٥٦٧٨٩٠",
            "+1 555 ÿ",
            "5135557611",
        ] {
            assert_eq!(normalize_e164(bad, None), "", "{bad:?} accepted");
        }
        assert_eq!(normalize_e164("+1 000", Some("US")), "");
    }

    #[test]
    fn status_words_per_language() {
        assert_eq!(status_words("hold", "en-US"), "in progress");
        assert_eq!(status_words("hold", "pt-BR"), "em andamento");
        assert_eq!(
            status_words("PENDING", "pt-BR"),
            "aguardando a sua resposta"
        );
        assert_eq!(status_words("weird", "en-GB"), "being processed");
        assert_eq!(status_words("new", "fr-FR"), "new");
    }
}
