//! `ringdesk interactions ...` and `ringdesk outbox ...`: read the call records and manage
//! the durable outbox in the store (`--store` names an SQLite file; otherwise the config's
//! `[store]`, SQLite or PostgreSQL).

use crate::cli::{InteractionsArgs, InteractionsCommand, OutboxArgs, OutboxCommand, StoreArgs};
use crate::config::Config;
use crate::runtime::admin::interaction_filter;
use anyhow::{anyhow, Result};
use ringdesk_store::{OutboxFilter, OutboxState, Store};
use std::process::ExitCode;

async fn open(args: &StoreArgs) -> Result<Store> {
    if let Some(path) = &args.store {
        return open_path(path.clone());
    }
    let config = Config::load_or_default(args.config.as_deref())?;
    if config.store.is_postgres() {
        return super::store::open(&config).await;
    }
    open_path(config.store.path)
}

fn open_path(path: std::path::PathBuf) -> Result<Store> {
    if !path.exists() {
        return Err(anyhow!(
            "no database at {} (ringdesk serve creates it; --store names another)",
            path.display()
        ));
    }
    Store::open(&path).map_err(|e| anyhow!("cannot open {}: {e}", path.display()))
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub async fn interactions(args: InteractionsArgs) -> Result<ExitCode> {
    let store = open(&args.store).await?;
    match args.command {
        InteractionsCommand::List {
            since,
            until,
            ani,
            ticket,
            outcome,
            limit,
        } => {
            let filter = interaction_filter(
                since.as_deref(),
                until.as_deref(),
                ani,
                ticket,
                outcome.as_deref(),
                limit,
            )
            .map_err(|e| anyhow!(e))?;
            let list = store.list_interactions(filter).await?;
            if args.store.json {
                return print_json(&list).map(|_| ExitCode::SUCCESS);
            }
            println!(
                "{:<36}  {:<20}  {:<16}  {:>6}  {:<8}  {:>3}  {:<9}",
                "CALL", "ARRIVED", "CALLER", "TICKET", "QUEUE", "PRI", "ENDED BY"
            );
            for i in &list {
                println!(
                    "{:<36}  {:<20}  {:<16}  {:>6}  {:<8}  {:>3}  {:<9}",
                    i.call_id,
                    i.arrived_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    i.ani.chars().take(16).collect::<String>(),
                    i.ticket_id.as_deref().unwrap_or("-"),
                    i.queue.as_deref().unwrap_or("-"),
                    i.priority.map_or("-".into(), |p| p.to_string()),
                    i.end_reason.map_or("-", |r| r.as_str()),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        InteractionsCommand::Show { call_id } => match store.get_interaction(&call_id).await? {
            Some(i) => print_json(&i).map(|_| ExitCode::SUCCESS),
            None => Err(anyhow!("no call {call_id:?} in the database")),
        },
        InteractionsCommand::Purge {
            older_than,
            dry_run,
        } => purge(&store, &args.store, older_than, dry_run).await,
    }
}

/// `ringdesk interactions purge`: what the server's scheduled purge does, now.
async fn purge(
    store: &Store,
    args: &StoreArgs,
    older_than: Option<u32>,
    dry_run: bool,
) -> Result<ExitCode> {
    let days = match older_than {
        Some(d) => d,
        None => Config::load_or_default(args.config.as_deref())?
            .records
            .keep_days()
            .ok_or_else(|| {
                anyhow!("[records] keep_days = 0 keeps records forever; pass --older-than DAYS to purge anyway")
            })?,
    };
    let cutoff = crate::config::cutoff(jiff::Timestamp::now(), days)?;
    let p = if dry_run {
        store.purge_preview(cutoff).await?
    } else {
        store.purge_older_than(cutoff).await?
    };
    if args.json {
        return print_json(&p).map(|_| ExitCode::SUCCESS);
    }
    let verb = if dry_run { "would delete" } else { "deleted" };
    println!(
        "{verb} {} call record(s) and {} outbox item(s) older than {days} days (arrived before {})",
        p.interactions,
        p.outbox_items,
        cutoff.strftime("%Y-%m-%d %H:%M:%S UTC")
    );
    if p.kept_undelivered > 0 {
        println!(
            "kept {} older call(s): their outbox items are not delivered yet (ringdesk outbox list)",
            p.kept_undelivered
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn outbox(args: OutboxArgs) -> Result<ExitCode> {
    let store = open(&args.store).await?;
    let now = jiff::Timestamp::now();
    match args.command {
        OutboxCommand::List { state, limit } => {
            let states = match state.as_deref() {
                None => vec![],
                Some(s) => vec![OutboxState::parse(s).ok_or_else(|| {
                    anyhow!("unknown state {s:?}: pending, in_flight, uncertain, delivered, dead, dropped")
                })?],
            };
            let list = store
                .outbox_list(OutboxFilter {
                    states,
                    ordering_key: None,
                    limit,
                })
                .await?;
            if args.store.json {
                return print_json(&list).map(|_| ExitCode::SUCCESS);
            }
            println!(
                "{:>6}  {:<10}  {:<16}  {:>8}  {:<6} PATH",
                "ID", "STATE", "KEY", "ATTEMPTS", "METHOD"
            );
            for e in &list {
                println!(
                    "{:>6}  {:<10}  {:<16}  {:>8}  {:<6} {}",
                    e.id,
                    e.state.as_str(),
                    e.item.ordering_key,
                    e.attempts,
                    e.item.method,
                    e.item.path
                );
            }
            let c = store.outbox_counts().await?;
            println!(
                "backlog {} (pending {}, in flight {}, uncertain {}); delivered {}, dead {}, dropped {}",
                c.backlog(),
                c.pending,
                c.in_flight,
                c.uncertain,
                c.delivered,
                c.dead,
                c.dropped
            );
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Retry { id } => {
            let e = store.outbox_retry(id, now).await?;
            println!("item {id} is {} again", e.state.as_str());
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Drop { id } => {
            let e = store.outbox_drop(id, now).await?;
            println!("item {id} is {}", e.state.as_str());
            Ok(ExitCode::SUCCESS)
        }
    }
}
