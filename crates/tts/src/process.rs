//! Running an engine as a separate process: no shell, no inherited stdin, output read
//! with a size limit, the whole run under a deadline, and the child killed (and reaped)
//! on timeout, on oversize output, or when the caller drops the future.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use crate::error::TtsError;

/// How much of the engine's stderr is kept for error messages.
const MAX_STDERR_KEPT: usize = 512;

/// What to run and the limits to run it under.
pub(crate) struct Run<'a> {
    /// Engine name for error messages, e.g. `espeak-ng`.
    pub engine: &'a str,
    /// Program path or name looked up on PATH.
    pub program: &'a Path,
    /// Arguments, passed directly (never through a shell).
    pub args: Vec<OsString>,
    /// Deadline for the whole run, from spawn to exit.
    pub timeout: Duration,
    /// Most stdout bytes accepted.
    pub max_stdout: usize,
    /// Hint shown when the program is missing.
    pub not_found_hint: &'a str,
}

/// Runs the program and returns its stdout if it exits successfully.
pub(crate) async fn run(run: Run<'_>) -> Result<Vec<u8>, TtsError> {
    let mut child = spawn(&run)?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let work = async {
        let (out, err) = tokio::join!(
            read_limited(stdout, run.max_stdout, run.engine),
            read_head(stderr, MAX_STDERR_KEPT)
        );
        let out = out?;
        let status = child.wait().await.map_err(|e| TtsError::Io {
            engine: run.engine.to_owned(),
            message: e.to_string(),
        })?;
        Ok::<_, TtsError>((status, out, err))
    };
    let outcome = tokio::time::timeout(run.timeout, work).await;
    let (status, out, err) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            kill(&mut child).await;
            return Err(e);
        }
        Err(_elapsed) => {
            kill(&mut child).await;
            return Err(TtsError::Timeout {
                engine: run.engine.to_owned(),
                after: run.timeout,
            });
        }
    };
    if !status.success() {
        return Err(TtsError::EngineFailed {
            engine: run.engine.to_owned(),
            status: status.to_string(),
            stderr: printable(&err),
        });
    }
    Ok(out)
}

fn spawn(run: &Run<'_>) -> Result<Child, TtsError> {
    let mut cmd = Command::new(run.program);
    cmd.args(&run.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().map_err(|e| match e.kind() {
        ErrorKind::NotFound => TtsError::EngineNotFound {
            engine: run.engine.to_owned(),
            location: location(run.program),
            hint: run.not_found_hint.to_owned(),
        },
        _ => TtsError::Spawn {
            engine: run.engine.to_owned(),
            message: format!("{} ({e})", run.program.display()),
        },
    })
}

/// `on PATH` for a bare name, `at <path>` for a path.
pub(crate) fn location(program: &Path) -> String {
    if program.components().count() > 1 || program.is_absolute() {
        format!("at {}", program.display())
    } else {
        "on PATH".to_owned()
    }
}

async fn kill(child: &mut Child) {
    // SIGKILL and reap; errors only mean it already exited.
    if let Err(e) = child.kill().await {
        tracing::debug!(error = %e, "engine process already gone");
    }
}

/// Reads all of `pipe`, failing as soon as it exceeds `max` bytes.
async fn read_limited<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    max: usize,
    engine: &str,
) -> Result<Vec<u8>, TtsError> {
    let Some(pipe) = pipe else {
        return Ok(Vec::new());
    };
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut buf = Vec::new();
    pipe.take(limit)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| TtsError::Io {
            engine: engine.to_owned(),
            message: e.to_string(),
        })?;
    if buf.len() > max {
        return Err(TtsError::OutputTooLarge {
            engine: engine.to_owned(),
            max,
        });
    }
    Ok(buf)
}

/// Keeps the first `keep` bytes of `pipe` and discards the rest (so the child never
/// blocks on a full pipe). Read errors just end the read: this is diagnostics only.
async fn read_head<R: AsyncRead + Unpin>(pipe: Option<R>, keep: usize) -> Vec<u8> {
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
            }
        }
    }
    kept
}

/// Engine diagnostics made safe for a log line: lossy UTF-8, controls removed, trimmed.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        "(no diagnostics)".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(location(Path::new("espeak-ng")), "on PATH");
        assert_eq!(
            location(Path::new("/opt/x/espeak-ng")),
            "at /opt/x/espeak-ng"
        );
        assert_eq!(location(Path::new("bin/espeak-ng")), "at bin/espeak-ng");
    }

    #[test]
    fn printable_strips_controls() {
        assert_eq!(printable(b"\x1b[31mError\n\xff"), "[31mError \u{fffd}");
        assert_eq!(printable(b"\n"), "(no diagnostics)");
    }

    fn sh(script: &str, timeout: Duration, max_stdout: usize) -> Run<'static> {
        Run {
            engine: "test-engine",
            program: Path::new("/bin/sh"),
            args: vec!["-c".into(), script.into()],
            timeout,
            max_stdout,
            not_found_hint: "install it",
        }
    }

    #[tokio::test]
    async fn collects_stdout_and_reports_failures() {
        let ok = run(sh("printf hello", Duration::from_secs(10), 100)).await;
        assert_eq!(ok.unwrap(), b"hello");
        let failed = run(sh("echo oops >&2; exit 3", Duration::from_secs(10), 100)).await;
        match failed {
            Err(TtsError::EngineFailed { stderr, status, .. }) => {
                assert_eq!(stderr, "oops");
                assert!(status.contains('3'), "{status}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn oversize_output_is_cut_off() {
        let r = run(sh("yes", Duration::from_secs(10), 10_000)).await;
        assert_eq!(
            r,
            Err(TtsError::OutputTooLarge {
                engine: "test-engine".into(),
                max: 10_000
            })
        );
    }

    #[tokio::test]
    async fn hung_child_times_out() {
        let started = std::time::Instant::now();
        let r = run(sh("exec sleep 30", Duration::from_millis(200), 100)).await;
        assert!(matches!(r, Err(TtsError::Timeout { .. })), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn missing_program_is_named() {
        let mut r = sh("", Duration::from_secs(1), 1);
        r.program = Path::new("/nonexistent/dir/espeak-ng");
        let e = run(r).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "test-engine not found at /nonexistent/dir/espeak-ng: install it"
        );
    }
}
