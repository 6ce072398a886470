//! Zendesk for ringdesk: the API wire types ([`types`]), a typed async client
//! ([`client::ZendeskClient`]), and a Zendesk-compatible sandbox server ([`sandbox`]) that
//! tests and first runs use instead of a real Zendesk instance.

pub mod client;
pub mod sandbox;
mod secret;
pub mod types;

pub use client::{api_token_authorization, bearer_authorization, ZendeskClient, ZendeskError};
pub use secret::Secret;
