//! Today's figures per queue, for the wallboard: calls answered (and how many within the
//! queue's `service_level`), abandoned (the caller hung up while waiting) and timed out
//! (the queue's `max_wait`), since local midnight. The service level is the share of
//! those calls answered in time. Counted as the routing core reports each outcome, and
//! seeded at start from the day's interaction records, so a restart keeps the day.
//! The day is passed in: no clock here.

use jiff::civil::Date;
use ringdesk_store::{EndReason, Interaction};
use std::collections::HashMap;
use std::time::Duration;

/// One queue's day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub answered: u32,
    pub answered_in_time: u32,
    pub abandoned: u32,
    pub timed_out: u32,
}

impl Counts {
    /// The share of the day's calls answered in time; `None` before the first call.
    pub fn service_level(&self) -> Option<f64> {
        let all = self.answered + self.abandoned + self.timed_out;
        (all > 0).then(|| f64::from(self.answered_in_time) / f64::from(all))
    }
}

/// Every queue's counts for one day.
#[derive(Debug, Clone)]
pub struct Today {
    day: Date,
    queues: HashMap<String, Counts>,
}

impl Today {
    pub fn new(day: Date) -> Today {
        Today {
            day,
            queues: HashMap::new(),
        }
    }

    /// The counts of `queue` for `day` (a new day starts from zero).
    fn entry(&mut self, day: Date, queue: &str) -> &mut Counts {
        if day != self.day {
            self.day = day;
            self.queues.clear();
        }
        self.queues.entry(queue.to_string()).or_default()
    }

    /// A call of `queue` was answered after `waited`; `target` is its service level.
    pub fn answered(&mut self, day: Date, queue: &str, waited: Duration, target: Duration) {
        let c = self.entry(day, queue);
        c.answered += 1;
        if waited <= target {
            c.answered_in_time += 1;
        }
    }

    pub fn abandoned(&mut self, day: Date, queue: &str) {
        self.entry(day, queue).abandoned += 1;
    }

    pub fn timed_out(&mut self, day: Date, queue: &str) {
        self.entry(day, queue).timed_out += 1;
    }

    /// `queue`'s counts on `day` (zero on another day).
    pub fn get(&self, day: Date, queue: &str) -> Counts {
        if day != self.day {
            return Counts::default();
        }
        self.queues.get(queue).copied().unwrap_or_default()
    }

    /// Counts a recorded call (one of today's, at start); `target` gives a queue's
    /// service level.
    pub fn seed(&mut self, day: Date, call: &Interaction, target: impl Fn(&str) -> Duration) {
        let Some(queue) = call.queue.as_deref() else {
            return;
        };
        if call.agent_answered_at.is_some() {
            let waited = call
                .derived_wait_seconds()
                .map_or(Duration::ZERO, Duration::from_secs_f64);
            self.answered(day, queue, waited, target(queue));
        } else if call.queued_at.is_some() {
            match call.end_reason {
                Some(EndReason::Caller) => self.abandoned(day, queue),
                Some(EndReason::MaxWait) => self.timed_out(day, queue),
                _ => {}
            }
        }
    }
}

/// Most of today's records read at start (pages of the store's largest page).
const MAX_SEEDED: u32 = 200_000;

/// Today's counts from the day's interaction records (at start); `target` gives a
/// queue's service level. A store that cannot be read starts the day at zero (logged).
pub async fn from_records(
    store: &ringdesk_store::Store,
    target: impl Fn(&str) -> Duration,
) -> Today {
    let now = jiff::Zoned::now();
    let day = now.date();
    let mut today = Today::new(day);
    let Ok(midnight) = now.start_of_day() else {
        return today;
    };
    let page = ringdesk_store::InteractionFilter::MAX_LIMIT;
    let mut offset = 0;
    while offset < MAX_SEEDED {
        let filter = ringdesk_store::InteractionFilter {
            since: Some(midnight.timestamp()),
            limit: Some(page),
            offset: Some(offset),
            ..Default::default()
        };
        match store.list_interactions(filter).await {
            Ok(calls) => {
                for call in &calls {
                    today.seed(day, call, &target);
                }
                if calls.len() < page as usize {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(
                    "today's queue figures start at zero: the records cannot be read: {e}"
                );
                break;
            }
        }
        offset += page;
    }
    today
}

#[cfg(test)]
mod tests {
    use super::*;

    const SL: Duration = Duration::from_secs(20);

    #[test]
    fn the_service_level_is_the_share_answered_in_time_and_a_new_day_starts_at_zero() {
        let d1 = jiff::civil::date(2026, 12, 7);
        let mut t = Today::new(d1);
        assert_eq!(t.get(d1, "support").service_level(), None);
        t.answered(d1, "support", Duration::from_secs(5), SL);
        t.answered(d1, "support", Duration::from_secs(20), SL);
        t.answered(d1, "support", Duration::from_secs(21), SL);
        t.abandoned(d1, "support");
        t.timed_out(d1, "other");
        let c = t.get(d1, "support");
        assert_eq!(
            (c.answered, c.answered_in_time, c.abandoned, c.timed_out),
            (3, 2, 1, 0)
        );
        assert_eq!(c.service_level(), Some(0.5));
        assert_eq!(t.get(d1, "other").service_level(), Some(0.0));
        let d2 = d1.tomorrow().unwrap();
        assert_eq!(t.get(d2, "support"), Counts::default());
        t.abandoned(d2, "support");
        assert_eq!(t.get(d2, "support").abandoned, 1);
        assert_eq!(t.get(d1, "support"), Counts::default(), "yesterday is gone");
    }

    #[test]
    fn recorded_calls_seed_the_day() {
        let day = jiff::civil::date(2026, 12, 7);
        let at = |s: i64| jiff::Timestamp::from_second(1_796_000_000 + s).unwrap();
        let mut answered = Interaction::new("c1", "+1", "support", at(0));
        answered.queue = Some("support".into());
        answered.queued_at = Some(at(10));
        answered.agent_answered_at = Some(at(40));
        let mut abandoned = answered.clone();
        abandoned.agent_answered_at = None;
        abandoned.end_reason = Some(EndReason::Caller);
        let mut ivr_only = abandoned.clone();
        ivr_only.queue = None;
        let mut t = Today::new(day);
        for call in [&answered, &abandoned, &ivr_only] {
            t.seed(day, call, |_| SL);
        }
        let c = t.get(day, "support");
        assert_eq!((c.answered, c.answered_in_time, c.abandoned), (1, 0, 1));
    }
}
