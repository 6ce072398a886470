//! The prompts the caller should hear, rendered here the way ringdesk renders them
//! (espeak-ng through `ringdesk_tts`, converted to 8 kHz G.711 by `ringdesk_media::Clip`),
//! so the tests compare what was heard with what was expected rather than with
//! hard-coded durations.

use super::audio::{self, FRAME_SECONDS};
use ringdesk_media::{Clip, Codec};
use ringdesk_tts::{split_numbers, trim_part, EspeakConfig, EspeakNg, TtsEngine, TtsRequest};

/// The default flow's English prompts the voice tests listen for.
pub const WELCOME: &str = "Welcome to customer support. One moment while we look up your account.";
pub const MENU: &str = "Press 1 to speak with an agent, or 2 to hang up.";
pub const NO_INPUT: &str = "Sorry, we did not hear your choice.";
pub const NO_AGENTS: &str =
    "No agent is logged in right now. Press 1 to wait for one, or 2 to hang up.";
/// The queue is full (`[queues.<name>] max_calls`): the apology and the caller's choice.
pub const QUEUE_FULL: &str = "Sorry, all our agents are busy and no more calls can wait right now. Press 1 to try again, or 2 to hang up.";
pub const GOODBYE: &str = "Thank you for calling. Goodbye.";

/// The static prompts above: pre-rendered whole, numbers and all.
const STATIC: [&str; 6] = [WELCOME, MENU, NO_INPUT, NO_AGENTS, QUEUE_FULL, GOODBYE];

/// The status sentence of a demo customer.
pub fn status(name: &str, ticket: u64, status_words: &str) -> String {
    format!("Hello {name}. Your ticket number {ticket} is {status_words}.")
}

/// A rendered prompt: its length and where its sound starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// Whole clip, seconds.
    pub len_s: f64,
    /// First and last sounding frame, seconds from the clip's start.
    pub sound_start_s: f64,
    pub sound_end_s: f64,
}

impl Expected {
    /// From the first to the last sounding frame.
    pub fn sound_s(&self) -> f64 {
        self.sound_end_s - self.sound_start_s
    }
}

/// Renders `texts` (en-US), played back to back, as ringdesk would send them in `codec`.
pub async fn render(texts: &[&str], codec: Codec) -> Expected {
    let engine = EspeakNg::new(EspeakConfig::default());
    let mut pcm = Vec::new();
    for text in texts {
        let req = TtsRequest::new(text, "en-US").expect("a valid TTS request");
        // A text with numbers is spoken in parts, each trimmed of the engine's pauses
        // (static prompts such as the menu are rendered whole at flow load).
        let parts = split_numbers(req.text(), req.language()).filter(|_| !STATIC.contains(text));
        let pieces: Vec<(TtsRequest, bool)> = match parts {
            Some(parts) => parts
                .iter()
                .map(|p| (req.with_text(p.text()).expect("a valid part"), true))
                .collect(),
            None => vec![(req, false)],
        };
        for (piece, trim) in pieces {
            let mut speech = engine
                .synthesize(&piece)
                .await
                .expect("espeak-ng renders the prompt");
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
    Expected {
        len_s: frames.len() as f64 * FRAME_SECONDS,
        sound_start_s: first.unwrap_or(0) as f64 * FRAME_SECONDS,
        sound_end_s: last.map_or(0, |l| l + 1) as f64 * FRAME_SECONDS,
    }
}

/// The μ-law frames with sound of the greeting ([`WELCOME`]) as ringdesk renders it: what
/// a plain call carries on the wire, frame for frame.
pub async fn greeting_frames() -> std::collections::HashSet<Vec<u8>> {
    let engine = EspeakNg::new(EspeakConfig::default());
    let req = TtsRequest::new(WELCOME, "en-US").expect("a valid TTS request");
    let speech = engine
        .synthesize(&req)
        .await
        .expect("espeak-ng renders the greeting");
    let clip = Clip::from_pcm(&speech.samples, speech.sample_rate).expect("a clip");
    (0..clip.frame_count())
        .filter_map(|i| clip.frame(Codec::Pcmu, i).map(<[u8]>::to_vec))
        // Silence is the same in any stream: only frames with sound identify the prompt.
        .filter(|f| f.iter().any(|&b| b != 0xff && b != 0x7f))
        .collect()
}

/// How many captured datagrams carry, as plain RTP, one of `frames`.
pub fn frames_on_the_wire(
    datagrams: &[super::capture::Datagram],
    frames: &std::collections::HashSet<Vec<u8>>,
) -> usize {
    datagrams
        .iter()
        .filter(|d| d.payload.get(12..172).is_some_and(|p| frames.contains(p)))
        .count()
}
