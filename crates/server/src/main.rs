//! The `ringdesk` binary: configuration, CLI, and the runtime that wires the cores to IO.

mod cli;
mod commands;
mod config;
mod runtime;
mod sim;

use clap::Parser;
use cli::{Cli, Command, LogFormat};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `call` prints a transcript on stdout; keep stderr for warnings unless asked.
    let default_level = match cli.command {
        Command::Serve(_) | Command::ZendeskSandbox(_) => "info",
        _ => "warn",
    };
    init_tracing(cli.log_format, default_level);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::run(args).await,
            Command::Call(args) => commands::call::run(args).await,
            Command::Check(args) => commands::check::run(args),
            Command::ZendeskSandbox(args) => commands::sandbox::run(args).await,
            Command::Config(cmd) => commands::config::run(cmd),
            Command::Interactions(args) => commands::records::interactions(args).await,
            Command::Outbox(args) => commands::records::outbox(args).await,
            Command::Agent(args) => commands::agent::run(args).await,
            Command::Import(cmd) => commands::import::run(cmd),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // The SIP library logs whole messages (caller IDs included) at info.
        EnvFilter::new(format!("{default_level},rsipstack=warn"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
