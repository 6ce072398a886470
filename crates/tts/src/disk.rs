//! The optional on-disk half of the prompt cache: one `<key>.wav` file per prompt in a
//! directory, written atomically (temporary file, fsync, rename) so a crash or a
//! concurrent reader never sees a half-written prompt. Files are size-bounded on read.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::AsyncReadExt;

use crate::audio::Audio;
use crate::cache_key::CacheKey;
use crate::wav::{encode_wav, parse_wav};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A directory of cached prompts.
#[derive(Debug, Clone)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    max_file_bytes: u64,
}

impl DiskCache {
    pub(crate) fn new(dir: PathBuf, max_file_bytes: u64) -> Self {
        Self {
            dir,
            max_file_bytes,
        }
    }

    pub(crate) fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.wav", key.to_hex()))
    }

    /// The cached audio, or `None` when absent. A file that is unreadable, too large or
    /// not a valid WAV is logged and treated as absent (it will be overwritten).
    pub(crate) async fn load(&self, key: &CacheKey) -> Option<Audio> {
        let path = self.path(key);
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot open cached prompt");
                return None;
            }
        };
        let mut bytes = Vec::new();
        let read = file
            .take(self.max_file_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .await;
        if let Err(e) = read {
            tracing::warn!(path = %path.display(), error = %e, "cannot read cached prompt");
            return None;
        }
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > self.max_file_bytes {
            tracing::warn!(path = %path.display(), "cached prompt too large; ignoring it");
            return None;
        }
        match parse_wav(&bytes) {
            Ok(audio) => Some(audio),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cached prompt corrupt; ignoring it");
                None
            }
        }
    }

    /// Writes the audio atomically. Runs on the blocking pool.
    pub(crate) async fn store(&self, key: &CacheKey, audio: &Audio) -> io::Result<()> {
        let dir = self.dir.clone();
        let path = self.path(key);
        let bytes = encode_wav(audio);
        tokio::task::spawn_blocking(move || write_atomic(&dir, &path, &bytes))
            .await
            .map_err(io::Error::other)?
    }
}

fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{stem}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: do not leave temporary files behind.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::TtsRequest;

    fn key() -> CacheKey {
        CacheKey::new("t", &TtsRequest::new("hello", "en").unwrap())
    }

    #[tokio::test]
    async fn round_trip_and_no_temp_files_left() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path().join("prompts"), 1 << 20);
        assert_eq!(cache.load(&key()).await, None);
        let audio = Audio::new(vec![1, -2, 3], 16000);
        cache.store(&key(), &audio).await.unwrap();
        assert_eq!(cache.load(&key()).await, Some(audio));
        let names: Vec<String> = std::fs::read_dir(dir.path().join("prompts"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![format!("{}.wav", key().to_hex())]);
    }

    #[tokio::test]
    async fn corrupt_or_oversize_files_read_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path().to_path_buf(), 100);
        std::fs::write(cache.path(&key()), b"not a wav").unwrap();
        assert_eq!(cache.load(&key()).await, None);
        cache
            .store(&key(), &Audio::new(vec![0; 100], 8000))
            .await
            .unwrap();
        assert_eq!(cache.load(&key()).await, None); // 244 bytes > 100
    }
}
