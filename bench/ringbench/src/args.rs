//! Command-line options of `ringbench hold` (hand-parsed `--name value` pairs), with
//! bounds on every size so a run always ends by itself.

use std::net::SocketAddr;
use std::time::Duration;

/// Demo customers of the built-in sandbox with an unsolved ticket (the full default flow).
pub const DEMO_CALLERS: &[&str] = &[
    "+5511987650101",
    "+5521987650102",
    "+12125550107",
    "+13125550109",
    "+16175550110",
    "+12065550111",
    "+15125550112",
];

/// Most calls one run places.
pub const MAX_CALLS: usize = 19_000;

/// A hold run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: SocketAddr,
    pub service: String,
    pub calls: usize,
    /// New calls per second.
    pub rate: f64,
    pub callers: Vec<String>,
    /// Keys pressed, each this long after the 200 OK.
    pub presses: Vec<(Duration, char)>,
    /// After the last call's last press, before the window opens.
    pub settle: Duration,
    /// Window length.
    pub measure: Duration,
    pub media_sockets: usize,
    /// BYEs per second at the end.
    pub bye_rate: f64,
    /// ringdesk's pid for CPU and memory samples.
    pub pid: Option<u32>,
    /// Lateness threshold.
    pub late: Duration,
    /// When set, each call sends 20 ms PCMU packets (on a shared 20 ms grid) from this
    /// long after its answer until it hangs up: audio for an echoing agent to return.
    pub talk_after: Option<Duration>,
    /// Offer SRTP (RTP/SAVP with an SDES key per call) and protect what is sent.
    pub srtp: bool,
}

/// A bad option.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

pub const USAGE: &str = "usage: ringbench hold [--target 127.0.0.1:5060] [--service support] \
[--calls N] [--rate CALLS_PER_S] [--press 1@14,1@22] [--settle S] [--measure S] [--srtp on] \
[--callers +551..,+121..] [--media-sockets N] [--bye-rate N] [--pid PID] [--late-ms 5] [--talk-after S]\n       ringbench floor [--sockets 1000] [--secs 5]\n       ringbench srtp-cost";

fn bad(msg: String) -> ArgError {
    ArgError(msg)
}

fn secs(v: &str, name: &str) -> Result<Duration, ArgError> {
    let f: f64 = v
        .parse()
        .map_err(|_| bad(format!("{name}: not a number: {v}")))?;
    if !(0.0..=3600.0).contains(&f) {
        return Err(bad(format!("{name}: 0..3600 seconds")));
    }
    Ok(Duration::from_secs_f64(f))
}

/// `1@14,1@22` → keys with their delays after the answer.
pub fn parse_presses(v: &str) -> Result<Vec<(Duration, char)>, ArgError> {
    let mut out = Vec::new();
    for item in v.split(',').filter(|s| !s.is_empty()) {
        let (key, at) = item
            .split_once('@')
            .ok_or_else(|| bad(format!("--press: expected KEY@SECONDS, got {item}")))?;
        let mut chars = key.chars();
        let k = match (chars.next(), chars.next()) {
            (Some(k), None) if crate::rtp::event_code(k).is_some() => k,
            _ => return Err(bad(format!("--press: not a key: {key}"))),
        };
        out.push((secs(at, "--press")?, k));
    }
    if out.len() > 16 {
        return Err(bad("--press: at most 16 keys".into()));
    }
    Ok(out)
}

impl Plan {
    /// Parses the options after `hold`.
    pub fn parse(args: &[String]) -> Result<Plan, ArgError> {
        let mut p = Plan {
            target: SocketAddr::from(([127, 0, 0, 1], 5060)),
            service: "support".into(),
            calls: 100,
            rate: 50.0,
            callers: DEMO_CALLERS.iter().map(|s| s.to_string()).collect(),
            presses: parse_presses("1@14,1@22")?,
            settle: Duration::from_secs(3),
            measure: Duration::from_secs(20),
            media_sockets: 2,
            bye_rate: 500.0,
            pid: None,
            late: Duration::from_millis(5),
            talk_after: None,
            srtp: false,
        };
        let mut it = args.iter();
        while let Some(name) = it.next() {
            let v = it
                .next()
                .ok_or_else(|| bad(format!("{name} needs a value")))?;
            let num = |max: f64| -> Result<f64, ArgError> {
                let f: f64 = v
                    .parse()
                    .map_err(|_| bad(format!("{name}: not a number: {v}")))?;
                if f > 0.0 && f <= max {
                    Ok(f)
                } else {
                    Err(bad(format!("{name}: must be in (0, {max}]")))
                }
            };
            match name.as_str() {
                "--target" => {
                    p.target = v
                        .parse()
                        .map_err(|_| bad(format!("--target: not an address: {v}")))?
                }
                "--service" => p.service = v.clone(),
                "--calls" => p.calls = num(MAX_CALLS as f64)? as usize,
                "--rate" => p.rate = num(5000.0)?,
                "--press" => p.presses = parse_presses(v)?,
                "--srtp" => {
                    p.srtp = match v.as_str() {
                        "on" => true,
                        "off" => false,
                        _ => return Err(bad(format!("--srtp: on or off, got {v}"))),
                    }
                }
                "--settle" => p.settle = secs(v, name)?,
                "--measure" => p.measure = secs(v, name)?,
                "--callers" => {
                    p.callers = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                "--media-sockets" => p.media_sockets = num(64.0)? as usize,
                "--bye-rate" => p.bye_rate = num(10000.0)?,
                "--pid" => p.pid = Some(num(f64::from(u32::MAX))? as u32),
                "--talk-after" => p.talk_after = Some(secs(v, name)?),
                "--late-ms" => p.late = Duration::from_secs_f64(num(1000.0)? / 1000.0),
                other => return Err(bad(format!("unknown option {other}\n{USAGE}"))),
            }
        }
        if p.callers.is_empty() || p.callers.len() > 10_000 {
            return Err(bad("--callers: 1 to 10000 numbers".into()));
        }
        if !p.target.ip().is_loopback() {
            return Err(bad("--target: the benchmark stays on loopback".into()));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_options() {
        let p = Plan::parse(&s(&[
            "--calls",
            "500",
            "--rate",
            "100",
            "--press",
            "1@15,#@20.5",
            "--pid",
            "42",
            "--talk-after",
            "16.5",
        ]))
        .unwrap();
        assert_eq!(p.talk_after, Some(Duration::from_millis(16_500)));
        assert_eq!(p.calls, 500);
        assert_eq!(p.rate, 100.0);
        assert_eq!(p.presses[1], (Duration::from_millis(20_500), '#'));
        assert_eq!(p.pid, Some(42));
    }

    #[test]
    fn refuses_bad_input() {
        assert!(Plan::parse(&s(&["--calls", "0"])).is_err());
        assert!(Plan::parse(&s(&["--calls", "100000"])).is_err());
        assert!(Plan::parse(&s(&["--target", "10.0.0.1:5060"])).is_err());
        assert!(Plan::parse(&s(&["--press", "x@1"])).is_err());
        assert!(Plan::parse(&s(&["--press", "1"])).is_err());
        assert!(Plan::parse(&s(&["--calls"])).is_err());
        assert!(Plan::parse(&s(&["--talk-after", "-1"])).is_err());
        assert!(Plan::parse(&s(&["--talk-after", "4000"])).is_err());
        assert!(Plan::parse(&s(&["--bogus", "1"])).is_err());
    }
}
