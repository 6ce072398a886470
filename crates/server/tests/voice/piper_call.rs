//! Piper through a real call (part of the `voice_media` test binary): a `ringdesk serve`
//! child speaking en-US with Piper (`[tts.engines.piper]`, the joe voice from
//! `.venv/piper`) answers a SIPp call, and the audio heard at the caller's side has
//! speech as long as Piper renders the same prompts (and not as long as espeak-ng's);
//! a corrupt voice model stops `serve` at start with a clear message.

use super::voice::audio;
use super::voice::demo;
use super::voice::listening::Listening;
use super::voice::prompts::{self, render};
use super::voice::server::{Options, Server};
use ringdesk_media::{Clip, Codec};
use ringdesk_tts::{split_numbers, trim_part, Piper, PiperConfig, TtsEngine, TtsRequest};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// Silence of at least this many frames separates prompt blocks.
const BLOCK_GAP: usize = 50;
/// Heard and rendered lengths may differ by this much (seconds): Piper's durations vary a
/// little between renders (its noise), about ±0.1 s a sentence.
const LENGTH_TOLERANCE: f64 = 0.6;

/// The Python with piper-tts and the joe voice (what `./scripts/test` installs), or
/// `RINGDESK_PIPER_PYTHON`.
fn piper_python() -> PathBuf {
    if let Some(p) = std::env::var_os("RINGDESK_PIPER_PYTHON") {
        return p.into();
    }
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/piper/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/test (it installs Piper) or set RINGDESK_PIPER_PYTHON",
        python.display()
    );
    python
}

/// `[tts]` with Piper for en-US (the server runs in a temporary directory: the Python's
/// path is absolute).
fn piper_tts(model: Option<&std::path::Path>) -> String {
    let mut s = format!(
        "[tts.engines.piper]\npython = {:?}\nworkers = 1\n",
        piper_python()
    );
    if let Some(model) = model {
        s.push_str(&format!("model = {model:?}\n"));
    }
    s.push_str("[tts.languages]\n\"en-US\" = \"piper\"\n");
    s
}

/// Seconds of sound (first to last sounding frame) of `texts` rendered by Piper back to
/// back as ringdesk sends them: static prompts whole, a text with numbers in trimmed
/// parts.
async fn piper_sound_s(engine: &Piper, texts: &[(&str, bool)], codec: Codec) -> f64 {
    let mut pcm = Vec::new();
    for &(text, whole) in texts {
        let req = TtsRequest::new(text, "en-US").expect("a valid TTS request");
        let parts = split_numbers(req.text(), req.language()).filter(|_| !whole);
        let pieces: Vec<(TtsRequest, bool)> = match parts {
            Some(parts) => parts
                .iter()
                .map(|p| (req.with_text(p.text()).expect("a valid part"), true))
                .collect(),
            None => vec![(req, false)],
        };
        for (piece, trim) in pieces {
            let mut speech = engine.synthesize(&piece).await.expect("piper renders");
            if trim {
                speech = trim_part(&speech);
            }
            let clip = Clip::from_pcm(&speech.samples, speech.sample_rate).expect("a clip");
            pcm.extend(clip.to_pcm(codec));
        }
    }
    let frames = audio::frame_rms(&pcm);
    let first = frames.iter().position(|&l| l >= audio::SOUND_RMS);
    let last = frames.iter().rposition(|&l| l >= audio::SOUND_RMS);
    (last.map_or(0, |l| l + 1) as f64 - first.unwrap_or(0) as f64) * audio::FRAME_SECONDS
}

/// The greeting, John's ticket status and the menu, spoken by Piper: heard at the
/// caller's side (G.711 at 8 kHz), as long as Piper renders them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piper_speaks_the_english_prompts_of_a_real_call() {
    let server = Server::start(Options {
        extra_config: Some(piper_tts(None)),
        ..Options::default()
    })
    .await;
    let log = server.log();
    assert!(
        log.contains("en-US → piper") && log.contains("piper ready"),
        "the server speaks en-US with Piper:\n{log}"
    );
    let (caller, ticket) = demo::JOHN;
    let call = Listening::call(
        &server,
        "own_pcma_then_bye.xml",
        caller,
        Duration::from_secs(14),
    )
    .await;
    let heard = call.hang_up().await;
    heard
        .check_stream(Codec::Pcma.payload_type())
        .unwrap_or_else(|e| panic!("{e}"));
    let frames = audio::frame_rms(&heard.pcm(Codec::Pcma));
    let blocks = audio::segments(&frames, BLOCK_GAP);
    eprintln!("prompt blocks heard:\n{}", audio::describe(&blocks));
    let intro = blocks.first().expect("the caller heard speech");
    assert!(
        intro.start_s() < 1.0,
        "the welcome starts within the first second: {intro}"
    );

    let engine = Piper::new(PiperConfig {
        python: piper_python(),
        workers: 1,
        ..PiperConfig::default()
    });
    engine.check().await.expect("piper installed");
    let status = prompts::status("John Carter", ticket, "open");
    let texts = [
        (prompts::WELCOME, true),
        (&status[..], false),
        (prompts::MENU, true),
    ];
    let expected = piper_sound_s(&engine, &texts, Codec::Pcma).await;
    let espeak = render(&[prompts::WELCOME, &status, prompts::MENU], Codec::Pcma)
        .await
        .sound_s();
    eprintln!(
        "welcome + status + menu: heard {:.2} s, Piper renders {expected:.2} s, espeak-ng {espeak:.2} s",
        intro.len_s()
    );
    assert!(
        (intro.len_s() - expected).abs() <= LENGTH_TOLERANCE,
        "heard {:.2} s of speech, Piper renders {expected:.2} s (±{LENGTH_TOLERANCE})",
        intro.len_s()
    );
    // Piper's voice, not espeak-ng's: the two engines' lengths differ by more than the
    // tolerance, and what was heard is Piper's.
    assert!(
        (intro.len_s() - espeak).abs() > (intro.len_s() - expected).abs() + 0.5,
        "heard {:.2} s: closer to espeak-ng's {espeak:.2} s than to Piper's {expected:.2} s",
        intro.len_s()
    );
    // Speech, not a tone or noise: it has pauses between words and sentences.
    let gaps = audio::segments(&frames[intro.start..intro.end], 5).len();
    assert!(gaps >= 3, "{gaps} bursts of sound in {intro}");
}

/// `ringdesk serve` with Piper on `model` for en-US: it must exit at start; its stderr.
async fn serve_refuses(dir: &std::path::Path, model: &std::path::Path) -> String {
    let config = dir.join("ringdesk.toml");
    std::fs::write(
        &config,
        format!(
            "[sip]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n\
             [store]\npath = {:?}\n{}",
            dir.join("ringdesk.sqlite"),
            piper_tts(Some(model))
        ),
    )
    .unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ringdesk"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the ringdesk binary");
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("serve exits at start")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("answering SIP calls"),
        "no calls answered"
    );
    stderr
}

/// A voice model that is missing, or cut short, is an error at start: `serve` exits,
/// naming the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_corrupt_piper_model_stops_serve_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("pt_BR-nobody-medium.onnx");
    let stderr = serve_refuses(dir.path(), &missing).await;
    let want = format!(
        "text-to-speech engine: piper cannot speak: model file {} does not exist",
        missing.display()
    );
    assert!(stderr.contains(&want), "{want:?} in:\n{stderr}");

    let engine = Piper::new(PiperConfig {
        python: piper_python(),
        workers: 1,
        ..PiperConfig::default()
    });
    engine.check().await.expect("piper installed");
    let model = engine.model().expect("checked").to_path_buf();
    let corrupt = dir.path().join("en_US-joe-medium.onnx");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&corrupt, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(
        format!("{}.json", model.display()),
        dir.path().join("en_US-joe-medium.onnx.json"),
    )
    .unwrap();
    let stderr = serve_refuses(dir.path(), &corrupt).await;
    let want = format!(
        "text-to-speech engine: piper cannot speak: cannot load the Piper voice {}",
        corrupt.display()
    );
    assert!(stderr.contains(&want), "{want:?} in:\n{stderr}");
}
