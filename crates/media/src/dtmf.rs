//! DTMF digits and the RFC 4733 telephone-event payload format.

use thiserror::Error;

/// A DTMF key: event codes 0-15 of RFC 4733 (`0`-`9`, `*`, `#`, `A`-`D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DtmfDigit(u8);

impl DtmfDigit {
    /// The digit for an RFC 4733 event code, if it is a DTMF key (0..=15).
    pub const fn from_event_code(code: u8) -> Option<DtmfDigit> {
        if code <= 15 {
            Some(DtmfDigit(code))
        } else {
            None
        }
    }

    /// The digit for a keypad character (`0`-`9`, `*`, `#`, `A`-`D`, case-insensitive).
    pub const fn from_char(c: char) -> Option<DtmfDigit> {
        let code = match c {
            '0'..='9' => c as u8 - b'0',
            '*' => 10,
            '#' => 11,
            'A'..='D' => c as u8 - b'A' + 12,
            'a'..='d' => c as u8 - b'a' + 12,
            _ => return None,
        };
        Some(DtmfDigit(code))
    }

    /// The RFC 4733 event code (0..=15).
    pub const fn event_code(self) -> u8 {
        self.0
    }

    /// The keypad character.
    pub const fn as_char(self) -> char {
        match self.0 {
            0..=9 => (b'0' + self.0) as char,
            10 => '*',
            11 => '#',
            12..=15 => (b'A' + self.0 - 12) as char,
            _ => '?',
        }
    }
}

impl std::fmt::Display for DtmfDigit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// Size of one telephone-event payload.
pub const EVENT_PAYLOAD_LEN: usize = 4;

/// One RFC 4733 telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0-15 are DTMF keys; others exist and are ignored by the receiver).
    pub event: u8,
    /// E bit: this is (one of the copies of) the last packet of the event.
    pub end: bool,
    /// Volume in -dBm0 (0..=63).
    pub volume: u8,
    /// Duration so far, in timestamp units (8 kHz samples).
    pub duration: u16,
}

/// A telephone-event payload that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EventPayloadError {
    /// Fewer than four bytes.
    #[error("telephone-event payload shorter than 4 bytes ({0})")]
    Truncated(usize),
}

impl TelephoneEvent {
    /// Parse the first event of a payload (trailing bytes are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, EventPayloadError> {
        match payload {
            [event, flags, d0, d1, ..] => Ok(TelephoneEvent {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3F,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            _ => Err(EventPayloadError::Truncated(payload.len())),
        }
    }

    /// The four payload bytes.
    pub fn to_bytes(&self) -> [u8; EVENT_PAYLOAD_LEN] {
        let [d0, d1] = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d0,
            d1,
        ]
    }
}
