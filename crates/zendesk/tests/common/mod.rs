//! Shared helpers for the sandbox's HTTP tests: start a sandbox on 127.0.0.1:0 and build
//! clients for its demo credentials.

#![allow(dead_code)]

use ringdesk_zendesk::sandbox::{self, DataSet, SandboxConfig, SandboxHandle};
use ringdesk_zendesk::{Secret, ZendeskClient};

pub async fn start(config: SandboxConfig) -> SandboxHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sandbox::spawn(config, listener).await.unwrap()
}

pub async fn demo() -> SandboxHandle {
    start(SandboxConfig::default()).await
}

pub fn demo_data() -> DataSet {
    DataSet::demo().unwrap()
}

/// The demo API token's Authorization value.
pub fn token_auth() -> Secret {
    demo_data().credentials.api_tokens[0].authorization()
}

pub fn client(sb: &SandboxHandle) -> ZendeskClient {
    ZendeskClient::new(&sb.base_url(), &token_auth()).unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}
