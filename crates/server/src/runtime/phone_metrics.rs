//! Counters of the agents' browser phones for `/metrics`: legs rung, connected, declined,
//! failed (bad answer, no connection), lost mid-call, and datagrams the legs refused
//! (not for them, malformed, too long). Process-wide atomics (one server per process).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a browser leg went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Rung,
    Connected,
    Declined,
    Failed,
    Lost,
}

const OUTCOMES: [(Outcome, &str); 5] = [
    (Outcome::Rung, "rung"),
    (Outcome::Connected, "connected"),
    (Outcome::Declined, "declined"),
    (Outcome::Failed, "failed"),
    (Outcome::Lost, "lost"),
];

static COUNTS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
static REJECTED: AtomicU64 = AtomicU64::new(0);

fn index(o: Outcome) -> usize {
    OUTCOMES.iter().position(|(x, _)| *x == o).unwrap_or(0)
}

/// One leg reached `outcome`.
pub fn leg(outcome: Outcome) {
    if let Some(c) = COUNTS.get(index(outcome)) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Legs that reached `outcome` since the start.
pub fn legs(outcome: Outcome) -> u64 {
    COUNTS
        .get(index(outcome))
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

/// A leg refused `n` more datagrams.
pub fn rejected(n: u64) {
    REJECTED.fetch_add(n, Ordering::Relaxed);
}

/// Appends the counters in the Prometheus text format.
pub fn render(out: &mut String) {
    out.push_str(
        "# HELP ringdesk_browser_legs_total Calls offered to agents' browser phones, by what became of them.\n# TYPE ringdesk_browser_legs_total counter\n",
    );
    for (o, name) in OUTCOMES {
        let _ = writeln!(
            out,
            "ringdesk_browser_legs_total{{outcome=\"{name}\"}} {}",
            legs(o)
        );
    }
    out.push_str(
        "# HELP ringdesk_browser_datagrams_rejected_total Datagrams on browser legs' ports that were not theirs, malformed or too long.\n# TYPE ringdesk_browser_datagrams_rejected_total counter\n",
    );
    let _ = writeln!(
        out,
        "ringdesk_browser_datagrams_rejected_total {}",
        REJECTED.load(Ordering::Relaxed)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_by_outcome() {
        let before = legs(Outcome::Lost);
        leg(Outcome::Lost);
        assert_eq!(legs(Outcome::Lost), before + 1);
        let mut out = String::new();
        render(&mut out);
        assert!(
            out.contains("ringdesk_browser_legs_total{outcome=\"lost\"}"),
            "{out}"
        );
        assert!(
            out.contains("ringdesk_browser_datagrams_rejected_total "),
            "{out}"
        );
    }
}
