//! The caller's script for `ringdesk call --press`: keys, waits and a hang-up, parsed from
//! text such as `"wait 12s, 9, 2"` or `"1"`.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// Longest script accepted, in steps (a script is typed by a person; this bounds abuse).
const MAX_STEPS: usize = 1_000;
/// Longest single wait accepted.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// One thing the simulated caller does when the call is quiet (no prompt playing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Press one key (`0`-`9`, `*`, `#`).
    Key(char),
    /// Stay silent for this long (lets timeouts run).
    Wait(Duration),
    /// Hang up.
    Hangup,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Key(k) => write!(f, "{k}"),
            Step::Wait(d) => write!(f, "wait {}", humantime::format_duration(*d)),
            Step::Hangup => f.write_str("hangup"),
        }
    }
}

/// A script that cannot be parsed, with the offending item.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("--press: {message} in `{item}` (expected keys 0-9 * #, `wait 5s`, or `hangup`, separated by commas)")]
pub struct ScriptError {
    pub item: String,
    pub message: String,
}

/// Parses every `--press` argument, in order, into one list of steps.
///
/// Items are separated by commas; an item of several keys (`"123#"`) presses each in turn.
pub fn parse(args: &[String]) -> Result<VecDeque<Step>, ScriptError> {
    let mut steps = VecDeque::new();
    for arg in args {
        for raw in arg.split(',') {
            let item = raw.trim();
            if item.is_empty() {
                continue;
            }
            let err = |message: &str| ScriptError {
                item: item.chars().take(40).collect(),
                message: message.to_string(),
            };
            let lower = item.to_ascii_lowercase();
            if let Some(rest) = lower.strip_prefix("wait") {
                let d = humantime::parse_duration(rest.trim())
                    .map_err(|e| err(&format!("bad duration ({e})")))?;
                if d > MAX_WAIT {
                    return Err(err("wait longer than 24h"));
                }
                steps.push_back(Step::Wait(d));
            } else if lower == "hangup" || lower == "hang up" {
                steps.push_back(Step::Hangup);
            } else {
                for c in item.chars() {
                    match c {
                        '0'..='9' | '*' | '#' => steps.push_back(Step::Key(c)),
                        ' ' => {}
                        _ => return Err(err(&format!("`{c}` is not a key"))),
                    }
                }
            }
            if steps.len() > MAX_STEPS {
                return Err(err("too many steps (at most 1000)"));
            }
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Result<Vec<Step>, ScriptError> {
        parse(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>()).map(|v| v.into())
    }

    #[test]
    fn keys_waits_and_hangup() {
        assert_eq!(
            p(&["wait 12s, 9, 2"]).unwrap(),
            vec![
                Step::Wait(Duration::from_secs(12)),
                Step::Key('9'),
                Step::Key('2')
            ]
        );
        assert_eq!(
            p(&["1", "12#", "hangup"]).unwrap(),
            vec![
                Step::Key('1'),
                Step::Key('1'),
                Step::Key('2'),
                Step::Key('#'),
                Step::Hangup
            ]
        );
        assert_eq!(
            p(&["WAIT 500ms"]).unwrap(),
            vec![Step::Wait(Duration::from_millis(500))]
        );
    }

    #[test]
    fn rejects_bad_items_with_the_item_named() {
        let e = p(&["1, x"]).unwrap_err();
        assert_eq!(e.item, "x");
        let e = p(&["wait forever"]).unwrap_err();
        assert!(e.to_string().contains("bad duration"), "{e}");
        assert!(p(&["wait 2d"]).is_err());
        assert!(p(&[&"1".repeat(2000)]).is_err());
    }
}
