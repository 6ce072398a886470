//! Tests against the real espeak-ng process: plausible audio for en-US and pt-BR,
//! hostile text never becoming options or hanging, timeouts, and a missing binary.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{espeak, request};
use ringdesk_tts::{EspeakConfig, EspeakNg, TtsEngine, TtsError, TtsRequest};

/// Quietest RMS accepted as speech.
const MIN_SPEECH_DBFS: f64 = -40.0;

#[tokio::test]
async fn check_records_the_version() {
    let engine = espeak();
    engine.check().await.expect("espeak-ng installed");
    let version = engine.version().expect("version recorded").to_owned();
    assert!(
        version.chars().next().is_some_and(|c| c.is_ascii_digit()),
        "{version}"
    );
    assert_eq!(engine.cache_identity(), format!("espeak-ng {version}"));
}

#[tokio::test]
async fn english_duration_grows_with_text() {
    let engine = espeak();
    let short = engine
        .synthesize(&request("Hello.", "en-US"))
        .await
        .unwrap();
    let long_text = "Hello. Your most recent ticket is open and an agent is working on it. \
                     Press one to speak to an agent, or two to hang up.";
    let long = engine
        .synthesize(&request(long_text, "en-US"))
        .await
        .unwrap();
    for a in [&short, &long] {
        assert!(a.sample_rate >= 8000, "{a:?}");
        assert!(
            a.rms_dbfs() > MIN_SPEECH_DBFS,
            "too quiet: {} dBFS",
            a.rms_dbfs()
        );
    }
    let (s, l) = (short.duration(), long.duration());
    assert!(
        s > Duration::from_millis(200) && s < Duration::from_secs(3),
        "{s:?}"
    );
    // About 25 words at ~175 wpm: roughly 6-12 s.
    assert!(
        l > Duration::from_secs(4) && l < Duration::from_secs(20),
        "{l:?}"
    );
    assert!(l > s * 4, "short {s:?}, long {l:?}");
}

#[tokio::test]
async fn portuguese_is_spoken() {
    let engine = espeak();
    let text = "Olá! Seu chamado mais recente está em andamento. Pressione um para falar com um atendente.";
    let audio = engine.synthesize(&request(text, "pt-BR")).await.unwrap();
    let d = audio.duration();
    assert!(
        d > Duration::from_secs(3) && d < Duration::from_secs(15),
        "{d:?}"
    );
    assert!(audio.rms_dbfs() > MIN_SPEECH_DBFS);
    let short = engine.synthesize(&request("Olá.", "pt-BR")).await.unwrap();
    assert!(d > short.duration() * 3);
}

#[tokio::test]
async fn rate_changes_duration() {
    let engine = espeak();
    let text = "Please hold while we connect you to the next available agent.";
    let slow = engine
        .synthesize(&request(text, "en-US").with_rate(60).unwrap())
        .await
        .unwrap();
    let fast = engine
        .synthesize(&request(text, "en-US").with_rate(200).unwrap())
        .await
        .unwrap();
    assert!(
        slow.duration() > fast.duration() * 2,
        "{slow:?} vs {fast:?}"
    );
}

#[tokio::test]
async fn option_like_text_is_spoken_not_obeyed() {
    let engine = espeak();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.wav");
    let hostile = [
        "--help".to_owned(),
        "--version".to_owned(),
        format!("-w {}", target.display()),
        "-v xx -s 9999 --stdin".to_owned(),
    ];
    for text in &hostile {
        // `--help` obeyed would print usage text, not a WAV: parsing would fail.
        let audio = engine
            .synthesize(&request(text, "en-US"))
            .await
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(!audio.samples.is_empty(), "{text:?}");
        assert!(audio.duration() > Duration::from_millis(150), "{text:?}");
    }
    assert!(!target.exists(), "-w in the text was obeyed");
    // A lone dash is punctuation (nothing to say), but still a clean WAV, not stdin mode.
    let dash = engine.synthesize(&request("-", "en-US")).await.unwrap();
    assert!(dash.duration() < Duration::from_secs(1), "{dash:?}");
}

#[tokio::test]
async fn odd_text_is_spoken_or_rejected_cleanly() {
    let engine = espeak();
    let started = Instant::now();
    // Control characters (NUL, ESC, BEL, newlines) become spaces.
    let ctrl = engine
        .synthesize(&request("Ticket\u{0} one\u{1b}[2J\u{7}\r\ntwo", "en-US"))
        .await
        .unwrap();
    assert!(ctrl.duration() > Duration::from_millis(500));
    // Non-ASCII text in several scripts.
    for text in [
        "Ação, coração e pão",
        "naïve café — 東京 🎉 Ελληνικά",
        "[[h@'loU]] <speak>x</speak>",
    ] {
        let audio = engine.synthesize(&request(text, "pt-BR")).await;
        assert!(audio.is_ok_and(|a| !a.samples.is_empty()), "{text:?}");
    }
    // Too long: rejected before any process runs.
    assert!(matches!(
        TtsRequest::new(&"word ".repeat(1000), "en-US"),
        Err(TtsError::TextTooLong { len: 5000, .. })
    ));
    // Only control characters: nothing to say.
    assert_eq!(
        TtsRequest::new("\u{0}\u{1b}\n", "en-US"),
        Err(TtsError::EmptyText)
    );
    // The longest accepted text still finishes under the timeout.
    let longest = "a b c ".repeat(ringdesk_tts::MAX_TEXT_BYTES / 6);
    let audio = engine
        .synthesize(&request(&longest, "en-US"))
        .await
        .unwrap();
    assert!(audio.duration() > Duration::from_secs(30), "{audio:?}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn hostile_voice_and_language_never_reach_the_process() {
    let r = request("hi", "en-US");
    assert!(matches!(
        r.clone().with_voice("--help"),
        Err(TtsError::InvalidVoice(_))
    ));
    assert!(matches!(
        TtsRequest::new("hi", "-w /tmp/x"),
        Err(TtsError::InvalidLanguage(_))
    ));
    // A well-formed voice espeak-ng does not have is its clean error, not a hang.
    let err = espeak()
        .synthesize(&r.with_voice("zz-nonexistent").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, TtsError::EngineFailed { .. }), "{err:?}");
}

#[tokio::test]
async fn missing_binary_is_a_clear_error() {
    let at_path = EspeakNg::new(EspeakConfig {
        program: PathBuf::from("/nonexistent/bin/espeak-ng"),
        ..EspeakConfig::default()
    });
    let err = at_path.check().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "espeak-ng not found at /nonexistent/bin/espeak-ng: install the espeak-ng package"
    );
    let err = at_path
        .synthesize(&request("hi", "en-US"))
        .await
        .unwrap_err();
    assert!(matches!(err, TtsError::EngineNotFound { .. }));

    let on_path = EspeakNg::new(EspeakConfig {
        program: PathBuf::from("espeak-ng-not-installed-here"),
        ..EspeakConfig::default()
    });
    assert_eq!(
        on_path.check().await.unwrap_err().to_string(),
        "espeak-ng not found on PATH: install the espeak-ng package"
    );
}

#[tokio::test]
async fn hung_engine_is_killed_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let script = fake_program(dir.path(), "exec sleep 60\n");
    let engine = EspeakNg::new(EspeakConfig {
        program: script,
        timeout: Duration::from_millis(300),
        ..EspeakConfig::default()
    });
    let started = Instant::now();
    let err = engine
        .synthesize(&request("hello", "en-US"))
        .await
        .unwrap_err();
    assert!(matches!(err, TtsError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn non_wav_output_is_rejected() {
    let engine = EspeakNg::new(EspeakConfig {
        program: PathBuf::from("/bin/echo"),
        ..EspeakConfig::default()
    });
    let err = engine
        .synthesize(&request("hello", "en-US"))
        .await
        .unwrap_err();
    assert!(matches!(err, TtsError::InvalidAudio { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded() {
    // A fake espeak-ng that records how many copies run at once.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let script = fake_program(
        dir.path(),
        &format!(
            "echo start >> {log}\nsleep 0.3\necho end >> {log}\nexit 1\n",
            log = log.display()
        ),
    );
    let engine = std::sync::Arc::new(EspeakNg::new(EspeakConfig {
        program: script,
        max_concurrent: 2,
        ..EspeakConfig::default()
    }));
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let r = request(&format!("prompt {i}"), "en-US");
                engine.synthesize(&r).await
            })
        })
        .collect();
    for t in tasks {
        let outcome = t.await.unwrap();
        assert!(
            matches!(outcome, Err(TtsError::EngineFailed { .. })),
            "{outcome:?}"
        );
    }
    let events = std::fs::read_to_string(&log).unwrap();
    let (mut running, mut most) = (0i32, 0i32);
    for line in events.lines() {
        running += if line == "start" { 1 } else { -1 };
        most = most.max(running);
    }
    assert_eq!(events.lines().count(), 12);
    // Never more than the limit (without it, all six would overlap).
    assert!((1..=2).contains(&most), "{events}");
}

/// Writes an executable shell script `fake-espeak` into `dir` and returns its
/// path once it is known to run.
///
/// Other tests in this binary spawn processes at the same time; a fork taken
/// while the script's write handle was open keeps that handle until its exec,
/// and executing the script meanwhile fails with "text file busy" (ETXTBSY).
/// A probe run (`FAKE_PROBE=1` exits at once) is retried until exec succeeds;
/// after that no writable handle can exist, so the engine's spawns are safe.
fn fake_program(dir: &std::path::Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("fake-espeak");
    std::fs::write(
        &script,
        format!("#!/bin/sh\n[ -n \"$FAKE_PROBE\" ] && exit 0\n{body}"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::process::Command::new(&script)
            .env("FAKE_PROBE", "1")
            .status()
        {
            Ok(status) => {
                assert!(status.success(), "probe of {}: {status}", script.display());
                return script;
            }
            Err(e) if e.raw_os_error() == Some(26) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("cannot run {}: {e}", script.display()),
        }
    }
}
