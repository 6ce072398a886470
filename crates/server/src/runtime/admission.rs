//! Admission by load, the IO side: refuse new calls (SIP `503` with `Retry-After`) while
//! ringdesk is overloaded, so that the calls it has taken keep good audio instead of every
//! caller's degrading together.
//!
//! The decision is `ringdesk_overload::Governor` (sans-IO, fed `now` and a `Sample`, with
//! hysteresis). This module is what feeds and obeys it: [`spawn`] starts a thread of its
//! own that measures how late the media threads send packets and how late the async
//! runtime runs a timer every [`SAMPLE_PERIOD`], feeds the governor and flips the SIP
//! adapter's [`ShedSwitch`], logging once when shedding starts (with the signal that
//! triggered it) and once when it stops (with how many calls were refused).

use super::media_worker::MediaWorker;
use super::priority::{self, MediaPriority};
use ringdesk_overload::{Change, Governor, GovernorConfig, Sample, SAMPLE_PERIOD};
use ringdesk_sip::ShedSwitch;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    //! The runtime clock on a real runtime (the governor's own tests, on virtual time, are
    //! in the overload crate).
    use super::*;

    const MS: Duration = Duration::from_millis(1);

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
}
