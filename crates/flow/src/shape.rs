//! What a flow reads of its variables' values ([`Reads`], one [`Shape`] per variable), and
//! how a value is cut down to what is read. Worked out from the templates in `reads.rs`;
//! used by `vars.rs` to keep only that. A leaf: it imports no other module of the flow.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

/// What is read of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// All of it.
    Whole,
    /// Nothing: an object or list is kept empty.
    Nothing,
    /// Of an object: these fields (each with what is read of it), and its emptiness. Any
    /// other value is kept whole.
    Fields(BTreeMap<String, Shape>),
}

impl Shape {
    /// Adds the read of `path` below this shape.
    pub(crate) fn add_path(&mut self, path: &[&str]) {
        let Shape::Fields(fields) = self else {
            return;
        };
        let Some((first, rest)) = path.split_first() else {
            *self = Shape::Whole;
            return;
        };
        fields
            .entry((*first).to_string())
            .or_insert_with(|| Shape::Fields(BTreeMap::new()))
            .add_path(rest);
    }

    /// The part of `value` this shape reads. Objects keep the fields named (pruned in
    /// turn) and their emptiness: an object none of whose fields are named keeps its first
    /// key, as `null` (nothing can read that key: it would have been named).
    pub(crate) fn prune(&self, value: Json) -> Json {
        let (fields, mut map) = match (self, value) {
            (Shape::Fields(fields), Json::Object(map)) => (fields, map),
            (Shape::Nothing, Json::Object(_)) => return Json::Object(serde_json::Map::new()),
            (Shape::Nothing, Json::Array(_)) => return Json::Array(Vec::new()),
            (_, other) => return other,
        };
        let mut kept = serde_json::Map::new();
        for (name, shape) in fields {
            if let Some(v) = map.remove(name) {
                kept.insert(name.clone(), shape.prune(v));
            }
        }
        if kept.is_empty() {
            // Nothing was taken out: the first key is the object's own.
            if let Some((k, _)) = map.into_iter().next() {
                kept.insert(k, Json::Null);
            }
        }
        Json::Object(kept)
    }
}

/// What the flow reads of each variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reads {
    /// Every variable is kept whole.
    pub(crate) everything: bool,
    /// Variables read whole (or outside templates).
    pub(crate) whole: BTreeSet<String>,
    /// Variables read only by path or for their truth.
    pub(crate) fields: BTreeMap<String, Shape>,
}

impl Reads {
    /// Reads that keep every value whole (prune nothing).
    pub(crate) fn everything() -> Reads {
        Reads {
            everything: true,
            whole: BTreeSet::new(),
            fields: BTreeMap::new(),
        }
    }

    /// What is read of `name` (`None`: all of it; [`Shape::Nothing`] when nothing reads it).
    pub(crate) fn shape(&self, name: &str) -> Option<Shape> {
        if self.everything || self.whole.contains(name) {
            return None;
        }
        Some(self.fields.get(name).cloned().unwrap_or(Shape::Nothing))
    }
}
