//! A flow as a graph, for pictures (the wallboard draws one): its nodes with their
//! activity, exits and targets, the text each node has in the file (from its name's line
//! to the next node's), the start node and the event handlers' first nodes.

use crate::model::Flow;
use serde::Serialize;
use std::collections::BTreeMap;

/// Longest text kept of one node's definition.
pub const MAX_NODE_SOURCE: usize = 4_000;

/// One node of the picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphNode {
    pub name: String,
    /// The activity's keyword (`play`, `menu`, `http`, ...).
    pub activity: &'static str,
    /// (exit, target node), in the file's exit order by name.
    pub exits: Vec<(String, String)>,
    /// Its line in the flow file (1-based).
    pub line: usize,
    /// Its definition as written (bounded by [`MAX_NODE_SOURCE`]).
    pub source: String,
}

/// A flow for a picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Graph {
    pub name: String,
    pub description: String,
    pub start: String,
    /// (event, its handler's first node).
    pub handlers: Vec<(String, String)>,
    pub nodes: Vec<GraphNode>,
}

/// Each node's (line, text) in `source`: from the node's name to the line before the
/// next node's name (or the end of the `nodes` block), without trailing blank lines.
pub(crate) fn node_sources(
    source: &str,
    lines: &BTreeMap<String, usize>,
) -> BTreeMap<String, (usize, String)> {
    let text: Vec<&str> = source.lines().collect();
    let mut starts: Vec<(usize, &String)> = lines.iter().map(|(n, l)| (*l, n)).collect();
    starts.sort();
    let mut out = BTreeMap::new();
    for (i, (line, name)) in starts.iter().enumerate() {
        let first = line.saturating_sub(1);
        let mut end = starts.get(i + 1).map_or(text.len(), |(l, _)| l - 1);
        // The last node ends where the indentation returns to the file's top level.
        if i + 1 == starts.len() {
            end = text
                .iter()
                .enumerate()
                .skip(first + 1)
                .find(|(_, l)| !l.is_empty() && !l.starts_with([' ', '\t', '#']))
                .map_or(text.len(), |(j, _)| j);
        }
        let mut body: Vec<&str> = text
            .get(first..end.min(text.len()))
            .unwrap_or_default()
            .to_vec();
        while body
            .last()
            .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            body.pop();
        }
        let mut s: String = body.join("\n");
        if s.len() > MAX_NODE_SOURCE {
            let mut cut = MAX_NODE_SOURCE;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        out.insert((*name).clone(), (*line, s));
    }
    out
}

impl Flow {
    /// The flow as a graph, for a picture.
    pub fn graph(&self) -> Graph {
        let nodes = self
            .nodes
            .values()
            .map(|n| {
                let (line, source) = self.node_source.get(&n.name).cloned().unwrap_or_default();
                GraphNode {
                    name: n.name.clone(),
                    activity: n.activity.keyword(),
                    exits: n
                        .exits
                        .iter()
                        .map(|(e, t)| (e.clone(), t.clone()))
                        .collect(),
                    line,
                    source,
                }
            })
            .collect();
        Graph {
            name: self.name.clone(),
            description: self.description.clone(),
            start: self.start.clone(),
            handlers: self
                .handlers
                .iter()
                .map(|(e, n)| (e.name().to_string(), n.clone()))
                .collect(),
            nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    const FLOW: &str = "name: t
start: hello
nodes:
  hello:
    play: { say: Hi }
    next: bye

  # the end
  bye:
    disconnect: {}
events:
  call_ended: bye
";

    #[test]
    fn every_node_with_its_exits_text_and_line() {
        let flow = crate::load_str(FLOW, "t.yaml").unwrap();
        let g = flow.graph();
        assert_eq!((g.name.as_str(), g.start.as_str()), ("t", "hello"));
        assert_eq!(g.handlers, [("call_ended".to_string(), "bye".to_string())]);
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["bye", "hello"]);
        let hello = &g.nodes[1];
        assert_eq!((hello.activity, hello.line), ("play", 4));
        assert_eq!(hello.exits, [("out".to_string(), "bye".to_string())]);
        assert_eq!(
            hello.source,
            "  hello:\n    play: { say: Hi }\n    next: bye"
        );
        assert_eq!(g.nodes[0].source, "  bye:\n    disconnect: {}");
    }

    #[test]
    fn the_default_flow_has_a_picture_of_every_node() {
        let source = include_str!("../../../flows/zendesk-ticket-status.yaml");
        let flow = crate::load_str(source, "default.yaml").unwrap();
        let g = flow.graph();
        assert!(g.nodes.len() > 20);
        for n in &g.nodes {
            assert!(
                n.source.trim_start().starts_with(&format!("{}:", n.name)),
                "{}",
                n.name
            );
            assert!(n.line > 0);
        }
    }
}
