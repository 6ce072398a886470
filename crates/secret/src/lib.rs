//! A string that never shows itself: API tokens, OAuth client secrets and agent passwords
//! are `Secret`s, whose `Debug` and `Display` print `***`, so no log line, error message
//! or `{:?}` of a config can leak one. [`Secret::expose`] is the one way to the value.
//!
//! It deserializes from a plain string (config files). It does not implement `Serialize`:
//! writing a secret out must be explicit, with [`expose_serialized`] on the one field
//! that needs it (an OAuth token response).
//!
//! A config field `x` may instead name an environment variable in `x_env`:
//! [`from_config`] takes exactly one of the two and refuses an empty or unprintable value.

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

/// Why a configured secret could not be read (see [`from_config`]). Names the
/// environment variable, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// Both the value and an `_env` name were given.
    Both,
    /// Neither was given.
    Missing,
    /// The named environment variable is unset or empty.
    EnvUnset { var: String },
    /// Empty, too long, or not printable ASCII (it goes into headers and digests).
    Unusable { max_len: usize },
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Both => f.write_str("give either the value or `_env`, not both"),
            SourceError::Missing => f.write_str(
                "missing: give the value or the name of an environment variable (`_env`)",
            ),
            SourceError::EnvUnset { var } => {
                write!(f, "environment variable {var} is not set or empty")
            }
            SourceError::Unusable { max_len } => write!(
                f,
                "must be non-empty printable ASCII of at most {max_len} bytes"
            ),
        }
    }
}

impl std::error::Error for SourceError {}

/// A secret as configuration gives it: exactly one of an inline value and the name of an
/// environment variable (`token` / `token_env`), read through `env` (so tests need not
/// touch the process environment). The value must be non-empty printable ASCII of at
/// most `max_len` bytes.
pub fn from_config(
    inline: Option<&Secret>,
    var: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    max_len: usize,
) -> Result<Secret, SourceError> {
    let value = match (inline, var) {
        (Some(_), Some(_)) => return Err(SourceError::Both),
        (None, None) => return Err(SourceError::Missing),
        (Some(s), None) => s.clone(),
        (None, Some(var)) => match env(var) {
            Some(v) if !v.is_empty() => Secret::new(v),
            _ => {
                return Err(SourceError::EnvUnset {
                    var: var.to_owned(),
                })
            }
        },
    };
    let printable = value.0.bytes().all(|b| (0x20..0x7f).contains(&b));
    if value.is_empty() || value.0.len() > max_len || !printable {
        return Err(SourceError::Unusable { max_len });
    }
    Ok(value)
}

/// Reads the process environment, for [`from_config`].
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
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

    #[test]
    fn from_config_takes_exactly_one_source_and_checks_the_value() {
        let env = |v: &str| (v == "SET").then(|| "from-env".to_owned());
        let inline = Secret::new("inline");
        assert_eq!(
            from_config(Some(&inline), None, &env, 64).unwrap().expose(),
            "inline"
        );
        assert_eq!(
            from_config(None, Some("SET"), &env, 64).unwrap().expose(),
            "from-env"
        );
        assert_eq!(
            from_config(Some(&inline), Some("SET"), &env, 64),
            Err(SourceError::Both)
        );
        assert_eq!(from_config(None, None, &env, 64), Err(SourceError::Missing));
        let unset = from_config(None, Some("UNSET"), &env, 64).unwrap_err();
        assert_eq!(
            unset.to_string(),
            "environment variable UNSET is not set or empty"
        );
        for bad in ["", "a\nb", "caf\u{e9}"] {
            let err = from_config(Some(&Secret::new(bad)), None, &env, 64).unwrap_err();
            assert_eq!(err, SourceError::Unusable { max_len: 64 });
            assert!(!err.to_string().contains(bad) || bad.is_empty());
        }
        assert!(from_config(Some(&Secret::new("x".repeat(65))), None, &env, 64).is_err());
    }
}
