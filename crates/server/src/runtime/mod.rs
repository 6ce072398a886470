//! The runtime: everything that connects the sans-IO cores to real IO.

pub mod acd;
pub mod acd_input;
pub mod acd_log;
#[cfg(test)]
mod acd_shared_tests;
pub mod admin;
pub mod admin_access;
pub mod admin_session;
pub mod admin_token;
pub mod admission;
pub mod agents;
pub mod bridge;
pub mod bridge_metrics;
pub mod call;
pub mod deliver;
pub mod desk;
pub mod desk_api;
pub mod flow_stats;
pub mod flows;
pub mod http;
pub mod media_worker;
pub mod msg;
pub mod outbox;
pub mod phone;
pub mod phone_metrics;
pub mod phone_relay;
pub mod priority;
pub mod prompts;
pub mod queue_metrics;
pub mod queue_stats;
pub mod resume;
pub mod retention;
pub mod rtp_metrics;
pub mod rtp_rx;
pub mod rtp_socket;
pub mod voice;
pub mod zendesk;
