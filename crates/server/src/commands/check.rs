//! `ringdesk check FLOW...`: validates flow files and prints every diagnostic.

use crate::cli::CheckArgs;
use anyhow::Result;
use std::process::ExitCode;

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let mut failed = 0usize;
    for path in &args.flows {
        match ringdesk_flow::load_file(path) {
            Ok(flow) => println!("{}: ok (flow `{}`)", path.display(), flow.name()),
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
