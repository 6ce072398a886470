//! The runtime: everything that connects the sans-IO cores to real IO.

pub mod flows;
pub mod http;
pub mod zendesk;
