//! Scheduling priority of the media threads. A packet is due every 20 ms per call and a
//! late wake-up delays every stream of a worker at once, so the media threads ask the
//! kernel to run them before ordinary work (builds, SQLite, TTS) when they wake; they
//! sleep almost all the time, so this costs others nothing. Without the privilege
//! (CAP_SYS_NICE, or an RLIMIT_RTPRIO / RLIMIT_NICE allowance) it falls back to the
//! next level and says which applied.

use serde::Deserialize;

/// `[media] priority`, highest first (the order compares them: `Realtime < Normal`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaPriority {
    /// SCHED_FIFO (real-time, priority [`RT_PRIORITY`]): runs as soon as it wakes.
    #[default]
    Realtime,
    /// Nice -10 under the normal scheduler.
    High,
    /// Like every other thread.
    Normal,
}

/// SCHED_FIFO priority asked for (1-99; low, so kernel threads and audio stacks that
/// ask for more still come first).
pub const RT_PRIORITY: i32 = 10;
/// Nice value of [`MediaPriority::High`].
const HIGH_NICE: i32 = -10;

impl std::fmt::Display for MediaPriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MediaPriority::Realtime => "realtime",
            MediaPriority::High => "high",
            MediaPriority::Normal => "normal",
        })
    }
}

/// Applies `want` (or the best level below it that the kernel allows) to the calling
/// thread; returns the level that applied.
pub fn apply(want: MediaPriority) -> MediaPriority {
    if want == MediaPriority::Realtime && set_realtime() {
        return MediaPriority::Realtime;
    }
    if want != MediaPriority::Normal && set_nice(HIGH_NICE) {
        return MediaPriority::High;
    }
    MediaPriority::Normal
}

#[cfg(target_os = "linux")]
fn set_realtime() -> bool {
    let param = libc::sched_param {
        sched_priority: RT_PRIORITY,
    };
    // SAFETY: pthread_self() is the calling thread; `param` is a valid sched_param.
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) == 0 }
}

#[cfg(target_os = "linux")]
fn set_nice(nice: i32) -> bool {
    // SAFETY: gettid has no preconditions; on Linux, PRIO_PROCESS with a thread id sets
    // that thread's nice value only.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn set_realtime() -> bool {
    false
}

#[cfg(not(target_os = "linux"))]
fn set_nice(_nice: i32) -> bool {
    false
}

/// The calling thread's scheduling policy and nice value.
#[cfg(all(test, target_os = "linux"))]
fn current() -> (i32, i32) {
    // SAFETY: plain queries of the calling thread.
    unsafe {
        let policy = libc::sched_getscheduler(0);
        let nice = libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t);
        (policy, nice)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn each_level_applies_or_falls_back_to_a_lower_one() {
        // In a fresh thread each time, so the test thread keeps its own priority.
        let run = |want| {
            std::thread::spawn(move || (apply(want), current()))
                .join()
                .unwrap()
        };
        let (got, (policy, nice)) = run(MediaPriority::Normal);
        assert_eq!(got, MediaPriority::Normal);
        assert_eq!(policy, libc::SCHED_OTHER);
        let base = nice;
        let (got, (policy, nice)) = run(MediaPriority::High);
        match got {
            MediaPriority::High => assert_eq!((policy, nice), (libc::SCHED_OTHER, HIGH_NICE)),
            MediaPriority::Normal => assert_eq!(nice, base),
            MediaPriority::Realtime => panic!("high never becomes realtime"),
        }
        let (got, (policy, _)) = run(MediaPriority::Realtime);
        match got {
            MediaPriority::Realtime => assert_eq!(policy, libc::SCHED_FIFO),
            _ => assert_eq!(policy, libc::SCHED_OTHER),
        }
    }

    #[test]
    fn config_names() {
        #[derive(Deserialize)]
        struct T {
            p: MediaPriority,
        }
        for (s, want) in [
            ("realtime", MediaPriority::Realtime),
            ("high", MediaPriority::High),
            ("normal", MediaPriority::Normal),
        ] {
            let t: T = toml::from_str(&format!("p = \"{s}\"")).unwrap();
            assert_eq!(t.p, want);
            assert_eq!(want.to_string(), s);
        }
        assert!(toml::from_str::<T>("p = \"urgent\"").is_err());
    }
}
