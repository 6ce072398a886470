//! The `ringdesk` binary: configuration, CLI, and the runtime that wires the cores to IO.

fn main() {}
