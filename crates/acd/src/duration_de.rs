//! Reading durations from configuration: whole seconds (`20`) or humantime text (`"20s"`, `"1m 30s"`).

use serde::{Deserialize, Deserializer};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Seconds(u64),
    Text(String),
}

fn convert<E: serde::de::Error>(raw: Raw) -> Result<Duration, E> {
    match raw {
        Raw::Seconds(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => humantime::parse_duration(t.trim())
            .map_err(|e| E::custom(format_args!("invalid duration: {e}"))),
    }
}

/// Deserializes a required duration.
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    convert(Raw::deserialize(d)?)
}

/// Deserializes an optional duration; `0` means "none".
pub(crate) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let v = convert(Raw::deserialize(d)?)?;
    Ok(if v.is_zero() { None } else { Some(v) })
}
