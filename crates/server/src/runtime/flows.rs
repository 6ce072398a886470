//! Which flow runs: the built-in default flow, flow files from the configuration, and
//! the route from a called number to its flow.

use anyhow::{anyhow, Result};
use ringdesk_flow::Flow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The default flow, embedded so that `ringdesk serve` works from any directory.
pub const DEFAULT_FLOW: &str = include_str!("../../../../flows/zendesk-ticket-status.yaml");
/// How the embedded flow is named in diagnostics.
pub const DEFAULT_FLOW_ORIGIN: &str = "flows/zendesk-ticket-status.yaml (built in)";

/// Loads a flow file, or the built-in default flow when `path` is `None`; every
/// validation error is reported with its file and line, every warning is logged.
pub fn load(path: Option<&Path>) -> Result<Arc<Flow>> {
    let loaded = match path {
        Some(p) => ringdesk_flow::load_file(p),
        None => ringdesk_flow::load_str(DEFAULT_FLOW, DEFAULT_FLOW_ORIGIN),
    };
    let flow = loaded.map_err(|e| anyhow!("{e}"))?;
    for w in flow.warnings() {
        tracing::warn!("{w}");
    }
    Ok(Arc::new(flow))
}

/// The flows of a running server, by called number.
#[derive(Debug, Clone)]
pub struct FlowTable {
    pub default: Option<Arc<Flow>>,
    pub routes: BTreeMap<String, Arc<Flow>>,
}

impl FlowTable {
    /// Loads every flow the configuration names (all errors are fatal at start).
    pub fn load(config: &crate::config::FlowsConfig) -> Result<FlowTable> {
        let default =
            if config.reject_unrouted && config.default.is_none() && !config.routes.is_empty() {
                None
            } else {
                Some(load(config.default.as_deref())?)
            };
        let mut routes = BTreeMap::new();
        for (number, path) in &config.routes {
            routes.insert(number.clone(), load(Some(path))?);
        }
        Ok(FlowTable { default, routes })
    }

    /// Every distinct flow loaded.
    pub fn all(&self) -> Vec<Arc<Flow>> {
        let mut v: Vec<Arc<Flow>> = self.default.iter().cloned().collect();
        v.extend(self.routes.values().cloned());
        v
    }

    /// The flow for a called number or user; `None` means "no such destination" (404).
    pub fn route(&self, dnis: &str) -> Option<Arc<Flow>> {
        self.routes
            .get(dnis)
            .cloned()
            .or_else(|| self.default.clone())
    }
}
