//! Which flow runs: the built-in default flow, flow files from the configuration, and
//! the route from a called number to its flow. A file ending in `.json` is a Webex Flow
//! Designer export, imported as it is loaded (`ringdesk-webex`, with its defaults: the
//! `zendesk` connector and the `support` queue; `ringdesk import webex` maps others).

use anyhow::{anyhow, Result};
use ringdesk_flow::{Flow, LoadError, MAX_FLOW_BYTES};
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
        Some(p) => load_file(p),
        None => ringdesk_flow::load_str(DEFAULT_FLOW, DEFAULT_FLOW_ORIGIN),
    };
    let flow = loaded.map_err(|e| anyhow!("{e}"))?;
    for w in flow.warnings() {
        tracing::warn!("{w}");
    }
    Ok(Arc::new(flow))
}

/// Reads and loads a flow file (a Webex export when it ends in `.json`). A file that
/// cannot be read (missing, too large, not UTF-8, not an export) is one diagnostic at line
/// 0 of the file, like any other problem in it.
pub fn load_file(path: &Path) -> Result<Flow, LoadError> {
    let origin = path.display().to_string();
    let webex = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let max = if webex {
        ringdesk_webex::MAX_EXPORT_BYTES
    } else {
        MAX_FLOW_BYTES
    };
    let cannot_read =
        |e: std::io::Error| LoadError::unreadable(&origin, format!("cannot read flow file: {e}"));
    let meta = std::fs::metadata(path).map_err(cannot_read)?;
    if meta.len() > max as u64 {
        return Err(LoadError::unreadable(
            &origin,
            format!("flow file is larger than {max} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(cannot_read)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| LoadError::unreadable(&origin, "flow file is not UTF-8"))?;
    if webex {
        return import_webex(&text, &origin);
    }
    ringdesk_flow::load_str(&text, &origin)
}

/// Imports a Webex export at load time; what the import report would say is logged as
/// one warning (the flow runs the export's defects as they are).
fn import_webex(text: &str, origin: &str) -> Result<Flow, LoadError> {
    let imported = ringdesk_webex::import(text, &Default::default())
        .map_err(|e| LoadError::unreadable(origin, format!("Webex export: {e}")))?;
    let r = &imported.report;
    tracing::warn!(
        "{origin}: Webex export imported at load time: {} setting(s) to check, {} part(s) not supported, {} defect(s) of the export run as they are; `ringdesk import webex {origin}` writes the flow and the full report",
        r.configuration.len(),
        r.unsupported.len(),
        r.defects.len()
    );
    ringdesk_flow::load_str(&imported.yaml, &format!("{origin} (imported)"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webex_export_is_imported_at_load_time_and_a_bad_one_is_one_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let template = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/webex-template/zendesk-http-connector-2022.json");
        let export = dir.path().join("template.json");
        std::fs::copy(&template, &export).unwrap();
        let flow = load_file(&export).unwrap_or_else(|e| panic!("{e}"));
        assert!(flow.graph().nodes.len() > 5);
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"name": "not an export"}"#).unwrap();
        let e = load_file(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("Webex export"), "{e}");
    }

    #[test]
    fn load_file_reports_missing_file_and_loads_default_flow() {
        let e = load_file(Path::new("/nonexistent/flow.yaml")).expect_err("missing");
        assert!(e.diagnostics[0].message.contains("cannot read flow file"));
        assert!(e.to_string().contains("/nonexistent/flow.yaml:0:0: error"));
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows/zendesk-ticket-status.yaml");
        load_file(&path).expect("default flow loads");
    }

    #[test]
    fn files_too_large_or_not_utf8_are_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, "#".repeat(MAX_FLOW_BYTES + 1)).unwrap();
        let e = load_file(&big).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "big.yaml:0:0: error: flow file is larger than {MAX_FLOW_BYTES} bytes"
            )),
            "{e}"
        );
        let latin1 = dir.path().join("latin1.yaml");
        std::fs::write(&latin1, b"name: caf\xe9\n").unwrap();
        let e = load_file(&latin1).unwrap_err().to_string();
        assert!(
            e.contains("latin1.yaml:0:0: error: flow file is not UTF-8"),
            "{e}"
        );
    }
}
