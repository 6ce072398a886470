//! `ringdesk serve`: the server.

use crate::cli::ServeArgs;
use anyhow::Result;
use std::process::ExitCode;

pub async fn run(_args: ServeArgs) -> Result<ExitCode> {
    anyhow::bail!("serve is not wired yet")
}
