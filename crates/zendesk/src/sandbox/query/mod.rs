//! The sandbox's search engine: a bounded parser for Zendesk's query syntax subset and
//! an evaluator over users and tickets.

mod eval;
mod parse;

pub use eval::{sort, Record};
pub use parse::{
    parse, Kind, Op, PhonePattern, Query, QueryError, Term, Test, TimeValue, MAX_QUERY_CHARS,
    MAX_TERMS,
};
