//! `ringdesk config example|check`: prints the commented example, validates a file.

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
            Config::load(&file)?;
            println!("{}: ok", file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
