//! `ringdesk serve`: the server. SIP calls run their flows; with no Zendesk configured,
//! the sandbox runs in-process with its demo customers.

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::runtime::acd::AcdHandle;
use crate::runtime::agents::SipDialer;
use crate::runtime::call::Shared;
use crate::runtime::desk::DeskHub;
use crate::runtime::desk_api::{DeskState, Logins};
use crate::runtime::flows::FlowTable;
use crate::runtime::media_worker::MediaWorker;
use crate::runtime::prompts::Prompts;
use crate::runtime::{voice, zendesk};
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    let config = Config::load_or_default(args.config.as_deref())?;
    let flows = Arc::new(FlowTable::load(&config.flows)?);
    let zd = zendesk::setup(&config, None).await?;
    let prompts = Arc::new(
        Prompts::start(config.flows.audio_dirs.clone(), &config.tts)
            .await
            .context("ringdesk cannot speak without a text-to-speech engine")?,
    );
    for flow in flows.all() {
        prompts.prerender(&flow).await;
    }
    let store = super::store::open(&config).await?;
    if let Some(node) = store.node() {
        tracing::info!(store = %store.describe(), node, "records and outbox in a shared PostgreSQL store");
    }
    let (stop_outbox, outbox_stopped) = tokio::sync::oneshot::channel::<()>();
    let outbox_task = crate::runtime::outbox::spawn(
        &store,
        &zd.connectors,
        zd.helpdesk.clone(),
        flows.all(),
        async move {
            let _ = outbox_stopped.await;
        },
    );
    let (stop_retention, retention_stopped) = tokio::sync::oneshot::channel::<()>();
    let retention_task = crate::runtime::retention::spawn(
        store.clone(),
        config.records.keep_days(),
        crate::runtime::retention::PURGE_EVERY,
        async move {
            let _ = retention_stopped.await;
        },
    );
    let sip_ip = config.sip.listen.ip();
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    let desk = DeskHub::new(zd.connectors.clone(), zd.helpdesk.clone(), store.clone());
    let phone_ip = config
        .desk
        .phone_ip
        .or(Some(sip_ip).filter(|ip| !ip.is_unspecified()));
    if phone_ip.is_none() {
        tracing::warn!(
            "the agent desktop's in-page phone is off: [sip] listen is {sip_ip}; set [desk] phone_ip to the address browsers reach ringdesk at"
        );
    }
    let phones = crate::runtime::phone::Phones::new(phone_ip);
    let dialer = SipDialer::new(sip_ip, desk.clone(), phones.clone());
    let acd_config = config.acd();
    let acd = if store.is_shared() {
        let (log, rows) = crate::runtime::acd_log::SharedLog::open(&store)
            .await
            .context("cannot join the shared queue")?;
        tracing::info!(node = %log.node, "one queue with the other nodes of the shared store");
        AcdHandle::spawn_shared(&acd_config, dialer.clone(), log, rows)
    } else {
        AcdHandle::spawn(&acd_config, dialer.clone())
    }
    .map_err(|e| anyhow::anyhow!(e))?;
    let sl = |queue: &str| {
        acd_config
            .queues
            .get(queue)
            .map_or(std::time::Duration::from_secs(20), |q| q.service_level)
    };
    acd.seed_today(crate::runtime::queue_stats::from_records(&store, sl).await);
    let shed = ringdesk_sip::ShedSwitch::new();
    let (access, token_file) = admin_access(&config)?;
    let access = Arc::new(access);
    let sip_counters = ringdesk_sip::SipCounters::new();
    let agents = crate::config::agent_credentials(&config.agents, &crate::config::process_env)?;
    let passwords = agents
        .iter()
        .map(|a| (a.agent.clone(), a.password.clone()))
        .collect();
    let sip_server = Arc::new(std::sync::OnceLock::new());
    let all_flows = flows.all();
    let flow_counts = Arc::new(crate::runtime::flow_stats::FlowCounts::new(
        all_flows.iter().map(|f| &**f),
    ));
    let admin_state = crate::runtime::admin::AdminState {
        store: store.clone(),
        acd: acd.clone(),
        shed: shed.clone(),
        access: access.clone(),
        sip: sip_counters.clone(),
        sessions: Default::default(),
        sip_server: sip_server.clone(),
        flows: Arc::new(all_flows),
        flow_counts: flow_counts.clone(),
        secure_cookies: config.admin.secure_cookies(),
        desk: DeskState::new(
            desk.clone(),
            acd.clone(),
            access,
            Logins::new(passwords, config.sip.limits.lockout()),
            config.desk.reasons.clone(),
        )
        .with_secure_cookies(config.admin.secure_cookies())
        .with_phones(phones),
    };
    let admin = crate::runtime::admin::serve(config.admin.listen, admin_state)
        .await
        .with_context(|| format!("cannot listen for the admin API on {}", config.admin.listen))?;
    let media = MediaWorker::spawn(config.media.workers, config.media.priority)
        .context("cannot start the media threads")?;
    let _governor = if config.overload.enabled {
        let governor = crate::runtime::admission::spawn(
            config.overload.governor(),
            media.clone(),
            shed.clone(),
        )
        .context("cannot start the overload governor")?;
        Some(governor)
    } else {
        tracing::info!("[overload] enabled = false: new calls are limited by [sip] max_calls only");
        None
    };
    let shared = Arc::new(Shared {
        media,
        prompts,
        connectors: zd.connectors.clone(),
        acd: acd.clone(),
        dialer: dialer.clone(),
        desk,
        flow_counts,
        store: store.clone(),
        rtp_ip: sip_ip,
        extra: crate::commands::call::call_start(&config, &*zd.helpdesk, "", "").extra,
        helpdesk: zd.helpdesk.clone(),
    });
    let priority = shared.media.priority();
    if priority != config.media.priority {
        tracing::warn!(
            "media threads run at {priority} priority ([media] priority = \"{}\" was not permitted)",
            config.media.priority
        );
    }
    tracing::info!(
        workers = shared.media.workers(),
        %priority,
        "media: RTP sent by {} worker thread(s) at {priority} priority",
        shared.media.workers()
    );
    let voice_config = voice::VoiceConfig {
        listen: config.sip.listen,
        max_calls: config.sip.max_calls,
        answer_delay: config.sip.answer_delay,
        agents,
        flood: config.sip.limits.flood().context("[sip.limits] exempt")?,
        lockout: config.sip.limits.lockout(),
        counters: sip_counters,
        shed,
        trust: config.trust()?,
        personal_data: crate::config::personal_data(&config.trunks),
        tls: config.sip.tls.as_ref().map(|t| t.load()).transpose()?,
        digest: config.sip.digest("config")?,
        proxies: config.sip.proxy_nets("config")?,
    };
    dialer.set_srtp(
        crate::config::agent_srtp(&config.agents, config.sip.srtp)?,
        config.sip.srtp.into(),
    );
    let trunks = crate::config::trunks_description(&voice_config.trust);
    let voice_config_untrusted = voice_config.trust.untrusted;
    let (server, dispatcher) = voice::start(voice_config, flows.clone(), shared)
        .await
        .with_context(|| format!("cannot listen for SIP on {}", config.sip.listen))?;
    let server = Arc::new(server);
    let addr = server.local_addr();
    dialer.set_server(server.clone());
    let _ = sip_server.set(server.clone());
    println!("ringdesk is answering SIP calls on {addr} (UDP and TCP).");
    if let Some(tls) = server.tls_addr() {
        println!("  SIP over TLS: sips:support@{tls} (sip:support@{tls};transport=tls)");
    }
    println!(
        "  media encryption (SRTP, SDES keys): {} by default ([sip] srtp)",
        ringdesk_sip::SrtpPolicy::from(config.sip.srtp).as_str()
    );
    println!("  caller ID believed from trunks: {}", trunks.join("; "));
    if voice_config_untrusted == ringdesk_sip::Untrusted::Anonymous {
        println!("  calls from other sources are answered as anonymous callers ([sip] untrusted)");
    } else {
        println!("  calls from other sources are refused with 403 ([sip] untrusted = \"refuse\")");
    }
    if let Some(f) = &flows.default {
        println!("  every number runs flow `{}`", f.name());
    }
    for (number, f) in &flows.routes {
        println!("  {number} runs flow `{}`", f.name());
    }
    if let Some(sb) = &zd.sandbox {
        println!(
            "  Zendesk: the built-in sandbox at {} with demo customers (crates/zendesk/data/README.md)",
            sb.base_url()
        );
    }
    println!(
        "  records and outbox: {} ; admin API and metrics: http://{admin}/",
        store.describe()
    );
    println!("  wallboard: http://{admin}/wallboard  (sign in with an admin API token)");
    println!(
        "  agent desktop: http://{admin}/desk  (agents sign in with their id and SIP password)"
    );
    match &token_file {
        Some(path) => println!(
            "  admin token: {} (new at every start, readable by its owner only; `ringdesk agent` reads it)",
            path.display()
        ),
        None => println!("  admin tokens: [[admin.tokens]] of the config"),
    }
    println!("Call it:");
    println!("  softphone: sip:support@{addr}  (set your caller ID to a demo customer, e.g. +5511987650101)");
    println!(
        "  SIPp:      sipp -sf scripts/sipp/press-2.xml -m 1 -s support {addr}  (a demo customer presses 2)"
    );
    println!("  no phone:  ringdesk call --from +5511987650101 --press 2");
    println!("Ctrl-C stops.");
    tokio::select! {
        _ = dispatcher => {}
        r = tokio::signal::ctrl_c() => { r.context("waiting for Ctrl-C")?; }
    }
    tracing::info!("shutting down");
    server.shutdown();
    let _ = stop_outbox.send(());
    let _ = stop_retention.send(());
    let _ = outbox_task.await;
    let _ = retention_task.await;
    zd.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Who may use the admin API: the configured tokens or, with none (loopback only, the
/// config check makes sure), a token made now and written to the token file.
fn admin_access(
    config: &Config,
) -> Result<(
    crate::runtime::admin_access::Access,
    Option<std::path::PathBuf>,
)> {
    use crate::runtime::admin_token;
    let mut tokens = config.admin.resolve_tokens(&ringdesk_secret::process_env)?;
    let mut written = None;
    if tokens.is_empty() {
        let path = config.admin_token_file();
        let token = admin_token::generate();
        admin_token::write(&path, &token)?;
        tracing::info!(file = %path.display(), "admin API: no [[admin.tokens]] configured; wrote a new admin token");
        tokens.push(crate::config::AdminToken {
            name: "generated".into(),
            role: crate::config::Role::Admin,
            secret: token,
        });
        written = Some(path);
    }
    let access = crate::runtime::admin_access::Access::new(
        tokens,
        &config.admin.hosts,
        config.admin.listen.ip(),
    );
    Ok((access, written))
}
