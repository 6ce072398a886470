//! A string that never shows itself: API tokens, OAuth client secrets and agent passwords
//! are `Secret`s, whose `Debug` and `Display` print `***`, so no log line, error message
//! or `{:?}` of a config can leak one. [`Secret::expose`] is the one way to the value.
//!
//! It deserializes from a plain string (config files). It does not implement `Serialize`:
//! writing a secret out must be explicit, with [`expose_serialized`] on the one field
//! that needs it (an OAuth token response).
//!
//! A config field `x` may instead name an environment variable in `x_env`:
//! [`inline_or_env`] takes exactly one of the two and refuses an empty value.

use serde::{Deserialize, Deserializer, Serializer};
use std::fmt;

/// A credential.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that must send it (an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// `#[serde(serialize_with = "ringdesk_secret::expose_serialized")]`: writes the value,
/// for a field that must carry it on the wire.
pub fn expose_serialized<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&secret.0)
}

/// Why [`inline_or_env`] found no usable secret. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// Both the value and `_env` were given.
    Both,
    /// Neither was given.
    Missing,
    /// The environment variable is not set, or is empty.
    MissingEnv(String),
    /// The value given inline is empty.
    Empty,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Both => f.write_str("give either the value or `_env`, not both"),
            SourceError::Missing => f.write_str(
                "missing: give the value or the name of an environment variable (`_env`)",
            ),
            SourceError::MissingEnv(var) => {
                write!(f, "environment variable {var} is not set (or is empty)")
            }
            SourceError::Empty => f.write_str("must not be empty"),
        }
    }
}

impl std::error::Error for SourceError {}

/// A secret written in the config (`inline`) or read from the environment variable `var`
/// through `env`: exactly one of the two, and not empty.
pub fn inline_or_env(
    inline: Option<&Secret>,
    var: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, SourceError> {
    match (inline, var) {
        (Some(_), Some(_)) => Err(SourceError::Both),
        (None, None) => Err(SourceError::Missing),
        (Some(s), None) if s.is_empty() => Err(SourceError::Empty),
        (Some(s), None) => Ok(s.clone()),
        (None, Some(var)) => match env(var) {
            Some(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(SourceError::MissingEnv(var.to_owned())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value_even_inside_containers() {
        let s = Secret::new("hunter2-value");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2-value");
        let v = vec![Some(s)];
        assert!(!format!("{v:?} {v:#?}").contains("hunter2"));
    }

    #[test]
    fn exactly_one_non_empty_source() {
        let env = |v: &str| match v {
            "SET" => Some("from-env".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let inline = Secret::new("inline");
        assert_eq!(
            inline_or_env(Some(&inline), None, &env).unwrap().expose(),
            "inline"
        );
        assert_eq!(
            inline_or_env(None, Some("SET"), &env).unwrap().expose(),
            "from-env"
        );
        assert_eq!(
            inline_or_env(Some(&inline), Some("SET"), &env),
            Err(SourceError::Both)
        );
        assert_eq!(inline_or_env(None, None, &env), Err(SourceError::Missing));
        assert_eq!(
            inline_or_env(Some(&Secret::default()), None, &env),
            Err(SourceError::Empty)
        );
        for var in ["EMPTY", "UNSET"] {
            let error = inline_or_env(None, Some(var), &env).unwrap_err();
            assert_eq!(error, SourceError::MissingEnv(var.to_owned()));
            assert!(error.to_string().contains(var));
        }
    }

    #[test]
    fn reads_from_a_string_and_writes_only_when_asked() {
        let s: Secret = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!(s.expose(), "tok");
        #[derive(serde::Serialize)]
        struct Wire {
            #[serde(serialize_with = "expose_serialized")]
            token: Secret,
        }
        assert_eq!(
            serde_json::to_string(&Wire { token: s }).unwrap(),
            r#"{"token":"tok"}"#
        );
    }
}
