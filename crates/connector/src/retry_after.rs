//! Parses a `Retry-After` header value: delay-seconds or an HTTP date (RFC 9110 section
//! 10.2.3). ringdesk's one parser of it: the connectors, the outbox's deliverer and the
//! Zendesk client all use this.

use std::time::{Duration, SystemTime};

/// Longest value looked at; longer ones are not a Retry-After (`None`).
pub const MAX_RETRY_AFTER_LEN: usize = 64;

/// The wait a `Retry-After` value asks for, measured from `now` (wall clock, passed in).
///
/// The value comes from the network, so nothing in it can panic or allocate:
/// - delay-seconds: ASCII digits only (no sign, no fraction, as RFC 9110 says); numbers
///   too large for a `u64` saturate to `u64::MAX` seconds. No cap here: each caller
///   bounds the wait by its own policy (a connector's time budget, the outbox's
///   `max_retry_after`, the Zendesk client's `MAX_RETRY_AFTER`).
/// - an HTTP date in any of the three forms RFC 9110 asks recipients to accept
///   (IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850, asctime); a date in the past
///   means no wait.
///
/// Surrounding whitespace is ignored. `None` when the value is empty, longer than
/// [`MAX_RETRY_AFTER_LEN`] or neither form.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_RETRY_AFTER_LEN {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly large numbers saturate; the budget check will refuse them.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn seconds() {
        let now = at(0);
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn http_dates() {
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
        let now = at(784_111_777 - 30);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(30))
        );
        let later = at(784_111_777 + 30);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn the_obsolete_date_forms_rfc_9110_asks_recipients_to_accept() {
        let now = at(784_111_777 - 30);
        for v in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            " Sun, 06 Nov 1994 08:49:37 GMT\t",
        ] {
            assert_eq!(
                parse_retry_after(v, now),
                Some(Duration::from_secs(30)),
                "{v:?}"
            );
        }
    }

    #[test]
    fn hostile_values_neither_panic_nor_parse() {
        // What the Zendesk client's old parser took but RFC 9110 does not allow: a sign,
        // a fraction, an exponent, an RFC 2822 date with a numeric zone.
        for v in [
            "+7",
            " 1.5 ",
            "1e3",
            "NaN",
            "inf",
            "Wed, 21 Oct 2015 07:28:00 +0000",
            "21 Oct 2015 07:28:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT GMT",
            "Sun, 06 Nov 10000 08:49:37 GMT",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "٣",
            "Sun,\u{0}06 Nov 1994 08:49:37 GMT",
            "Ｓun, 06 Nov 1994 08:49:37 GMT",
            "🕐🕑🕒🕓🕔🕕🕖🕗🕘🕙🕚🕛🕜🕝🕞🕟",
        ] {
            assert_eq!(parse_retry_after(v, at(0)), None, "{v:?}");
        }
        // At the length limit digits still parse; one more byte does not.
        let longest = "1".repeat(MAX_RETRY_AFTER_LEN);
        assert_eq!(
            parse_retry_after(&longest, at(0)),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after(&format!("{longest}1"), at(0)), None);
        // Any `now`, however far from the date, gives a wait or zero.
        let date = "Fri, 31 Dec 9999 23:59:59 GMT";
        assert!(parse_retry_after(date, SystemTime::UNIX_EPOCH).is_some_and(|d| d.as_secs() > 0));
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 40);
        assert_eq!(parse_retry_after(date, far), Some(Duration::ZERO));
    }

    #[test]
    fn garbage_is_none() {
        for v in [
            "",
            "-1",
            "1.5",
            "soon",
            "Sun, 99 Nov 1994 08:49:37 GMT",
            &"9".repeat(65),
        ] {
            assert_eq!(parse_retry_after(v, at(0)), None, "{v:?}");
        }
    }
}
