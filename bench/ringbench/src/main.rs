//! `ringbench`: the benchmark caller for ringdesk. `ringbench hold` places many calls
//! over loopback with its own tiny SIP UAC, presses keys into music on hold, measures
//! RTP timing of every stream with kernel timestamps, the delay from the 200 OK to the
//! first RTP packet, and ringdesk's CPU and memory; prints one JSON object on stdout.
//! `ringbench floor` measures what one RTP-sized UDP send costs the kernel here;
//! `ringbench srtp-cost` what protecting and unprotecting one 20 ms G.711 packet costs
//! (ringdesk's own SRTP sender and receiver, one thread).

mod args;
mod call;
mod floor;
mod media;
mod net;
mod procfs;
mod report;
mod rtp;
mod sip_msg;
mod srtp;
mod stats;
mod uac;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = match argv.split_first() {
        Some((cmd, rest)) if cmd == "hold" => match args::Plan::parse(rest) {
            Ok(plan) => match hold(&plan) {
                Ok(json) => {
                    println!("{json}");
                    0
                }
                Err(e) => {
                    eprintln!("ringbench: {e}");
                    1
                }
            },
            Err(e) => {
                eprintln!("ringbench: {e}");
                2
            }
        },
        Some((cmd, rest)) if cmd == "floor" => match floor::parse(rest) {
            Ok((sockets, secs)) => match floor::run(sockets, secs) {
                Ok(json) => {
                    println!("{json}");
                    0
                }
                Err(e) => {
                    eprintln!("ringbench: {e}");
                    1
                }
            },
            Err(e) => {
                eprintln!("ringbench: {e}");
                2
            }
        },
        Some((cmd, _)) if cmd == "srtp-cost" => {
            println!("{}", srtp::cost());
            0
        }
        _ => {
            eprintln!("{}", args::USAGE);
            2
        }
    };
    std::process::exit(code);
}

fn hold(plan: &args::Plan) -> std::io::Result<String> {
    let socks = media::bind_all(plan.media_sockets)?;
    let window = Arc::new(media::Window::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for s in &socks {
        threads.push(media::spawn(s.clone(), window.clone(), stop.clone())?);
    }
    let outcome = uac::run(plan, &socks, &window);
    stop.store(true, Ordering::Relaxed);
    let mut received = Vec::new();
    for t in threads {
        match t.join() {
            Ok(r) => received.push(r?),
            Err(_) => return Err(std::io::Error::other("a receiver thread panicked")),
        }
    }
    Ok(report::json(plan, &outcome?, &received))
}
