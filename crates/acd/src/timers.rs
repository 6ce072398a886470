//! The core's deadlines in one ordered set: O(log n) to arm, cancel and pop.

use std::collections::BTreeMap;
use std::time::Instant;

/// What a deadline is for. Calls are named by their sequence number, agents by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    RingTimeout(u64),
    MaxWait(u64),
    Announce(u64),
    WrapUpEnd(usize),
}

/// Handle to an armed deadline, used to cancel it.
pub(crate) type TimerKey = (Instant, u64);

/// Armed deadlines, ordered by time then arming order.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    armed: BTreeMap<TimerKey, Timer>,
    next_id: u64,
}

impl Timers {
    /// Arms `timer` at `at`.
    pub(crate) fn arm(&mut self, at: Instant, timer: Timer) -> TimerKey {
        let key = (at, self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        self.armed.insert(key, timer);
        key
    }

    /// Cancels a deadline if it is still armed.
    pub(crate) fn cancel(&mut self, key: Option<TimerKey>) {
        if let Some(k) = key {
            self.armed.remove(&k);
        }
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.armed.keys().next().map(|k| k.0)
    }

    /// Removes and returns the earliest deadline if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Timer)> {
        let first = self.armed.first_key_value()?;
        if first.0 .0 > now {
            return None;
        }
        self.armed.pop_first().map(|(k, t)| (k.0, t))
    }

    /// Number of armed deadlines (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.armed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        let a = t.arm(t0 + Duration::from_secs(5), Timer::MaxWait(1));
        t.arm(t0 + Duration::from_secs(2), Timer::Announce(2));
        t.arm(t0 + Duration::from_secs(2), Timer::WrapUpEnd(3));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(t.pop_due(t0 + Duration::from_secs(1)), None);
        let now = t0 + Duration::from_secs(3);
        assert_eq!(t.pop_due(now).map(|x| x.1), Some(Timer::Announce(2)));
        assert_eq!(t.pop_due(now).map(|x| x.1), Some(Timer::WrapUpEnd(3)));
        assert_eq!(t.pop_due(now), None);
        t.cancel(Some(a));
        assert_eq!(t.len(), 0);
        assert_eq!(t.next(), None);
    }
}
