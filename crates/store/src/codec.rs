//! Conversions between domain values and their SQLite column representation.

use jiff::Timestamp;

use crate::StoreError;

/// Timestamp to Unix milliseconds.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// Optional timestamp to Unix milliseconds.
pub(crate) fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

/// Unix milliseconds to a timestamp.
pub(crate) fn ts(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|_| StoreError::Corrupt { what: "timestamp" })
}

/// Optional Unix milliseconds to a timestamp.
pub(crate) fn opt_ts(ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(ts).transpose()
}

/// Seconds (as recorded) to whole milliseconds for storage.
pub(crate) fn secs_to_ms(s: Option<f64>) -> Option<i64> {
    s.filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| (v * 1000.0).round().min(i64::MAX as f64) as i64)
}

/// Stored milliseconds back to seconds.
pub(crate) fn ms_to_secs(ms: Option<i64>) -> Option<f64> {
    ms.map(|v| v as f64 / 1000.0)
}

/// Serializes a value to JSON text for a TEXT column.
pub(crate) fn to_json<T: serde::Serialize>(
    v: &T,
    what: &'static str,
) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|_| StoreError::Invalid {
        what,
        reason: "not serializable",
    })
}

/// Parses JSON text from a TEXT column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    s: &str,
    what: &'static str,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt { what })
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while cut > 0 && !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Rejects text longer than `max` bytes.
pub(crate) fn bound(what: &'static str, s: &str, max: usize) -> Result<(), StoreError> {
    if s.len() > max {
        return Err(StoreError::TooLarge {
            what,
            size: s.len(),
            max,
        });
    }
    Ok(())
}
