//! Configuration errors: each names the connector and the field, never a secret's value.

use thiserror::Error;

/// Why a connector configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A field holds an unusable value.
    #[error("connector {connector:?}: field `{field}`: {reason}")]
    Invalid {
        connector: String,
        field: &'static str,
        reason: String,
    },
    /// A secret is to come from an environment variable that is not set (or empty).
    #[error("connector {connector:?}: field `{field}`: environment variable {var} is not set")]
    MissingEnv {
        connector: String,
        field: &'static str,
        var: String,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

impl ConfigError {
    pub(crate) fn invalid(connector: &str, field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            connector: connector.to_owned(),
            field,
            reason: reason.into(),
        }
    }
}
