//! `ringbench floor`: what one RTP-sized UDP packet costs the *kernel* on this machine,
//! with nothing of ringdesk in the way. It opens `--sockets` UDP sockets (one per
//! simulated call, as ringdesk does), sends one 172-byte datagram from each in turn to a
//! loopback sink for `--secs` seconds as fast as it can, and reports the sender's CPU
//! time per packet (user and system, from `getrusage`). The sink is drained by a second
//! thread every millisecond (as ringbench's receivers do). This is the floor under
//! ringdesk's cost per packet sent: the full default flow sends about 825 packets per
//! call, so it bounds the call rate the machine can carry.

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads `--sockets N --secs S`.
pub fn parse(args: &[String]) -> Result<(usize, u64), String> {
    let mut sockets = 1000usize;
    let mut secs = 5u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--sockets" => sockets = v.parse().map_err(|_| format!("bad --sockets {v}"))?,
            "--secs" => secs = v.parse().map_err(|_| format!("bad --secs {v}"))?,
            _ => return Err(format!("unknown option {a}")),
        }
    }
    if sockets == 0 || sockets > 18_000 || secs == 0 || secs > 600 {
        return Err("--sockets 1..18000, --secs 1..600".into());
    }
    Ok((sockets, secs))
}

fn cpu_ns() -> (i64, i64) {
    // SAFETY: getrusage fills the zeroed struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let ns = |t: libc::timeval| t.tv_sec * 1_000_000_000 + t.tv_usec * 1000;
    (ns(ru.ru_utime), ns(ru.ru_stime))
}

/// Runs the measurement; returns a JSON object.
pub fn run(sockets: usize, secs: u64) -> io::Result<String> {
    let sink = UdpSocket::bind("127.0.0.1:0")?;
    sink.set_nonblocking(true)?;
    let dest = sink.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let drain_stop = stop.clone();
    let drainer = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0u64;
        while !drain_stop.load(Ordering::Relaxed) {
            while sink.recv(&mut buf).is_ok() {
                n += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        n
    });
    let socks = (0..sockets)
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    let packet = [0x80u8; 172];
    let (u0, s0) = cpu_ns();
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut sent = 0u64;
    let mut errors = 0u64;
    'outer: loop {
        for s in &socks {
            if s.send_to(&packet, dest).is_ok() {
                sent += 1;
            } else {
                errors += 1;
            }
        }
        if Instant::now() >= end {
            break 'outer;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let (u1, s1) = cpu_ns();
    stop.store(true, Ordering::Relaxed);
    let received = drainer.join().unwrap_or(0);
    let per = |ns: i64| ns as f64 / sent.max(1) as f64 / 1000.0;
    Ok(format!(
        "{{\"sockets\":{sockets},\"secs\":{wall:.2},\"sent\":{sent},\"send_errors\":{errors},\"received\":{received},\
         \"packets_per_s\":{:.0},\"user_us_per_packet\":{:.3},\"sys_us_per_packet\":{:.3},\"cpu_us_per_packet\":{:.3}}}",
        sent as f64 / wall,
        per(u1 - u0),
        per(s1 - s0),
        per((u1 - u0) + (s1 - s0)),
    ))
}
