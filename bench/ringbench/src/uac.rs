//! The SIP side of a hold run: one UDP socket, one thread, a timer heap. Places the
//! calls at the planned rate, answers ringdesk's requests, presses the keys, opens and
//! closes the measurement window, samples ringdesk's CPU and memory, and hangs up.

use crate::args::Plan;
use crate::call::{self, Call, End, State};
use crate::media::Window;
use crate::net::{self, Batch};
use crate::procfs::{self, Sample};
use crate::rtp;
use crate::sip_msg::{self, Dialog, Message, StartLine};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Start(usize),
    InviteTimer(usize, u32),
    Press(usize, u8),
    WindowStart,
    WindowEnd,
    Bye(usize),
    ByeTimer(usize, u32),
    /// One 20 ms slot of the talk grid (`--talk-after`): the slot number.
    Talk(u32),
}

/// Talk packets are paced on this grid.
const TALK_SLOT: Duration = Duration::from_millis(20);

/// What the SIP side observed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub calls: Vec<Call>,
    pub before: Option<Sample>,
    pub at_start: Option<Sample>,
    pub at_end: Option<Sample>,
    /// Calls up when the window opened / closed.
    pub up_at_start: usize,
    pub up_at_end: usize,
    pub window: Duration,
    /// When the window opened (kernel-clock ns).
    pub window_start_ns: i64,
    /// Datagrams to the SIP socket that were not usable SIP.
    pub sip_strays: u64,
    /// How late each talk tick ran against its grid slot, in µs (the source's own jitter,
    /// to tell it apart from ringdesk's in the relayed stream).
    pub talk_tick_late_us: Vec<u64>,
    /// When each talk slot was sent (kernel-clock ns), indexed by slot.
    pub talk_sent_ns: Vec<i64>,
}

struct Uac<'a> {
    plan: &'a Plan,
    sock: UdpSocket,
    media: &'a [Arc<UdpSocket>],
    window: &'a Window,
    heap: BinaryHeap<Reverse<(Instant, u64, Ev)>>,
    seq: u64,
    branch_n: u64,
    out: Outcome,
    window_opened: Option<Instant>,
    /// Start of the talk grid.
    talk_t0: Instant,
    /// Slots of the talk grid, at most (bounds the run).
    talk_slots: u32,
}

/// Runs the whole SIP side; returns when every call has ended or the hard deadline passed.
pub fn run(plan: &Plan, media: &[Arc<UdpSocket>], window: &Window) -> io::Result<Outcome> {
    let sock = net::bind(
        SocketAddrV4::new([127, 0, 0, 1].into(), 0),
        16 << 20,
        Duration::from_millis(2),
    )?;
    let local = sock.local_addr()?;
    let run_id = std::process::id();
    let mut calls = Vec::with_capacity(plan.calls);
    for i in 0..plan.calls {
        let media_idx = i % media.len().max(1);
        let ani = plan
            .callers
            .get(i % plan.callers.len().max(1))
            .cloned()
            .unwrap_or_default();
        let dialog = Dialog {
            call_id: call::call_id(i, run_id),
            from_tag: format!("ft{i}"),
            ani,
            service: plan.service.clone(),
            remote: plan.target,
            local,
            to_tag: None,
            contact: None,
        };
        let call = Call::new(dialog, format!("z9hG4bKrbi{i}"), media_idx, i as u32);
        calls.push(if plan.srtp {
            call.with_srtp(i as u32)
        } else {
            call
        });
    }
    let mut u = Uac {
        plan,
        sock,
        media,
        window,
        heap: BinaryHeap::new(),
        seq: 0,
        branch_n: 0,
        out: Outcome {
            calls,
            ..Outcome::default()
        },
        window_opened: None,
        talk_t0: Instant::now(),
        talk_slots: 0,
    };
    u.out.before = plan.pid.and_then(procfs::sample);
    let t0 = Instant::now() + Duration::from_millis(100);
    let spacing = Duration::from_secs_f64(1.0 / plan.rate);
    for i in 0..plan.calls {
        u.at(t0 + spacing * i as u32, Ev::Start(i));
    }
    let last_press = plan.presses.iter().map(|p| p.0).max().unwrap_or_default();
    let ramp = spacing * plan.calls as u32;
    let w_start = t0 + ramp + Duration::from_secs(1) + last_press + plan.settle;
    let w_end = w_start + plan.measure;
    u.at(w_start, Ev::WindowStart);
    u.at(w_end, Ev::WindowEnd);
    let bye_spacing = Duration::from_secs_f64(1.0 / plan.bye_rate);
    for i in 0..plan.calls {
        u.at(w_end + bye_spacing * i as u32, Ev::Bye(i));
    }
    let hard_deadline = w_end + bye_spacing * plan.calls as u32 + Duration::from_secs(15);
    if plan.talk_after.is_some() {
        u.talk_t0 = t0;
        let span = hard_deadline.saturating_duration_since(t0);
        u.talk_slots = u32::try_from(span.as_millis() / TALK_SLOT.as_millis()).unwrap_or(u32::MAX);
        u.at(t0, Ev::Talk(0));
    }
    u.drive(w_end, hard_deadline)?;
    Ok(u.out)
}

impl Uac<'_> {
    fn at(&mut self, t: Instant, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, ev)));
    }

    fn branch(&mut self) -> String {
        self.branch_n += 1;
        format!("z9hG4bKrb{}", self.branch_n)
    }

    fn send(&self, text: &str) {
        // UDP: a dropped datagram is retransmitted by the timers, as SIP intends.
        let _ = self.sock.send_to(text.as_bytes(), self.plan.target);
    }

    fn send_to(&self, text: &str, to: SocketAddr) {
        let _ = self.sock.send_to(text.as_bytes(), to);
    }

    fn drive(&mut self, w_end: Instant, hard_deadline: Instant) -> io::Result<()> {
        let mut batch = Batch::new();
        loop {
            let now = Instant::now();
            while let Some(Reverse((t, _, ev))) = self.heap.peek().copied() {
                if t > now {
                    break;
                }
                self.heap.pop();
                self.on_timer(now, ev);
            }
            let all_done = self.out.calls.iter().all(|c| c.state == State::Done);
            if (all_done && now >= w_end) || now >= hard_deadline {
                for c in self.out.calls.iter_mut() {
                    match c.state {
                        State::Byeing => c.finish(End::ByeTimeout),
                        State::Inviting | State::Idle => c.finish(End::NoAnswer),
                        _ => {}
                    }
                }
                return Ok(());
            }
            let n = batch.recv(&self.sock)?;
            for i in 0..n {
                if let Some(r) = batch.get(i) {
                    let (at, from) = (r.at_ns, r.from);
                    match Message::parse(r.data) {
                        Ok(m) => self.on_message(now, &m, at, SocketAddr::V4(from)),
                        Err(_) => self.out.sip_strays += 1,
                    }
                }
            }
        }
    }

    fn on_timer(&mut self, now: Instant, ev: Ev) {
        match ev {
            Ev::Start(i) => {
                let Some(c) = self.out.calls.get_mut(i) else {
                    return;
                };
                c.state = State::Inviting;
                let media = c.media;
                let Some(media_addr) = self.media_addr(media) else {
                    return;
                };
                if let Some(c) = self.out.calls.get(i) {
                    let crypto = c.srtp.as_ref().map(|(line, _)| line.as_str());
                    let msg = sip_msg::invite(&c.dialog, &c.invite_branch, media_addr, crypto);
                    self.send(&msg);
                }
                self.at(now + Duration::from_millis(500), Ev::InviteTimer(i, 1));
            }
            Ev::InviteTimer(i, n) => {
                let Some(c) = self.out.calls.get_mut(i) else {
                    return;
                };
                if c.state != State::Inviting {
                    return;
                }
                if n >= 6 {
                    c.finish(End::NoAnswer);
                    return;
                }
                let resend = !c.proceeding;
                let media = c.media;
                if resend {
                    let addr = self
                        .media_addr(media)
                        .unwrap_or(SocketAddrV4::new([127, 0, 0, 1].into(), 9));
                    if let Some(c) = self.out.calls.get(i) {
                        let crypto = c.srtp.as_ref().map(|(line, _)| line.as_str());
                        let msg = sip_msg::invite(&c.dialog, &c.invite_branch, addr, crypto);
                        self.send(&msg);
                    }
                }
                self.at(
                    now + Duration::from_millis(500u64 << n),
                    Ev::InviteTimer(i, n + 1),
                );
            }
            Ev::Press(i, k) => self.press(now, i, k),
            Ev::Talk(n) => {
                let due = self.talk_t0 + TALK_SLOT * n;
                let late = now.saturating_duration_since(due).as_micros();
                self.out
                    .talk_tick_late_us
                    .push(u64::try_from(late).unwrap_or(u64::MAX));
                self.out.talk_sent_ns.push(net::realtime_ns());
                self.talk(now, n);
                if n < self.talk_slots {
                    // On the grid (not now + 20 ms): a late tick does not shift the next.
                    self.at(self.talk_t0 + TALK_SLOT * (n + 1), Ev::Talk(n + 1));
                }
            }
            Ev::WindowStart => {
                self.out.at_start = self.plan.pid.and_then(procfs::sample);
                self.out.up_at_start = self.count_up();
                let ws = net::realtime_ns();
                self.out.window_start_ns = ws;
                self.window.start_ns.store(ws, Ordering::Relaxed);
                self.window_opened = Some(now);
            }
            Ev::WindowEnd => {
                self.window
                    .end_ns
                    .store(net::realtime_ns(), Ordering::Relaxed);
                self.out.at_end = self.plan.pid.and_then(procfs::sample);
                self.out.up_at_end = self.count_up();
                self.out.window = self.window_opened.map(|t| now - t).unwrap_or_default();
            }
            Ev::Bye(i) => {
                let branch = self.branch();
                let Some(c) = self.out.calls.get_mut(i) else {
                    return;
                };
                match c.state {
                    State::Up => {
                        c.state = State::Byeing;
                        c.invite_branch = branch;
                        let msg = sip_msg::bye(&c.dialog, &c.invite_branch);
                        self.send(&msg);
                        self.at(now + Duration::from_millis(500), Ev::ByeTimer(i, 1));
                    }
                    State::Idle | State::Inviting => c.finish(End::NoAnswer),
                    State::Byeing | State::Done => {}
                }
            }
            Ev::ByeTimer(i, n) => {
                let Some(c) = self.out.calls.get_mut(i) else {
                    return;
                };
                if c.state != State::Byeing {
                    return;
                }
                if n >= 5 {
                    c.finish(End::ByeTimeout);
                    return;
                }
                let msg = sip_msg::bye(&c.dialog, &c.invite_branch);
                self.send(&msg);
                self.at(
                    now + Duration::from_millis(500u64 << n),
                    Ev::ByeTimer(i, n + 1),
                );
            }
        }
    }

    fn media_addr(&self, idx: usize) -> Option<SocketAddrV4> {
        match self.media.get(idx)?.local_addr().ok()? {
            SocketAddr::V4(a) => Some(a),
            SocketAddr::V6(_) => None,
        }
    }

    fn count_up(&self) -> usize {
        self.out
            .calls
            .iter()
            .filter(|c| c.state == State::Up)
            .count()
    }

    fn press(&mut self, now: Instant, i: usize, k: u8) {
        let Some(c) = self.out.calls.get_mut(i) else {
            return;
        };
        let (Some(rm), Some(answered), State::Up) = (c.remote_media, c.answered_at, c.state) else {
            return;
        };
        let Some(key) = self.plan.presses.get(usize::from(k)).map(|p| p.1) else {
            return;
        };
        let elapsed_ts = (now - answered).as_millis() as u32 * 8;
        let pt = rm.telephone_event.unwrap_or(101);
        let Some(pkts) = rtp::key_press(key, pt, c.seq, elapsed_ts, c.ssrc) else {
            return;
        };
        c.seq = c.seq.wrapping_add(pkts.len() as u16);
        c.keys_sent += 1;
        if let Some(sock) = self.media.get(c.media) {
            for p in &pkts {
                let _ = sock.send_to(&c.wire(p), rm.addr);
            }
        }
    }

    /// Sends one 20 ms audio packet, for grid slot `slot`, on every call that is up and
    /// past `--talk-after`.
    fn talk(&mut self, now: Instant, slot: u32) {
        let Some(after) = self.plan.talk_after else {
            return;
        };
        for c in self.out.calls.iter_mut() {
            let (Some(rm), Some(answered), State::Up) = (c.remote_media, c.answered_at, c.state)
            else {
                continue;
            };
            let elapsed = now.saturating_duration_since(answered);
            if elapsed < after {
                continue;
            }
            // The RTP timestamp is the grid slot (not the time read now, whose jitter
            // would move packets across slot boundaries): 160 samples per 20 ms slot.
            let ts = slot.wrapping_mul(160);
            let p = rtp::audio(c.seq, ts, c.ssrc);
            c.seq = c.seq.wrapping_add(1);
            c.talk_sent += 1;
            if let Some(sock) = self.media.get(c.media) {
                let _ = sock.send_to(&c.wire(&p), rm.addr);
            }
        }
    }

    fn on_message(&mut self, now: Instant, m: &Message, at_ns: i64, from: SocketAddr) {
        let idx = m.call_id().and_then(call::index_of);
        match &m.start {
            StartLine::Request(method) => {
                if method != "ACK" {
                    self.send_to(&sip_msg::ok_to(m), from);
                }
                if method == "BYE" {
                    if let Some(c) = idx.and_then(|i| self.out.calls.get_mut(i)) {
                        c.finish(End::RemoteBye);
                    }
                }
            }
            StartLine::Response(code) => {
                let Some(i) = idx else { return };
                let code = *code;
                match m.cseq_method() {
                    Some("INVITE") => self.on_invite_response(now, i, code, m, at_ns),
                    Some("BYE") if code >= 200 => {
                        if let Some(c) = self.out.calls.get_mut(i) {
                            if c.state == State::Byeing {
                                c.finish(End::ByeOk);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn on_invite_response(&mut self, now: Instant, i: usize, code: u16, m: &Message, at_ns: i64) {
        let fresh = self.branch();
        let presses: Vec<Duration> = self.plan.presses.iter().map(|p| p.0).collect();
        let Some(c) = self.out.calls.get_mut(i) else {
            return;
        };
        if code < 200 {
            c.proceeding = true;
            return;
        }
        if code >= 300 {
            c.dialog.to_tag = m.to_tag();
            let msg = sip_msg::ack(&c.dialog, &c.invite_branch, false);
            if c.state == State::Inviting {
                c.finish(End::Rejected(code));
            }
            self.send(&msg);
            return;
        }
        // 2xx, first or retransmitted: ACK it.
        if c.state == State::Inviting {
            c.state = State::Up;
            c.ok_at_ns = Some(at_ns);
            c.answered_at = Some(now);
            c.dialog.to_tag = m.to_tag();
            c.dialog.contact = m.contact_uri();
            c.remote_media = sip_msg::sdp_media(&m.body);
            for (k, d) in presses.iter().enumerate() {
                let t = now + *d;
                self.seq += 1;
                self.heap
                    .push(Reverse((t, self.seq, Ev::Press(i, k as u8))));
            }
        }
        if let Some(c) = self.out.calls.get(i) {
            let msg = sip_msg::ack(&c.dialog, &fresh, true);
            self.send(&msg);
        }
    }
}
