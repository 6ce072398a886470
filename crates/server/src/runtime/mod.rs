//! The runtime: everything that connects the sans-IO cores to real IO.

pub mod acd;
pub mod admin;
pub mod admin_access;
pub mod admin_session;
pub mod admin_token;
pub mod admission;
pub mod agents;
pub mod bridge;
pub mod call;
pub mod deliver;
pub mod desk;
pub mod desk_api;
pub mod flows;
pub mod http;
pub mod media_worker;
pub mod msg;
pub mod outbox;
pub mod priority;
pub mod prompts;
pub mod resume;
pub mod retention;
pub mod rtp_metrics;
pub mod rtp_rx;
pub mod rtp_socket;
pub mod voice;
pub mod zendesk;
