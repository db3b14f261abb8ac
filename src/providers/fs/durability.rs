//! When the folder provider makes its writes durable: after every operation, or all at once at
//! a barrier ([`Device::flush`](crate::provider::Device::flush)).
//!
//! The per-operation mode pays one or more flushes of the disk's cache per file (on a slow
//! medium, most of a sync's time). With [`Durability::AtFlush`] an operation syncs nothing;
//! the provider remembers what it wrote (the dirty set: files by their final path, and folders
//! whose entries changed) and the barrier makes all of it durable together: on Linux with one
//! `syncfs` of the device's file system, elsewhere with one sync per remembered file and
//! folder, files first.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::error::Result;

use super::shared::sync_dir;

/// When a folder device's changes reach the medium (see [`DeviceOptions`](super::DeviceOptions)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every operation that completes is durable: written files, renames, deletes and the ID
    /// records a rename or move makes are synced before the call returns (the default).
    #[default]
    PerOperation,
    /// Operations sync nothing; [`Device::flush`](crate::provider::Device::flush) makes every
    /// change completed before it durable at once. A file still appears only complete (the
    /// temporary-file-and-rename scheme is unchanged), but after a power cut any change made
    /// since the last flush may be missing, a renamed file may be back under its old name and
    /// a new file may be missing or empty. For a caller that orders its own barriers (the sync
    /// engine's journal). Large writes are still handed to writeback as they go, and on Linux
    /// every 4 MiB of small files written starts a sync of the whole file system in the
    /// background, so a flush waits only for what came last.
    AtFlush,
    /// Nothing is synced per operation and writes are left to the kernel's own writeback pace.
    /// [`Device::flush`](crate::provider::Device::flush) still makes everything durable, as
    /// with `AtFlush`. Loses the guarantees across power cuts, not across crashes of this
    /// process: for tests and scratch devices.
    Off,
}

/// What was written since the last barrier and is not durable yet.
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    /// Files whose data or size changed, at their final paths.
    pub(crate) files: BTreeSet<PathBuf>,
    /// Folders whose entries changed (created, renamed, deleted).
    pub(crate) dirs: BTreeSet<PathBuf>,
    /// Something changed that the barrier's sync of the whole file system covers (where the
    /// barrier makes everything durable at once, what changed is not remembered one by one).
    pub(crate) any: bool,
}

impl Dirty {
    fn is_empty(&self) -> bool {
        !self.any && self.files.is_empty() && self.dirs.is_empty()
    }
}

/// Bytes of files written for the barrier after which a file-system sync starts in the
/// background (see [`Barrier::ahead`]).
const AHEAD_BYTES: u64 = 4 << 20;

/// A device's durability mode and its dirty set.
#[derive(Debug)]
pub(crate) struct Barrier {
    mode: Durability,
    dirty: Mutex<Dirty>,
    ahead: Mutex<Ahead>,
}

/// The background syncs of [`Barrier::ahead`].
#[derive(Debug, Default)]
struct Ahead {
    /// Bytes written since the last background sync was asked for.
    bytes: u64,
    /// The thread that runs them, fed the root to sync (started at the first).
    flusher: Option<(SyncSender<PathBuf>, JoinHandle<()>)>,
}

impl Drop for Barrier {
    /// Waits for a background sync still running: it holds the root open, and a device is
    /// unmounted right after its provider is dropped.
    fn drop(&mut self) {
        let flusher = self
            .ahead
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .flusher
            .take();
        if let Some((tx, thread)) = flusher {
            drop(tx);
            let _ = thread.join();
        }
    }
}

impl Barrier {
    pub(crate) fn new(mode: Durability) -> Barrier {
        Barrier {
            mode,
            dirty: Mutex::new(Dirty::default()),
            ahead: Mutex::new(Ahead::default()),
        }
    }

    /// `bytes` more were written for the barrier under `root`: once [`AHEAD_BYTES`] wait,
    /// a sync of the whole file system starts on a thread of its own, so that the disk
    /// writes them while the caller writes the next files, and the barrier waits only for
    /// what came after. A caller of many small files (a first sync) otherwise waits at every
    /// barrier for all of its data: each file is below the size whose writeback the session
    /// starts itself, and starting it file by file costs more than it saves.
    ///
    /// Only more becomes durable, earlier than asked: the barrier still syncs everything,
    /// and nothing relies on a change *not* being durable (the kernel's own writeback may
    /// write anything at any time). Where the host has no whole-file-system sync, nothing.
    pub(crate) fn ahead(&self, root: &Path, bytes: u64) {
        if self.mode != Durability::AtFlush || !crate::sys::syncfs::WHOLE_FILE_SYSTEM {
            return;
        }
        let mut ahead = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
        ahead.bytes = ahead.bytes.saturating_add(bytes);
        if ahead.bytes < AHEAD_BYTES {
            return;
        }
        ahead.bytes = 0;
        if ahead.flusher.is_none() {
            // One sync waiting at most: a request while one runs and another waits adds
            // nothing the waiting one will not do. The thread ends with the barrier (its
            // sender dropped).
            let (tx, rx) = sync_channel::<PathBuf>(1);
            let started = std::thread::Builder::new()
                .name("wmdm-writeback".into())
                .spawn(move || {
                    for root in rx {
                        if let Err(e) = crate::sys::syncfs::sync_filesystem(&root) {
                            // The barrier's own sync reports what matters.
                            tracing::debug!(error = %e, "a background sync failed");
                        }
                    }
                });
            match started {
                Ok(thread) => ahead.flusher = Some((tx, thread)),
                Err(_) => return,
            }
        }
        if let Some((tx, _)) = &ahead.flusher
            && let Err(TrySendError::Disconnected(_)) = tx.try_send(root.to_path_buf())
        {
            ahead.flusher = None;
        }
    }

    /// True when every operation must be durable when it returns.
    pub(crate) fn per_operation(&self) -> bool {
        self.mode == Durability::PerOperation
    }

    /// True when large writes should be handed to writeback as they go (everything but
    /// [`Durability::Off`]). Only Linux has the call that does it.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn early_writeback(&self) -> bool {
        self.mode != Durability::Off
    }

    fn dirty(&self) -> MutexGuard<'_, Dirty> {
        self.dirty.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when the barrier syncs the whole file system at once: a change is then only
    /// counted, not remembered by its path (a first sync of many small files would otherwise
    /// keep two sorted sets of every path it wrote, for nothing).
    fn syncs_whole(&self) -> bool {
        !self.per_operation() && crate::sys::syncfs::WHOLE_FILE_SYSTEM
    }

    /// Remembers a change for the barrier: `path` in the set `which` picks, or only that
    /// something changed where the barrier syncs the whole file system.
    fn remember(&self, path: &Path, which: fn(&mut Dirty) -> &mut BTreeSet<PathBuf>) {
        let mut dirty = self.dirty();
        if self.syncs_whole() {
            dirty.any = true;
        } else {
            which(&mut dirty).insert(path.to_path_buf());
        }
    }

    /// The entries of folder `dir` changed: synced now in the per-operation mode, remembered
    /// for the barrier otherwise.
    pub(crate) fn dir_entries(&self, dir: &Path) {
        if self.per_operation() {
            sync_dir(dir);
        } else {
            self.remember(dir, |d| &mut d.dirs);
        }
    }

    /// The file at `path` took its name (a synced temporary file renamed into place): in the
    /// per-operation mode its folder is synced now; otherwise the file and its folder wait for
    /// the barrier.
    pub(crate) fn published(&self, path: &Path) {
        if !self.per_operation() {
            self.wrote(path);
        }
        if let Some(dir) = path.parent() {
            self.dir_entries(dir);
        }
    }

    /// Entries of folder `dir` changed in a way no mode syncs per operation (deletes, state
    /// files replaced): the barrier syncs the folder, in every mode.
    pub(crate) fn entries_changed(&self, dir: &Path) {
        self.remember(dir, |d| &mut d.dirs);
    }

    /// Remembers that the file at `path` was written without a sync, whatever the mode: the
    /// barrier makes it durable (the ID log, which even the per-operation mode appends to
    /// without a sync where losing the tail costs nothing).
    pub(crate) fn wrote(&self, path: &Path) {
        self.remember(path, |d| &mut d.files);
    }

    /// The barrier: every change remembered is durable when this returns. `root` is the
    /// device's root; in the modes that sync nothing per operation, on a host that can, its
    /// whole file system is synced at once.
    ///
    /// # Errors
    /// I/O errors of the syncs; what was not synced stays in the dirty set for the next call.
    pub(crate) fn flush(&self, root: &Path) -> Result<()> {
        let dirty = std::mem::take(&mut *self.dirty());
        if dirty.is_empty() {
            return Ok(());
        }
        let result = if self.per_operation() {
            // Only what the mode leaves unsynced (the ID log, folders that lost entries).
            sync_each(&dirty)
        } else {
            match crate::sys::syncfs::sync_filesystem(root) {
                Ok(true) => Ok(()),
                Ok(false) => sync_each(&dirty),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = result {
            let mut now = self.dirty();
            now.files.extend(dirty.files);
            now.dirs.extend(dirty.dirs);
            now.any |= dirty.any;
            return Err(e.into());
        }
        Ok(())
    }

    /// How many files and folders wait for the barrier, by path (none where the barrier
    /// syncs the whole file system), and whether anything waits at all.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> (usize, usize, bool) {
        let d = self.dirty();
        (d.files.len(), d.dirs.len(), !d.is_empty())
    }
}

/// Syncs every file, then every folder, of `dirty`. A file or folder gone since it was written
/// (renamed or deleted later) needs nothing: its folder's sync records where it went.
fn sync_each(dirty: &Dirty) -> io::Result<()> {
    for path in &dirty.files {
        match crate::sys::syncfs::sync_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    for dir in &dirty.dirs {
        sync_dir(dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enough_bytes_for_the_barrier_start_a_sync_ahead_in_the_at_flush_mode_only() {
        let dir = tempfile::tempdir().unwrap();
        let started = |b: &Barrier| b.ahead.lock().unwrap().flusher.is_some();
        for mode in [Durability::PerOperation, Durability::Off] {
            let b = Barrier::new(mode);
            b.ahead(dir.path(), 2 * AHEAD_BYTES);
            assert!(!started(&b), "{mode:?}");
        }
        let b = Barrier::new(Durability::AtFlush);
        b.ahead(dir.path(), AHEAD_BYTES - 1);
        assert!(!started(&b), "below the step");
        b.ahead(dir.path(), 1);
        assert_eq!(started(&b), crate::sys::syncfs::WHOLE_FILE_SYSTEM);
        assert_eq!(
            b.ahead.lock().unwrap().bytes,
            0,
            "counted again from the start"
        );
        // Many more while a sync runs: one waits at most, none is refused with an error.
        for _ in 0..10 {
            b.ahead(dir.path(), AHEAD_BYTES);
        }
        // The barrier itself still makes everything durable.
        let path = dir.path().join("a");
        std::fs::write(&path, b"x").unwrap();
        b.published(&path);
        b.flush(dir.path()).unwrap();
        assert_eq!(b.pending(), (0, 0, false));
        // Dropping the barrier waits for the background thread (it holds the root open).
        drop(b);
    }

    #[test]
    fn the_dirty_set_is_kept_until_the_barrier_and_emptied_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, b"x").unwrap();
        for mode in [Durability::AtFlush, Durability::Off] {
            let b = Barrier::new(mode);
            b.published(&path);
            b.wrote(&dir.path().join("gone"));
            // By path only where the barrier cannot sync the whole file system at once.
            let by_path = if crate::sys::syncfs::WHOLE_FILE_SYSTEM {
                (0, 0)
            } else {
                (2, 1)
            };
            assert_eq!(b.pending(), (by_path.0, by_path.1, true), "{mode:?}");
            b.flush(dir.path()).unwrap();
            assert_eq!(b.pending(), (0, 0, false), "{mode:?}");
            // The fallback for hosts without a file-system sync empties it too.
            b.published(&path);
            let taken = std::mem::take(&mut *b.dirty());
            sync_each(&taken).unwrap();
        }
        let b = Barrier::new(Durability::PerOperation);
        b.published(&path);
        assert_eq!(b.pending(), (0, 0, false), "synced at once");
        b.wrote(&path);
        assert_eq!(b.pending(), (1, 0, true));
        b.flush(dir.path()).unwrap();
        assert_eq!(b.pending(), (0, 0, false));
    }

    #[test]
    fn a_failed_barrier_keeps_what_it_could_not_sync() {
        let dir = tempfile::tempdir().unwrap();
        let b = Barrier::new(Durability::AtFlush);
        b.dir_entries(dir.path());
        let missing = dir.path().join("no such root");
        if b.flush(&missing).is_err() {
            let by_path = usize::from(!crate::sys::syncfs::WHOLE_FILE_SYSTEM);
            assert_eq!(b.pending(), (0, by_path, true));
        }
        b.flush(dir.path()).unwrap();
        assert_eq!(b.pending(), (0, 0, false));
    }
}
