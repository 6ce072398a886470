//! Parser for the subset of Zendesk search syntax the sandbox understands.
//!
//! Terms are separated by whitespace; `"..."` groups words; a leading `-` negates;
//! `key:value`, `key<value`, `key>value`, `key<=value`, `key>=value` are field terms;
//! anything else is free text. Input is untrusted (it carries caller IDs): length and
//! term count are bounded and nothing here can panic.

use crate::types::{Priority, Role, TicketStatus};

/// Longest query accepted, in characters (longer is a 400, as on Zendesk).
pub const MAX_QUERY_CHARS: usize = 1024;
/// Most terms in one query.
pub const MAX_TERMS: usize = 32;

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// No terms at all.
    #[error("the query is empty")]
    Empty,
    /// Longer than [`MAX_QUERY_CHARS`].
    #[error("the query is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    /// More than [`MAX_TERMS`] terms.
    #[error("the query has more than {MAX_TERMS} terms")]
    TooManyTerms,
    /// A `"` without its pair.
    #[error("the query has an unbalanced quote")]
    UnbalancedQuote,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `:`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// Apply to an ordering of (record value) vs (query value).
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => ord == Equal,
            Op::Lt => ord == Less,
            Op::Le => ord != Greater,
            Op::Gt => ord == Greater,
            Op::Ge => ord != Less,
        }
    }
}

/// Record kinds a query can be restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `type:user`
    User,
    /// `type:ticket`
    Ticket,
    /// `type:group`, `type:organization` or an unknown type: the sandbox has none.
    Other,
}

/// A phone pattern: exact digits or, with a leading `*`, a digit suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhonePattern {
    /// Stored digits equal these.
    Exact(String),
    /// Stored digits end with these.
    Suffix(String),
    /// Not digits: matches no record.
    Invalid,
}

/// A time bound of `created`/`updated`: absolute, or relative to "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeValue {
    /// `2024-06-01` or an RFC 3339 instant.
    At(jiff::Timestamp),
    /// `72hours`: this many seconds before now.
    Ago(i64),
}

/// What a term tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `type:`
    Type(Kind),
    /// `role:` (None: unknown role, matches nothing).
    Role(Option<Role>),
    /// `phone:`
    Phone(PhonePattern),
    /// `email:` (lowercased).
    Email(String),
    /// `requester:` id or email (lowercased).
    Requester(String),
    /// `status` comparison (None: unknown status, matches nothing).
    Status(Op, Option<TicketStatus>),
    /// `priority` comparison (None: unknown, matches nothing).
    Priority(Op, Option<Priority>),
    /// `created` comparison (None: unreadable, matches nothing).
    Created(Op, Option<TimeValue>),
    /// `updated` comparison.
    Updated(Op, Option<TimeValue>),
    /// `name:` (users only): lowercased words, `*` suffix allowed.
    Name(Vec<String>),
    /// `subject:` (tickets only): lowercased words, `*` suffix allowed.
    Subject(Vec<String>),
    /// Free text: lowercased words, `*` suffix allowed.
    Text(Vec<String>),
    /// Free text that is a phone number (`+55 11 ...`): its digits.
    PhoneText(String),
    /// A field the sandbox does not know, or an empty value: matches nothing.
    Nothing,
}

/// One term.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// `-` prefix.
    pub negated: bool,
    /// The test.
    pub test: Test,
}

/// A parsed query: all terms must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The terms.
    pub terms: Vec<Term>,
}

fn tokens(q: &str) -> Result<Vec<String>, QueryError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in q.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
        if out.len() > MAX_TERMS {
            return Err(QueryError::TooManyTerms);
        }
    }
    if quoted {
        return Err(QueryError::UnbalancedQuote);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    if out.len() > MAX_TERMS {
        return Err(QueryError::TooManyTerms);
    }
    Ok(out)
}

/// Lowercased alphanumeric words of `s` (a trailing `*` on a word is kept).
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '*'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn split_field(tok: &str) -> Option<(&str, Op, &str)> {
    let pos = tok.find([':', '<', '>'])?;
    let (key, rest) = tok.split_at(pos);
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::Gt, v)
    } else {
        (Op::Eq, rest.strip_prefix(':').unwrap_or(rest))
    };
    Some((key, op, value))
}

fn phone_pattern(v: &str) -> PhonePattern {
    let (suffix, digits) = match v.strip_prefix('*') {
        Some(d) => (true, d),
        None => (false, v),
    };
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return PhonePattern::Invalid;
    }
    if suffix {
        PhonePattern::Suffix(digits.to_owned())
    } else {
        PhonePattern::Exact(digits.to_owned())
    }
}

fn time_value(v: &str) -> Option<TimeValue> {
    let units: [(&str, i64); 5] = [
        ("minutes", 60),
        ("hours", 3600),
        ("days", 86_400),
        ("weeks", 604_800),
        ("years", 31_536_000),
    ];
    for (unit, secs) in units {
        if let Some(n) = v.strip_suffix(unit) {
            let n: i64 = n.parse().ok().filter(|n| (0..=100_000).contains(n))?;
            return Some(TimeValue::Ago(n.saturating_mul(secs)));
        }
    }
    if let Ok(ts) = v.parse::<jiff::Timestamp>() {
        return Some(TimeValue::At(ts));
    }
    let date: jiff::civil::Date = v.parse().ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| TimeValue::At(z.timestamp()))
}

fn is_phone_text(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    digits > 0
        && digits <= 20
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b"+-(). ".contains(&b))
}

fn text(value: &str) -> Test {
    let w = words(value);
    if w.is_empty() || w.iter().any(|w| w.trim_matches('*').is_empty()) {
        Test::Nothing
    } else {
        Test::Text(w)
    }
}

fn field(key: &str, op: Op, value: &str) -> Test {
    let key = key.to_ascii_lowercase();
    if value.is_empty() {
        return Test::Nothing;
    }
    let lower = value.to_lowercase();
    match (key.as_str(), op) {
        ("type", Op::Eq) => Test::Type(match lower.as_str() {
            "user" => Kind::User,
            "ticket" => Kind::Ticket,
            _ => Kind::Other,
        }),
        ("role", Op::Eq) => Test::Role(match lower.as_str() {
            "end-user" | "end_user" | "enduser" => Some(Role::EndUser),
            "agent" => Some(Role::Agent),
            "admin" => Some(Role::Admin),
            _ => None,
        }),
        ("phone", Op::Eq) => Test::Phone(phone_pattern(value)),
        ("email", Op::Eq) => Test::Email(lower),
        ("requester", Op::Eq) => Test::Requester(lower),
        ("status", op) => Test::Status(op, TicketStatus::parse(&lower)),
        ("priority", op) => Test::Priority(op, Priority::parse(&lower)),
        ("created", op) => Test::Created(op, time_value(&lower)),
        ("updated", op) => Test::Updated(op, time_value(&lower)),
        ("name", Op::Eq) => match text(value) {
            Test::Text(w) => Test::Name(w),
            other => other,
        },
        ("subject", Op::Eq) => match text(value) {
            Test::Text(w) => Test::Subject(w),
            other => other,
        },
        _ => Test::Nothing,
    }
}

/// Parse a query string.
pub fn parse(q: &str) -> Result<Query, QueryError> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong);
    }
    let mut terms = Vec::new();
    for tok in tokens(q)? {
        let (negated, body) = match tok.strip_prefix('-') {
            Some(rest) if !rest.is_empty() && !is_phone_text(&tok) => (true, rest),
            _ => (false, tok.as_str()),
        };
        let test = match split_field(body) {
            Some((key, op, value)) => field(key, op, value),
            None if is_phone_text(body) => Test::PhoneText(
                body.bytes()
                    .filter(u8::is_ascii_digit)
                    .map(char::from)
                    .collect(),
            ),
            None => text(body),
        };
        terms.push(Term { negated, test });
    }
    if terms.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(Query { terms })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tests(q: &str) -> Vec<(bool, Test)> {
        parse(q)
            .unwrap()
            .terms
            .into_iter()
            .map(|t| (t.negated, t.test))
            .collect()
    }

    #[test]
    fn the_flow_queries_parse() {
        assert_eq!(
            tests("role:end-user phone:5511987650101"),
            vec![
                (false, Test::Role(Some(Role::EndUser))),
                (
                    false,
                    Test::Phone(PhonePattern::Exact("5511987650101".into()))
                )
            ]
        );
        assert_eq!(
            tests("type:ticket status<solved  requester:101 -status:hold"),
            vec![
                (false, Test::Type(Kind::Ticket)),
                (false, Test::Status(Op::Lt, Some(TicketStatus::Solved))),
                (false, Test::Requester("101".into())),
                (true, Test::Status(Op::Eq, Some(TicketStatus::Hold))),
            ]
        );
        assert_eq!(
            tests("phone:*4155550134"),
            vec![(
                false,
                Test::Phone(PhonePattern::Suffix("4155550134".into()))
            )]
        );
        assert_eq!(
            tests("type:user +1 (415) 555-0134"),
            vec![
                (false, Test::Type(Kind::User)),
                (false, Test::PhoneText("1".into())),
                (false, Test::PhoneText("415".into())),
                (false, Test::PhoneText("5550134".into())),
            ]
        );
        assert_eq!(
            tests("created>72hours updated<2024-06-01"),
            vec![
                (
                    false,
                    Test::Created(Op::Gt, Some(TimeValue::Ago(72 * 3600)))
                ),
                (
                    false,
                    Test::Updated(
                        Op::Lt,
                        Some(TimeValue::At("2024-06-01T00:00:00Z".parse().unwrap()))
                    )
                ),
            ]
        );
    }

    #[test]
    fn hostile_input_is_bounded_or_inert() {
        assert_eq!(parse(&"9".repeat(5000)), Err(QueryError::TooLong));
        assert_eq!(parse(&"a ".repeat(40)), Err(QueryError::TooManyTerms));
        assert_eq!(parse("  "), Err(QueryError::Empty));
        assert_eq!(parse("\"open"), Err(QueryError::UnbalancedQuote));
        assert_eq!(
            tests("phone:+5511 phone: foo:bar *"),
            vec![
                (false, Test::Phone(PhonePattern::Invalid)),
                (false, Test::Nothing),
                (false, Test::Nothing),
                (false, Test::Nothing),
            ]
        );
        // Non-ASCII, control characters and operators in odd places never panic.
        for q in [
            "ção:ã",
            "é<>:",
            "-",
            "--",
            ":::",
            "<=",
            "a\u{0}b",
            "status<=ü",
            "\u{202e}123",
            "created>99999999999hours",
        ] {
            let _ = parse(q);
        }
        assert_eq!(
            tests("José"),
            vec![(false, Test::Text(vec!["josé".into()]))]
        );
    }
}
