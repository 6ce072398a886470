//! `ringdesk agent ...`: agent states on a running server, through its admin API.

use crate::cli::{AgentArgs, AgentCommand};
use crate::config::Config;
use crate::runtime::admin_token;
use anyhow::{anyhow, Context, Result};
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(args: AgentArgs) -> Result<ExitCode> {
    let config = Config::load_or_default(args.config.as_deref())?;
    let base = match &args.admin {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", config.admin.listen),
    };
    let token_file = args
        .token_file
        .clone()
        .unwrap_or_else(|| config.admin_token_file());
    let token = admin_token::for_client(&token_file)?;
    let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .context("the admin token is not a valid header value")?;
    auth.set_sensitive(true);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::AUTHORIZATION,
            auth,
        )]))
        .build()?;
    let unreachable =
        || format!("cannot reach the admin API at {base} (is ringdesk serve running?)");
    match args.command {
        AgentCommand::List { json } => {
            let list: Vec<serde_json::Value> = client
                .get(format!("{base}/agents"))
                .send()
                .await
                .with_context(unreachable)?
                .error_for_status()
                .map_err(refused)?
                .json()
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("{:<16}  {:<24}  {:<11}  REASON", "ID", "NAME", "STATE");
                for a in &list {
                    let s = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                    println!(
                        "{:<16}  {:<24}  {:<11}  {}",
                        s("id"),
                        s("name"),
                        s("state"),
                        s("reason")
                    );
                }
            }
        }
        AgentCommand::Available { id } => set(&client, &base, &id, "available", None).await?,
        AgentCommand::NotReady { id, reason } => {
            set(&client, &base, &id, "not_ready", Some(reason)).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    state: &str,
    reason: Option<String>,
) -> Result<()> {
    let body = serde_json::json!({ "state": state, "reason": reason });
    let url = format!("{base}/agents/{}/state", urlencode(id));
    let resp = client.post(url).json(&body).send().await.with_context(|| {
        format!("cannot reach the admin API at {base} (is ringdesk serve running?)")
    })?;
    if resp.status().is_success() {
        println!("agent {id} is {state}");
        Ok(())
    } else {
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.unwrap_or_default();
        let msg = v.get("error").and_then(|e| e.as_str()).unwrap_or("");
        Err(anyhow!("agent {id}: {status} {msg}"))
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An error status, said plainly (401: the token is not this server's).
fn refused(e: reqwest::Error) -> anyhow::Error {
    match e.status().map(|s| s.as_u16()) {
        Some(401) => anyhow!(
            "the admin API refused the token (401): set RINGDESK_ADMIN_TOKEN or --token-file to this server's token"
        ),
        _ => e.into(),
    }
}
