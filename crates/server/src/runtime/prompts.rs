//! Turns a flow's prompt segments into playable clips: text through the TTS prompt
//! cache, audio files converted once to 8 kHz G.711; both kept in memory as shared clips
//! so a prompt heard by a thousand callers is rendered and converted once.

use anyhow::{anyhow, Context, Result};
use ringdesk_flow::{Flow, Segment};
use ringdesk_media::Clip;
use ringdesk_tts::{CacheConfig, EspeakConfig, EspeakNg, PromptCache, TtsEngine, TtsRequest};
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
    /// Checks the speech engine (a missing espeak-ng is an error here, at start) and
    /// builds the caches.
    pub async fn start(audio_dirs: Vec<PathBuf>) -> Result<Prompts> {
        let engine = Arc::new(EspeakNg::new(EspeakConfig::default()));
        engine
            .check()
            .await
            .map_err(|e| anyhow!("text-to-speech engine: {e}"))?;
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

    /// The clip for one segment if it is already rendered (never runs the engine).
    pub fn ready(&self, segment: &Segment) -> Option<Clip> {
        match segment {
            Segment::Tts {
                text,
                language,
                voice,
            } => {
                let mut req = TtsRequest::new(text, language).ok()?;
                if let Some(v) = voice {
                    req = req.with_voice(v).ok()?;
                }
                self.cached(&format!("tts:{}", self.tts.key(&req)))
            }
            Segment::Audio { file } => self.cached(&format!("file:{file}")),
        }
    }

    /// The clip for one segment.
    pub async fn clip(&self, segment: &Segment) -> Result<Clip> {
        self.clip_pinned(segment, false).await
    }

    async fn clip_pinned(&self, segment: &Segment, pin: bool) -> Result<Clip> {
        match segment {
            Segment::Tts {
                text,
                language,
                voice,
            } => {
                let mut req = TtsRequest::new(text, language)?;
                if let Some(v) = voice {
                    req = req.with_voice(v)?;
                }
                let key = format!("tts:{}", self.tts.key(&req));
                if let Some(c) = self.cached(&key) {
                    if pin {
                        self.remember(key, &c, true);
                    }
                    return Ok(c);
                }
                // Boxed: rendering's state is large, and the caller's future would otherwise
                // keep room for it during the whole call.
                let clip = Box::pin(self.render(&req)).await?;
                self.remember(key, &clip, pin);
                Ok(clip)
            }
            Segment::Audio { file } => self.file(file),
        }
    }

    /// Speaks a request (through the TTS cache) and converts it to a clip.
    async fn render(&self, req: &TtsRequest) -> Result<Clip> {
        let audio = self.tts.get(req).await?;
        // Resampling is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || Clip::from_pcm(&audio.samples, audio.sample_rate))
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

    /// Renders a flow's static prompts and converts its audio files now, so calls never
    /// wait for them. Failures are logged, not fatal (the call will retry on demand).
    pub async fn prerender(&self, flow: &Flow) {
        let segments = flow.static_prompts();
        let total = segments.len();
        let mut failed = 0;
        for s in &segments {
            if let Err(e) = self.clip_pinned(s, true).await {
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
