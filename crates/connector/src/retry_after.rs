//! Parses a `Retry-After` header value: delay-seconds or an HTTP date (RFC 9110 section 10.2.3).

use std::time::{Duration, SystemTime};

/// The wait a `Retry-After` value asks for, measured from `now` (wall clock, passed in).
/// A date in the past means no wait. `None` when the value is neither form.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > 64 {
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
