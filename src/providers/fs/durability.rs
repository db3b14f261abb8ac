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
use std::sync::{Mutex, MutexGuard};

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
    /// engine's journal). Large writes are still handed to writeback as they go, so a flush
    /// waits only for their tails.
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
}

impl Dirty {
    fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dirs.is_empty()
    }
}

/// A device's durability mode and its dirty set.
#[derive(Debug)]
pub(crate) struct Barrier {
    mode: Durability,
    dirty: Mutex<Dirty>,
}

impl Barrier {
    pub(crate) fn new(mode: Durability) -> Barrier {
        Barrier {
            mode,
            dirty: Mutex::new(Dirty::default()),
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

    /// The entries of folder `dir` changed: synced now in the per-operation mode, remembered
    /// for the barrier otherwise.
    pub(crate) fn dir_entries(&self, dir: &Path) {
        if self.per_operation() {
            sync_dir(dir);
        } else {
            self.dirty().dirs.insert(dir.to_path_buf());
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
        self.dirty().dirs.insert(dir.to_path_buf());
    }

    /// Remembers that the file at `path` was written without a sync, whatever the mode: the
    /// barrier makes it durable (the ID log, which even the per-operation mode appends to
    /// without a sync where losing the tail costs nothing).
    pub(crate) fn wrote(&self, path: &Path) {
        self.dirty().files.insert(path.to_path_buf());
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
            return Err(e.into());
        }
        Ok(())
    }

    /// How many files and folders wait for the barrier.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> (usize, usize) {
        let d = self.dirty();
        (d.files.len(), d.dirs.len())
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
    fn the_dirty_set_is_kept_until_the_barrier_and_emptied_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, b"x").unwrap();
        for mode in [Durability::AtFlush, Durability::Off] {
            let b = Barrier::new(mode);
            b.published(&path);
            b.wrote(&dir.path().join("gone"));
            assert_eq!(b.pending(), (2, 1), "{mode:?}");
            b.flush(dir.path()).unwrap();
            assert_eq!(b.pending(), (0, 0), "{mode:?}");
            // The fallback for hosts without a file-system sync empties it too.
            b.published(&path);
            let taken = std::mem::take(&mut *b.dirty());
            sync_each(&taken).unwrap();
        }
        let b = Barrier::new(Durability::PerOperation);
        b.published(&path);
        assert_eq!(b.pending(), (0, 0), "synced at once");
        b.wrote(&path);
        assert_eq!(b.pending(), (1, 0));
        b.flush(dir.path()).unwrap();
        assert_eq!(b.pending(), (0, 0));
    }

    #[test]
    fn a_failed_barrier_keeps_what_it_could_not_sync() {
        let dir = tempfile::tempdir().unwrap();
        let b = Barrier::new(Durability::AtFlush);
        b.dir_entries(dir.path());
        let missing = dir.path().join("no such root");
        if b.flush(&missing).is_err() {
            assert_eq!(b.pending(), (0, 1));
        }
        b.flush(dir.path()).unwrap();
        assert_eq!(b.pending(), (0, 0));
    }
}
