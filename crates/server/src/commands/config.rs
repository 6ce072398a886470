//! `ringdesk config example|check`: prints the commented example, validates a file and
//! prints what `serve` would warn about.

use crate::cli::ConfigCommand;
use crate::config::{Config, EXAMPLE};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(cmd: ConfigCommand) -> Result<ExitCode> {
    match cmd {
        ConfigCommand::Example => {
            print!("{EXAMPLE}");
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Check { file } => {
            let config = Config::load(&file)?;
            // Allowed, so the check passes; `serve` logs the same lines at start.
            for warning in config.warnings() {
                println!("{}: warning: {warning}", file.display());
            }
            println!("{}: ok", file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
