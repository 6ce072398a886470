//! Why an export could not be imported: each error names the place (a JSON path, an
//! activity's label and id) so the person who built the flow can find it.

/// An export that cannot become a ringdesk flow. Nothing should be written when this is
/// returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The text is not JSON at all.
    #[error("not JSON (line {line}, column {column}): {message}")]
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// The text is larger than [`crate::MAX_EXPORT_BYTES`].
    #[error("the export is larger than {max} bytes")]
    TooLarge { max: usize },
    /// JSON, but not a Flow Designer export (`path` is what is missing or wrong).
    #[error("not a Webex Flow Designer export: {path} {problem}")]
    NotAnExport { path: String, problem: String },
    /// A field has the wrong shape (e.g. `activities` is not an object).
    #[error("{path}: {problem}")]
    BadField { path: String, problem: String },
    /// A link names an activity that is not in its process.
    #[error("{path}: link from `{from}` goes to activity `{missing}`, which is not in the export")]
    LinkToMissingActivity {
        path: String,
        from: String,
        missing: String,
    },
    /// The main flow has no start activity (`NewPhoneContact`).
    #[error("$.process.activities: no start activity (NewPhoneContact)")]
    NoStart,
    /// The main flow has more than one start activity.
    #[error("$.process.activities: several start activities: {labels}")]
    SeveralStarts { labels: String },
    /// The start activity is not linked to anything.
    #[error("start activity `{label}` ({path}) has no `out` link: the flow does nothing")]
    StartNotLinked { label: String, path: String },
    /// An activity ringdesk cannot run, whose exits cannot be followed without it (it has
    /// several exits and none is `default`/`out`): the graph would not stay valid.
    #[error(
        "activity `{label}` ({activity_type}, {path}) is not supported and has several exits: \
         cannot import the flow without it"
    )]
    UnsupportedActivity {
        label: String,
        activity_type: String,
        path: String,
    },
    /// Unsupported activities linked to each other in a loop: nothing to run.
    #[error("activity `{label}` ({path}) is in a loop of activities ringdesk cannot run")]
    UnsupportedLoop { label: String, path: String },
}
