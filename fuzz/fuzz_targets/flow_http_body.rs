//! Fuzz target: hostile HTTP response bodies (from Zendesk, or whatever answers at a
//! connector's URL) through the flows' JSONPath outputs and then the templates that
//! render what was extracted: the default flow (`flows/zendesk-ticket-status.yaml`,
//! whose prompts speak a customer's name and ticket) and a flow that passes an extracted
//! value through every filter (`e164`, `national`, `digits`, `replace`, `ticket_status`).
//! Input: the caller id on the first line, then the bodies, separated by NUL bytes.
#![no_main]

#[path = "common/drive.rs"]
mod drive;

use libfuzzer_sys::fuzz_target;
use ringdesk_flow::{load_str, Flow};
use std::sync::{Arc, OnceLock};

/// The longest prompt text a run may render (values are bounded by the executor).
const MAX_PROMPT: usize = 256 * 1024;

const FILTERS_FLOW: &str = r#"
name: filters
start: fetch
nodes:
  fetch:
    http:
      connector: c
      path: "/x"
      outputs:
        v: "$.v"
        first: "$.results[0].phone"
        names: { path: "$..name", all: true }
        picked: "$.results[?@.ok == true && @.n > 2].id"
    exits: { ok: say, error: done }
  say:
    play: "{{ v }} {{ v | e164 }} {{ v | e164('BR') }} {{ v | national }} {{ first | e164('US') }} {{ v | digits }} {{ v | replace({'a': 'b'}) }} {{ v | ticket_status }} {{ names | length }} {{ picked }}"
    next: again
  again:
    http:
      connector: c
      path: "/y/{{ v | digits }}"
      query: { q: "{{ first }}" }
      outputs: { v: "$.*" }
    exits: { ok: done, error: done }
  done:
    end: {}
"#;

fn flows() -> &'static (Arc<Flow>, Arc<Flow>) {
    static FLOWS: OnceLock<(Arc<Flow>, Arc<Flow>)> = OnceLock::new();
    FLOWS.get_or_init(|| {
        let default = include_str!("../../flows/zendesk-ticket-status.yaml");
        let default = load_str(default, "zendesk-ticket-status.yaml").expect("default flow");
        let filters = load_str(FILTERS_FLOW, "filters.yaml").expect("filters flow");
        (Arc::new(default), Arc::new(filters))
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (ani, rest) = text.split_once('\n').unwrap_or(("+13125550109", &text));
    let bodies: Vec<&str> = rest.split('\0').collect();
    let (default, filters) = flows();
    let check = |t: &str| assert!(t.len() <= MAX_PROMPT, "prompt of {} bytes", t.len());
    drive::run(default.clone(), drive::start(ani), &bodies, b"1", check);
    drive::run(filters.clone(), drive::start(ani), &bodies, b"", check);
});
