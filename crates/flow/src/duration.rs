//! Parsing of durations written in flow files: `500ms`, `5s`, `2m`, `1m30s`, `1h`.

use std::time::Duration;

/// The longest duration a flow may ask for (one day); longer values are rejected.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Parses `<number><unit>` groups (`ms`, `s`, `m`, `h`), e.g. `1m30s`. A bare number is
/// not accepted: units are mandatory so that `5` never silently means 5 ms or 5 minutes.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.len() > 32 {
        return Err(format!("duration `{}` is too long", truncate(s)));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits_len == 0 {
            return Err(format!(
                "bad duration `{s}`: expected a number followed by ms, s, m or h (e.g. `5s`)"
            ));
        }
        let (num, tail) = rest.split_at(digits_len);
        let value: u64 = num
            .parse()
            .map_err(|_| format!("bad duration `{s}`: number too large"))?;
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.saturating_mul(60)),
            "h" => Duration::from_secs(value.saturating_mul(3600)),
            "" => {
                return Err(format!(
                    "bad duration `{s}`: missing unit (write `{value}s` or `{value}ms`)"
                ))
            }
            other => {
                return Err(format!(
                    "bad duration `{s}`: unknown unit `{other}` (use ms, s, m or h)"
                ))
            }
        };
        total = total.saturating_add(part);
        rest = tail;
    }
    if total > MAX_DURATION {
        return Err(format!("duration `{s}` is longer than 24h"));
    }
    Ok(total)
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_groups() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 1h "), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "5",
            "s",
            "5 s",
            "5x",
            "-5s",
            "1.5s",
            "25h",
            "99999999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} accepted");
        }
    }
}
