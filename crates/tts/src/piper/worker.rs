//! One warm Piper worker: a Python process running `crates/tts/piper/ringdesk_piper.py`
//! (embedded, passed with `-I -c`), its voice loaded once, rendering one request at a
//! time over the framed protocol of decision 0018: a JSON line in, a `AUDI`/`FAIL` frame
//! out, every length bounded before anything is read or allocated.
//!
//! A worker whose stream may be out of step (a deadline passed, the caller's future was
//! dropped, a frame was malformed) is never reused: it is dropped, which kills it.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::audio::Audio;
use crate::error::TtsError;
use crate::process::{location, printable};
use crate::wav::MAX_SAMPLE_RATE;

use super::ENGINE_NAME;

/// The worker script, embedded so the binary needs nothing beside Piper's own package.
pub(crate) const SCRIPT: &str = include_str!("../../piper/ringdesk_piper.py");
/// The protocol version this side speaks (the script's `PROTOCOL`).
const PROTOCOL: u32 = 1;
/// Most bytes of a `HELO` or `FAIL` payload.
const MAX_MESSAGE: usize = 4096;
/// How much of the worker's stderr is kept for error messages.
const STDERR_KEPT: usize = 512;
/// Longest stderr line logged.
const STDERR_LINE: usize = 1024;

/// What a worker says once its voice is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Hello {
    pub protocol: u32,
    /// The `piper-tts` package's version.
    pub piper: String,
    /// The model file, absolute.
    pub model: PathBuf,
    /// The model's JSON config, absolute.
    pub config: PathBuf,
    pub sample_rate: u32,
}

/// How to start a worker.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub python: PathBuf,
    pub model: Option<PathBuf>,
}

impl Launch {
    fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["-I".into(), "-c".into(), SCRIPT.into()];
        if let Some(model) = &self.model {
            args.push("--model".into());
            args.push(model.into());
        }
        args
    }
}

/// A running worker.
pub(crate) struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    hello: Hello,
    stderr: Arc<Mutex<Vec<u8>>>,
}

/// One frame from the worker.
enum Frame {
    Hello(Vec<u8>),
    Audio(Vec<u8>),
    Fail(Vec<u8>),
}

impl Worker {
    /// Starts a worker and waits for its `HELO` (the caller bounds the wait).
    pub(crate) async fn start(launch: &Launch) -> Result<Worker, TtsError> {
        let mut cmd = Command::new(&launch.python);
        cmd.args(launch.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            ErrorKind::NotFound => TtsError::EngineNotFound {
                engine: ENGINE_NAME.to_owned(),
                location: format!("(its Python {})", location(&launch.python)),
                hint: super::INSTALL_HINT.to_owned(),
            },
            _ => TtsError::Spawn {
                engine: ENGINE_NAME.to_owned(),
                message: format!("{} ({e})", launch.python.display()),
            },
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io_error("the worker's pipes are missing"));
        };
        let kept = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(drain_stderr(stderr, Arc::clone(&kept), child.id()));
        let mut worker = Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            hello: Hello {
                protocol: 0,
                piper: String::new(),
                model: PathBuf::new(),
                config: PathBuf::new(),
                sample_rate: 0,
            },
            stderr: kept,
        };
        match worker.read_frame(MAX_MESSAGE).await? {
            Frame::Hello(json) => {
                let hello: Hello = serde_json::from_slice(&json).map_err(|e| {
                    unexpected(format!(
                        "the worker's greeting is not what ringdesk_piper.py sends ({e})"
                    ))
                })?;
                if hello.protocol != PROTOCOL {
                    return Err(unexpected(format!(
                        "the worker speaks protocol {}, ringdesk {PROTOCOL}",
                        hello.protocol
                    )));
                }
                if !(1..=MAX_SAMPLE_RATE).contains(&hello.sample_rate) {
                    return Err(unexpected(format!(
                        "the voice's sample rate {} is out of range",
                        hello.sample_rate
                    )));
                }
                worker.hello = hello;
                Ok(worker)
            }
            Frame::Fail(message) => Err(TtsError::Unavailable {
                engine: ENGINE_NAME.to_owned(),
                message: printable(&message),
            }),
            Frame::Audio(_) => Err(unexpected("audio before the greeting".to_owned())),
        }
    }

    /// What the worker said at start.
    pub(crate) fn hello(&self) -> &Hello {
        &self.hello
    }

    /// The worker's process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the process is still running (a worker that died idle is replaced before
    /// use rather than failing a request).
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Renders one request. `Ok(Err(_))` is a failure the worker reported in step (it can
    /// be reused); `Err(_)` means the worker must be dropped.
    pub(crate) async fn render(
        &mut self,
        line: &[u8],
        max_output_bytes: usize,
    ) -> Result<Result<Audio, TtsError>, TtsError> {
        self.stdin
            .write_all(line)
            .await
            .map_err(|e| self.pipe_error(&e))?;
        self.stdin.flush().await.map_err(|e| self.pipe_error(&e))?;
        // The sample rate's 4 bytes come before the samples.
        match self.read_frame(max_output_bytes.saturating_add(4)).await? {
            Frame::Audio(payload) => decode_audio(&payload).map(Ok),
            Frame::Fail(message) => Ok(Err(TtsError::EngineFailed {
                engine: ENGINE_NAME.to_owned(),
                status: "request refused".to_owned(),
                stderr: printable(&message),
            })),
            Frame::Hello(_) => Err(unexpected("a second greeting".to_owned())),
        }
    }

    /// Reads one frame whose payload may be at most `max` bytes (`AUDI`; other frames
    /// at most [`MAX_MESSAGE`]).
    async fn read_frame(&mut self, max: usize) -> Result<Frame, TtsError> {
        let mut header = [0u8; 8];
        if let Err(e) = self.stdout.read_exact(&mut header).await {
            return Err(self.ended(&e).await);
        }
        let (tag, len) = header.split_at(4);
        let len = u32::from_le_bytes(len.try_into().unwrap_or_default());
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let limit = if tag == b"AUDI" { max } else { MAX_MESSAGE };
        if !matches!(tag, b"HELO" | b"AUDI" | b"FAIL") {
            return Err(unexpected(format!(
                "unknown frame {:?}",
                String::from_utf8_lossy(tag)
            )));
        }
        if len > limit {
            return Err(if tag == b"AUDI" {
                TtsError::OutputTooLarge {
                    engine: ENGINE_NAME.to_owned(),
                    max: max.saturating_sub(4),
                }
            } else {
                unexpected(format!("a message of {len} bytes (max {MAX_MESSAGE})"))
            });
        }
        let mut payload = vec![0u8; len];
        if let Err(e) = self.stdout.read_exact(&mut payload).await {
            return Err(self.ended(&e).await);
        }
        Ok(match tag {
            b"HELO" => Frame::Hello(payload),
            b"AUDI" => Frame::Audio(payload),
            _ => Frame::Fail(payload),
        })
    }

    /// The error for a stream that ended: the exit status and the start of stderr when
    /// the process is gone.
    async fn ended(&mut self, error: &std::io::Error) -> TtsError {
        if error.kind() != ErrorKind::UnexpectedEof {
            return io_error(&error.to_string());
        }
        let status = tokio::time::timeout(std::time::Duration::from_secs(2), self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
            .map_or_else(|| "closed its output".to_owned(), |s| s.to_string());
        // Give the stderr reader a moment to collect the last words.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        TtsError::EngineFailed {
            engine: ENGINE_NAME.to_owned(),
            status,
            stderr: self.stderr_tail(),
        }
    }

    fn pipe_error(&self, error: &std::io::Error) -> TtsError {
        io_error(&format!("{error} ({})", self.stderr_tail()))
    }

    fn stderr_tail(&self) -> String {
        let kept = self.stderr.lock().map(|k| k.clone()).unwrap_or_default();
        printable(&kept)
    }
}

/// The request line for a worker: JSON, one line (JSON escapes every newline).
pub(crate) fn request_line(text: &str, speed: f64, speaker: Option<&str>) -> Vec<u8> {
    let mut line = serde_json::json!({ "text": text, "speed": speed, "speaker": speaker })
        .to_string()
        .into_bytes();
    line.push(b'\n');
    line
}

/// `AUDI`'s payload: u32 LE sample rate, then 16-bit LE samples.
fn decode_audio(payload: &[u8]) -> Result<Audio, TtsError> {
    let (rate, pcm) = payload
        .split_first_chunk::<4>()
        .ok_or_else(|| unexpected("audio without a sample rate".to_owned()))?;
    let rate = u32::from_le_bytes(*rate);
    if !(1..=MAX_SAMPLE_RATE).contains(&rate) {
        return Err(unexpected(format!("sample rate {rate} out of range")));
    }
    if pcm.len() % 2 != 0 {
        return Err(unexpected("an odd number of audio bytes".to_owned()));
    }
    let samples = pcm
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    Ok(Audio::new(samples, rate))
}

/// Reads the worker's stderr to its end so the worker never blocks on it: lines are
/// logged (bounded), the first [`STDERR_KEPT`] bytes kept for error messages.
async fn drain_stderr(
    stderr: tokio::process::ChildStderr,
    kept: Arc<Mutex<Vec<u8>>>,
    pid: Option<u32>,
) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bounded: a line longer than STDERR_LINE is read in pieces.
        let mut limited = (&mut reader).take(u64::try_from(STDERR_LINE).unwrap_or(1024));
        match limited.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if let Ok(mut k) = kept.lock() {
                    let room = STDERR_KEPT.saturating_sub(k.len());
                    k.extend_from_slice(line.get(..line.len().min(room)).unwrap_or_default());
                }
                tracing::debug!(pid, line = %printable(&line), "piper worker");
            }
        }
    }
}

fn unexpected(message: String) -> TtsError {
    TtsError::UnexpectedOutput {
        engine: ENGINE_NAME.to_owned(),
        message,
    }
}

fn io_error(message: &str) -> TtsError {
    TtsError::Io {
        engine: ENGINE_NAME.to_owned(),
        message: message.to_owned(),
    }
}

/// The model file a launch will load: the configured one, or what a worker reported.
pub(crate) fn model_of<'a>(launch: &'a Launch, hello: &'a Hello) -> &'a Path {
    launch.model.as_deref().unwrap_or(&hello.model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_one_json_line() {
        let line = request_line("say \"hi\"\nthen\u{2028}go", 1.25, Some("joe"));
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(line.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["text"], "say \"hi\"\nthen\u{2028}go");
        assert_eq!(v["speed"], 1.25);
        assert_eq!(v["speaker"], "joe");
        let none: serde_json::Value =
            serde_json::from_slice(&request_line("x", 1.0, None)).unwrap();
        assert!(none["speaker"].is_null());
    }

    #[test]
    fn audio_payloads_are_checked() {
        let mut p = 22050u32.to_le_bytes().to_vec();
        p.extend_from_slice(&[1, 0, 0xff, 0xff]);
        let a = decode_audio(&p).unwrap();
        assert_eq!(a.samples, [1, -1]);
        assert_eq!(a.sample_rate, 22050);
        assert!(decode_audio(&[1, 2]).is_err());
        assert!(decode_audio(&[0, 0, 0, 0]).is_err(), "rate 0");
        let mut odd = 8000u32.to_le_bytes().to_vec();
        odd.push(1);
        assert!(decode_audio(&odd).is_err());
        assert!(decode_audio(&u32::MAX.to_le_bytes()).is_err());
    }
}
