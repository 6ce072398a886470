//! Where the flows' `zendesk` connector points: a configured Zendesk, a URL given on the
//! command line, or the Zendesk sandbox started in-process with its demo data.

use crate::config::Config;
use anyhow::{Context, Result};
use ringdesk_connector::{AuthConfig, ConnectorConfig, Connectors, Secret};
use ringdesk_zendesk::helpdesk::Zendesk;
use ringdesk_zendesk::sandbox::{self, SandboxConfig, SandboxHandle};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The connectors for calls, the helpdesk seam, and the sandbox when one was started.
pub struct ZendeskSetup {
    pub connectors: Connectors,
    /// Zendesk around the flow: screen-pop URLs (base: `[zendesk] agent_url`, else the
    /// connector's base URL), the note marker, the delivery check.
    pub helpdesk: Arc<Zendesk>,
    pub sandbox: Option<SandboxHandle>,
}

impl ZendeskSetup {
    /// Stops the in-process sandbox, if any.
    pub async fn shutdown(self) {
        if let Some(s) = self.sandbox {
            if let Err(e) = s.shutdown().await {
                tracing::warn!("sandbox shutdown: {e}");
            }
        }
    }
}

/// A `zendesk_api_token` connector to `base_url`.
fn token_connector(base_url: String, email: String, token: &str) -> ConnectorConfig {
    ConnectorConfig {
        base_url,
        timeout: None,
        attempt_timeout: None,
        max_response_bytes: None,
        auth: AuthConfig::ZendeskApiToken {
            email,
            token: Some(Secret::new(token)),
            token_env: None,
        },
    }
}

/// Starts the sandbox configured in `[zendesk]` (demo data unless a data file is named).
pub async fn start_sandbox(config: &Config) -> Result<SandboxHandle> {
    let sb = SandboxConfig {
        data_file: config.zendesk.sandbox_data.clone(),
        ..SandboxConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(config.zendesk.sandbox_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} for the Zendesk sandbox",
                config.zendesk.sandbox_listen
            )
        })?;
    Ok(sandbox::spawn(sb, listener).await?)
}

/// Builds the connectors: `override_url` (from `--zendesk`) replaces the base URL of the
/// `zendesk` connector; with no `zendesk` connector configured, the sandbox starts.
pub async fn setup(config: &Config, override_url: Option<&str>) -> Result<ZendeskSetup> {
    let mut connectors: BTreeMap<String, ConnectorConfig> = config.connectors.clone();
    let mut handle = None;
    if let Some(url) = override_url {
        match connectors.get_mut("zendesk") {
            Some(c) => c.base_url = url.to_string(),
            None => {
                let (email, token) = match (
                    std::env::var("ZENDESK_EMAIL"),
                    std::env::var("ZENDESK_API_TOKEN"),
                ) {
                    (Ok(e), Ok(t)) => (e, t),
                    _ => {
                        let demo = demo_token()?;
                        (demo.email.clone(), demo.token.expose().to_string())
                    }
                };
                connectors.insert("zendesk".into(), token_connector(url.into(), email, &token));
            }
        }
    } else if config.uses_sandbox() {
        let sb = start_sandbox(config).await?;
        let data = SandboxConfig {
            data_file: config.zendesk.sandbox_data.clone(),
            ..SandboxConfig::default()
        }
        .resolve_data()?;
        let cred = data.credentials.api_tokens.first().with_context(|| {
            "the sandbox data has no API token: add one under credentials.api_tokens"
        })?;
        connectors.insert(
            "zendesk".into(),
            token_connector(sb.base_url(), cred.email.clone(), cred.token.expose()),
        );
        handle = Some(sb);
    }
    let agent_url = config
        .zendesk
        .agent_url
        .clone()
        .or_else(|| connectors.get("zendesk").map(|c| c.base_url.clone()))
        .unwrap_or_default();
    let built = Connectors::from_config(&connectors)?;
    Ok(ZendeskSetup {
        connectors: built,
        helpdesk: Arc::new(Zendesk::new(agent_url)),
        sandbox: handle,
    })
}

fn demo_token() -> Result<sandbox::ApiToken> {
    let data = sandbox::DataSet::demo()?;
    data.credentials
        .api_tokens
        .first()
        .cloned()
        .context("the demo data has no API token")
}
