//! RTP for the benchmark caller: reads the fixed header of ringdesk's packets and builds
//! RFC 4733 telephone-event packets (one key press) for the menus, and 20 ms PCMU packets
//! for a caller who talks (the bridge benchmark).

/// The fields of an RTP header the timing analysis needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Parses the fixed 12-byte header; `None` for anything that is not RTP version 2.
pub fn parse(data: &[u8]) -> Option<Header> {
    let b: &[u8; 12] = data.get(..12)?.try_into().ok()?;
    if b[0] >> 6 != 2 {
        return None;
    }
    Some(Header {
        payload_type: b[1] & 0x7f,
        sequence: u16::from_be_bytes([b[2], b[3]]),
        timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
    })
}

/// RFC 4733 event code of a key, `None` for other characters.
pub fn event_code(key: char) -> Option<u8> {
    match key {
        '0'..='9' => key.to_digit(10).and_then(|d| u8::try_from(d).ok()),
        '*' => Some(10),
        '#' => Some(11),
        _ => None,
    }
}

/// One key press as RFC 4733 packets: three updates (60 ms), then the end three times.
/// All share `timestamp`; `first_seq` numbers them in order.
pub fn key_press(
    key: char,
    payload_type: u8,
    first_seq: u16,
    timestamp: u32,
    ssrc: u32,
) -> Option<Vec<Vec<u8>>> {
    let event = event_code(key)?;
    let mut out = Vec::with_capacity(6);
    let steps: [(u16, bool); 6] = [
        (160, false),
        (320, false),
        (480, false),
        (640, true),
        (640, true),
        (640, true),
    ];
    for (i, (duration, end)) in steps.iter().enumerate() {
        let mut p = Vec::with_capacity(16);
        p.push(0x80);
        let marker = if i == 0 { 0x80 } else { 0 };
        p.push(marker | (payload_type & 0x7f));
        let seq = first_seq.wrapping_add(u16::try_from(i).unwrap_or(0));
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&timestamp.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.push(event);
        p.push(if *end { 0x80 | 10 } else { 10 });
        p.extend_from_slice(&duration.to_be_bytes());
        out.push(p);
    }
    Some(out)
}

/// Bytes of audio in one 20 ms PCMU packet.
pub const PCMU_20MS: usize = 160;

/// One 20 ms PCMU packet (payload type 0, silence 0xFF) of the caller's own talk stream,
/// which the agent's phone echoes back through ringdesk's bridge.
pub fn audio(seq: u16, timestamp: u32, ssrc: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + PCMU_20MS);
    p.push(0x80);
    p.push(0);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.resize(12 + PCMU_20MS, 0xff);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_packet_parses_back() {
        let p = audio(65535, 160 * 7, 0xabcd);
        assert_eq!(p.len(), 12 + PCMU_20MS);
        let h = parse(&p).unwrap();
        assert_eq!(h.payload_type, 0);
        assert_eq!(h.sequence, 65535);
        assert_eq!(h.timestamp, 1120);
        assert_eq!(h.ssrc, 0xabcd);
        assert_eq!(p[12], 0xff);
    }

    #[test]
    fn key_press_round_trips_through_the_header_parser() {
        let pkts = key_press('1', 101, 65534, 0xdead_beef, 7).unwrap();
        assert_eq!(pkts.len(), 6);
        let h0 = parse(&pkts[0]).unwrap();
        assert_eq!(h0.payload_type, 101);
        assert_eq!(h0.timestamp, 0xdead_beef);
        assert_eq!(pkts[0][1] & 0x80, 0x80, "marker on the first packet");
        assert_eq!(pkts[1][1] & 0x80, 0);
        assert_eq!(parse(&pkts[2]).unwrap().sequence, 0, "sequence wraps");
        assert_eq!(pkts[0][12], 1, "event code of key 1");
        assert_eq!(pkts[5][13] & 0x80, 0x80, "end bit");
        assert_eq!(pkts[2][13] & 0x80, 0);
    }

    #[test]
    fn rejects_non_rtp_and_unknown_keys() {
        assert!(parse(&[0u8; 12]).is_none());
        assert!(parse(&[0x80; 11]).is_none());
        assert!(key_press('x', 101, 0, 0, 0).is_none());
        assert_eq!(event_code('#'), Some(11));
        assert_eq!(event_code('0'), Some(0));
    }
}
