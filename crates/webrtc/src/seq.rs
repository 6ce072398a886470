//! 16-bit RTP sequence numbers extended to 64 bits.
//!
//! str0m encrypts with the extended number (SRTP's rollover counter is its upper bits), so
//! the caller's 16-bit numbers must keep counting past 65535 instead of going back to 0.

/// Extends each sequence number to the one nearest the last seen.
#[derive(Debug, Default, Clone)]
pub struct SeqExtender {
    last: Option<u64>,
}

impl SeqExtender {
    /// The extended number for `seq`: within 32768 of the previous one, never below 0.
    pub fn extend(&mut self, seq: u16) -> u64 {
        let ext = match self.last {
            None => u64::from(seq),
            Some(last) => {
                let roc = last >> 16;
                let mut best = (roc << 16) | u64::from(seq);
                for r in [roc.checked_sub(1), Some(roc + 1)].into_iter().flatten() {
                    let candidate = (r << 16) | u64::from(seq);
                    if candidate.abs_diff(last) < best.abs_diff(last) {
                        best = candidate;
                    }
                }
                best
            }
        };
        // Only move forward: an old packet resent keeps its place but not the high mark.
        self.last = Some(self.last.map_or(ext, |l| l.max(ext)));
        ext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_past_a_wrap() {
        let mut s = SeqExtender::default();
        assert_eq!(s.extend(65534), 65534);
        assert_eq!(s.extend(65535), 65535);
        assert_eq!(s.extend(0), 65536);
        assert_eq!(s.extend(1), 65537);
    }

    #[test]
    fn a_late_packet_before_the_wrap_stays_before_it() {
        let mut s = SeqExtender::default();
        s.extend(65535);
        assert_eq!(s.extend(2), 65538);
        assert_eq!(s.extend(65534), 65534);
        assert_eq!(s.extend(3), 65539);
    }

    #[test]
    fn never_goes_below_zero() {
        let mut s = SeqExtender::default();
        assert_eq!(s.extend(0), 0);
        assert_eq!(s.extend(65535), 65535);
    }
}
