//! Load diagnostics: every problem found in a flow file, with file, line, column and node.

use std::fmt;

/// How bad a diagnostic is. Errors make loading fail; warnings are kept on the [`crate::Flow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem in a flow file. Lines and columns are 1-based (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The node the problem is in, when it is in a node.
    pub node: Option<String>,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.severity, self.message
        )?;
        if let Some(node) = &self.node {
            write!(f, " (node `{node}`)")?;
        }
        Ok(())
    }
}

/// Loading failed: all the diagnostics found (errors first, then warnings, each in file order).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// A flow file that could not be read at all (missing, too large, not UTF-8): one
    /// error at line 0, column 0 of `origin`, e.g. `flows/x.yaml:0:0: error: cannot read
    /// flow file: ...`.
    pub fn unreadable(origin: &str, message: impl Into<String>) -> LoadError {
        let mut d = Diags::new(origin);
        d.error(Pos::default(), None, message);
        LoadError {
            diagnostics: d.into_sorted(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        write!(f, "flow has {errors} error(s)")?;
        for d in &self.diagnostics {
            write!(f, "\n{d}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics while a flow file is read and checked.
#[derive(Debug)]
pub(crate) struct Diags {
    file: String,
    pub(crate) list: Vec<Diagnostic>,
}

/// A position in the flow file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Diags {
    pub(crate) fn new(file: &str) -> Self {
        Diags {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, pos: Pos, node: Option<&str>, message: impl Into<String>) {
        self.push(pos, node, Severity::Error, message.into());
    }

    pub(crate) fn warning(&mut self, pos: Pos, node: Option<&str>, message: impl Into<String>) {
        self.push(pos, node, Severity::Warning, message.into());
    }

    fn push(&mut self, pos: Pos, node: Option<&str>, severity: Severity, message: String) {
        // Bound the list: a pathological file must not produce unbounded output.
        if self.list.len() >= 500 {
            return;
        }
        self.list.push(Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            node: node.map(str::to_string),
            severity,
            message,
        });
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }

    /// Sorted: errors first, then by position.
    pub(crate) fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.list.sort_by_key(|d| (d.severity, d.line, d.column));
        self.list
    }
}
