//! Configuration of agents and queues as the binary's TOML holds it, and its validation.
//!
//! ```toml
//! [[agents]]
//! id = "ana"
//! name = "Ana"
//! password = "..."          # secret: never printed; or password_env = "ANA_SIP_PASSWORD"
//! contact_hosts = ["10.1.0.0/16"]   # optional: where its contacts may point
//! queues = ["support"]
//! skills = ["pt"]
//!
//! [queues.support]
//! ring_timeout = "20s"      # or whole seconds: 20
//! wrap_up = 10
//! announce_every = "45s"    # optional
//! max_wait = "10m"          # optional
//! no_agent_check = "logged_in"   # "logged_in" | "available" | "off"
//! max_calls = 1000          # calls waiting or ringing at once (DEFAULT_MAX_CALLS)
//! ```

use crate::duration_de;
use crate::error::ConfigError;
use crate::ids::MAX_ID_LEN;
use crate::secret::Secret;
use crate::state::AvailabilityCheck;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Most agents one core accepts.
pub const MAX_AGENTS: usize = 10_000;
/// Most queues one core accepts.
pub const MAX_QUEUES: usize = 1_000;
/// Most skills on one agent or asked for by one call.
pub const MAX_SKILLS: usize = 32;
/// Longest queue or skill name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest configured duration.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// Most calls waiting in one queue, when the queue does not say.
pub const DEFAULT_MAX_CALLS: u32 = 1_000;

/// Everything the routing core is configured with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcdConfig {
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    #[serde(default)]
    pub queues: BTreeMap<String, QueueConfig>,
}

/// One `[[agents]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub id: String,
    pub name: String,
    /// SIP digest password of the agent's softphone (used by the registrar, not by this core).
    /// Exactly one of `password` and `password_env`; see [`AgentConfig::sip_password`].
    #[serde(default)]
    pub password: Option<Secret>,
    /// The environment variable holding the SIP password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Addresses or CIDR ranges the agent's registered contacts may point at (used by the
    /// registrar). Empty: only the address each REGISTER comes from.
    #[serde(default)]
    pub contact_hosts: Vec<String>,
    /// Whether the agent's media must, may or must not be encrypted (`off`, `optional`,
    /// `required`; used by the SIP dialer). Absent: `[sip] srtp`.
    #[serde(default)]
    pub srtp: Option<String>,
    /// Names of the queues the agent serves.
    pub queues: Vec<String>,
    /// Skills the agent has; a call asking for skills goes only to agents having all of them.
    #[serde(default)]
    pub skills: Vec<String>,
}

/// One `[queues.<name>]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// How long an offer rings before it counts as ring-no-answer.
    #[serde(
        default = "default_ring_timeout",
        deserialize_with = "duration_de::duration"
    )]
    pub ring_timeout: Duration,
    /// How long an agent stays in wrap-up after a call of this queue (0: straight to available).
    #[serde(
        default = "default_wrap_up",
        deserialize_with = "duration_de::duration"
    )]
    pub wrap_up: Duration,
    /// How often a waiting caller gets an [`crate::Output::Announce`] (absent or 0: never).
    #[serde(default, deserialize_with = "duration_de::opt_duration")]
    pub announce_every: Option<Duration>,
    /// Longest a caller waits before [`crate::Output::MaxWaitReached`] (absent or 0: no limit).
    #[serde(default, deserialize_with = "duration_de::opt_duration")]
    pub max_wait: Option<Duration>,
    /// The availability check applied when an enqueue does not choose one.
    #[serde(default)]
    pub no_agent_check: AvailabilityCheck,
    /// Most calls waiting or ringing at once; further enqueues are refused with
    /// [`crate::EnqueueError::QueueFull`] (calls already with an agent do not count).
    #[serde(default = "default_max_calls")]
    pub max_calls: u32,
    /// The service level's target: a call answered within it counts as answered in time
    /// (the wallboard's share of calls answered in time).
    #[serde(
        default = "default_service_level",
        deserialize_with = "duration_de::duration"
    )]
    pub service_level: Duration,
}

fn default_ring_timeout() -> Duration {
    Duration::from_secs(20)
}

fn default_wrap_up() -> Duration {
    Duration::from_secs(10)
}

fn default_service_level() -> Duration {
    Duration::from_secs(20)
}

fn default_max_calls() -> u32 {
    DEFAULT_MAX_CALLS
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            ring_timeout: default_ring_timeout(),
            wrap_up: default_wrap_up(),
            announce_every: None,
            max_wait: None,
            no_agent_check: AvailabilityCheck::Off,
            max_calls: DEFAULT_MAX_CALLS,
            service_level: default_service_level(),
        }
    }
}

impl QueueConfig {
    /// Checks bounds; `name` is only used in the error.
    pub fn validate(&self, name: &str) -> Result<(), ConfigError> {
        validate_name("queue", name)?;
        let bad = |field: &'static str| ConfigError::BadDuration {
            queue: name.to_owned(),
            field,
        };
        if self.ring_timeout < Duration::from_secs(1) || self.ring_timeout > MAX_DURATION {
            return Err(bad("ring_timeout"));
        }
        if self.wrap_up > MAX_DURATION {
            return Err(bad("wrap_up"));
        }
        if let Some(d) = self.announce_every {
            if d < Duration::from_secs(1) || d > MAX_DURATION {
                return Err(bad("announce_every"));
            }
        }
        if let Some(d) = self.max_wait {
            if d > MAX_DURATION {
                return Err(bad("max_wait"));
            }
        }
        if self.service_level < Duration::from_secs(1) || self.service_level > MAX_DURATION {
            return Err(bad("service_level"));
        }
        if self.max_calls == 0 {
            return Err(ConfigError::ZeroMaxCalls(name.to_owned()));
        }
        Ok(())
    }
}

/// Longest SIP password (printable ASCII: it goes into digest computations).
pub const MAX_PASSWORD_LEN: usize = 1024;

impl AgentConfig {
    /// The SIP password: `password`, or the value of the environment variable named by
    /// `password_env` (read through `env`). Exactly one must be given, and not empty.
    pub fn sip_password(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, ConfigError> {
        ringdesk_secret::from_config(
            self.password.as_ref(),
            self.password_env.as_deref(),
            env,
            MAX_PASSWORD_LEN,
        )
        .map_err(|error| ConfigError::AgentPassword {
            agent: truncate(&self.id),
            reason: error.to_string(),
        })
    }

    /// Checks the agent's own fields (not whether its queues exist).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id.is_empty() || self.id.len() > MAX_ID_LEN || self.id.chars().any(char::is_control)
        {
            return Err(ConfigError::BadAgentId);
        }
        if self.name.len() > MAX_ID_LEN {
            return Err(ConfigError::BadName {
                what: "agent name",
                name: truncate(&self.name),
            });
        }
        if self.queues.len() > MAX_QUEUES {
            return Err(ConfigError::TooMany {
                what: "queues of one agent",
                max: MAX_QUEUES,
            });
        }
        if self.skills.len() > MAX_SKILLS {
            return Err(ConfigError::TooMany {
                what: "skills of one agent",
                max: MAX_SKILLS,
            });
        }
        for s in &self.skills {
            validate_name("skill", s)?;
        }
        Ok(())
    }

    /// The agent's skills as a set.
    pub(crate) fn skill_set(&self) -> BTreeSet<String> {
        self.skills.iter().cloned().collect()
    }
}

impl AcdConfig {
    /// Parses nothing; checks everything: names, bounds, duplicates, queues the agents name.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.queues.len() > MAX_QUEUES {
            return Err(ConfigError::TooMany {
                what: "queues",
                max: MAX_QUEUES,
            });
        }
        if self.agents.len() > MAX_AGENTS {
            return Err(ConfigError::TooMany {
                what: "agents",
                max: MAX_AGENTS,
            });
        }
        for (name, q) in &self.queues {
            q.validate(name)?;
        }
        let mut seen = BTreeSet::new();
        for a in &self.agents {
            a.validate()?;
            if !seen.insert(a.id.as_str()) {
                return Err(ConfigError::DuplicateAgent(truncate(&a.id)));
            }
            for q in &a.queues {
                if !self.queues.contains_key(q) {
                    return Err(ConfigError::UnknownQueue {
                        agent: truncate(&a.id),
                        queue: truncate(q),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Checks a queue or skill name: 1..=64 bytes, no control characters.
pub(crate) fn validate_name(what: &'static str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(ConfigError::BadName {
            what,
            name: truncate(name),
        });
    }
    Ok(())
}

/// Shortens user text before it goes into an error message.
pub(crate) fn truncate(s: &str) -> String {
    s.chars()
        .take(MAX_NAME_LEN)
        .filter(|c| !c.is_control())
        .collect()
}
