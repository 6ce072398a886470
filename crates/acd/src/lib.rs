//! Sans-IO routing core of ringdesk: queues, agents, offers, timers and wait estimates.
//!
//! The core decides; the runtime acts. It never reads the clock, opens sockets or spawns
//! anything: each input carries `now`, decisions come out of [`Acd::poll_output`], and
//! [`Acd::poll_timeout`] says when to call [`Acd::handle_timeout`] next.
//!
//! ```
//! use ringdesk_acd::{Acd, AcdConfig, AgentConfig, AgentId, EnqueueRequest, Output, QueueConfig};
//! use std::time::Instant;
//!
//! let mut config = AcdConfig::default();
//! config.queues.insert("support".into(), QueueConfig::default());
//! config.agents.push(AgentConfig {
//!     id: "ana".into(),
//!     name: "Ana".into(),
//!     password: None,
//!     password_env: None,
//!     contact_hosts: vec![],
//!     srtp: None,
//!     queues: vec!["support".into()],
//!     skills: vec![],
//! });
//! let mut acd = Acd::new(&config).unwrap();
//! let now = Instant::now();
//! acd.agent_registered(now, &AgentId::new("ana")).unwrap();
//! acd.enqueue(now, EnqueueRequest::new("call-1", "support", 5)).unwrap();
//! let offers: Vec<_> = std::iter::from_fn(|| acd.poll_output())
//!     .filter(|o| matches!(o, Output::Offer { .. }))
//!     .collect();
//! assert_eq!(offers.len(), 1);
//! ```

mod acd;
mod agent;
mod call;
mod config;
mod dispatch;
mod duration_de;
mod enqueue;
mod error;
mod estimate;
mod ids;
mod info;
mod inputs;
mod invariants;
mod output;
mod queue;
mod secret;
mod state;
mod timeout;
mod timers;

pub use acd::Acd;
pub use config::{
    AcdConfig, AgentConfig, QueueConfig, DEFAULT_MAX_CALLS, MAX_AGENTS, MAX_DURATION, MAX_NAME_LEN,
    MAX_QUEUES, MAX_SKILLS,
};
pub use enqueue::EnqueueRequest;
pub use error::{AcdError, ConfigError, EnqueueError};
pub use estimate::{Ewma, QueueStats};
pub use ids::{AgentId, CallId, MAX_ID_LEN};
pub use info::QueueInfo;
pub use inputs::MAX_REASON_LEN;
pub use output::Output;
pub use secret::Secret;
pub use state::{
    AgentState, AgentStatus, AvailabilityCheck, ChangeCause, Party, RequestedState,
    REASON_OFFER_FAILED, REASON_REJECTED, REASON_RING_NO_ANSWER,
};
