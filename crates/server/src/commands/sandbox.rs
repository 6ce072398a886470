//! `ringdesk zendesk-sandbox`: the Zendesk-compatible sandbox on its own.

use crate::cli::SandboxArgs;
use anyhow::{Context, Result};
use ringdesk_zendesk::sandbox::{self, SandboxConfig};
use std::process::ExitCode;

pub async fn run(args: SandboxArgs) -> Result<ExitCode> {
    let config = SandboxConfig {
        data_file: args.data.clone(),
        rate_limit_per_minute: args.rate_limit,
        ..SandboxConfig::default()
    };
    // Validate the data first so a bad file is reported before we listen.
    let data = config.resolve_data()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let handle = sandbox::spawn(config, listener).await?;
    println!(
        "Zendesk sandbox on {} with {} users and {} tickets",
        handle.base_url(),
        data.users.len(),
        data.tickets.len()
    );
    if let Some(t) = data.credentials.api_tokens.first() {
        println!(
            "API token auth: {}/token:<the token in the data file> (demo data: see crates/zendesk/data/README.md)",
            t.email
        );
    }
    println!(
        "Faults and stats: POST {0}/__sandbox/faults, GET {0}/__sandbox/stats. Ctrl-C stops.",
        handle.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    handle.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}
