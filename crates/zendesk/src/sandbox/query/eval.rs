//! Evaluating a parsed query against the sandbox's users and tickets, and sorting results
//! as the search API does. Pure: "now" is passed in.

use super::parse::{words, Kind, Op, PhonePattern, Query, Term, Test, TimeValue};
use crate::sandbox::data::phone_digits;
use crate::types::{SortBy, SortOrder, Ticket, User};
use jiff::Timestamp;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A record the search can return.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A user.
    User(&'a User),
    /// A ticket.
    Ticket(&'a Ticket),
}

impl Record<'_> {
    fn kind(&self) -> Kind {
        match self {
            Record::User(_) => Kind::User,
            Record::Ticket(_) => Kind::Ticket,
        }
    }

    fn id(&self) -> u64 {
        match self {
            Record::User(u) => u.id,
            Record::Ticket(t) => t.id,
        }
    }

    fn created_at(&self) -> Timestamp {
        match self {
            Record::User(u) => u.created_at,
            Record::Ticket(t) => t.created_at,
        }
    }

    fn updated_at(&self) -> Timestamp {
        match self {
            Record::User(u) => u.updated_at,
            Record::Ticket(t) => t.updated_at,
        }
    }
}

fn word_match(pattern: &str, haystack: &[String]) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => haystack.iter().any(|w| w.starts_with(prefix)),
        None => haystack.iter().any(|w| w == pattern),
    }
}

fn time_holds(op: Op, at: Timestamp, v: &TimeValue, now: Timestamp) -> bool {
    let bound = match *v {
        TimeValue::At(t) => t,
        TimeValue::Ago(secs) => {
            Timestamp::from_second(now.as_second().saturating_sub(secs)).unwrap_or(Timestamp::MIN)
        }
    };
    op.holds(at.cmp(&bound))
}

fn test_holds(test: &Test, rec: Record<'_>, users: &BTreeMap<u64, User>, now: Timestamp) -> bool {
    match (test, rec) {
        (Test::Type(k), r) => *k == r.kind(),
        (Test::Role(Some(role)), Record::User(u)) => u.role == *role,
        (Test::Phone(p), Record::User(u)) => {
            let Some(stored) = u.phone.as_deref().map(phone_digits) else {
                return false;
            };
            match p {
                PhonePattern::Exact(d) => stored == *d,
                PhonePattern::Suffix(d) => stored.ends_with(d.as_str()),
                PhonePattern::Invalid => false,
            }
        }
        (Test::PhoneText(d), Record::User(u)) => {
            u.phone.as_deref().is_some_and(|p| phone_digits(p) == *d)
        }
        (Test::Email(e), Record::User(u)) => {
            u.email.as_deref().is_some_and(|m| m.to_lowercase() == *e)
        }
        (Test::Requester(v), Record::Ticket(t)) => {
            if let Ok(id) = v.parse::<u64>() {
                return t.requester_id == id;
            }
            users
                .get(&t.requester_id)
                .and_then(|u| u.email.as_deref())
                .is_some_and(|m| m.to_lowercase() == *v)
        }
        (Test::Status(op, Some(s)), Record::Ticket(t)) => op.holds(t.status.cmp(s)),
        (Test::Priority(op, Some(p)), Record::Ticket(t)) => {
            t.priority.is_some_and(|tp| op.holds(tp.cmp(p)))
        }
        (Test::Created(op, Some(v)), r) => time_holds(*op, r.created_at(), v, now),
        (Test::Updated(op, Some(v)), r) => time_holds(*op, r.updated_at(), v, now),
        (Test::Name(ws), Record::User(u)) => {
            let hay = words(&u.name);
            ws.iter().all(|w| word_match(w, &hay))
        }
        (Test::Subject(ws), Record::Ticket(t)) => {
            let hay = t.subject.as_deref().map(words).unwrap_or_default();
            ws.iter().all(|w| word_match(w, &hay))
        }
        (Test::Text(ws), Record::User(u)) => {
            let mut hay = words(&u.name);
            if let Some(e) = &u.email {
                hay.push(e.to_lowercase());
                hay.extend(words(e));
            }
            ws.iter().all(|w| word_match(w, &hay))
        }
        (Test::Text(ws), Record::Ticket(t)) => {
            let mut hay = t.subject.as_deref().map(words).unwrap_or_default();
            hay.extend(t.description.as_deref().map(words).unwrap_or_default());
            ws.iter().all(|w| word_match(w, &hay))
        }
        _ => false,
    }
}

fn term_holds(term: &Term, rec: Record<'_>, users: &BTreeMap<u64, User>, now: Timestamp) -> bool {
    test_holds(&term.test, rec, users, now) != term.negated
}

impl Query {
    /// True when every term holds for `rec`. `users` resolves requester emails.
    pub fn matches(&self, rec: Record<'_>, users: &BTreeMap<u64, User>, now: Timestamp) -> bool {
        self.terms.iter().all(|t| term_holds(t, rec, users, now))
    }
}

fn status_rank(r: &Record<'_>) -> u8 {
    match r {
        Record::Ticket(t) => t.status as u8 + 1,
        Record::User(_) => 0,
    }
}

fn priority_rank(r: &Record<'_>) -> u8 {
    match r {
        Record::Ticket(t) => t.priority.map_or(0, |p| p as u8 + 1),
        Record::User(_) => 0,
    }
}

/// Sort results like the search API: by `sort_by` in `sort_order` (default desc), ties by
/// id ascending; without `sort_by` ("relevance"), users first then tickets, by id.
pub fn sort(records: &mut [Record<'_>], sort_by: Option<SortBy>, order: Option<SortOrder>) {
    let Some(by) = sort_by else {
        records.sort_by_key(|r| (r.kind() != Kind::User, r.id()));
        return;
    };
    let desc = order != Some(SortOrder::Asc);
    records.sort_by(|a, b| {
        let primary = match by {
            SortBy::UpdatedAt => a.updated_at().cmp(&b.updated_at()),
            SortBy::CreatedAt => a.created_at().cmp(&b.created_at()),
            SortBy::Priority => priority_rank(a).cmp(&priority_rank(b)),
            SortBy::Status => status_rank(a).cmp(&status_rank(b)),
            SortBy::TicketType => Ordering::Equal,
        };
        let primary = if desc { primary.reverse() } else { primary };
        primary.then(a.id().cmp(&b.id()))
    });
}
