//! `ringdesk import webex EXPORT.json`: reads a Flow Designer export, imports it with
//! `ringdesk-webex`, checks that ringdesk's loader accepts the flow, then writes the flow
//! and the report (both or neither) and prints a short summary.

use crate::cli::{ImportCommand, WebexImportArgs};
use anyhow::{anyhow, bail, Context, Result};
use ringdesk_webex::{ImportOptions, MAX_EXPORT_BYTES};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(cmd: ImportCommand) -> Result<ExitCode> {
    match cmd {
        ImportCommand::Webex(args) => webex(args),
    }
}

fn webex(args: WebexImportArgs) -> Result<ExitCode> {
    let export = &args.export;
    let len = std::fs::metadata(export)
        .with_context(|| format!("cannot read {}", export.display()))?
        .len();
    if len > MAX_EXPORT_BYTES as u64 {
        bail!(
            "{}: the export is larger than {MAX_EXPORT_BYTES} bytes",
            export.display()
        );
    }
    let text = std::fs::read_to_string(export)
        .with_context(|| format!("cannot read {}", export.display()))?;
    let options = ImportOptions {
        connectors: args.connectors.iter().cloned().collect(),
        queues: args.queues.iter().cloned().collect(),
    };
    let imported = ringdesk_webex::import(&text, &options)
        .map_err(|e| anyhow!("{}: {e}", export.display()))?;

    let flow_path = args.output.clone().unwrap_or_else(|| {
        let stem = export
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "imported".into());
        PathBuf::from(format!("{stem}.yaml"))
    });
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| flow_path.with_extension("report.md"));
    let origin = flow_path.display().to_string();
    let flow = ringdesk_flow::load_str(&imported.yaml, &origin).map_err(|e| {
        anyhow!("the imported flow does not load (an importer bug: please report it with the export)\n{e}")
    })?;
    for w in flow.warnings() {
        eprintln!("{w}");
    }
    if !args.force {
        for p in [&flow_path, &report_path] {
            if p.exists() {
                bail!("{} exists (--force to replace it)", p.display());
            }
        }
    }
    write_both(
        (&flow_path, &imported.yaml),
        (&report_path, &imported.report.to_markdown()),
    )?;

    let r = &imported.report;
    let nodes = r
        .mapped
        .iter()
        .filter(|m| m.node != "(start)" && !m.activity.starts_with("events."))
        .count();
    let events = r
        .mapped
        .iter()
        .filter(|m| m.activity.starts_with("events."))
        .count();
    println!(
        "imported `{}`: {nodes} node(s), {events} event handler(s) -> {}",
        flow.name(),
        flow_path.display()
    );
    println!(
        "report: {} ({} to configure, {} not supported, {} translated with a difference, {} defect(s) of the export)",
        report_path.display(),
        r.configuration.len(),
        r.unsupported.len(),
        r.notes.len(),
        r.defects.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes both files or neither: each goes to a temporary file beside it first.
fn write_both(a: (&Path, &str), b: (&Path, &str)) -> Result<()> {
    let tmp = |p: &Path| {
        let mut name = p.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp-{}", std::process::id()));
        p.with_file_name(name)
    };
    let (ta, tb) = (tmp(a.0), tmp(b.0));
    let written = std::fs::write(&ta, a.1)
        .with_context(|| format!("cannot write {}", a.0.display()))
        .and_then(|_| {
            std::fs::write(&tb, b.1).with_context(|| format!("cannot write {}", b.0.display()))
        })
        .and_then(|_| {
            std::fs::rename(&ta, a.0).with_context(|| format!("cannot write {}", a.0.display()))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&ta);
        let _ = std::fs::remove_file(&tb);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tb, b.0) {
        let _ = std::fs::remove_file(a.0);
        let _ = std::fs::remove_file(&tb);
        return Err(e).with_context(|| format!("cannot write {}", b.0.display()));
    }
    Ok(())
}
