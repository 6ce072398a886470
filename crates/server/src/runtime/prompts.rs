//! Turns a flow's prompt segments into playable clips: text through the TTS prompt
//! cache, audio files converted once to 8 kHz G.711; both kept in memory as shared clips
//! so a prompt heard by a thousand callers is rendered and converted once.

use crate::config::TtsConfig;
use anyhow::{anyhow, Context, Result};
use ringdesk_flow::{Flow, Segment};
use ringdesk_media::Clip;
use ringdesk_tts::{
    split_numbers, trim_part, CacheConfig, Part, PromptCache, TtsEngine, TtsRequest,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The built-in music on hold (an original piece, see `scripts/make-hold-music.py`).
pub const DEFAULT_MUSIC: &[u8] = include_bytes!("../../../../assets/defaultmusic_on_hold.wav");
/// The name flows use for it.
pub const DEFAULT_MUSIC_NAME: &str = "defaultmusic_on_hold.wav";
/// Memory for clips of dynamic prompts (names, ticket numbers, queue positions vary per
/// caller). Static prompts and audio files are pinned: they are bounded by the flows.
const DYNAMIC_CLIP_BYTES: usize = 16 * 1024 * 1024;

/// Converted clips: pinned ones (static prompts, files) and a byte-bounded set of dynamic
/// ones (evicted oldest first).
#[derive(Default)]
struct ClipCache {
    pinned: HashMap<String, Clip>,
    dynamic: HashMap<String, Clip>,
    order: std::collections::VecDeque<String>,
    dynamic_bytes: usize,
}

/// Memory a clip holds (both laws).
fn clip_bytes(c: &Clip) -> usize {
    c.frame_count() * 160 * 2
}

impl ClipCache {
    fn get(&self, key: &str) -> Option<Clip> {
        self.pinned
            .get(key)
            .or_else(|| self.dynamic.get(key))
            .cloned()
    }

    fn insert(&mut self, key: String, clip: &Clip, pin: bool) {
        if pin {
            if let Some(old) = self.dynamic.remove(&key) {
                self.dynamic_bytes -= clip_bytes(&old);
            }
            self.pinned.insert(key, clip.clone());
            return;
        }
        if self.pinned.contains_key(&key) || self.dynamic.contains_key(&key) {
            return;
        }
        let size = clip_bytes(clip);
        while self.dynamic_bytes + size > DYNAMIC_CLIP_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.dynamic.remove(&oldest) {
                self.dynamic_bytes -= clip_bytes(&old);
            }
        }
        self.dynamic_bytes += size;
        self.order.push_back(key.clone());
        self.dynamic.insert(key, clip.clone());
    }
}

/// Prompt and audio-file clips for the running server.
pub struct Prompts {
    tts: PromptCache,
    clips: Mutex<ClipCache>,
    /// Directories searched for audio files named in flows, in order.
    audio_dirs: Vec<PathBuf>,
}

impl Prompts {
    /// Builds the speech engines `[tts]` configures (one per language, espeak-ng by
    /// default), checks each (a missing engine is an error here, at start) and builds
    /// the caches.
    pub async fn start(audio_dirs: Vec<PathBuf>, tts: &TtsConfig) -> Result<Prompts> {
        let engine = Arc::new(tts.router());
        engine
            .check()
            .await
            .map_err(|e| anyhow!("text-to-speech engine: {e}"))?;
        tracing::info!("text-to-speech: {}", tts.describe());
        let tts = PromptCache::new(engine, CacheConfig::default());
        Ok(Prompts {
            tts,
            clips: Mutex::new(ClipCache::default()),
            audio_dirs,
        })
    }

    fn cached(&self, key: &str) -> Option<Clip> {
        self.clips.lock().ok()?.get(key)
    }

    fn remember(&self, key: String, clip: &Clip, pin: bool) {
        if let Ok(mut cache) = self.clips.lock() {
            cache.insert(key, clip, pin);
        }
    }

    /// The clips for one segment if they are all rendered already (never runs the
    /// engine). A text is one clip, or several when it is spoken in parts (see
    /// [`Prompts::clips`]).
    pub fn ready(&self, segment: &Segment) -> Option<Vec<Clip>> {
        let req = match segment {
            Segment::Audio { file } => {
                return self.cached(&format!("file:{file}")).map(|c| vec![c])
            }
            Segment::Tts { .. } => tts_request(segment)?.ok()?,
        };
        if let Some(c) = self.cached(&self.whole_key(&req)) {
            return Some(vec![c]);
        }
        split_numbers(req.text(), req.language())?
            .iter()
            .map(|part| {
                let preq = req.with_text(part.text()).ok()?;
                self.cached(&self.part_key(&preq))
            })
            .collect()
    }

    /// The clips for one segment, rendering what is missing.
    ///
    /// A text rendered whole before (every static prompt is, at flow load) is one clip.
    /// Otherwise a text with plain numbers in it ("You are number 4321 in line") is
    /// spoken in parts: the words around the numbers and each number's words are
    /// rendered and cached on their own, trimmed of the engine's pauses, so thousands of
    /// callers hearing their own place in line share a hundred cached clips instead of
    /// each needing an engine run.
    pub async fn clips(&self, segment: &Segment) -> Result<Vec<Clip>> {
        let req = match segment {
            Segment::Audio { file } => return Ok(vec![self.file(file)?]),
            Segment::Tts { .. } => tts_request(segment).context("a text segment")??,
        };
        let key = self.whole_key(&req);
        if let Some(c) = self.cached(&key) {
            return Ok(vec![c]);
        }
        if let Some(parts) = split_numbers(req.text(), req.language()) {
            let mut clips = Vec::with_capacity(parts.len());
            for part in &parts {
                clips.push(self.part(&req, part).await?);
            }
            return Ok(clips);
        }
        Ok(vec![self.whole(&req, key, false).await?])
    }

    fn whole_key(&self, req: &TtsRequest) -> String {
        format!("tts:{}", self.tts.key(req))
    }

    fn part_key(&self, req: &TtsRequest) -> String {
        format!("part:{}", self.tts.key(req))
    }

    /// A text rendered whole (cached under `key`).
    async fn whole(&self, req: &TtsRequest, key: String, pin: bool) -> Result<Clip> {
        if let Some(c) = self.cached(&key) {
            if pin {
                self.remember(key, &c, true);
            }
            return Ok(c);
        }
        // Boxed: rendering's state is large, and the caller's future would otherwise
        // keep room for it during the whole call.
        let clip = Box::pin(self.render(req, false)).await?;
        self.remember(key, &clip, pin);
        Ok(clip)
    }

    /// One part of a text spoken in parts. Number words are a bounded vocabulary, so
    /// they are pinned; the words around them vary with the prompt and are not.
    async fn part(&self, whole: &TtsRequest, part: &Part) -> Result<Clip> {
        let req = whole.with_text(part.text())?;
        let key = self.part_key(&req);
        if let Some(c) = self.cached(&key) {
            return Ok(c);
        }
        let clip = Box::pin(self.render(&req, true)).await?;
        self.remember(key, &clip, matches!(part, Part::Word(_)));
        Ok(clip)
    }

    /// Speaks a request (through the TTS cache), trims its pauses for a part, and
    /// converts it to a clip.
    async fn render(&self, req: &TtsRequest, part: bool) -> Result<Clip> {
        let audio = self.tts.get(req).await?;
        // Resampling is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            if part {
                let trimmed = trim_part(&audio);
                Clip::from_pcm(&trimmed.samples, trimmed.sample_rate)
            } else {
                Clip::from_pcm(&audio.samples, audio.sample_rate)
            }
        })
        .await
        .map_err(|e| anyhow!("prompt conversion failed: {e}"))?
        .map_err(Into::into)
    }

    /// The clip for an audio file named in a flow (converted once).
    pub fn file(&self, name: &str) -> Result<Clip> {
        let key = format!("file:{name}");
        if let Some(c) = self.cached(&key) {
            return Ok(c);
        }
        let clip = match self.find(name) {
            Some(path) => {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read audio file {}", path.display()))?;
                Clip::from_wav(&bytes).with_context(|| format!("audio file {}", path.display()))?
            }
            None if name == DEFAULT_MUSIC_NAME => Clip::from_wav(DEFAULT_MUSIC)?,
            None => {
                return Err(anyhow!(
                    "audio file {name:?} not found in {:?}",
                    self.audio_dirs
                ))
            }
        };
        self.remember(key, &clip, true);
        Ok(clip)
    }

    fn find(&self, name: &str) -> Option<PathBuf> {
        let p = Path::new(name);
        if p.is_absolute() {
            return p.is_file().then(|| p.to_path_buf());
        }
        self.audio_dirs
            .iter()
            .map(|d| d.join(p))
            .find(|candidate| candidate.is_file())
    }

    /// A static prompt rendered whole and pinned (a file is converted and pinned).
    async fn prerender_segment(&self, segment: &Segment) -> Result<Clip> {
        let req = match segment {
            Segment::Audio { file } => return self.file(file),
            Segment::Tts { .. } => tts_request(segment).context("a text segment")??,
        };
        let key = self.whole_key(&req);
        self.whole(&req, key, true).await
    }

    /// Renders a flow's static prompts and converts its audio files now, so calls never
    /// wait for them. Failures are logged, not fatal (the call will retry on demand).
    pub async fn prerender(&self, flow: &Flow) {
        let segments = flow.static_prompts();
        let total = segments.len();
        let mut failed = 0;
        for s in &segments {
            if let Err(e) = self.prerender_segment(s).await {
                failed += 1;
                tracing::warn!(flow = flow.name(), "prompt not pre-rendered: {e:#}");
            }
        }
        for f in flow.audio_files() {
            if let Err(e) = self.file(&f) {
                tracing::warn!(flow = flow.name(), "audio file not loaded: {e:#}");
            }
        }
        tracing::info!(
            flow = flow.name(),
            prompts = total,
            failed,
            "static prompts pre-rendered"
        );
    }
}

/// The TTS request for a flow's text segment (`None` for an audio file).
fn tts_request(segment: &Segment) -> Option<Result<TtsRequest>> {
    let Segment::Tts {
        text,
        language,
        voice,
    } = segment
    else {
        return None;
    };
    let request = TtsRequest::new(text, language).and_then(|req| match voice {
        Some(v) => req.with_voice(v),
        None => Ok(req),
    });
    Some(request.map_err(Into::into))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dynamic_clips_stay_within_their_byte_budget_and_pinned_ones_stay() {
        let mut cache = ClipCache::default();
        let clip = Clip::silence(Duration::from_secs(10)); // 160 KB both laws
        cache.insert("static".into(), &clip, true);
        for i in 0..500 {
            cache.insert(format!("dyn{i}"), &clip, false);
        }
        assert!(cache.dynamic_bytes <= DYNAMIC_CLIP_BYTES);
        assert!(
            cache.get("static").is_some(),
            "pinned clips are never evicted"
        );
        assert!(cache.get("dyn499").is_some(), "the newest stays");
        assert!(cache.get("dyn0").is_none(), "the oldest went first");
        assert_eq!(cache.dynamic.len(), cache.order.len());
    }
}

/// Needs espeak-ng (the test command installs it): a missing engine fails these tests,
/// it never skips them.
#[cfg(test)]
mod spoken_in_parts {
    use super::*;

    fn tts(text: &str, language: &str) -> Segment {
        Segment::Tts {
            text: text.into(),
            language: language.into(),
            voice: None,
        }
    }

    fn seconds(clips: &[Clip]) -> f64 {
        clips.iter().map(|c| c.frame_count()).sum::<usize>() as f64 * 0.02
    }

    #[tokio::test]
    async fn queue_positions_share_a_small_vocabulary_of_cached_clips() {
        let prompts = Prompts::start(vec![], &TtsConfig::default())
            .await
            .expect("espeak-ng is installed");
        let say = |n: u32| tts(&format!("You are number {n} in line."), "en-US");
        let clips = prompts.clips(&say(4321)).await.unwrap();
        // "You are number", four, thousand, three hundred, twenty-one, "in line."
        assert_eq!(clips.len(), 6);
        assert!(prompts.ready(&say(4321)).is_some_and(|c| c.len() == 6));
        // Every part of 4300 is cached now; 4322 needs "twenty-two".
        assert!(prompts.ready(&say(4300)).is_some_and(|c| c.len() == 5));
        assert!(prompts.ready(&say(4322)).is_none());

        // Nine positions: five new words (five, fifteen, twenty-five, one hundred, two
        // hundred) are all the engine has to say; rendered whole it would be nine runs.
        let before = prompts.tts.stats().syntheses;
        for n in [5, 15, 25, 105, 115, 125, 205, 215, 225] {
            prompts.clips(&say(n)).await.unwrap();
        }
        assert_eq!(prompts.tts.stats().syntheses - before, 5);

        // Trimmed of the engine's pauses, the parts are about as long as the sentence
        // rendered whole (words said alone are a little slower); untrimmed, the six
        // parts would take nearly twice as long.
        let whole = prompts
            .render(
                &TtsRequest::new("You are number 4321 in line.", "en-US").unwrap(),
                false,
            )
            .await
            .unwrap();
        let parts = seconds(&clips);
        let whole = seconds(&[whole]);
        assert!(parts > 1.0, "the parts are speech: {parts} s");
        assert!(parts < whole * 1.3, "parts {parts} s, whole {whole} s");
    }

    #[tokio::test]
    async fn static_prompts_and_texts_without_numbers_stay_whole() {
        let prompts = Prompts::start(vec![], &TtsConfig::default())
            .await
            .expect("espeak-ng is installed");
        // A static prompt is pre-rendered whole, numbers and all, and plays whole.
        let menu = tts("Press 1 for an agent, or 2 to hang up.", "en-US");
        prompts.prerender_segment(&menu).await.unwrap();
        assert_eq!(prompts.ready(&menu).map(|c| c.len()), Some(1));
        assert_eq!(prompts.clips(&menu).await.unwrap().len(), 1);
        // No number, or a language without number words: one clip.
        let plain = tts("Thank you for holding.", "en-US");
        assert_eq!(prompts.clips(&plain).await.unwrap().len(), 1);
        let spanish = tts("Usted es el número 12.", "es-ES");
        assert_eq!(prompts.clips(&spanish).await.unwrap().len(), 1);
        // Brazilian Portuguese speaks in parts: "Você é o número", doze, "na fila."
        let pt = tts("Você é o número 12 na fila.", "pt-BR");
        assert_eq!(prompts.clips(&pt).await.unwrap().len(), 3);
    }
}
