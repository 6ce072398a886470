//! CPU time and memory of a process from `/proc/<pid>`: utime+stime (stat), VmRSS
//! (status) and Pss (smaps_rollup).

use std::path::PathBuf;

/// One sample of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// User + system CPU seconds so far.
    pub cpu_s: f64,
    pub rss_kib: u64,
    pub pss_kib: u64,
}

/// Reads a sample; `None` when the process is gone or the files are unreadable.
pub fn sample(pid: u32) -> Option<Sample> {
    let base = PathBuf::from(format!("/proc/{pid}"));
    let stat = std::fs::read_to_string(base.join("stat")).ok()?;
    let status = std::fs::read_to_string(base.join("status")).ok()?;
    let rollup = std::fs::read_to_string(base.join("smaps_rollup")).unwrap_or_default();
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = cpu_ticks(&stat)?;
    Some(Sample {
        cpu_s: ticks as f64 / (if tck > 0 { tck as f64 } else { 100.0 }),
        rss_kib: kib_field(&status, "VmRSS:").unwrap_or(0),
        pss_kib: kib_field(&rollup, "Pss:").unwrap_or(0),
    })
}

/// utime + stime from the text of `/proc/<pid>/stat` (fields 14 and 15; the command
/// name in parentheses may contain spaces, so fields are counted after the last `)`).
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' the first field is field 3 (state): utime is field 14 → index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The kB value of a `Name:   123 kB` line.
pub fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(cpu_ticks(stat), Some(325));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn reads_kib_fields() {
        let status = "Name:\tx\nVmRSS:\t   20480 kB\nThreads:\t9\n";
        assert_eq!(kib_field(status, "VmRSS:"), Some(20480));
        assert_eq!(kib_field(status, "Pss:"), None);
    }

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_kib > 0);
    }
}
