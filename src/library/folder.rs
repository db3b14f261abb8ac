//! A library over a real music folder, scanned incrementally.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::Library;
use super::cache::{CACHE_FILE_NAME, CachedTrack, decode_cache, encode_cache_of};
use super::hashing::{CopySource, HashingReader};
use super::playlist::{Playlist, PlaylistId, PlaylistKind};
use super::state::{PLAYLIST_STATE_FILE_NAME, decode_playlist_state, encode_playlist_state};
use super::track::{ContentHash, Track, TrackId};
use super::walk::{Found, read_playlist_file, walk};
use crate::maps::FastMap;
use crate::sys::files::write_atomic;
use crate::time::Clock;
use crate::{Error, Result};

/// What a scan should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanOptions {
    /// Read `.m3u`, `.m3u8` and `.wpl` files found in the folder and add them as playlists.
    pub read_playlists: bool,
    /// Leave the scan cache to [`FolderLibrary::save_cache_if_stale`] instead of writing it
    /// when the scan ends: for a caller that saves it anyway once its work is done (a sync
    /// saves it with the hashes its copies learned), so that the scan's result is not written
    /// twice, the first time on the way to the first copy. A run that ends before saving
    /// leaves the next one reading the tags again, nothing worse.
    pub defer_cache_save: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            read_playlists: true,
            defer_cache_save: false,
        }
    }
}

/// A file or playlist entry a scan could not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanProblem {
    /// The file (for a playlist entry, the playlist file).
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// What a scan did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Audio files found.
    pub files_seen: usize,
    /// Tracks new to the library.
    pub added: usize,
    /// Known tracks whose size or modification time changed, read again.
    pub updated: usize,
    /// Known tracks taken from the cache without opening the file.
    pub unchanged: usize,
    /// Tracks whose file is gone.
    pub removed: usize,
    /// Files whose tags were read (added + updated + failures).
    pub tags_read: usize,
    /// Playlist files read.
    pub playlists_read: usize,
    /// Files and playlist entries that were skipped, with the reason.
    pub problems: Vec<ScanProblem>,
    /// Why the cache was thrown away, when it was (corrupt, another version, unreadable).
    pub cache_discarded: Option<String>,
}

/// A library over a music folder.
///
/// * **Read-only.** The folder is only read. The scan cache is written under a separate
///   state folder (which must not be inside the music folder), to a temporary name that is
///   renamed into place.
/// * **Incremental.** The cache keys each track by its path relative to the root, its size and
///   its modification time (to the nanosecond). A rescan stats every file and reads tags only
///   from files that are new or whose size or time changed. A corrupt cache is discarded and
///   rebuilt, never trusted.
/// * **Stable ids.** A track's [`TrackId`] comes from its relative path and is kept in the
///   cache, so it survives rescans and restarts. On the rare 64-bit collision the later path
///   (in sorted order) takes the next free value. A moved or renamed file is a removal plus an
///   addition with a new id; sync recognises it by its [`ContentHash`].
/// * **Robust.** A file whose tags cannot be read, a name that is not Unicode, or a bad
///   playlist entry is reported in [`ScanReport::problems`] and skipped; it never stops a scan.
///   An unreadable file is tried again at every scan (it may have been repaired).
/// * **Dates.** `date_added` is the clock's time when the scan first saw the file. Symbolic
///   links to files are followed; links to folders are not (no loops).
/// * **Playlists** (`.m3u`, `.m3u8`, `.wpl`) join the library as static playlists whose
///   entries resolve relative to the playlist's folder; entries that are not library tracks,
///   or that climb out of the folder, are reported and left out. Playlists added with
///   [`FolderLibrary::add_playlist`] (auto playlists, say) live beside them in memory, and the
///   sync settings of every playlist survive rescans.
#[derive(Debug)]
pub struct FolderLibrary {
    root: PathBuf,
    state_dir: PathBuf,
    clock: Arc<dyn Clock>,
    options: ScanOptions,
    tracks: Vec<Track>,
    index: FastMap<TrackId, usize>,
    playlists: Vec<Playlist>,
    /// Hashes computed on demand, valid while size and mtime match.
    hashes: Mutex<FastMap<TrackId, (u64, SystemTime, ContentHash)>>,
    /// True when [`FolderLibrary::tracks`] and the cache file differ.
    cache_stale: bool,
    /// True when a hash was computed since the cache was last written.
    hashes_dirty: AtomicBool,
}

impl FolderLibrary {
    /// Opens a music folder: loads the cache from `state_dir` (if any) and scans.
    ///
    /// # Errors
    /// [`Error::PathNotFound`] when `root` is not a folder; [`Error::InvalidArg`] when
    /// `state_dir` is inside `root` (the library never writes to the music folder); an I/O
    /// error when the state folder cannot be created or the cache cannot be written.
    /// Unreadable files are not errors: see [`ScanReport::problems`].
    pub fn open(
        root: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
        clock: Arc<dyn Clock>,
        options: ScanOptions,
    ) -> Result<(FolderLibrary, ScanReport)> {
        let _span = tracing::debug_span!("library open").entered();
        let (mut lib, mut report) = Self::open_cached(root, state_dir, clock, options)?;
        lib.scan_into(&mut report)?;
        Ok((lib, report))
    }

    /// Opens a music folder as its scan cache left it, without scanning it: the tracks and
    /// playlists are the cache's, which may no longer be the folder's.
    /// [`rescan`](Self::rescan) brings them up to date; nothing should be planned from the
    /// library before. For an application that shares the library before its scan ends: it
    /// holds the library (its lock) while the scan runs, and a sync waits for it (see
    /// [`SyncDevice::start_after`](crate::sync::SyncDevice::start_after)). The report says
    /// what loading found (a discarded cache, a damaged state file).
    ///
    /// # Errors
    /// As [`open`](Self::open), but for the scan's.
    pub fn open_cached(
        root: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
        clock: Arc<dyn Clock>,
        options: ScanOptions,
    ) -> Result<(FolderLibrary, ScanReport)> {
        let root = root.into();
        let state_dir = state_dir.into();
        if !root.is_dir() {
            let what = if root.exists() {
                "the library folder is not a folder:"
            } else {
                "the library folder does not exist:"
            };
            return Err(Error::PathNotFound.context(what).path(&root));
        }
        fs::create_dir_all(&state_dir).map_err(|e| {
            Error::from(e)
                .context("creating the state folder")
                .path(&state_dir)
        })?;
        let canon_root = fs::canonicalize(&root).map_err(|e| {
            Error::from(e)
                .context("opening the library folder")
                .path(&root)
        })?;
        let canon_state = fs::canonicalize(&state_dir).map_err(|e| {
            Error::from(e)
                .context("opening the state folder")
                .path(&state_dir)
        })?;
        if canon_state.starts_with(&canon_root) {
            return Err(Error::InvalidArg
                .context(format!(
                    "the state folder must not be inside the library folder '{}' (the library \
                     is never written to); state folder",
                    canon_root.display()
                ))
                .path(&state_dir));
        }
        let mut report = ScanReport::default();
        let mut hashes = FastMap::default();
        let tracks = match fs::read(canon_state.join(CACHE_FILE_NAME)) {
            Ok(bytes) => match decode_cache(&bytes).and_then(unique_ids) {
                Ok(records) => {
                    hashes.reserve(records.len());
                    let mut v = Vec::with_capacity(records.len());
                    for CachedTrack { mut track, hash } in records {
                        track.path = canon_root.join(&track.relative_path);
                        if let Some(h) = hash {
                            hashes.insert(track.id, (track.size, track.modified, h));
                        }
                        v.push(track);
                    }
                    v
                }
                Err(_) => {
                    report.cache_discarded =
                        Some("the scan cache is corrupt or from another version".into());
                    Vec::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                report.cache_discarded = Some(format!("the scan cache could not be read: {e}"));
                Vec::new()
            }
        };
        // Scans keep the tracks in path order; a cache from elsewhere might not be.
        let mut tracks = tracks;
        if !tracks.is_sorted_by(|a, b| a.relative_path <= b.relative_path) {
            tracks.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
        }
        let mut lib = FolderLibrary {
            root: canon_root,
            state_dir: canon_state,
            clock,
            options,
            index: FastMap::default(),
            tracks,
            playlists: Vec::new(),
            hashes: Mutex::new(hashes),
            cache_stale: report.cache_discarded.is_some(),
            hashes_dirty: AtomicBool::new(false),
        };
        lib.reindex();
        lib.load_playlist_state(&mut report);
        Ok((lib, report))
    }

    /// The music folder (canonical form).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The state folder holding the cache (canonical form).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Scans the folder again, reading only what changed.
    ///
    /// # Errors
    /// [`Error::PathNotFound`] when the root folder is gone; an I/O error when the cache cannot
    /// be written.
    pub fn rescan(&mut self) -> Result<ScanReport> {
        let mut report = ScanReport::default();
        self.scan_into(&mut report)?;
        Ok(report)
    }

    /// Adds a playlist (an auto playlist, say) beside those read from files, replacing one
    /// with the same id.
    pub fn add_playlist(&mut self, playlist: Playlist) {
        super::playlist::upsert_playlist(&mut self.playlists, playlist);
    }

    /// Mutable access to a playlist, to change its sync settings.
    pub fn playlist_mut(&mut self, id: PlaylistId) -> Option<&mut Playlist> {
        self.playlists.iter_mut().find(|p| p.id == id)
    }

    /// Removes a playlist from the library (a playlist file stays on disk and comes back at
    /// the next rescan).
    pub fn remove_playlist(&mut self, id: PlaylistId) -> Option<Playlist> {
        super::playlist::remove_playlist(&mut self.playlists, id)
    }

    /// Restores the playlists the application added and every playlist's sync settings. A
    /// damaged state file is reported and ignored (the playlist files themselves are still read).
    fn load_playlist_state(&mut self, report: &mut ScanReport) {
        let path = self.state_dir.join(PLAYLIST_STATE_FILE_NAME);
        let problem = |message: String| ScanProblem {
            path: path.clone(),
            message,
        };
        match fs::read(&path) {
            Ok(bytes) => match std::str::from_utf8(&bytes).map_err(|_| Error::InvalidArg).and_then(decode_playlist_state) {
                Ok(lists) => self.playlists = lists,
                Err(_) => report.problems.push(problem("the playlist state is damaged; playlists added by the application and sync settings were lost".into())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => report.problems.push(problem(format!("cannot read the playlist state: {e}"))),
        }
    }

    /// Writes the playlists the application added and every playlist's sync settings to the
    /// state folder (temporary name, then rename). Scans do this too; call it after changing
    /// playlists through [`FolderLibrary::add_playlist`], [`FolderLibrary::playlist_mut`] or
    /// [`FolderLibrary::remove_playlist`] to keep the change across runs.
    ///
    /// # Errors
    /// An I/O error when the file cannot be written or renamed.
    pub fn save_playlists(&self) -> Result<()> {
        let text = encode_playlist_state(&self.playlists);
        let path = self.state_dir.join(PLAYLIST_STATE_FILE_NAME);
        if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            return Ok(());
        }
        Ok(write_atomic(
            &self.state_dir.join(PLAYLIST_STATE_FILE_NAME),
            text.as_bytes(),
        )?)
    }

    fn reindex(&mut self) {
        self.index = self
            .tracks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id, i))
            .collect();
    }

    fn scan_into(&mut self, report: &mut ScanReport) -> Result<()> {
        if !self.root.is_dir() {
            return Err(Error::PathNotFound
                .context("the library folder is gone:")
                .path(&self.root));
        }
        let old = std::mem::take(&mut self.tracks);
        let walked = walk(&self.root, &self.state_dir, &old, report);
        report.files_seen = walked.unchanged.len() + walked.changed.len();
        report.unchanged = walked.unchanged.len();
        if walked.changed.is_empty() && walked.unchanged.len() == old.len() {
            // Nothing changed (each index appears once): the tracks, their order and the
            // index stay as they are. This is the common rescan; it allocates nothing per
            // track.
            self.tracks = old;
            return self.finish_scan(walked.lists, report);
        }

        let mut keep = vec![false; old.len()];
        for &i in &walked.unchanged {
            if let Some(k) = keep.get_mut(i) {
                *k = true;
            }
        }
        let mut read_again = vec![false; old.len()];
        let mut taken: HashSet<TrackId> = old.iter().map(|t| t.id).collect();
        let now = self.clock.now();
        let mut fresh = Vec::with_capacity(walked.changed.len());
        let mut dropped = 0usize;
        // The tags first, on several threads (each file's read is independent of the
        // others); the ids after, in order.
        let staged = read_all_tags(
            walked
                .changed
                .iter()
                .map(|f| {
                    let mut t = Track::new(TrackId(0), f.rel.clone());
                    t.path.clone_from(&f.abs);
                    t.size = f.size;
                    t.modified = f.modified;
                    t.format = f.format;
                    t
                })
                .collect(),
        );
        // Changed files come sorted by path, so new ids are handed out in path order and a
        // collision resolves the same way on every machine.
        for (f, (mut t, read)) in walked.changed.into_iter().zip(staged) {
            report.tags_read += 1;
            let prior = f.prior.and_then(|i| old.get(i).map(|t| (i, t)));
            if let Some((i, _)) = prior
                && let Some(r) = read_again.get_mut(i)
            {
                *r = true;
            }
            let id = match prior {
                Some((_, t)) => t.id,
                None => {
                    let mut id = TrackId::from_relative_path(&f.rel);
                    while taken.contains(&id) {
                        id = TrackId(id.0.wrapping_add(1));
                    }
                    id
                }
            };
            t.id = id;
            t.date_added = prior.map_or(now, |(_, p)| p.date_added);
            match read {
                Ok(()) => {
                    taken.insert(id);
                    if prior.is_some() {
                        report.updated += 1;
                    } else {
                        report.added += 1;
                    }
                    fresh.push(t);
                }
                Err(message) => {
                    if prior.is_some() {
                        // A known file that became unreadable leaves the library.
                        dropped += 1;
                    }
                    report.problems.push(ScanProblem {
                        path: f.abs,
                        message,
                    });
                }
            }
        }
        let mut removed = 0usize;
        let mut tracks = Vec::with_capacity(walked.unchanged.len() + fresh.len());
        for (i, t) in old.into_iter().enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                tracks.push(t);
            } else if !read_again.get(i).copied().unwrap_or(false) {
                removed += 1;
            }
        }
        tracks.extend(fresh);
        tracks.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
        report.removed = removed;
        let changed = report.added + report.updated + report.removed + dropped > 0;
        self.tracks = tracks;
        self.reindex();
        if changed {
            self.cache_stale = true;
        }
        self.finish_scan(walked.lists, report)
    }

    /// Reads the playlist files and saves what changed.
    fn finish_scan(&mut self, lists: Vec<Found>, report: &mut ScanReport) -> Result<()> {
        if self.options.read_playlists {
            self.read_playlists(lists, report);
        } else {
            self.playlists.retain(|p| p.source.is_none());
        }
        if !self.options.defer_cache_save {
            self.save_cache_if_stale()?;
        }
        self.save_playlists()
    }

    /// Writes the cache when the tracks or the known hashes changed since the last write.
    ///
    /// # Errors
    /// An I/O error when the temporary file cannot be written or renamed.
    pub fn save_cache_if_stale(&mut self) -> Result<()> {
        let dirty = self.hashes_dirty.swap(false, Ordering::SeqCst);
        if !self.cache_stale && !dirty && self.cache_exists() {
            return Ok(());
        }
        let bytes = {
            let hashes = self.hashes.lock().map_err(|_| Error::Fail)?;
            encode_cache_of(self.tracks.iter().map(|t| {
                let hash = hashes
                    .get(&t.id)
                    .filter(|(s, m, _)| *s == t.size && *m == t.modified)
                    .map(|(_, _, h)| *h);
                (t, hash)
            }))
        };
        write_atomic(&self.state_dir.join(CACHE_FILE_NAME), &bytes)?;
        self.cache_stale = false;
        Ok(())
    }

    fn cache_exists(&self) -> bool {
        self.state_dir.join(CACHE_FILE_NAME).is_file()
    }

    fn read_playlists(&mut self, lists: Vec<Found>, report: &mut ScanReport) {
        if lists.is_empty() {
            self.playlists.retain(|p| p.source.is_none());
            return;
        }
        let by_path: HashMap<&str, TrackId> = self
            .tracks
            .iter()
            .map(|t| (t.relative_path.as_str(), t.id))
            .collect();
        // Playlists written on Windows often differ from the file names in case only.
        let by_lower: HashMap<String, TrackId> = self
            .tracks
            .iter()
            .map(|t| (t.relative_path.to_lowercase(), t.id))
            .collect();
        let mut fresh = Vec::new();
        for f in lists {
            let parsed = match read_playlist_file(&f.abs, f.format) {
                Ok(p) => p,
                Err(message) => {
                    report.problems.push(ScanProblem {
                        path: f.abs,
                        message,
                    });
                    continue;
                }
            };
            report.playlists_read += 1;
            for s in &parsed.skipped {
                report.problems.push(ScanProblem {
                    path: f.abs.clone(),
                    message: format!("entry {}: {}", s.line, s.reason),
                });
            }
            let base = crate::playlist_file::paths::parent(&f.rel);
            let mut ids = Vec::with_capacity(parsed.entries.len());
            for (n, e) in parsed.entries.iter().enumerate() {
                let rel = if crate::playlist_file::paths::is_absolute(&e.path) {
                    let p = PathBuf::from(&e.path);
                    p.strip_prefix(&self.root)
                        .ok()
                        .and_then(|r| r.to_str())
                        .map(super::walk::slash_path)
                } else {
                    crate::playlist_file::paths::join_relative(base, &e.path)
                };
                let id = rel.as_deref().and_then(|r| {
                    by_path
                        .get(r)
                        .copied()
                        .or_else(|| by_lower.get(&r.to_lowercase()).copied())
                });
                match (rel, id) {
                    (_, Some(id)) => ids.push(id),
                    (None, None) => report.problems.push(ScanProblem {
                        path: f.abs.clone(),
                        message: format!(
                            "entry {}: '{}' is outside the library folder",
                            n + 1,
                            e.path
                        ),
                    }),
                    (Some(_), None) => report.problems.push(ScanProblem {
                        path: f.abs.clone(),
                        message: format!(
                            "entry {}: '{}' is not a track of the library",
                            n + 1,
                            e.path
                        ),
                    }),
                }
            }
            let name = parsed
                .title
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| {
                    let file = f.rel.rsplit('/').next().unwrap_or(&f.rel);
                    file.rsplit_once('.')
                        .map_or(file, |(stem, _)| stem)
                        .to_owned()
                });
            let id = PlaylistId::from_key(&format!("file:{}", f.rel));
            let sync = self
                .playlists
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.sync)
                .unwrap_or_default();
            fresh.push(Playlist {
                id,
                name,
                kind: PlaylistKind::Static(ids),
                sync,
                source: Some(f.abs),
            });
        }
        // Keep playlists added by the caller; replace those that came from files.
        self.playlists.retain(|p| p.source.is_none());
        self.playlists.extend(fresh);
    }
}

/// Ids must be unique for the library to make sense; a cache that repeats one was not written
/// by this code and is treated as corrupt.
fn unique_ids(records: Vec<CachedTrack>) -> Result<Vec<CachedTrack>> {
    let mut seen = HashSet::with_capacity(records.len());
    if records.iter().all(|r| seen.insert(r.track.id)) {
        Ok(records)
    } else {
        Err(Error::InvalidArg)
    }
}

/// Files whose tags a thread reads at a time: small enough to share the work evenly (an FLAC
/// costs more than an MP3), large enough that taking the next batch costs nothing.
const TAG_BATCH: usize = 64;

/// A track with what reading its tags said.
type TagRead = (Track, Result<(), String>);

/// Reads the tags of every track in `staged` (its path, size and format set), on up to four
/// threads when there are enough: each track with what [`super::tags::read_tags`] said.
fn read_all_tags(staged: Vec<Track>) -> Vec<TagRead> {
    let mut out: Vec<TagRead> = staged.into_iter().map(|t| (t, Ok(()))).collect();
    let read = |batch: &mut [TagRead]| {
        for (t, r) in batch {
            let path = t.path.clone();
            *r = super::tags::read_tags(&path, t);
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(4)
        .min(out.len() / TAG_BATCH);
    if threads < 2 {
        read(&mut out);
        return out;
    }
    let batches: Vec<Mutex<&mut [TagRead]>> = out.chunks_mut(TAG_BATCH).map(Mutex::new).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(batch) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                    read(&mut batch.lock().unwrap_or_else(|p| p.into_inner()));
                }
            });
        }
    });
    drop(batches);
    out
}

impl Library for FolderLibrary {
    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn track(&self, id: TrackId) -> Option<&Track> {
        self.tracks.get(*self.index.get(&id)?)
    }

    fn playlists(&self) -> &[Playlist] {
        &self.playlists
    }

    fn content_hash(&self, id: TrackId) -> Result<ContentHash> {
        let track = self.track(id).ok_or(Error::FileNotFound)?;
        let meta = fs::metadata(&track.path)?;
        let key = (
            meta.len(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        );
        if let Some((s, m, h)) = self.hashes.lock().map_err(|_| Error::Fail)?.get(&id)
            && (*s, *m) == key
        {
            return Ok(*h);
        }
        let h = ContentHash::of_reader(crate::sys::files::open_unchanged(&track.path)?)?;
        self.hashes
            .lock()
            .map_err(|_| Error::Fail)?
            .insert(id, (key.0, key.1, h));
        self.hashes_dirty.store(true, Ordering::SeqCst);
        Ok(h)
    }

    fn open(&self, id: TrackId) -> Result<Box<dyn Read + Send + '_>> {
        let track = self.track(id).ok_or(Error::FileNotFound)?;
        Ok(Box::new(crate::sys::files::open_unchanged(&track.path)?))
    }

    /// Also saved with the playlists' other sync settings ([`FolderLibrary::save_playlists`]).
    fn clear_sync_slot(&mut self, index: u8) -> Result<()> {
        super::playlist::clear_sync_slot(&mut self.playlists, index)?;
        self.save_playlists()
    }

    /// One `open` and one `fstat`; fails with [`Error::ProcessFailed`] when the file's size
    /// or date is no longer what the scan saw (the plan was made for other bytes).
    fn open_hashing(&self, id: TrackId) -> Result<HashingReader<'_>> {
        self.copy_source(id).ok_or(Error::FileNotFound)?.open()
    }

    fn copy_source(&self, id: TrackId) -> Option<CopySource> {
        let track = self.track(id)?;
        Some(CopySource {
            path: track.path.clone(),
            size: track.size,
            modified: track.modified,
        })
    }

    /// Remembers the hash for the file's size and date as read (saved with the cache).
    fn finish_hashing(&self, id: TrackId, reader: HashingReader<'_>) -> Result<ContentHash> {
        let (hash, opened) = reader.finish()?;
        if let Some((size, modified)) = opened {
            self.hashes
                .lock()
                .map_err(|_| Error::Fail)?
                .insert(id, (size, modified, hash));
            self.hashes_dirty.store(true, Ordering::SeqCst);
        }
        Ok(hash)
    }

    /// From the hashes remembered (the cache's, and those computed since), for the size and
    /// date the last scan saw.
    fn known_hash(&self, id: TrackId) -> Option<ContentHash> {
        let track = self.track(id)?;
        let hashes = self.hashes.lock().ok()?;
        let (size, modified, hash) = hashes.get(&id)?;
        (*size == track.size && *modified == track.modified).then_some(*hash)
    }
}
