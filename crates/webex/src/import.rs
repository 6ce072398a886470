//! The import: walks the export's graph from the start activity and from each event
//! handler, maps every activity it reaches to a ringdesk node (`activities.rs`), follows
//! the exits each mapping uses, and reports what it could not take along.
//!
//! An activity ringdesk cannot run is reported and stepped over when that keeps the graph
//! whole (its `default`/`out` exit, or its only target); one with no exit becomes an
//! `end`; one with several exits and no default stops the import with an error naming it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::activities;
use crate::error::ImportError;
use crate::export::{Activity, Export, Link};
use crate::names::Names;
use crate::pebble::{self, Translation};
use crate::report::{Mapped, Place, Report};
use crate::scope::Scope;
use crate::yaml::Y;
use crate::ImportOptions;

/// Event names (the `event` property, or the event specification's name) → ringdesk's.
const EVENTS: [(&str, &str); 10] = [
    ("AgentOffered", "agent_offered"),
    ("AgentOfferContact", "agent_offered"),
    ("AgentAnswered", "agent_answered"),
    ("AgentContactAssigned", "agent_answered"),
    ("AgentDisconnected", "agent_disconnected"),
    ("FCAsk(ContactLastAgentRemoved)", "agent_disconnected"),
    ("PhoneContactEnded", "call_ended"),
    ("ContactEnded", "call_ended"),
    ("OnGlobalError", "error"),
    ("GlobalErrorHandling", "error"),
];

/// One ringdesk node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub name: String,
    /// Comment lines written above it.
    pub comment: Vec<String>,
    pub description: Option<String>,
    /// The activity key and its body.
    pub activity: (String, Y),
    /// `next:` (one exit) or `exits:`.
    pub next: Option<String>,
    pub exits: Vec<(String, String)>,
    /// The Webex activity it came from (none for generated nodes).
    pub source: Option<String>,
}

/// What one activity's mapping produced.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    pub key: &'static str,
    pub body: Y,
    pub next: Option<String>,
    pub exits: Vec<(String, String)>,
    /// The Webex exits (`conditionExpr`) the mapping took along.
    pub used: Vec<String>,
}

/// How an activity is carried over.
enum Plan {
    Node,
    /// Not supported: stepped over to this activity.
    Pass(String),
}

/// The import in progress.
pub(crate) struct Ctx<'e> {
    pub export: &'e Export,
    pub opts: &'e ImportOptions,
    pub report: Report,
    pub scope: Scope,
    activities: BTreeMap<&'e str, &'e Activity>,
    links: Vec<&'e Link>,
    names: Names,
    node_of: BTreeMap<String, String>,
    queue: VecDeque<String>,
    passed: BTreeSet<String>,
    pub nodes: Vec<Node>,
    unwired: Option<String>,
    pub handlers: Vec<(String, String)>,
    pub start: String,
    pub start_activity: &'e Activity,
    once: BTreeSet<String>,
}

/// Runs the import of a parsed export.
pub(crate) fn run<'e>(export: &'e Export, opts: &'e ImportOptions) -> Result<Ctx<'e>, ImportError> {
    let starts: Vec<&Activity> = export
        .main
        .activities
        .iter()
        .filter(|a| a.is_start())
        .collect();
    let start_activity = match starts.as_slice() {
        [] => return Err(ImportError::NoStart),
        [one] => *one,
        several => {
            return Err(ImportError::SeveralStarts {
                labels: several
                    .iter()
                    .map(|a| format!("`{}`", a.label))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    };
    let mut activities = BTreeMap::new();
    let events = export.events.iter().flat_map(|p| p.activities.iter());
    for a in export.main.activities.iter().chain(events) {
        if activities.insert(a.id.as_str(), a).is_some() {
            return Err(ImportError::BadField {
                path: a.path.clone(),
                problem: format!("activity id `{}` is used twice", a.id),
            });
        }
    }
    let links: Vec<&Link> = export
        .main
        .links
        .iter()
        .chain(export.events.iter().flat_map(|p| p.links.iter()))
        .collect();
    let (scope, var_problems) = Scope::new(export, &start_activity.label);
    let mut cx = Ctx {
        export,
        opts,
        report: Report {
            flow: export.name.clone(),
            ..Report::default()
        },
        scope,
        activities,
        links,
        names: Names::default(),
        node_of: BTreeMap::new(),
        queue: VecDeque::new(),
        passed: BTreeSet::new(),
        nodes: Vec::new(),
        unwired: None,
        handlers: Vec::new(),
        start: String::new(),
        start_activity,
        once: BTreeSet::new(),
    };
    for (v, message) in var_problems {
        let place = Place {
            label: v.name.clone(),
            activity_type: "variable".into(),
            path: v.path.clone(),
        };
        if message.starts_with("renamed") {
            cx.report.push_note(place, message);
        } else {
            cx.report.push_unsupported(place, message);
        }
    }
    cx.start_mapping();
    let first = cx
        .exit(&start_activity.id, "out")
        .or_else(|| {
            cx.links_from(&start_activity.id)
                .first()
                .map(|l| l.to.clone())
        })
        .ok_or_else(|| ImportError::StartNotLinked {
            label: start_activity.label.clone(),
            path: start_activity.path.clone(),
        })?;
    cx.start = cx.node_ref(&first)?;
    cx.drain()?;
    cx.events()?;
    cx.unreachable();
    Ok(cx)
}

impl<'e> Ctx<'e> {
    fn start_mapping(&mut self) {
        let a = self.start_activity;
        self.report.mapped.push(Mapped {
            place: place(a, &a.path),
            node: "(start)".into(),
            activity: "start".into(),
        });
    }

    /// `true` the first time `key` is seen (for report items said once per flow).
    pub fn once(&mut self, key: String) -> bool {
        self.once.insert(key)
    }

    /// Links leaving an activity.
    pub fn links_from(&self, id: &str) -> Vec<&'e Link> {
        self.links
            .iter()
            .copied()
            .filter(|l| l.from == id)
            .collect()
    }

    /// The target id of an activity's exit.
    pub fn exit(&self, id: &str, cond: &str) -> Option<String> {
        self.links
            .iter()
            .find(|l| l.from == id && l.cond == cond)
            .map(|l| l.to.clone())
    }

    /// The node an exit of `a` goes to, by the first of `conds` that is linked; `None`
    /// when none is.
    pub fn target(&mut self, a: &Activity, conds: &[&str]) -> Result<Option<String>, ImportError> {
        for c in conds {
            if let Some(to) = self.exit(&a.id, c) {
                return self.node_ref(&to).map(Some);
            }
        }
        Ok(None)
    }

    /// A node for exits the export leaves unwired where ringdesk needs one: it ends the
    /// thread (Webex would end the flow or run its global error handler).
    pub fn unwired(&mut self) -> String {
        if let Some(n) = &self.unwired {
            return n.clone();
        }
        let name = self.names.node("unwired_exit");
        self.nodes.push(Node {
            name: name.clone(),
            comment: vec![
                "Generated: exits the export leaves unwired, where ringdesk needs one, end here."
                    .into(),
            ],
            description: None,
            activity: ("end".into(), Y::Map(Vec::new())),
            next: None,
            exits: Vec::new(),
            source: None,
        });
        self.unwired = Some(name.clone());
        name
    }

    /// The node name of an activity (stepping over unsupported ones), queued for mapping
    /// the first time it is named.
    pub fn node_ref(&mut self, id: &str) -> Result<String, ImportError> {
        let mut seen = Vec::new();
        let mut cur = id.to_string();
        loop {
            let Some(a) = self.activities.get(cur.as_str()).copied() else {
                return Err(ImportError::BadField {
                    path: "$.process.links".into(),
                    problem: format!("no activity `{cur}`"),
                });
            };
            match self.plan(a)? {
                Plan::Node => break,
                Plan::Pass(to) => {
                    if seen.contains(&cur) {
                        return Err(ImportError::UnsupportedLoop {
                            label: a.label.clone(),
                            path: a.path.clone(),
                        });
                    }
                    if self.passed.insert(cur.clone()) {
                        let target = self
                            .activities
                            .get(to.as_str())
                            .map(|t| t.label.clone())
                            .unwrap_or_default();
                        let why = if a.kind == "screen-pop" {
                            " (ringdesk's agents get their own screen pop: the caller and the \
                             helpdesk's ticket link, on the desk phone and the agent desktop)"
                        } else {
                            ""
                        };
                        self.report.push_unsupported(
                            place(a, &a.path),
                            format!(
                                "activity type `{}` is not supported: stepped over, the flow \
                                 goes on to `{target}`{why}",
                                a.kind
                            ),
                        );
                    }
                    seen.push(cur.clone());
                    cur = to;
                }
            }
        }
        if let Some(n) = self.node_of.get(&cur) {
            return Ok(n.clone());
        }
        let a = self.activities[cur.as_str()];
        let name = self.names.node(&a.label);
        self.node_of.insert(cur.clone(), name.clone());
        self.queue.push_back(cur);
        Ok(name)
    }

    fn plan(&self, a: &Activity) -> Result<Plan, ImportError> {
        if a.is_start() || a.kind == "event" {
            return Err(ImportError::BadField {
                path: a.path.clone(),
                problem: format!("a link goes into `{}`, which starts a flow", a.label),
            });
        }
        if activities::SUPPORTED.contains(&a.kind.as_str()) {
            return Ok(Plan::Node);
        }
        let links = self.links_from(&a.id);
        let targets: BTreeSet<&str> = links.iter().map(|l| l.to.as_str()).collect();
        if let Some(l) = links
            .iter()
            .find(|l| l.cond == "default" || l.cond == "out")
        {
            return Ok(Plan::Pass(l.to.clone()));
        }
        match targets.len() {
            0 => Ok(Plan::Node),
            1 => Ok(Plan::Pass(links[0].to.clone())),
            _ => Err(ImportError::UnsupportedActivity {
                label: a.label.clone(),
                activity_type: a.kind.clone(),
                path: a.path.clone(),
            }),
        }
    }

    /// Maps every queued activity.
    fn drain(&mut self) -> Result<(), ImportError> {
        while let Some(id) = self.queue.pop_front() {
            let a = self.activities[id.as_str()];
            let name = self.node_of[&id].clone();
            let m = activities::map(self, a)?;
            for l in self.links_from(&a.id) {
                if !m.used.contains(&l.cond) {
                    let to = self
                        .activities
                        .get(l.to.as_str())
                        .map(|t| t.label.clone())
                        .unwrap_or_default();
                    self.report.push_unsupported(
                        place(a, &l.path),
                        format!(
                            "exit `{}` (to `{to}`) has no ringdesk equivalent for this activity: \
                             left out",
                            l.cond
                        ),
                    );
                }
            }
            self.report.mapped.push(Mapped {
                place: place(a, &a.path),
                node: name.clone(),
                activity: m.key.into(),
            });
            let description = a.text("description").filter(|d| !d.trim().is_empty());
            self.nodes.push(Node {
                name,
                comment: vec![format!("{}: Webex {} `{}`", a.label, a.kind, a.id)],
                description,
                activity: (m.key.into(), m.body),
                next: m.next,
                exits: m.exits,
                source: Some(a.id.clone()),
            });
        }
        Ok(())
    }

    /// The global event flows: each event ringdesk has gets its handler.
    fn events(&mut self) -> Result<(), ImportError> {
        let export = self.export;
        let Some(events) = &export.events else {
            return Ok(());
        };
        for a in events.activities.iter().filter(|a| a.kind == "event") {
            let name = a.event_name().unwrap_or_default();
            let spec = a.text("eventSpecificationName").unwrap_or_default();
            let ours = EVENTS
                .iter()
                .find(|(w, _)| *w == name || *w == spec)
                .map(|(_, r)| *r);
            let Some(ours) = ours else {
                self.report.push_unsupported(
                    place(a, &a.path),
                    format!("event `{name}` has no ringdesk equivalent: its handler is left out"),
                );
                continue;
            };
            if self.handlers.iter().any(|(e, _)| e == ours) {
                self.report.push_unsupported(
                    place(a, &a.path),
                    format!("a second handler for `{name}`: left out"),
                );
                continue;
            }
            let Some(to) = self
                .exit(&a.id, "out")
                .or_else(|| self.links_from(&a.id).first().map(|l| l.to.clone()))
            else {
                self.report.push_note(
                    place(a, &a.path),
                    format!("event `{name}` has no handler linked: nothing to import"),
                );
                continue;
            };
            let node = self.node_ref(&to)?;
            self.drain()?;
            self.report.mapped.push(Mapped {
                place: place(a, &a.path),
                node: node.clone(),
                activity: format!("events.{ours}"),
            });
            self.handlers.push((ours.to_string(), node));
        }
        Ok(())
    }

    /// Activities neither mapped nor stepped over: unreachable, left out, reported.
    fn unreachable(&mut self) {
        let left: Vec<&Activity> = self
            .activities
            .values()
            .copied()
            .filter(|a| {
                !a.is_start()
                    && a.kind != "event"
                    && !self.node_of.contains_key(&a.id)
                    && !self.passed.contains(&a.id)
            })
            .collect();
        for a in left {
            self.report.push_defect(
                place(a, &a.path),
                "not reachable from the start or an event handler: left out",
            );
        }
    }

    /// Translates a template field of `a`, reporting what could not be translated.
    pub fn template(&mut self, a: &Activity, path: &str, src: &str) -> String {
        let t = pebble::template(src, &mut self.scope);
        self.translated(a, path, t)
    }

    /// Translates an expression field of `a` (a condition).
    pub fn expression(&mut self, a: &Activity, path: &str, src: &str) -> String {
        let t = pebble::expression(src, &mut self.scope);
        self.translated(a, path, t)
    }

    fn translated(&mut self, a: &Activity, path: &str, t: Translation) -> String {
        for u in t.unsupported {
            self.report.push_unsupported(place(a, path), u);
        }
        for n in t.notes {
            self.report.push_note(place(a, path), n);
        }
        for (u, near) in self.scope.take_unknown() {
            let hint = match near {
                Some(n) => format!(" (did you mean `{n}`? names are case-sensitive)"),
                None => String::new(),
            };
            self.report.push_defect(
                place(a, path),
                format!(
                    "reads `{u}`, which is not a variable of the flow{hint}: Webex renders it \
                     empty, and so does the imported flow"
                ),
            );
        }
        t.text
    }
}

/// A report place for a field of an activity.
pub(crate) fn place(a: &Activity, path: &str) -> Place {
    Place {
        label: a.label.clone(),
        activity_type: a.kind.clone(),
        path: path.to_string(),
    }
}
