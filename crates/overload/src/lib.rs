//! Sans-IO load governor of ringdesk: decides whether new calls are admitted or shed
//! (refused with SIP `503`) from measured load, with hysteresis.
//!
//! The [`Governor`] is fed `now` and a [`Sample`] (how late the media threads send
//! packets, how late the async runtime runs a timer) and answers with a [`Change`] when
//! the decision flips. It never reads the clock, sleeps or spawns: the binary's
//! `runtime/admission.rs` measures, feeds it every [`SAMPLE_PERIOD`] and flips the SIP
//! adapter's switch. Its thresholds are a [`GovernorConfig`], checked by
//! [`GovernorConfig::validate`].
//!
//! ```
//! use ringdesk_overload::{Change, Governor, GovernorConfig, Sample, Signal};
//! use std::time::{Duration, Instant};
//!
//! let config = GovernorConfig {
//!     window: Duration::ZERO,
//!     ..GovernorConfig::default()
//! };
//! config.validate().unwrap();
//! let mut governor = Governor::new(config);
//! let late = Sample {
//!     media_late: Some(Duration::from_millis(250)),
//!     runtime_lag: Some(Duration::ZERO),
//! };
//! let change = governor.on_sample(Instant::now(), late);
//! assert!(matches!(change, Some(Change::Shed { signal: Signal::MediaLate, .. })));
//! assert!(governor.is_shedding());
//! ```

mod config;
mod governor;

pub use config::{ConfigError, GovernorConfig, Marks, Signal, MAX_HOLD, MAX_MARK};
pub use governor::{Change, Governor, Sample, SAMPLE_PERIOD};
