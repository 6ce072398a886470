//! baresip (Debian package `baresip`) as a caller or an agent's phone: a throw-away config
//! directory (no sound card: `aufile` plays a WAV file, silence by default, as the
//! microphone, `aubridge` is the speaker, `sndfile` records what the phone hears to
//! `dump-*-dec.wav`), driven over its `ctrl_tcp` JSON/netstring interface (`dial`,
//! `sndcode` for RFC 2833 keys, `hangup`, `quit`). [`Setup`] adds SIP over TLS (a CA file
//! to trust ringdesk's certificate) and SRTP (`srtp.so`, the account's `mediaenc`). The
//! process is killed when dropped.

use super::ports::{free_port, free_rtp_port};
use super::serve_child::tail;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Longest wait for baresip's control port.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for the answer to a command.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest reply read.
const MAX_REPLY: usize = 64 * 1024;
/// Seconds of silence the caller's "microphone" plays.
const MIC_SECONDS: usize = 120;

/// A running baresip.
pub struct Baresip {
    child: Child,
    dir: PathBuf,
    control: SocketAddr,
    log: PathBuf,
    rtp: u16,
}

/// How a baresip is set up.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The `accounts` line, e.g. `<sip:+1555@127.0.0.1>;regint=0;audio_codecs=PCMU`.
    pub account: String,
    /// The CA file that makes ringdesk's TLS certificate trusted (SIP over TLS).
    pub ca_file: Option<PathBuf>,
    /// What the microphone says (8 kHz samples); silence when `None`.
    pub mic: Option<Vec<i16>>,
    /// Load the SRTP module (`mediaenc=srtp` / `srtp-mand` in the account).
    pub srtp: bool,
}

impl Setup {
    /// A caller with identity `caller` on plain SIP and RTP, PCMU only.
    pub fn caller(caller: &str) -> Setup {
        Setup {
            account: format!("<sip:{caller}@127.0.0.1>;regint=0;audio_codecs=PCMU"),
            ca_file: None,
            mic: None,
            srtp: false,
        }
    }
}

/// Fails the test with an actionable message when baresip is missing.
pub fn require_baresip() {
    if let Err(e) = std::process::Command::new("baresip")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        panic!(
            "baresip is required by the voice tests and could not be run ({e}); \
             install it with `apt-get install -y baresip`"
        );
    }
}

fn config_text(dir: &Path, sip_port: u16, control: SocketAddr, rtp: u16, setup: &Setup) -> String {
    let d = dir.display();
    let mut extra = String::new();
    if let Some(ca) = &setup.ca_file {
        extra.push_str(&format!("sip_cafile {}\n", ca.display()));
    }
    if setup.srtp {
        extra.push_str("module srtp.so\n");
    }
    format!(
        "poll_method epoll\n\
         sip_listen 127.0.0.1:{sip_port}\n\
         audio_player aubridge,speaker\n\
         audio_source aufile,{d}/silence.wav\n\
         audio_alert aubridge,speaker\n\
         ausrc_srate 8000\n\
         auplay_srate 8000\n\
         ausrc_channels 1\n\
         auplay_channels 1\n\
         rtp_ports {rtp}-{}\n\
         module_path /usr/lib/baresip/modules\n\
         module g711.so\n\
         module aufile.so\n\
         module aubridge.so\n\
         module sndfile.so\n\
         module_app account.so\n\
         module_app menu.so\n\
         module_app ctrl_tcp.so\n\
         ctrl_tcp_listen {control}\n\
         snd_path {d}\n\
         {extra}",
        rtp + 3
    )
}

impl Baresip {
    /// Starts baresip in `dir` (created) with `caller` as its identity, PCMU only.
    pub async fn start(dir: &Path, caller: &str) -> Baresip {
        Self::start_with(dir, &Setup::caller(caller)).await
    }

    /// Starts baresip in `dir` (created) as `setup` says.
    pub async fn start_with(dir: &Path, setup: &Setup) -> Baresip {
        require_baresip();
        std::fs::create_dir_all(dir).expect("baresip directory");
        let mic = setup
            .mic
            .clone()
            .unwrap_or_else(|| vec![0i16; 8000 * MIC_SECONDS]);
        std::fs::write(
            dir.join("silence.wav"),
            ringdesk_media::wav::write_pcm16_wav(&mic, 8000),
        )
        .expect("write the microphone file");
        let control = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let rtp = free_rtp_port();
        std::fs::write(
            dir.join("config"),
            config_text(dir, free_port(), control, rtp, setup),
        )
        .expect("write the baresip config");
        std::fs::write(dir.join("accounts"), format!("{}\n", setup.account))
            .expect("write the baresip accounts");
        let log = dir.join("baresip.log");
        let out = std::fs::File::create(&log).expect("baresip log");
        let err = out.try_clone().expect("baresip log");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(dir)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .expect("run baresip");
        let me = Baresip {
            child,
            dir: dir.to_path_buf(),
            control,
            log,
            rtp,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(control).is_err() {
            assert!(
                Instant::now() < deadline,
                "baresip did not open its control port in {START_TIMEOUT:?}\n{}",
                tail(&me.log, 40)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        me
    }

    /// Runs one ctrl_tcp command; panics unless baresip answers `"ok":true`.
    pub fn command(&self, command: &str, params: &str) {
        let body = serde_json::json!({ "command": command, "params": params, "token": "voice" })
            .to_string();
        let mut stream = TcpStream::connect(self.control).expect("connect to baresip ctrl_tcp");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("read timeout");
        stream
            .write_all(format!("{}:{body},", body.len()).as_bytes())
            .expect("send a baresip command");
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&reply);
            if text.contains("\"response\":true") {
                assert!(
                    text.contains("\"ok\":true"),
                    "baresip refused {command} {params}: {text}"
                );
                return;
            }
            assert!(
                Instant::now() < deadline && reply.len() < MAX_REPLY,
                "no answer from baresip to {command} {params}: {text}\n{}",
                tail(&self.log, 40)
            );
            match stream.read(&mut buf) {
                Ok(0) => panic!("baresip closed the control connection: {text}"),
                Ok(n) => reply.extend_from_slice(buf.get(..n).unwrap_or(&[])),
                Err(_) => continue,
            }
        }
    }

    /// Asks baresip to quit and waits (bounded) for it, so its recordings are complete.
    pub async fn quit(&mut self) {
        self.command("quit", "");
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }

    /// What the caller heard: the `sndfile` decode dump.
    pub fn recording(&self) -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("dump-") && n.ends_with("-dec.wav"))
            })
            .collect();
        found.sort();
        found.pop()
    }

    /// What the phone heard, as 8 kHz samples (the recording; panics when there is none).
    pub fn heard_pcm(&self) -> Vec<i16> {
        let path = self
            .recording()
            .unwrap_or_else(|| panic!("baresip wrote no recording\n{}", self.log_tail()));
        let bytes = std::fs::read(&path).expect("read the recording");
        let wav = ringdesk_media::wav::Wav::parse(&bytes).expect("the recording is a WAV file");
        assert_eq!(wav.format.sample_rate, 8000, "recorded at 8 kHz");
        wav.to_mono_f32()
            .iter()
            .map(|&x| (x * 32767.0).clamp(-32768.0, 32767.0) as i16)
            .collect()
    }

    /// The UDP ports baresip receives RTP on.
    pub fn rtp_ports(&self) -> std::ops::RangeInclusive<u16> {
        self.rtp..=self.rtp + 3
    }

    /// Everything baresip printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines baresip printed.
    pub fn log_tail(&self) -> String {
        tail(&self.log, 40)
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("---- baresip log (last lines) ----\n{}", self.log_tail());
        }
    }
}
