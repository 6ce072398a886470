//! `ringdesk check FLOW...`: validates flow files and prints every diagnostic. Warnings
//! (the flow still loads and runs) go to stderr like errors but do not fail the check.

use crate::cli::CheckArgs;
use anyhow::Result;
use std::process::ExitCode;

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let mut failed = 0usize;
    for path in &args.flows {
        match crate::runtime::flows::load_file(path) {
            Ok(flow) => {
                for w in flow.warnings() {
                    eprintln!("{w}");
                }
                let warned = match flow.warnings().len() {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                };
                println!("{}: ok (flow `{}`){warned}", path.display(), flow.name());
            }
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} flow file(s) have errors", args.flows.len());
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
