//! The governor on virtual time: entering, holding, leaving, no flapping, odd samples.

use super::*;
use crate::config::Marks;

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
fn run(g: &mut Governor, start: Instant, samples: &[Sample]) -> (Vec<bool>, Vec<(usize, Change)>) {
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
