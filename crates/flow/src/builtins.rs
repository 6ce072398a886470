//! Names of the variables the executor provides itself (read-only for flows).

/// Variables set by the executor. Flows may read them but not declare or `set` them.
pub const BUILTIN_VARIABLES: [&str; 15] = [
    "ani",
    "dnis",
    "call_id",
    "headers",
    "started_at",
    "agent_id",
    "agent_name",
    "error_message",
    "error_node",
    "keys_pressed",
    "hangup_by",
    "call_seconds",
    "wait_seconds",
    "talk_seconds",
    "agent_lost",
];

pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTIN_VARIABLES.contains(&name)
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}
