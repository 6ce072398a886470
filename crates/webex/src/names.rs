//! Turning Webex labels and variable names into ringdesk names: node names (letters,
//! digits, `_`, `-`, at most 64 characters) and variable identifiers
//! (`[A-Za-z_][A-Za-z0-9_]*`), each unique, collisions resolved with `_2`, `_3`...

use std::collections::BTreeSet;

/// Longest name ringdesk accepts.
const MAX_NAME: usize = 64;

/// Words a variable must not be called in a minijinja template.
const RESERVED: [&str; 20] = [
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "elif",
    "for",
    "loop",
    "self",
    "super",
    "range",
    "namespace",
];

/// Hands out unique names.
#[derive(Debug, Default, Clone)]
pub(crate) struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    /// Marks `name` as used (e.g. a built-in variable).
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_string());
    }

    /// A unique node name for a label.
    pub fn node(&mut self, label: &str) -> String {
        let base = clean(label, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let base = if base.is_empty() { "node".into() } else { base };
        self.unique(&base)
    }

    /// A unique variable identifier for a name.
    pub fn variable(&mut self, name: &str) -> String {
        let mut base = clean(name, |c| c.is_ascii_alphanumeric() || c == '_');
        if base.is_empty() {
            base = "var".into();
        }
        if base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert(0, '_');
        }
        if RESERVED.contains(&base.as_str()) {
            base.push_str("_var");
        }
        self.unique(&base)
    }

    fn unique(&mut self, base: &str) -> String {
        let base: String = base.chars().take(MAX_NAME - 4).collect();
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

/// Keeps allowed characters; a run of others becomes one `_`, none at either end.
fn clean(s: &str, ok: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    let mut replaced = false;
    for c in s.trim().chars() {
        if ok(c) {
            out.push(c);
            replaced = false;
        } else if !replaced && !out.is_empty() {
            out.push('_');
            replaced = true;
        }
    }
    if replaced {
        out.pop();
    }
    out.chars().take(MAX_NAME).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_node_names() {
        let mut n = Names::default();
        assert_eq!(
            n.node("PlayTicketDetails_NoTicket"),
            "PlayTicketDetails_NoTicket"
        );
        assert_eq!(
            n.node("FCAsk(ContactLastAgentRemoved)"),
            "FCAsk_ContactLastAgentRemoved"
        );
        assert_eq!(n.node("Play message 1"), "Play_message_1");
        assert_eq!(n.node("?!"), "node");
    }

    #[test]
    fn collisions_get_a_number() {
        let mut n = Names::default();
        assert_eq!(n.node("Menu"), "Menu");
        assert_eq!(n.node("Menu"), "Menu_2");
        assert_eq!(n.node("Menu!"), "Menu_3");
        n.reserve("ani");
        assert_eq!(n.variable("ani"), "ani_2");
    }

    #[test]
    fn variables_become_identifiers() {
        let mut n = Names::default();
        assert_eq!(n.variable("ticketID"), "ticketID");
        assert_eq!(n.variable("1st-try"), "_1st_try");
        assert_eq!(n.variable("none"), "none_var");
        let long = "x".repeat(100);
        assert!(n.variable(&long).len() <= MAX_NAME);
    }
}
