//! A string that never shows itself: API tokens, OAuth client secrets and agent passwords
//! are `Secret`s, whose `Debug` and `Display` print `***`, so no log line, error message
//! or `{:?}` of a config can leak one. [`Secret::expose`] is the one way to the value.
//!
//! It deserializes from a plain string (config files). It does not implement `Serialize`:
//! writing a secret out must be explicit, with [`expose_serialized`] on the one field
//! that needs it (an OAuth token response).

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
}
