//! One module per subcommand; each returns the process exit code.

pub mod agent;
pub mod call;
pub mod check;
pub mod config;
pub mod import;
pub mod records;
pub mod sandbox;
pub mod serve;
pub mod store;
