//! Zendesk for ringdesk: the API wire types ([`types`]), a typed async client
//! ([`client::ZendeskClient`]), a Zendesk-compatible sandbox server ([`sandbox`]) that
//! tests and first runs use instead of a real Zendesk instance, and what the runtime knows
//! of Zendesk around the flow ([`helpdesk::Zendesk`]: screen-pop URL, note marker,
//! ordering by ticket, the "already delivered?" check).

pub mod client;
pub mod desk;
pub mod helpdesk;
pub mod sandbox;
mod secret;
pub mod types;

pub use client::{api_token_authorization, bearer_authorization, ZendeskClient, ZendeskError};
pub use secret::Secret;
