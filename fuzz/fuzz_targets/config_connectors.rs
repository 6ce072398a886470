//! Fuzz target: the config file's TOML and its `[connectors.<name>]` tables — the part of
//! `ringdesk.toml` parsed by a library (`ringdesk_connector::ConnectorConfig`, checked and
//! resolved by `Connectors::from_config_with_env` with environment values from the input).
//! The rest of the config (`crates/server/src/config.rs`) lives in the `ringdesk` binary
//! crate, which has no library target to link a fuzzer to; its settings are plain serde
//! types over the same `toml` parser exercised here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_connector::{ConnectorConfig, Connectors};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    connectors: BTreeMap<String, ConnectorConfig>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A `#env=<value>` first line is what every environment variable holds.
    let (env, toml_text) = match text.strip_prefix("#env=") {
        Some(rest) => rest.split_once('\n').unwrap_or((rest, "")),
        None => ("", text),
    };
    let Ok(file) = toml::from_str::<File>(toml_text) else {
        return;
    };
    if file.connectors.is_empty() || file.connectors.len() > 8 {
        return;
    }
    let env_value = env.to_owned();
    let lookup = move |_: &str| Some(env_value.clone());
    if let Ok(connectors) = Connectors::from_config_with_env(&file.connectors, &lookup) {
        for name in file.connectors.keys() {
            assert!(connectors.contains(name));
        }
    }
});
