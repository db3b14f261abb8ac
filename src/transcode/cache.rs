//! The transcode cache: finished encodes on the host, outside the library and the device,
//! keyed by the source's audio fingerprint ([`audio_fingerprint`](super::audio_fingerprint):
//! its audio without tags) and cover art, the target and the encoder's version, with a size
//! limit and least-recently-used eviction. A resync, a resume after a crash, or a second
//! device with the same profile reuses them instead of encoding again.
//!
//! Layout: `<dir>/<40 hex key>.<ext>` for finished files (their modification time is their
//! last use), `<dir>/<key>.<pid>-<n>.part` while encoding. A file is in the cache only once
//! it was checked and renamed into place, so a killed encode leaves at most a `.part`, which
//! a later cache removes once it is older than [`STALE_PART`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::decide::Target;
use crate::error::Result;
use crate::library::ContentHash;

/// A `.part` file older than this is an encode that was killed: a later cache removes it.
pub const STALE_PART: Duration = Duration::from_secs(600);

/// The default size limit: 2 GiB.
pub const DEFAULT_CACHE_BYTES: u64 = 2 << 30;

/// A folder of finished encodes.
#[derive(Debug)]
pub struct TranscodeCache {
    dir: PathBuf,
    max_bytes: u64,
    // Removes the folder when dropped (a cache for one run only).
    temporary: bool,
    seq: AtomicU64,
}

impl TranscodeCache {
    /// The cache in `dir` (created if missing), holding at most `max_bytes`. Stale `.part`
    /// files are removed.
    ///
    /// # Errors
    /// I/O errors creating the folder.
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> Result<TranscodeCache> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let cache = TranscodeCache {
            dir,
            max_bytes,
            temporary: false,
            seq: AtomicU64::new(0),
        };
        cache.remove_stale_parts(STALE_PART);
        Ok(cache)
    }

    /// A cache for one run, in a new folder under the system's temporary folder, removed when
    /// the cache is dropped.
    ///
    /// # Errors
    /// I/O errors creating the folder.
    pub fn temporary() -> Result<TranscodeCache> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("wmdm-transcode-{}-{nanos:x}", std::process::id()));
        let mut c = TranscodeCache::open(dir, u64::MAX)?;
        c.temporary = true;
        Ok(c)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of `source` converted to `target` by the encoder `version`.
    pub fn key(source: ContentHash, target: &Target, version: &str) -> String {
        let mut bytes = source.0.to_vec();
        bytes.extend_from_slice(&target.key().to_le_bytes());
        bytes.extend_from_slice(version.as_bytes());
        ContentHash::of_bytes(&bytes).to_string()
    }

    fn path_of(&self, key: &str, target: &Target) -> PathBuf {
        self.dir.join(format!("{key}.{}", target.codec.extension()))
    }

    /// The finished file for `key`, if the cache has it; its use is recorded (LRU).
    pub fn get(&self, key: &str, target: &Target) -> Option<PathBuf> {
        let path = self.path_of(key, target);
        if !path.is_file() {
            return None;
        }
        // A failed touch (a read-only cache) only makes eviction less fair; the file is
        // still good.
        if let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(path)
    }

    /// A fresh temporary path to encode `key` into.
    pub fn part_path(&self, key: &str) -> PathBuf {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        self.dir
            .join(format!("{key}.{}-{n}.part", std::process::id()))
    }

    /// Puts a checked encode (`part`, from [`part_path`](Self::part_path)) into the cache
    /// under `key`, then evicts the least recently used files over the limit (never this
    /// one). Returns its path.
    ///
    /// # Errors
    /// I/O errors of the rename.
    pub fn insert(&self, part: &Path, key: &str, target: &Target) -> Result<PathBuf> {
        let path = self.path_of(key, target);
        if let Err(e) = std::fs::rename(part, &path) {
            // Another process put the same encode there first (a rename does not replace a
            // file on every system): theirs is as good.
            if !path.is_file() {
                return Err(e.into());
            }
            discard(part);
        }
        self.evict(Some(&path));
        Ok(path)
    }

    /// Bytes held by finished files.
    pub fn bytes(&self) -> u64 {
        self.finished().iter().map(|(_, size, _)| size).sum()
    }

    fn finished(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".part"))
            .filter_map(|e| {
                let md = e.metadata().ok()?;
                md.is_file().then(|| {
                    (
                        e.path(),
                        md.len(),
                        md.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    )
                })
            })
            .collect()
    }

    /// Removes the least recently used finished files until the cache is within its limit,
    /// keeping `keep`.
    fn evict(&self, keep: Option<&Path>) {
        let mut files = self.finished();
        let mut total: u64 = files.iter().map(|(_, s, _)| s).sum();
        if total <= self.max_bytes {
            return;
        }
        files.sort_by_key(|(_, _, t)| *t);
        for (path, size, _) in files {
            if total <= self.max_bytes {
                break;
            }
            if Some(path.as_path()) == keep {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(size);
            }
        }
    }

    /// Removes `.part` files older than `age` (encodes that were killed).
    pub fn remove_stale_parts(&self, age: Duration) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for e in dir.filter_map(|e| e.ok()) {
            if !e.file_name().to_string_lossy().ends_with(".part") {
                continue;
            }
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|d| d >= age);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

impl Drop for TranscodeCache {
    fn drop(&mut self) {
        if self.temporary
            && let Err(e) = std::fs::remove_dir_all(&self.dir)
        {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot remove the run's transcode folder");
        }
    }
}

/// Removes a `.part` after a failed encode (best effort: a later cache removes it too).
pub(super) fn discard(part: &Path) {
    if let Err(e) = std::fs::remove_file(part)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %part.display(), error = %e, "cannot remove a partial encode");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::Codec;

    fn target(bitrate: u32) -> Target {
        Target {
            codec: Codec::Mp3,
            bitrate,
            sample_rate: 44_100,
            channels: 2,
        }
    }

    #[test]
    fn keys_differ_by_source_target_and_encoder() {
        let h = ContentHash([1; 20]);
        let k = TranscodeCache::key(h, &target(128_000), "v1");
        assert_ne!(
            k,
            TranscodeCache::key(ContentHash([2; 20]), &target(128_000), "v1")
        );
        assert_ne!(k, TranscodeCache::key(h, &target(192_000), "v1"));
        assert_ne!(k, TranscodeCache::key(h, &target(128_000), "v2"));
        assert_eq!(k.len(), 40);
    }

    #[test]
    fn least_recently_used_files_go_first_and_parts_are_not_entries() {
        let dir = tempfile::tempdir().unwrap();
        let c = TranscodeCache::open(dir.path(), 250).unwrap();
        let t = target(128_000);
        let put = |key: &str| {
            let part = c.part_path(key);
            std::fs::write(&part, [0u8; 100]).unwrap();
            c.insert(&part, key, &t).unwrap()
        };
        let a = put("a");
        let old = SystemTime::now() - Duration::from_secs(100);
        std::fs::File::options()
            .write(true)
            .open(&a)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let b = put("b");
        std::fs::File::options()
            .write(true)
            .open(&b)
            .unwrap()
            .set_modified(old - Duration::from_secs(10))
            .unwrap();
        // `a` is used again, so `b` is now the least recently used.
        assert!(c.get("a", &t).is_some());
        assert!(c.get("zz", &t).is_none());
        put("c");
        assert!(c.get("b", &t).is_none());
        assert!(c.get("a", &t).is_some() && c.get("c", &t).is_some());
        assert_eq!(c.bytes(), 200);
        // A killed encode's part is not an entry, and goes once stale.
        let part = c.part_path("d");
        std::fs::write(&part, [0u8; 10]).unwrap();
        assert!(c.get("d", &t).is_none());
        c.remove_stale_parts(Duration::ZERO);
        assert!(!part.exists());
    }

    #[test]
    fn a_temporary_cache_removes_its_folder() {
        let c = TranscodeCache::temporary().unwrap();
        let dir = c.dir().to_path_buf();
        assert!(dir.is_dir());
        drop(c);
        assert!(!dir.exists());
    }
}
