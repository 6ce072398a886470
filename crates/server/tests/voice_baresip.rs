//! Voice end-to-end test with baresip, a real softphone, as the caller: it dials
//! `ringdesk serve`, records what it hears to a WAV file, presses 1 at the menu and 1
//! again at the no-agent menu (RFC 2833 via `sndcode`), and hangs up. The recording must
//! hold the prompts (as long as rendered) and then music on hold.

mod voice;

use std::time::{Duration, Instant};
use voice::audio;
use voice::baresip::Baresip;
use voice::prompts::{self, render};
use voice::server::{Options, Server};
use voice::{demo, FRAMES_PER_SECOND};

/// Heard prompt lengths may differ from the rendered ones by this much (seconds).
const LENGTH_TOLERANCE: f64 = 0.5;
/// When the caller presses 1 at the menu (its prompt ends near 11.5 s, the no-input
/// timer runs out near 16.5 s), then 1 at the no-agent menu, then hangs up.
const FIRST_KEY: Duration = Duration::from_millis(13_000);
const SECOND_KEY: Duration = Duration::from_millis(19_500);
const HANG_UP: Duration = Duration::from_secs(30);

async fn run_command(phone: &Baresip, command: &str, params: &str) {
    tokio::task::block_in_place(|| phone.command(command, params));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_hears_prompts_then_music_on_hold() {
    let server = Server::start(Options::default()).await;
    let (caller, ticket) = demo::MICHAEL;
    let capture = voice::capture::Capture::start();
    let mut phone = Baresip::start(&server.dir().join("baresip"), caller).await;
    let t0 = Instant::now();
    run_command(
        &phone,
        "dial",
        &format!("sip:support@{}", server.sip_addr()),
    )
    .await;
    tokio::time::sleep_until((t0 + FIRST_KEY).into()).await;
    run_command(&phone, "sndcode", "1").await;
    tokio::time::sleep_until((t0 + SECOND_KEY).into()).await;
    run_command(&phone, "sndcode", "1").await;
    tokio::time::sleep_until((t0 + HANG_UP).into()).await;
    run_command(&phone, "hangup", "").await;
    // quit waits for baresip to exit, so the recording is complete.
    phone.quit().await;

    // A plain call carries the greeting's G.711 frames as they are (the control of the
    // SRTP test in `security.rs`, which must find none).
    let on_wire = voice::prompts::frames_on_the_wire(
        &capture.udp_to(phone.rtp_ports()),
        &prompts::greeting_frames().await,
    );
    drop(capture);
    assert!(
        on_wire > 100,
        "the capture finds the greeting in clear on a plain call: {on_wire} frames"
    );
    let pcm = phone.heard_pcm();
    let frames = audio::frame_rms(&pcm);
    let seconds = frames.len() as f64 * audio::FRAME_SECONDS;
    let blocks = audio::segments(&frames, FRAMES_PER_SECOND);
    eprintln!(
        "baresip recorded {seconds:.1} s; blocks:\n{}",
        audio::describe(&blocks)
    );
    assert!(
        (HANG_UP.as_secs_f64() - 3.0..=HANG_UP.as_secs_f64() + 1.0).contains(&seconds),
        "the recording covers the call: {seconds:.1} s"
    );
    assert!(blocks.len() >= 3, "intro, no-agent menu, music: {blocks:?}");

    // Welcome, status and menu, back to back, from the first second.
    let intro = render(
        &[
            prompts::WELCOME,
            &prompts::status("Michael Brown", ticket, "waiting for your reply"),
            prompts::MENU,
        ],
        ringdesk_media::Codec::Pcmu,
    )
    .await;
    let no_agents = render(&[prompts::NO_AGENTS], ringdesk_media::Codec::Pcmu).await;
    eprintln!(
        "intro heard {:.2} s (rendered {:.2} s); no-agent menu heard {:.2} s (rendered {:.2} s)",
        blocks[0].len_s(),
        intro.sound_s(),
        blocks[1].len_s(),
        no_agents.sound_s()
    );
    assert!(
        blocks[0].start_s() < 1.0,
        "the welcome starts at once: {}",
        blocks[0]
    );
    assert!(
        (blocks[0].len_s() - intro.sound_s()).abs() <= LENGTH_TOLERANCE,
        "welcome + status + menu: heard {}, rendered {:.2} s",
        blocks[0],
        intro.sound_s()
    );
    // The first 1 brings the no-agent menu, once.
    let first_key = FIRST_KEY.as_secs_f64();
    assert!(
        (first_key - 0.5..first_key + 1.5).contains(&blocks[1].start_s()),
        "the no-agent menu follows the first key: {}",
        blocks[1]
    );
    assert!(
        (blocks[1].len_s() - no_agents.sound_s()).abs() <= LENGTH_TOLERANCE,
        "no-agent menu: heard {}, rendered {:.2} s",
        blocks[1],
        no_agents.sound_s()
    );
    // The second 1 ("wait for one"): music until the caller hangs up.
    let from = ((SECOND_KEY.as_secs_f64() + 1.5) / audio::FRAME_SECONDS) as usize;
    let to = frames.len().saturating_sub(FRAMES_PER_SECOND);
    assert!(
        to > from + 5 * FRAMES_PER_SECOND,
        "at least 5 s of queue heard"
    );
    let sound = audio::sound_fraction(&frames, from..to);
    let gap = audio::longest_gap(&frames, from..to);
    let flatness = audio::median_flatness(
        pcm.get(from * audio::FRAME..to * audio::FRAME)
            .unwrap_or(&[]),
    );
    eprintln!(
        "music on hold heard by baresip: {:.1} s, {:.0}% of frames sounding, longest pause {} ms, median spectral flatness {flatness:.3}",
        (to - from) as f64 * audio::FRAME_SECONDS,
        sound * 100.0,
        gap * 20
    );
    assert!(
        sound > 0.9,
        "music is continuous: {:.0}% sounding",
        sound * 100.0
    );
    assert!(
        gap < 15,
        "no pause over 300 ms in the music: {} ms",
        gap * 20
    );
    assert!(
        flatness < audio::MUSIC_MAX_FLATNESS,
        "music has a tonal spectrum: flatness {flatness:.3}"
    );

    let notes = server
        .new_comments(ticket, 1, Duration::from_secs(15))
        .await;
    assert_eq!(notes.len(), 1, "one note on ticket {ticket}: {notes:#?}");
    assert!(!notes[0].public, "the note is private");
    assert!(
        notes[0].body.contains("Keys pressed: 11."),
        "baresip's two keys reached the flow: {:?}",
        notes[0].body
    );
}
