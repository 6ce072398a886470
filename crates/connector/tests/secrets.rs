//! Secrets never appear in an error string or in Debug output: config errors, failures of
//! every kind, outcomes, and the connectors themselves.

#[allow(dead_code)] // each test binary uses a different subset of the helpers
mod common;

use axum::routing::any;
use axum::Router;
use common::{closed_port, connectors, get, serve};
use ringdesk_connector::{ConnectorConfig, Connectors};
use std::collections::BTreeMap;
use std::time::Duration;

const API_TOKEN: &str = "ApiTok-5ecr3t-QQ";
const CLIENT_SECRET: &str = "Cl1ent-5ecr3t-ZZ";
const BEARER: &str = "Bear-5ecr3t-XX";
/// base64("ops@acme.com/token:ApiTok-5ecr3t-QQ"), the header value itself.
const BASIC_B64: &str = "b3BzQGFjbWUuY29tL3Rva2VuOkFwaVRvay01ZWNyM3QtUVE=";

fn assert_clean(text: &str) {
    for secret in [API_TOKEN, CLIENT_SECRET, BEARER, BASIC_B64] {
        assert!(
            !text.contains(secret),
            "secret {secret} leaked into: {text}"
        );
    }
}

fn config(addr: std::net::SocketAddr) -> String {
    format!(
        "[basic]\nbase_url = \"http://{addr}\"\nauth = {{ type = \"zendesk_api_token\", email = \"ops@acme.com\", token = \"{API_TOKEN}\" }}\n\
         [oauth]\nbase_url = \"http://{addr}\"\nauth = {{ type = \"oauth_client_credentials\", token_url = \"http://{addr}/oauth/tokens\", client_id = \"rd\", client_secret_env = \"SECRET_VAR\" }}\n\
         [bearer]\nbase_url = \"http://{addr}\"\nauth = {{ type = \"bearer\", token = \"{BEARER}\" }}\n"
    )
}

#[test]
fn config_and_connectors_debug_are_clean() {
    let text = config("127.0.0.1:9".parse().expect("addr"));
    let configs: BTreeMap<String, ConnectorConfig> = toml::from_str(&text).expect("parses");
    assert_clean(&format!("{configs:?}"));
    let env = |v: &str| (v == "SECRET_VAR").then(|| CLIENT_SECRET.to_owned());
    let c = Connectors::from_config_with_env(&configs, &env).expect("resolves");
    assert_clean(&format!("{c:?}"));
}

#[test]
fn config_errors_are_clean() {
    // Both inline and env given: refused, neither value echoed.
    let text = format!(
        "[a]\nbase_url = \"https://x.example\"\nauth = {{ type = \"bearer\", token = \"{BEARER}\", token_env = \"V\" }}\n"
    );
    let configs: BTreeMap<String, ConnectorConfig> = toml::from_str(&text).expect("parses");
    let env = |_: &str| Some(CLIENT_SECRET.to_owned());
    let err = Connectors::from_config_with_env(&configs, &env).expect_err("refused");
    assert_clean(&err.to_string());
    assert_clean(&format!("{err:?}"));
    // Credentials in the base URL: refused without echoing the URL.
    let text = format!("[a]\nbase_url = \"https://ops:{API_TOKEN}@x.example\"\n");
    let configs: BTreeMap<String, ConnectorConfig> = toml::from_str(&text).expect("parses");
    let err = Connectors::from_config_with_env(&configs, &|_| None).expect_err("refused");
    assert_clean(&err.to_string());
    assert_clean(&format!("{err:?}"));
}

#[tokio::test]
async fn failures_of_every_kind_are_clean() {
    let down = closed_port().await;
    let c = connectors(&config(down), &[("SECRET_VAR", CLIENT_SECRET)]);
    for name in ["basic", "oauth", "bearer", "missing"] {
        let mut req = get(name, "/api/v2/users/me.json");
        req.retries = 1;
        let out = c.execute(req).await;
        let f = out.failure().expect("failure");
        assert_clean(&f.message);
        assert_clean(&format!("{out:?}"));
    }
    // Timeouts, with the token endpoint and the API hanging.
    let hang = serve(Router::new().fallback(any(|| async {
        std::future::pending::<()>().await;
        ""
    })))
    .await;
    let c = connectors(&config(hang), &[("SECRET_VAR", CLIENT_SECRET)]);
    for name in ["basic", "oauth", "bearer"] {
        let mut req = get(name, "/x");
        req.timeout = Some(Duration::from_millis(150));
        let out = c.execute(req).await;
        let f = out.failure().expect("failure");
        assert_eq!(f.kind, ringdesk_connector::FailureKind::Timeout, "{name}");
        assert_clean(&f.message);
        assert_clean(&format!("{out:?}"));
    }
    // Refused request (bad header) with secrets configured.
    let mut req = get("basic", "/x");
    req.headers = vec![("X-Thing".into(), "a\nb".into())];
    let out = c.execute(req).await;
    assert_clean(&format!("{out:?}"));
}
