//! `ringdesk call`: one simulated call through a flow, against the sandbox or a Zendesk,
//! with a transcript of what the caller hears and what ringdesk does.

use crate::cli::CallArgs;
use crate::config::Config;
use crate::runtime::{flows, http, zendesk};
use crate::sim::driver::{HttpPort, Limits, QueueScript, Simulator};
use crate::sim::script;
use crate::sim::transcript::Printer;
use anyhow::{anyhow, Result};
use ringdesk_connector::Connectors;
use ringdesk_flow::{CallStart, HttpOutcome, HttpRequest};
use ringdesk_session::Helpdesk;
use std::process::ExitCode;
use std::sync::Arc;

/// The simulator's HTTP: every request, durable or not, goes out at once.
pub struct DirectHttp<'a>(pub &'a Connectors, pub &'a dyn Helpdesk);

impl HttpPort for DirectHttp<'_> {
    async fn execute(&self, request: &HttpRequest) -> HttpOutcome {
        http::execute_now(self.0, self.1, request).await
    }
}

pub async fn run(args: CallArgs) -> Result<ExitCode> {
    let config = Config::load_or_default(args.config.as_deref())?;
    let steps = script::parse(&args.press)?;
    let flow = match &args.flow {
        Some(path) => flows::load(Some(path))?,
        None => flows::FlowTable::load(&config.flows)?
            .route(&args.to)
            .ok_or_else(|| anyhow!("no flow is routed for called number {:?}", args.to))?,
    };
    let zd = zendesk::setup(&config, args.zendesk.as_deref()).await?;
    let mut call = call_start(&config, &*zd.helpdesk, &args.from, &args.to);
    call.extra.insert(
        crate::config::CALLER_IDENTITY_VARIABLE.into(),
        args.identity.as_str().into(),
    );
    let queue = QueueScript {
        agents_logged_in: args.agents,
        agents_available: args.agents,
        answer_after: args.answer_after.0,
        talk: args.talk,
        max_wait: args.max_wait.0,
        full: args.queue_full.then(|| queue_max_calls(&config)),
        ..QueueScript::default()
    };
    let port = DirectHttp(&zd.connectors, &*zd.helpdesk);
    let stdout = std::io::stdout();
    let mut sink = Printer {
        out: stdout.lock(),
        json: args.json,
        verbose: args.verbose,
    };
    let resumable = vec![Arc::clone(&flow)];
    let mut sim = Simulator::new(
        flow,
        call,
        zd.helpdesk.clone(),
        args.store.is_some(),
        steps,
        queue,
        Limits::default(),
        &port,
        &mut sink,
    );
    sim.run().await;
    let record = sim.finish_record();
    drop(sim);
    drop(sink);
    let result = match (&args.store, record) {
        (Some(path), Some((interaction, items))) => {
            record_and_deliver(path, interaction, items, &zd, resumable, args.deliver_for).await
        }
        _ => Ok(()),
    };
    zd.shutdown().await;
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Stores the call and its outbox items, then runs the outbox worker until they are
/// delivered, dead, or `deliver_for` has passed (what is left stays for `serve`).
async fn record_and_deliver(
    path: &std::path::Path,
    interaction: ringdesk_store::Interaction,
    items: Vec<ringdesk_store::OutboxItem>,
    zd: &zendesk::ZendeskSetup,
    flows: Vec<Arc<ringdesk_flow::Flow>>,
    deliver_for: std::time::Duration,
) -> Result<()> {
    use crate::runtime::outbox;
    let store = ringdesk_store::Store::open(path)
        .map_err(|e| anyhow!("cannot open the store {}: {e}", path.display()))?;
    let call_id = interaction.call_id.clone();
    let n = items.len();
    store
        .record_call(interaction, items, jiff::Timestamp::now())
        .await?;
    eprintln!(
        "recorded call {call_id} in {} ({n} outbox item(s))",
        path.display()
    );
    if n > 0 {
        let left = outbox::drain(
            &store,
            &zd.connectors,
            zd.helpdesk.clone(),
            flows,
            deliver_for,
        )
        .await?;
        let counts = store.outbox_counts().await?;
        eprintln!(
            "outbox: {} delivered, {} dead, {} waiting{}",
            counts.delivered,
            counts.dead,
            counts.backlog(),
            if left {
                " (ringdesk serve delivers the rest)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The start variables of a call, from what the network delivered and the configuration.
pub fn call_start(config: &Config, helpdesk: &dyn Helpdesk, ani: &str, dnis: &str) -> CallStart {
    let mut extra = std::collections::BTreeMap::new();
    extra.insert(
        "default_language".to_string(),
        config.calls.default_language.clone().into(),
    );
    extra.insert(
        "default_region".to_string(),
        config.calls.default_region.clone().into(),
    );
    extra.insert(
        "no_ticket_action".to_string(),
        config.calls.no_ticket.as_str().into(),
    );
    extra.extend(helpdesk.start_variables());
    CallStart {
        call_id: uuid::Uuid::new_v4().to_string(),
        ani: ani.to_string(),
        dnis: dnis.to_string(),
        headers: Vec::new(),
        started_at: jiff::Timestamp::now().to_string(),
        extra,
    }
}

/// The `max_calls` of the queue a full scripted queue reports: the configured `support`
/// queue's (the default flow's), else the default.
fn queue_max_calls(config: &Config) -> u32 {
    config
        .acd()
        .queues
        .get("support")
        .map_or(ringdesk_acd::DEFAULT_MAX_CALLS, |q| q.max_calls)
}
