//! Admission by load: refuse new calls (SIP `503` with `Retry-After`) while ringdesk is
//! overloaded, so that the calls it has taken keep good audio instead of every caller's
//! degrading together.
//!
//! Two parts:
//! - [`Governor`], sans-IO: fed `now` and a [`Sample`] of measured load (how late the
//!   media threads send packets, how late the async runtime runs a timer), it answers
//!   admit or shed with hysteresis: shedding starts at a sample above a high mark once
//!   samples above a high mark cover at least half of a short `window` (one late timer is
//!   a hiccup, not overload), and stops once every signal has stayed at or below
//!   its low mark for `hold` (so it does not flap).
//! - [`spawn`], the IO side: a thread of its own that measures both signals every
//!   [`SAMPLE_PERIOD`], feeds the governor and flips the SIP adapter's [`ShedSwitch`],
//!   logging once when shedding starts (with the signal that triggered it) and once when
//!   it stops (with how many calls were refused).

use super::media_worker::MediaWorker;
use super::priority::{self, MediaPriority};
use ringdesk_sip::ShedSwitch;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the load is sampled.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// A high and a low mark for one signal: above `high` counts towards shedding; shedding
/// ends once every signal has stayed at or below its `low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub high: Duration,
    pub low: Duration,
}

/// The governor's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GovernorConfig {
    /// Media threads' lateness: the worst delay, in a sample period, between a packet's
    /// due time and the moment its worker started sending it.
    pub media_late: Marks,
    /// The async runtime's scheduling lag: how late a periodic timer task runs (or, while
    /// it has not run, how overdue it is).
    pub runtime_lag: Marks,
    /// Shedding starts at a sample above a high mark once samples above a high mark (this
    /// one included, each standing for the time since the one before) cover at least
    /// half of the last `window`. Zero: at the first sample above.
    pub window: Duration,
    /// Every signal must stay at or below its low mark this long before new calls are
    /// admitted again (also the shortest time spent shedding).
    pub hold: Duration,
}

/// Most samples kept for the window (more than it can hold at [`SAMPLE_PERIOD`] unless
/// the window is minutes long; older ones are dropped first).
const MAX_WINDOW_SAMPLES: usize = 1024;

/// Which measurement made the governor shed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    MediaLate,
    RuntimeLag,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::MediaLate => "media threads' lateness",
            Signal::RuntimeLag => "async runtime's scheduling lag",
        })
    }
}

/// One measurement of the load. `None`: not measured this time (it neither triggers
/// shedding nor counts as calm).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    pub media_late: Option<Duration>,
    pub runtime_lag: Option<Duration>,
}

/// What a sample changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Shedding starts: `signal` measured `value`, above its high mark `high`.
    Shed {
        signal: Signal,
        value: Duration,
        high: Duration,
    },
    /// Admitting again after shedding for `shed_for`.
    Admit { shed_for: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Admitting,
    Shedding {
        since: Instant,
        /// The last sample with a signal above its low mark (the calm period starts after).
        last_busy: Instant,
    },
}

/// The admit/shed decision with hysteresis. Sans-IO: time comes in with each sample.
#[derive(Debug, Clone)]
pub struct Governor {
    config: GovernorConfig,
    state: State,
    /// While admitting: the samples of the last `window`: when each was taken, whether
    /// it was above a high mark, and the time it stands for (since the sample before).
    recent: VecDeque<Taken>,
    /// When the last sample was taken (the next one stands for the time since).
    last: Option<Instant>,
}

/// One sample in the window.
#[derive(Debug, Clone, Copy)]
struct Taken {
    at: Instant,
    over: bool,
    covers: Duration,
}

impl Governor {
    pub fn new(config: GovernorConfig) -> Governor {
        Governor {
            config,
            state: State::Admitting,
            recent: VecDeque::new(),
            last: None,
        }
    }

    /// True while new calls are to be refused.
    pub fn is_shedding(&self) -> bool {
        matches!(self.state, State::Shedding { .. })
    }

    /// Takes one sample measured at `now`; says when the decision changes.
    pub fn on_sample(&mut self, now: Instant, sample: Sample) -> Option<Change> {
        let signals = [
            (Signal::MediaLate, sample.media_late, self.config.media_late),
            (
                Signal::RuntimeLag,
                sample.runtime_lag,
                self.config.runtime_lag,
            ),
        ];
        if signals.iter().all(|(_, value, _)| value.is_none()) {
            // Not measured: the next sample stands only for the time after this one.
            self.last = Some(now);
            return None;
        }
        // Not calm: a signal measured above its low mark.
        let busy = signals
            .iter()
            .any(|(_, value, marks)| value.is_some_and(|v| v > marks.low));
        // Above a high mark: the signal furthest above its mark names the cause.
        let over = signals
            .iter()
            .filter_map(|&(signal, value, marks)| Some((signal, value?, marks)))
            .filter(|(_, value, marks)| *value > marks.high)
            .max_by(|a, b| ratio(a.1, a.2.high).total_cmp(&ratio(b.1, b.2.high)));
        match self.state {
            State::Admitting => {
                self.remember(now, over.is_some());
                let (signal, value, marks) = over?;
                // Overloaded for at least half of the last window (a sample stands for the
                // time since the one before, so a host too stalled to sample often still
                // counts in full, and one late sample after start-up does not).
                if self.over_in_window(now) * 2 < self.config.window {
                    return None;
                }
                self.recent.clear();
                self.state = State::Shedding {
                    since: now,
                    last_busy: now,
                };
                Some(Change::Shed {
                    signal,
                    value,
                    high: marks.high,
                })
            }
            State::Shedding { since, last_busy } => {
                self.last = Some(now);
                if busy {
                    self.state = State::Shedding {
                        since,
                        last_busy: now.max(last_busy),
                    };
                    return None;
                }
                if now.saturating_duration_since(last_busy) < self.config.hold {
                    return None;
                }
                self.state = State::Admitting;
                Some(Change::Admit {
                    shed_for: now.saturating_duration_since(since),
                })
            }
        }
    }

    /// Adds a sample to the window and drops those older than it (the newest stays).
    fn remember(&mut self, now: Instant, over: bool) {
        // The first sample stands for one period.
        let covers = self
            .last
            .map_or(SAMPLE_PERIOD, |last| now.saturating_duration_since(last));
        self.last = Some(now);
        self.recent.push_back(Taken {
            at: now,
            over,
            covers,
        });
        while self.recent.len() > MAX_WINDOW_SAMPLES
            || (self.recent.len() > 1
                && self
                    .recent
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(t.at) >= self.config.window))
        {
            self.recent.pop_front();
        }
    }

    /// How much of the last `window` (up to `now`) the samples above a mark stand for.
    fn over_in_window(&self, now: Instant) -> Duration {
        let start = now.checked_sub(self.config.window);
        self.recent
            .iter()
            .filter(|t| t.over)
            .map(|t| {
                let from = t.at.checked_sub(t.covers);
                let from = match (from, start) {
                    (Some(f), Some(s)) => f.max(s),
                    (None, Some(s)) => s,
                    (f, None) => f.unwrap_or(t.at),
                };
                t.at.saturating_duration_since(from)
            })
            .sum()
    }
}

/// How far `value` is above `mark`, as a factor (for naming the main cause).
fn ratio(value: Duration, mark: Duration) -> f64 {
    value.as_secs_f64() / mark.as_secs_f64().max(1e-6)
}

/// Keeps the governor's thread running; dropping it stops the thread (within a sample
/// period).
#[derive(Debug)]
pub struct GovernorThread {
    stop: Arc<AtomicBool>,
}

impl Drop for GovernorThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the governor on a thread of its own (outside the async runtime it watches, so
/// that it sees a stalled runtime while the stall lasts and turns `switch` on before the
/// runtime reads the INVITEs that queued up meanwhile). Every [`SAMPLE_PERIOD`] it takes
/// the media workers' worst lateness since the last sample and the runtime's scheduling
/// lag (see [`RuntimeClock`]), and turns `switch` on or off as the governor decides.
/// Must be called inside a tokio runtime.
pub fn spawn(
    config: GovernorConfig,
    media: MediaWorker,
    switch: ShedSwitch,
) -> std::io::Result<GovernorThread> {
    let handle = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
    tracing::info!(
        "overload: new calls get 503 while the media threads run more than {:.0} ms late or \
         the async runtime more than {:.0} ms behind (for half of {:.1} s); admitted \
         again after {:.1} s under {:.0} / {:.0} ms",
        ms(config.media_late.high),
        ms(config.runtime_lag.high),
        config.window.as_secs_f64(),
        config.hold.as_secs_f64(),
        ms(config.media_late.low),
        ms(config.runtime_lag.low),
    );
    let clock = RuntimeClock::start(&handle);
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("ringdesk-governor".into())
        .spawn(move || {
            // Nice -10 when permitted: an overloaded host must not starve the thread that
            // is to notice it (it wakes ten times a second and does almost nothing).
            priority::apply(MediaPriority::High);
            run(config, &media, &switch, &clock, &stopped)
        })?;
    Ok(GovernorThread { stop })
}

fn run(
    config: GovernorConfig,
    media: &MediaWorker,
    switch: &ShedSwitch,
    clock: &RuntimeClock,
    stop: &AtomicBool,
) {
    let mut governor = Governor::new(config);
    let mut refused_before = switch.refused();
    let mut summary = Summary::default();
    let mut next = Instant::now() + SAMPLE_PERIOD;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        let now = Instant::now();
        // After a stall of this thread, the next sample is one period from now (no burst
        // of catch-up samples).
        next = (next + SAMPLE_PERIOD).max(now + SAMPLE_PERIOD / 2);
        let sample = Sample {
            media_late: Some(media.take_lateness()),
            runtime_lag: Some(clock.sample(now)),
        };
        summary.add(&sample);
        tracing::trace!(
            media_late_ms = ms(sample.media_late.unwrap_or_default()),
            runtime_lag_ms = ms(sample.runtime_lag.unwrap_or_default()),
            "sample"
        );
        match governor.on_sample(now, sample) {
            Some(Change::Shed {
                signal,
                value,
                high,
            }) => {
                switch.set(true);
                refused_before = switch.refused();
                tracing::warn!(
                    %signal,
                    value_ms = ms(value),
                    high_ms = ms(high),
                    "overloaded: refusing new calls with 503 ({signal} {:.1} ms > {:.1} ms)",
                    ms(value),
                    ms(high),
                );
            }
            Some(Change::Admit { shed_for }) => {
                switch.set(false);
                let refused = switch.refused().saturating_sub(refused_before);
                tracing::warn!(
                    refused,
                    shed_for_s = shed_for.as_secs_f64(),
                    "load back to normal: admitting new calls again (refused {refused} in {:.1} s)",
                    shed_for.as_secs_f64(),
                );
            }
            None => {}
        }
        if summary.samples >= 10 {
            tracing::debug!(
                media_late_max_ms = ms(summary.media_late),
                runtime_lag_max_ms = ms(summary.runtime_lag),
                shedding = governor.is_shedding(),
                refused_total = switch.refused(),
                "load"
            );
            summary = Summary::default();
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Measures the async runtime's scheduling lag: a task on the runtime ticks every
/// [`SAMPLE_PERIOD`] and records how late each tick ran (the worst since the last
/// sample) and when it last ran. Read from the governor's thread, the lag is the worse
/// of the late ticks and how overdue the next tick is now, so a stalled runtime shows a
/// growing lag while the stall lasts, not only after it.
struct RuntimeClock {
    shared: Arc<ClockShared>,
}

struct ClockShared {
    /// Origin of the times below.
    base: Instant,
    /// Worst lateness of a tick since the last sample (µs).
    late_us: AtomicU64,
    /// When the last tick ran (µs after `base`).
    last_tick_us: AtomicU64,
}

impl RuntimeClock {
    /// Starts the ticking task on `handle`'s runtime.
    fn start(handle: &tokio::runtime::Handle) -> RuntimeClock {
        let shared = Arc::new(ClockShared {
            base: Instant::now(),
            late_us: AtomicU64::new(0),
            last_tick_us: AtomicU64::new(0),
        });
        let ticks = shared.clone();
        handle.spawn(async move {
            let mut deadline = ticks.base + SAMPLE_PERIOD;
            // Ends when the governor's side is gone.
            while Arc::strong_count(&ticks) > 1 {
                tokio::time::sleep_until(deadline.into()).await;
                let now = Instant::now();
                ticks.late_us.fetch_max(
                    micros(now.saturating_duration_since(deadline)),
                    Ordering::Relaxed,
                );
                ticks.last_tick_us.store(
                    micros(now.saturating_duration_since(ticks.base)),
                    Ordering::Relaxed,
                );
                // After a stall, the next tick is one period from now (no catch-up burst).
                deadline = (deadline + SAMPLE_PERIOD).max(now + SAMPLE_PERIOD / 2);
            }
        });
        RuntimeClock { shared }
    }

    /// The lag seen at `now`; resets the worst late tick.
    fn sample(&self, now: Instant) -> Duration {
        let late = Duration::from_micros(self.shared.late_us.swap(0, Ordering::Relaxed));
        let last_tick = self.shared.base
            + Duration::from_micros(self.shared.last_tick_us.load(Ordering::Relaxed));
        // The next tick was due one period after the last (it may be up to half a
        // period less after a stall: the difference is below any sensible mark).
        let overdue = now
            .saturating_duration_since(last_tick)
            .saturating_sub(SAMPLE_PERIOD);
        late.max(overdue)
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Worst values over about a second, for the debug log.
#[derive(Debug, Default)]
struct Summary {
    samples: u32,
    media_late: Duration,
    runtime_lag: Duration,
}

impl Summary {
    fn add(&mut self, sample: &Sample) {
        self.samples += 1;
        self.media_late = self.media_late.max(sample.media_late.unwrap_or_default());
        self.runtime_lag = self.runtime_lag.max(sample.runtime_lag.unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    //! The governor on virtual time: entering, holding, leaving, no flapping, odd samples.
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn config() -> GovernorConfig {
        GovernorConfig {
            media_late: Marks {
                high: 20 * MS,
                low: 5 * MS,
            },
            runtime_lag: Marks {
                high: 100 * MS,
                low: 20 * MS,
            },
            window: Duration::ZERO,
            hold: Duration::from_secs(2),
        }
    }

    fn sample(media_ms: u64, runtime_ms: u64) -> Sample {
        Sample {
            media_late: Some(Duration::from_millis(media_ms)),
            runtime_lag: Some(Duration::from_millis(runtime_ms)),
        }
    }

    /// Feeds `samples` one period apart from `start`; returns the decision after each and
    /// the changes reported.
    fn run(
        g: &mut Governor,
        start: Instant,
        samples: &[Sample],
    ) -> (Vec<bool>, Vec<(usize, Change)>) {
        let mut states = Vec::new();
        let mut changes = Vec::new();
        for (i, s) in samples.iter().enumerate() {
            if let Some(c) = g.on_sample(start + SAMPLE_PERIOD * i as u32, *s) {
                changes.push((i, c));
            }
            states.push(g.is_shedding());
        }
        (states, changes)
    }

    #[test]
    fn admits_while_signals_stay_under_their_high_marks() {
        let mut g = Governor::new(config());
        let calm: Vec<Sample> = (0..100).map(|i| sample(i % 20, i % 100)).collect();
        let (states, changes) = run(&mut g, Instant::now(), &calm);
        assert!(states.iter().all(|s| !s), "shed on a load under the marks");
        assert!(changes.is_empty());
    }

    #[test]
    fn enters_on_either_signal_and_names_it() {
        let now = Instant::now();
        let mut g = Governor::new(config());
        assert_eq!(
            g.on_sample(now, sample(21, 0)),
            Some(Change::Shed {
                signal: Signal::MediaLate,
                value: 21 * MS,
                high: 20 * MS
            })
        );
        assert!(g.is_shedding());
        let mut g = Governor::new(config());
        assert_eq!(
            g.on_sample(now, sample(3, 150)),
            Some(Change::Shed {
                signal: Signal::RuntimeLag,
                value: 150 * MS,
                high: 100 * MS
            })
        );
        // Both above: the one furthest above its mark (3× against 1.5×) is named.
        let mut g = Governor::new(config());
        match g.on_sample(now, sample(60, 150)) {
            Some(Change::Shed { signal, .. }) => assert_eq!(signal, Signal::MediaLate),
            other => panic!("expected shedding, got {other:?}"),
        }
        // Exactly at the high mark is not above it.
        let mut g = Governor::new(config());
        assert_eq!(g.on_sample(now, sample(20, 100)), None);
        assert!(!g.is_shedding());
    }

    #[test]
    fn holds_until_calm_for_the_hold_time_then_admits() {
        let start = Instant::now();
        let mut g = Governor::new(config());
        // Overload for 1 s, then calm (at or below the low marks) for 3 s.
        let mut samples = vec![sample(40, 0); 10];
        samples.extend(vec![sample(5, 20); 30]);
        let (states, changes) = run(&mut g, start, &samples);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(matches!(changes[0], (0, Change::Shed { .. })));
        // The last busy sample is #9 (0.9 s); 2 s of calm after it ends at #29 (2.9 s).
        assert_eq!(
            changes[1],
            (
                29,
                Change::Admit {
                    shed_for: Duration::from_millis(2900)
                }
            )
        );
        assert!(states[..29].iter().all(|s| *s));
        assert!(states[29..].iter().all(|s| !s));
    }

    #[test]
    fn between_the_marks_it_keeps_shedding_and_does_not_flap() {
        let start = Instant::now();
        let mut g = Governor::new(config());
        // Over the high mark once, then hovering between low and high for 10 s, with a
        // calm sample now and then (shorter than the hold time).
        let mut samples = vec![sample(25, 0)];
        for i in 0..100 {
            samples.push(if i % 7 == 0 {
                sample(1, 1)
            } else {
                sample(12, 50)
            });
        }
        let (states, changes) = run(&mut g, start, &samples);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(
            states.iter().all(|s| *s),
            "stopped shedding while still loaded"
        );
        // Calm again (the last busy sample was #100): admitted after the hold time, once.
        let later = start + SAMPLE_PERIOD * 101;
        let calm = vec![sample(0, 0); 40];
        let (states, changes) = run(&mut g, later, &calm);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(matches!(changes[0], (19, Change::Admit { .. })));
        assert!(!states[39]);
    }

    #[test]
    fn load_around_the_high_mark_sheds_in_episodes_no_shorter_than_the_hold() {
        let start = Instant::now();
        let mut g = Governor::new(config());
        // A signal alternating every sample between above high and calm: one episode, not
        // a flip per sample.
        let samples: Vec<Sample> = (0..200)
            .map(|i| {
                if i % 2 == 0 {
                    sample(30, 0)
                } else {
                    sample(0, 0)
                }
            })
            .collect();
        let (_, changes) = run(&mut g, start, &samples);
        assert_eq!(changes.len(), 1, "{changes:?}");
        // Spikes every 3 s (above high) with calm between: each episode lasts at least the
        // hold time, and it admits between episodes.
        let mut g = Governor::new(config());
        let samples: Vec<Sample> = (0..300)
            .map(|i| {
                if i % 30 == 0 {
                    sample(30, 0)
                } else {
                    sample(0, 0)
                }
            })
            .collect();
        let (_, changes) = run(&mut g, start, &samples);
        assert_eq!(changes.len(), 20, "{changes:?}");
        for pair in changes.chunks(2) {
            let [(i, Change::Shed { .. }), (j, Change::Admit { shed_for })] = pair else {
                panic!("expected shed then admit, got {pair:?}");
            };
            assert!(*shed_for >= config().hold);
            assert_eq!(j - i, 20);
        }
    }

    #[test]
    fn with_a_window_it_sheds_when_most_recent_samples_are_over_a_mark() {
        let start = Instant::now();
        let windowed = GovernorConfig {
            window: Duration::from_secs(1),
            ..config()
        };
        // Spikes in a third of the samples (either signal, up to 3 s late), calm or
        // between the marks otherwise: no shedding.
        let mut g = Governor::new(windowed);
        let samples: Vec<Sample> = (0..300)
            .map(|i| match (i + 1) % 3 {
                0 if i % 2 == 0 => sample(0, 3000),
                0 => sample(40, 0),
                1 => sample(10, 50),
                _ => sample(1, 1),
            })
            .collect();
        let (states, changes) = run(&mut g, start, &samples);
        assert!(changes.is_empty(), "{changes:?}");
        assert!(states.iter().all(|s| !s));
        // Over in every other sample: half the window (5 of the last 10) at #19.
        let mut g = Governor::new(windowed);
        let mut samples = vec![sample(1, 1); 10];
        samples.extend((0..10).map(|i| {
            if i % 2 == 1 {
                sample(0, 200)
            } else {
                sample(1, 1)
            }
        }));
        let (states, changes) = run(&mut g, start, &samples);
        assert_eq!(
            changes,
            vec![(
                19,
                Change::Shed {
                    signal: Signal::RuntimeLag,
                    value: 200 * MS,
                    high: 100 * MS
                }
            )]
        );
        assert!(!states[18] && states[19]);
        // Shedding starts only at a sample above a mark: a calm one after a window
        // mostly over (4 of 5 samples) does not start it.
        let mut g = Governor::new(windowed);
        let mut samples = vec![sample(1, 1); 5];
        samples.extend(vec![sample(0, 150); 4]);
        let (_, changes) = run(&mut g, start, &samples);
        assert!(changes.is_empty(), "{changes:?}");
        let after_gap = start + Duration::from_millis(1450);
        assert_eq!(g.on_sample(after_gap, sample(1, 1)), None);
        assert!(!g.is_shedding());
        // Sparse samples (a stalled host samples late): the window holds only the last.
        let mut g = Governor::new(windowed);
        let (_, changes) = run(&mut g, start, &vec![sample(1, 1); 10]);
        assert!(changes.is_empty());
        let late = start + Duration::from_secs(5);
        assert!(g.on_sample(late, sample(0, 1000)).is_some());
        // After shedding, a new episode is judged on new samples only.
        let t = late + Duration::from_secs(3);
        assert!(matches!(
            g.on_sample(t, sample(0, 0)),
            Some(Change::Admit { .. })
        ));
        for i in 0..9 {
            let quiet = t + SAMPLE_PERIOD * (i + 1);
            assert_eq!(g.on_sample(quiet, sample(1, 1)), None);
        }
        assert_eq!(g.on_sample(t + Duration::from_secs(1), sample(50, 0)), None);
        assert!(!g.is_shedding());
    }

    #[test]
    fn with_a_window_overload_must_last_half_of_it_even_right_after_start() {
        let start = Instant::now();
        let windowed = GovernorConfig {
            window: Duration::from_secs(1),
            ..config()
        };
        // Start-up: the very first samples are over (a busy start), then calm. One
        // period over is not half a window.
        let mut g = Governor::new(windowed);
        let mut samples = vec![sample(0, 900); 4];
        samples.extend(vec![sample(1, 1); 20]);
        let (states, changes) = run(&mut g, start, &samples);
        assert!(changes.is_empty(), "{changes:?}");
        assert!(states.iter().all(|s| !s));
        // Over from the start: shedding at the fifth sample (500 ms of the window).
        let mut g = Governor::new(windowed);
        let (states, changes) = run(&mut g, start, &[sample(0, 900); 6]);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].0, 4);
        assert!(!states[3] && states[4]);
        // Unmeasured samples do not make the next one stand for more time.
        let mut g = Governor::new(windowed);
        let mut samples = vec![Sample::default(); 10];
        samples.push(sample(0, 900));
        let (_, changes) = run(&mut g, start, &samples);
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn the_window_keeps_a_bounded_number_of_samples() {
        let start = Instant::now();
        let mut g = Governor::new(GovernorConfig {
            window: Duration::from_secs(600),
            ..config()
        });
        // Many samples at one instant (a caller feeding faster than the period).
        for _ in 0..10 * MAX_WINDOW_SAMPLES {
            assert_eq!(g.on_sample(start, sample(1, 1)), None);
        }
        assert_eq!(g.recent.len(), MAX_WINDOW_SAMPLES);
        // Window zero: only the newest sample counts.
        let mut g = Governor::new(config());
        for i in 0..5 {
            assert_eq!(g.on_sample(start + SAMPLE_PERIOD * i, sample(1, 1)), None);
        }
        assert_eq!(g.recent.len(), 1);
    }

    #[test]
    fn the_runtime_clock_sees_a_stall_while_it_lasts_and_late_ticks_after() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let clock = RuntimeClock::start(rt.handle());
        // Nothing drives the runtime: no tick runs, the lag grows with the wait.
        std::thread::sleep(350 * MS);
        let stalled = clock.sample(Instant::now());
        assert!(stalled >= 250 * MS, "{stalled:?}");
        // Driven again, the first tick runs at least 250 ms after it was due; that
        // lateness is reported once, then reset.
        rt.block_on(async { tokio::time::sleep(30 * MS).await });
        let t = clock.shared.base;
        let after = clock.sample(t);
        assert!(after >= 250 * MS, "{after:?}");
        assert_eq!(clock.sample(t), Duration::ZERO);
        assert!(clock.shared.last_tick_us.load(Ordering::Relaxed) >= 350_000);
    }

    #[test]
    fn missing_samples_neither_trigger_nor_count_as_calm() {
        let start = Instant::now();
        let mut g = Governor::new(config());
        assert_eq!(g.on_sample(start, Sample::default()), None);
        assert!(!g.is_shedding());
        assert!(g.on_sample(start, sample(50, 0)).is_some());
        // 10 s of empty samples: still shedding (no evidence of calm).
        for i in 1..=100 {
            assert_eq!(
                g.on_sample(start + SAMPLE_PERIOD * i, Sample::default()),
                None
            );
        }
        assert!(g.is_shedding());
        // One signal missing, the other decides.
        let media_only = Sample {
            media_late: Some(MS),
            runtime_lag: None,
        };
        let t = start + Duration::from_secs(11);
        assert!(matches!(
            g.on_sample(t, media_only),
            Some(Change::Admit { .. })
        ));
        let runtime_only = Sample {
            media_late: None,
            runtime_lag: Some(Duration::from_secs(1)),
        };
        assert!(matches!(
            g.on_sample(t, runtime_only),
            Some(Change::Shed {
                signal: Signal::RuntimeLag,
                ..
            })
        ));
    }

    #[test]
    fn extreme_values_and_time_going_backwards_are_handled() {
        let start = Instant::now() + Duration::from_secs(3600);
        let mut g = Governor::new(config());
        let huge = Sample {
            media_late: Some(Duration::MAX),
            runtime_lag: Some(Duration::MAX),
        };
        assert!(g.on_sample(start, huge).is_some());
        // A calm sample stamped before the last busy one does not shorten the hold.
        let earlier = start - Duration::from_secs(60);
        assert_eq!(g.on_sample(earlier, sample(0, 0)), None);
        assert_eq!(
            g.on_sample(start + Duration::from_secs(1), sample(0, 0)),
            None
        );
        assert!(g.is_shedding());
        assert!(matches!(
            g.on_sample(start + Duration::from_secs(2), sample(0, 0)),
            Some(Change::Admit { .. })
        ));
        // Zero marks: any lateness at all is over the mark, none is not.
        let zero = GovernorConfig {
            media_late: Marks {
                high: Duration::ZERO,
                low: Duration::ZERO,
            },
            ..config()
        };
        let mut g = Governor::new(zero);
        assert_eq!(g.on_sample(start, sample(0, 0)), None);
        assert!(g
            .on_sample(
                start,
                Sample {
                    media_late: Some(Duration::from_nanos(1)),
                    runtime_lag: None
                }
            )
            .is_some());
    }
}
