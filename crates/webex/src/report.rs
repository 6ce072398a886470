//! The import report: what was mapped to what, what needs configuration, what is not
//! supported (never dropped silently: each with the activity's label, its type and the
//! JSON path of the field), and the defects the export carries that the imported flow
//! runs as they are. Written as Markdown.

use std::fmt::Write as _;

/// Where in the export an item is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The activity's label (or the variable's name, or `(flow)`).
    pub label: String,
    /// The activity's type (`activityName`), `variable`, `event` or `flow`.
    pub activity_type: String,
    /// JSON path of the field.
    pub path: String,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub place: Place,
    pub message: String,
}

/// One activity and the ringdesk node it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub place: Place,
    /// The ringdesk node (or event) it became, with its activity key.
    pub node: String,
    pub activity: String,
}

/// Everything the importer has to say about one export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The flow's name in the export.
    pub flow: String,
    pub mapped: Vec<Mapped>,
    /// Settings to make in ringdesk's configuration (connectors, queues, audio files).
    pub configuration: Vec<Item>,
    /// Activities, fields and constructs ringdesk does not run.
    pub unsupported: Vec<Item>,
    /// Translated, but not exactly as Webex does it.
    pub notes: Vec<Item>,
    /// Defects of the export itself, run as they are.
    pub defects: Vec<Item>,
}

impl Report {
    pub(crate) fn push_config(&mut self, place: Place, message: impl Into<String>) {
        push(&mut self.configuration, place, message.into());
    }

    pub(crate) fn push_unsupported(&mut self, place: Place, message: impl Into<String>) {
        push(&mut self.unsupported, place, message.into());
    }

    pub(crate) fn push_note(&mut self, place: Place, message: impl Into<String>) {
        push(&mut self.notes, place, message.into());
    }

    pub(crate) fn push_defect(&mut self, place: Place, message: impl Into<String>) {
        push(&mut self.defects, place, message.into());
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Import report: {}\n", self.flow);
        let _ = writeln!(
            s,
            "{} activities mapped, {} configuration item(s), {} not supported, {} note(s), \
             {} defect(s) of the export.\n",
            self.mapped.len(),
            self.configuration.len(),
            self.unsupported.len(),
            self.notes.len(),
            self.defects.len()
        );
        s.push_str(
            "## Mapped\n\n| activity | type | ringdesk node | as |\n| --- | --- | --- | --- |\n",
        );
        for m in &self.mapped {
            let _ = writeln!(
                s,
                "| {} | `{}` | `{}` | `{}` |",
                cell(&m.place.label),
                cell(&m.place.activity_type),
                cell(&m.node),
                cell(&m.activity)
            );
        }
        section(&mut s, "Needs configuration", &self.configuration);
        section(&mut s, "Not supported", &self.unsupported);
        section(&mut s, "Translated with a difference", &self.notes);
        section(
            &mut s,
            "Defects of the export (the imported flow runs them as they are)",
            &self.defects,
        );
        if !self.defects.is_empty() {
            s.push_str(
                "\nringdesk's default flow (`flows/zendesk-ticket-status.yaml`) is the Webex \
                 Zendesk template with its defects fixed: a model for fixing these.\n",
            );
        }
        s
    }
}

fn push(list: &mut Vec<Item>, place: Place, message: String) {
    let item = Item { place, message };
    if !list.contains(&item) {
        list.push(item);
    }
}

fn section(s: &mut String, title: &str, items: &[Item]) {
    let _ = writeln!(s, "\n## {title}\n");
    if items.is_empty() {
        s.push_str("None.\n");
        return;
    }
    s.push_str("| activity | type | field | what |\n| --- | --- | --- | --- |\n");
    for i in items {
        let _ = writeln!(
            s,
            "| {} | `{}` | `{}` | {} |",
            cell(&i.place.label),
            cell(&i.place.activity_type),
            cell(&i.place.path),
            cell(&i.message)
        );
    }
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_lists_every_item_once() {
        let place = Place {
            label: "Lookup|User".into(),
            activity_type: "http-request-v2".into(),
            path: "$.process.activities[\"x\"].properties.connectorId".into(),
        };
        let mut r = Report {
            flow: "F".into(),
            ..Report::default()
        };
        r.push_config(place.clone(), "connector `zendesk`");
        r.push_config(place.clone(), "connector `zendesk`");
        r.push_unsupported(place, "no");
        let md = r.to_markdown();
        assert_eq!(r.configuration.len(), 1);
        assert!(md.contains("| Lookup\\|User | `http-request-v2` |"), "{md}");
        assert!(
            md.contains("## Translated with a difference\n\nNone."),
            "{md}"
        );
    }
}
