//! How many calls entered each node of each flow today (since local midnight), for the
//! wallboard's flow picture. The call tasks count every node a call enters; only the
//! configured flows' nodes are kept, so the table is bounded by the flows. Not kept
//! across a restart: the day's figures start again (the records keep what each call did).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

#[derive(Default)]
struct Day {
    day: Option<jiff::civil::Date>,
    counts: HashMap<(String, String), u64>,
}

/// Today's node entries of every configured flow.
pub struct FlowCounts {
    /// The (flow, node) pairs that may be counted.
    known: HashSet<(String, String)>,
    day: Mutex<Day>,
}

impl FlowCounts {
    /// Counts for the nodes of `flows`.
    pub fn new<'a>(flows: impl IntoIterator<Item = &'a ringdesk_flow::Flow>) -> FlowCounts {
        let known = flows
            .into_iter()
            .flat_map(|f| {
                f.graph()
                    .nodes
                    .into_iter()
                    .map(move |n| (f.name().to_string(), n.name))
            })
            .collect();
        FlowCounts {
            known,
            day: Mutex::new(Day::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Day> {
        self.day.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A call of `flow` entered `node` on `day`.
    pub fn entered(&self, day: jiff::civil::Date, flow: &str, node: &str) {
        let key = (flow.to_string(), node.to_string());
        if !self.known.contains(&key) {
            return;
        }
        let mut d = self.lock();
        if d.day != Some(day) {
            d.day = Some(day);
            d.counts.clear();
        }
        *d.counts.entry(key).or_default() += 1;
    }

    /// `day`'s counts: flow → node → calls (nodes no call entered are absent).
    pub fn today(&self, day: jiff::civil::Date) -> BTreeMap<String, BTreeMap<String, u64>> {
        let d = self.lock();
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        if d.day == Some(day) {
            for ((flow, node), n) in &d.counts {
                out.entry(flow.clone())
                    .or_default()
                    .insert(node.clone(), *n);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_of_known_flows_are_counted_per_day() {
        let flow = ringdesk_flow::load_str(
            "name: t\nstart: a\nnodes:\n  a:\n    disconnect: {}\n",
            "t.yaml",
        )
        .unwrap();
        let counts = FlowCounts::new([&flow]);
        let d1 = jiff::civil::date(2026, 12, 7);
        counts.entered(d1, "t", "a");
        counts.entered(d1, "t", "a");
        counts.entered(d1, "t", "forged");
        counts.entered(d1, "other", "a");
        assert_eq!(counts.today(d1)["t"]["a"], 2);
        assert_eq!(
            counts.today(d1).len(),
            1,
            "unknown flows and nodes are not kept"
        );
        let d2 = d1.tomorrow().unwrap();
        assert!(counts.today(d2).is_empty());
        counts.entered(d2, "t", "a");
        assert_eq!(counts.today(d2)["t"]["a"], 1);
        assert!(counts.today(d1).is_empty(), "yesterday is gone");
    }
}
