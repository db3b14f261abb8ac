//! The provider's own file operations on one device, and the file-system quirks they work
//! around.
//!
//! Some file systems refuse operations an ordinary one does: fusefat (a FAT image mounted
//! through FUSE) refuses appends and any write that grows a file it did not just create; MTP
//! players mounted through FUSE (jmtpfs, simple-mtpfs, gvfs-mtp) refuse renames too. The
//! provider does not guess: each operation is tried the ordinary way first, and the first time
//! the file system refuses it (EPERM, EOPNOTSUPP, ENOSYS, EXDEV, EINVAL: see
//! `crate::sys::fsops`), the quirk is remembered for the rest of the session, logged once at
//! `info` level, and from then on the provider goes straight to the workaround, never retrying
//! the refused path file by file. [`FsDevice::quirks`](super::FsDevice::quirks) says what was
//! found.
//!
//! | Quirk | Workaround |
//! |---|---|
//! | [`FsQuirks::NO_APPEND`] | the ID log (`.wmdm/ids`) is rewritten whole instead of appended to |
//! | [`FsQuirks::NO_WRITE_EXISTING`] | tags are written into a new copy of the file, built in memory and written by the handle that creates it |
//! | [`FsQuirks::NO_RENAME`] | a recorded whole-file write (below) |
//! | [`FsQuirks::NO_KERNEL_COPY`] | copies go through a buffer |
//!
//! Data written through a write session always goes into a file the session has just created,
//! by the handle that created it, from its first byte to its last: the one kind of write every
//! one of these file systems takes. A read-write session starts from a copy made that way too.
//!
//! # Writes without renames
//!
//! Where renames are refused, a file cannot appear complete under its name at once. Instead:
//!
//! 1. a record naming the final path and size is written to `.wmdm/pending/<random>.w` (a new
//!    file, synced) before the final name is touched;
//! 2. the old file at the final name, if any, is deleted;
//! 3. the data is written into the final name by the handle that creates it, and synced;
//! 4. the record is deleted.
//!
//! The next open of the device (not read-only) reads every record left behind and deletes the
//! file it names if it is no larger than the recorded size (a crash left it incomplete, or
//! complete but not known to be synced); a larger file there is not the provider's and is left
//! alone. So after a crash the object is either complete or absent, never partial; what a
//! crash in the middle of an overwrite loses is the old version. A rename of a file becomes a
//! recorded copy then a delete of the original (an interrupted one leaves the original); a
//! folder cannot be renamed or moved on such a file system and the error is returned.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::sys::fsops;
use crate::sys::fstype::FsKind;

use super::durability::{Barrier, Durability};
use super::host;
use super::names::{STATE_DIR, TEMP_PREFIX, TEMP_SUFFIX, is_component, is_internal};
use super::shared::sync_dir;

bitflags::bitflags! {
    /// What a device's file system was found to refuse this session
    /// ([`FsDevice::quirks`](super::FsDevice::quirks)).
    ///
    /// Each quirk is detected the first time the file system refuses the operation (EPERM,
    /// EOPNOTSUPP, ENOSYS, EXDEV or EINVAL), logged once at `info` level, and worked around
    /// for the rest of the session without trying the refused operation again:
    ///
    /// * [`NO_APPEND`](FsQuirks::NO_APPEND): the ID log `.wmdm/ids` is rewritten whole
    ///   instead of appended to;
    /// * [`NO_WRITE_EXISTING`](FsQuirks::NO_WRITE_EXISTING): tags are written into a new
    ///   copy of the file, built in memory (files up to 512 MiB; larger ones keep their
    ///   changes in the sidecar) and written whole by the handle that creates it;
    /// * [`NO_RENAME`](FsQuirks::NO_RENAME): a file (content or state) is written whole in
    ///   place: first a record of its path and size is written and synced in
    ///   `.wmdm/pending/`, then the old file is deleted, the new one written and synced, and
    ///   the record deleted. The next open removes a file named by a record left behind if it
    ///   is no larger than the recorded size. After a crash such a file is complete or absent,
    ///   never partial; a crash during an overwrite loses the old version. Renaming or moving
    ///   a file becomes a recorded copy and a delete; folders cannot be renamed or moved;
    /// * [`NO_KERNEL_COPY`](FsQuirks::NO_KERNEL_COPY): copies go through a buffer.
    ///
    /// Data written through a write session always goes into a file just created, by the
    /// handle that created it, from its first byte: the one kind of write all of these file
    /// systems take.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct FsQuirks: u32 {
        /// Appending to an existing file is refused (fusefat).
        const NO_APPEND = 1 << 0;
        /// Writing into a file that existed before it was opened (growing it, or rewriting its
        /// tags in place) is refused (fusefat).
        const NO_WRITE_EXISTING = 1 << 1;
        /// Renaming is refused (FUSE mounts of MTP devices).
        const NO_RENAME = 1 << 2;
        /// The kernel cannot copy between the source and the device (`copy_file_range`
        /// refused, as between most FUSE mounts and other file systems).
        const NO_KERNEL_COPY = 1 << 3;
        /// Names with characters outside ASCII are refused (fusefat). The provider cannot
        /// store such a name; creating or renaming to one fails with
        /// [`Error::InvalidName`](crate::Error::InvalidName) without touching the device.
        const ASCII_NAMES = 1 << 4;
        /// Renaming or moving a folder that holds anything is unsafe: fusefat accepts it and
        /// leaves the folder empty, its entries lost. It cannot be detected from an error, so
        /// it is known from the file system's kind; folders are then moved entry by entry (a
        /// new folder, each entry moved into it, the old folder removed). An interrupted move
        /// leaves entries in both folders, none lost.
        const NO_FOLDER_RENAME = 1 << 5;
    }
}

impl FsQuirks {
    /// A short description for logs and reports.
    fn describe(self) -> &'static str {
        match self {
            FsQuirks::NO_APPEND => "appends are refused; state files are rewritten whole",
            FsQuirks::NO_WRITE_EXISTING => {
                "writes into existing files are refused; tags go into a new copy"
            }
            FsQuirks::NO_RENAME => "renames are refused; files are written whole in place",
            FsQuirks::NO_KERNEL_COPY => "the kernel cannot copy onto it; copying through a buffer",
            FsQuirks::ASCII_NAMES => "names outside ASCII are refused; such names are invalid",
            FsQuirks::NO_FOLDER_RENAME => {
                "renaming a folder loses its entries; moving entry by entry"
            }
            _ => "several operations are refused",
        }
    }
}

const RECORD_HEADER: &str = "wmdm-pending 1";
const RECORD_FOLDER: &str = "pending";
const RECORD_SUFFIX: &str = ".w";

/// One device's file operations and the quirks learnt on it.
/// Tests: a function to call at a point of an operation.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct TestHook(pub(crate) std::sync::Mutex<Option<Box<dyn Fn() + Send>>>);

#[cfg(test)]
impl std::fmt::Debug for TestHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestHook")
    }
}

#[derive(Debug)]
pub(crate) struct FsIo {
    root: PathBuf,
    /// When writes reach the medium, and what waits for the barrier.
    pub(crate) barrier: Barrier,
    /// Quirks the options ask to simulate (tests): the operations fail as such a file system
    /// makes them fail, and are detected the same way.
    pub(super) simulated: FsQuirks,
    detected: AtomicU32,
    /// Whether a probe for [`FsQuirks::ASCII_NAMES`] ran.
    probed_names: AtomicBool,
    /// How many writer locks of the device this process holds (`lock`): while one is held no
    /// other process writes the state folder, so an append handle on the ID log may stay open
    /// between appends ([`FsIo::append`]).
    pub(crate) writers: Arc<AtomicUsize>,
    /// False once the file system refused a rename that does not replace
    /// ([`FsIo::rename_if_free`]): later renames check the name and rename the ordinary way.
    pub(super) noreplace: AtomicBool,
    /// Tests: `rename_if_free` answers as a file system without the flag does.
    #[cfg(test)]
    pub(crate) refuse_noreplace: AtomicBool,
    /// Tests: how many renames `rename_if_free` made.
    #[cfg(test)]
    pub(crate) noreplace_renames: AtomicUsize,
    /// Tests: called right after a rename lands on disk (to copy the device as a kill at that
    /// moment leaves it).
    #[cfg(test)]
    pub(crate) after_rename: TestHook,
    /// Tests: how many times [`FsIo::append`] opened its file.
    #[cfg(test)]
    pub(crate) append_opens: AtomicUsize,
}

impl FsIo {
    pub(crate) fn new(root: &Path, durability: Durability, simulated: FsQuirks) -> FsIo {
        FsIo {
            root: root.to_path_buf(),
            barrier: Barrier::new(durability),
            simulated,
            // A quirk no error reveals is known from the start when simulated.
            detected: AtomicU32::new((simulated & FsQuirks::NO_FOLDER_RENAME).bits()),
            probed_names: AtomicBool::new(false),
            writers: Arc::new(AtomicUsize::new(0)),
            noreplace: AtomicBool::new(true),
            #[cfg(test)]
            refuse_noreplace: AtomicBool::new(false),
            #[cfg(test)]
            noreplace_renames: AtomicUsize::new(0),
            #[cfg(test)]
            after_rename: TestHook::default(),
            #[cfg(test)]
            append_opens: AtomicUsize::new(0),
        }
    }

    /// The quirks detected so far.
    pub(crate) fn quirks(&self) -> FsQuirks {
        FsQuirks::from_bits_truncate(self.detected.load(Ordering::Acquire))
    }

    pub(crate) fn has(&self, q: FsQuirks) -> bool {
        self.quirks().contains(q)
    }

    /// Remembers that the file system refused `q` with `e`; logs the first time.
    pub(crate) fn learn(&self, q: FsQuirks, e: &io::Error) {
        let before = self.detected.fetch_or(q.bits(), Ordering::AcqRel);
        if before & q.bits() == 0 {
            tracing::info!(
                root = %self.root.display(),
                quirk = ?q,
                error = %e,
                "file system quirk detected: {}",
                q.describe()
            );
        }
    }

    /// Takes the quirks a file system of kind `kind` is known to have from the start, where
    /// waiting for them to bite is unsafe: fusefat accepts some appends and refuses others,
    /// and a session killed in the middle of an accepted one can leave the file's cluster
    /// chain such that replacing the file later corrupts the file allocation table; and it
    /// empties a folder that is renamed.
    pub(crate) fn assume_for(&self, kind: &FsKind) {
        if *kind == FsKind::FuseFat {
            let q = FsQuirks::NO_APPEND | FsQuirks::NO_WRITE_EXISTING | FsQuirks::NO_FOLDER_RENAME;
            self.detected.fetch_or(q.bits(), Ordering::AcqRel);
            tracing::info!(
                root = %self.root.display(),
                quirks = ?q,
                "fusefat: appends, writes into existing files and folder renames are not used on this device"
            );
        }
    }

    /// Fails like a file system that refuses `q` when the options simulate it.
    pub(crate) fn simulate(&self, q: FsQuirks) -> io::Result<()> {
        if self.simulated.intersects(q) {
            Err(fsops::refusal())
        } else {
            Ok(())
        }
    }

    /// True when `e`, from an operation `q` describes, is the file system refusing it; the
    /// quirk is then learnt.
    pub(crate) fn refused(&self, q: FsQuirks, e: &io::Error) -> bool {
        let yes = fsops::is_refusal(e);
        if yes {
            self.learn(q, e);
        }
        yes
    }

    /// Fails with [`Error::InvalidName`] when `name` cannot be stored because the file system
    /// was found to refuse names outside ASCII.
    ///
    /// # Errors
    /// [`Error::InvalidName`].
    pub(crate) fn check_name(&self, name: &str) -> Result<()> {
        if !name.is_ascii() && self.has(FsQuirks::ASCII_NAMES) {
            Err(Error::InvalidName)
        } else {
            Ok(())
        }
    }

    /// True when the refusal `e` of creating or renaming to `name` is the file system refusing
    /// names outside ASCII rather than the operation itself. The first such refusal is settled
    /// by creating a file with a non-ASCII name in the state folder (once per session).
    pub(crate) fn name_refused(&self, name: &Path, e: &io::Error) -> bool {
        let name = name.file_name().map(|n| n.to_string_lossy());
        let non_ascii = name.is_some_and(|n| !n.is_ascii());
        if !non_ascii || !fsops::is_refusal(e) {
            return false;
        }
        self.refuses_non_ascii()
    }

    /// True when the file system refuses names outside ASCII: known once a refusal taught it,
    /// else settled by creating a file with such a name in the state folder (once per
    /// session; the device's [`NAME_RULE`](crate::metadata::device::NAME_RULE) asks before a
    /// sync plans, so that the plan spells such names in ASCII). Callers make sure the state
    /// folder may be written.
    pub(crate) fn refuses_non_ascii(&self) -> bool {
        if self.has(FsQuirks::ASCII_NAMES) {
            return true;
        }
        if self.probed_names.swap(true, Ordering::AcqRel) {
            return false;
        }
        let probe = self.state_dir().join(format!(
            "{TEMP_PREFIX}probe-\u{e9}-{:016x}{TEMP_SUFFIX}",
            super::identity::random_u64()
        ));
        let result = self
            .simulate(FsQuirks::ASCII_NAMES)
            .and_then(|()| OpenOptions::new().write(true).create_new(true).open(&probe));
        match result {
            Ok(_) => {
                let _ = fs::remove_file(&probe);
                false
            }
            Err(pe) if fsops::is_refusal(&pe) => {
                self.learn(FsQuirks::ASCII_NAMES, &pe);
                true
            }
            Err(_) => false,
        }
    }

    /// Creates the folder `path`.
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a name the file system refuses; I/O errors.
    pub(crate) fn create_dir(&self, path: &Path) -> Result<()> {
        let result = if path.file_name().is_some_and(|n| !n.is_ascii()) {
            self.simulate(FsQuirks::ASCII_NAMES)
                .and_then(|()| fs::create_dir(path))
        } else {
            fs::create_dir(path)
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if self.name_refused(path, &e) => Err(Error::InvalidName),
            Err(e) => Err(e.into()),
        }
    }

    /// Appends `bytes` to the existing file at `path`; `Ok(false)`, writing nothing, when the
    /// file system refuses appends or the file does not exist (the caller then writes the file
    /// whole). Without `sync` the file waits for the barrier.
    ///
    /// `handle` is the append handle kept from the last call on this file. While this process
    /// holds the device's writer lock no other process writes the state folder, so the handle
    /// is kept open for the next append instead of opening the file each time (an open and a
    /// close per record, per file a sync copies); without the lock, and after any error, it is
    /// closed and the next append opens the file by its path again. A caller that replaces the
    /// file (a rewrite through a temporary file and a rename) drops the handle first: a kept
    /// handle must never write to a file no longer at `path`.
    ///
    /// # Errors
    /// Other I/O errors.
    pub(crate) fn append(
        &self,
        path: &Path,
        handle: &mut Option<File>,
        bytes: &[u8],
        sync: bool,
    ) -> Result<bool> {
        if self.has(FsQuirks::NO_APPEND) || self.writers.load(Ordering::Acquire) == 0 {
            *handle = None;
        }
        if self.has(FsQuirks::NO_APPEND) {
            return Ok(false);
        }
        let result = (|| -> io::Result<()> {
            self.simulate(FsQuirks::NO_APPEND | FsQuirks::NO_WRITE_EXISTING)?;
            let f = match handle {
                Some(f) => f,
                None => {
                    #[cfg(test)]
                    self.append_opens.fetch_add(1, Ordering::Relaxed);
                    handle.insert(OpenOptions::new().append(true).open(path)?)
                }
            };
            f.write_all(bytes)?;
            if sync {
                f.sync_data()?;
            } else {
                self.barrier.wrote(path);
            }
            Ok(())
        })();
        if result.is_err() || self.writers.load(Ordering::Acquire) == 0 {
            *handle = None;
        }
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) if self.refused(FsQuirks::NO_APPEND, &e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Renames `from` over `to` the ordinary way, failing as a file system without renames
    /// would when simulated.
    fn rename_raw(&self, from: &Path, to: &Path, aside: &Path) -> io::Result<()> {
        self.simulate(FsQuirks::NO_RENAME)?;
        if to.file_name().is_some_and(|n| !n.is_ascii()) {
            self.simulate(FsQuirks::ASCII_NAMES)?;
        }
        host::replace(from, to, aside)
    }

    fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    /// Writes a state file whole, replacing what was there: through a synced temporary file
    /// and a rename, or where renames are refused, as a recorded whole-file write (see the
    /// module documentation).
    ///
    /// # Errors
    /// I/O errors; the temporary file is removed on failure.
    pub(crate) fn write_state(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let dir = path.parent().ok_or(Error::InvalidArg)?;
        if !self.has(FsQuirks::NO_RENAME) {
            let result = crate::sys::files::write_whole_with(path, bytes, |tmp, to| {
                self.rename_raw(tmp, to, &self.state_dir())
            });
            match result {
                Ok(()) => {
                    self.barrier.entries_changed(dir);
                    return Ok(());
                }
                Err(e) => {
                    if !self.refused(FsQuirks::NO_RENAME, &e) {
                        return Err(e.into());
                    }
                }
            }
        }
        self.recorded_write(path, bytes.len() as u64, |f| f.write_all(bytes))
    }

    /// Puts the complete, synced temporary file `tmp` at `target`, replacing any file there:
    /// a rename, or where renames are refused, a recorded copy (see the module documentation)
    /// after which `tmp` is removed.
    ///
    /// # Errors
    /// I/O errors.
    pub(crate) fn publish(&self, tmp: &Path, target: &Path) -> Result<()> {
        if !self.has(FsQuirks::NO_RENAME) {
            match self.rename_raw(tmp, target, &self.state_dir()) {
                Ok(()) => return Ok(()),
                Err(e) if self.name_refused(target, &e) => return Err(Error::InvalidName),
                Err(e) if self.refused(FsQuirks::NO_RENAME, &e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let size = fs::metadata(tmp)?.len();
        self.recorded_write(target, size, |f| {
            io::copy(&mut File::open(tmp)?, f).map(drop)
        })?;
        let _ = fs::remove_file(tmp);
        Ok(())
    }

    /// Renames (or moves) the object at `from` to `to`, where nothing is in the way: a
    /// rename, or where renames are refused, for a file a recorded copy and then the delete of
    /// the original.
    ///
    /// # Errors
    /// I/O errors; a folder where renames are refused gives the file system's error.
    pub(crate) fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        if self.has(FsQuirks::NO_FOLDER_RENAME) && fs::symlink_metadata(from)?.is_dir() {
            return self.move_folder_by_entries(from, to);
        }
        if !self.has(FsQuirks::NO_RENAME) {
            let result = self.simulate(FsQuirks::NO_RENAME).and_then(|()| {
                // Only a simulation needs to know (a real refusal comes from the host).
                if self.simulated.contains(FsQuirks::NO_FOLDER_RENAME) && from.is_dir() {
                    self.simulate(FsQuirks::NO_FOLDER_RENAME)?;
                }
                if to.file_name().is_some_and(|n| !n.is_ascii()) {
                    self.simulate(FsQuirks::ASCII_NAMES)?;
                }
                host::rename(from, to)
            });
            match result {
                Ok(()) => {
                    self.renamed();
                    return Ok(());
                }
                Err(e) if self.name_refused(to, &e) => return Err(Error::InvalidName),
                Err(e) if self.refused(FsQuirks::NO_RENAME, &e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let md = fs::symlink_metadata(from)?;
        if !md.is_file() {
            return Err(Error::from(fsops::refusal()));
        }
        self.recorded_write(to, md.len(), |f| {
            io::copy(&mut File::open(from)?, f).map(drop)
        })?;
        host::remove_file(from, &self.state_dir())?;
        Ok(())
    }

    /// Calls the tests' `after_rename` hook (nothing outside tests).
    pub(super) fn renamed(&self) {
        #[cfg(test)]
        if let Some(hook) = &*self
            .after_rename
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
        {
            hook();
        }
    }

    /// Moves the folder `from` to `to` without renaming it: a new folder, every entry moved
    /// into it (folders the same way), then the old folder removed.
    fn move_folder_by_entries(&self, from: &Path, to: &Path) -> Result<()> {
        self.create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            self.rename(&entry.path(), &to.join(entry.file_name()))?;
        }
        fs::remove_dir(from)?;
        Ok(())
    }

    /// Steps 1 to 4 of a write without renames: record, delete the old file, write `target`
    /// from its first byte with `fill` by the handle that creates it, sync, drop the record.
    fn recorded_write(
        &self,
        target: &Path,
        size: u64,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> Result<()> {
        let record = self.write_record(target, size)?;
        let result = (|| -> io::Result<()> {
            match fs::remove_file(target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if target.file_name().is_some_and(|n| !n.is_ascii()) {
                self.simulate(FsQuirks::ASCII_NAMES)?;
            }
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(target)?;
            fill(&mut f)?;
            f.flush()?;
            f.sync_all()
        })();
        let _ = fs::remove_file(&record);
        if let Err(e) = result {
            let _ = fs::remove_file(target);
            if self.name_refused(target, &e) {
                return Err(Error::InvalidName);
            }
            return Err(e.into());
        }
        if let Some(dir) = target.parent() {
            self.barrier.dir_entries(dir);
        }
        Ok(())
    }

    /// Writes (and syncs) the record of a write without renames to `target`; its path.
    fn write_record(&self, target: &Path, size: u64) -> Result<PathBuf> {
        let rel = target
            .strip_prefix(&self.root)
            .map_err(|_| Error::InvalidArg)?;
        let rel = rel.to_str().ok_or(Error::InvalidArg)?;
        if rel.contains('\n') {
            return Err(Error::InvalidArg);
        }
        let folder = self.state_dir().join(RECORD_FOLDER);
        fs::create_dir_all(&folder)?;
        let path = folder.join(format!(
            "{:016x}{RECORD_SUFFIX}",
            super::identity::random_u64()
        ));
        let text = format!("{RECORD_HEADER}\nsize={size}\npath={rel}\nend\n");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        sync_dir(&folder);
        Ok(path)
    }

    /// At open: undoes the writes without renames that a crash interrupted (see the module
    /// documentation). Records that do not parse name nothing the provider may delete and are
    /// only removed.
    pub(crate) fn recover(&self) {
        let folder = self.state_dir().join(RECORD_FOLDER);
        let Ok(rd) = fs::read_dir(&folder) else {
            return;
        };
        for entry in rd.flatten() {
            let is_record = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.ends_with(RECORD_SUFFIX));
            if !is_record {
                continue;
            }
            let record = entry.path();
            if let Some((rel, size)) = fs::read(&record)
                .ok()
                .and_then(|b| parse_record(&String::from_utf8_lossy(&b)))
            {
                let target = self.root.join(&rel);
                match fs::symlink_metadata(&target) {
                    Ok(md) if md.is_file() && md.len() <= size => {
                        tracing::info!(path = %target.display(), "removing a file an interrupted write left incomplete");
                        if let Err(e) = fs::remove_file(&target) {
                            tracing::warn!(?e, path = %target.display(), "incomplete file not removed");
                            continue;
                        }
                    }
                    Ok(_) => {
                        tracing::warn!(path = %target.display(), "an interrupted write's file is not the provider's; left alone");
                    }
                    Err(_) => {}
                }
            }
            let _ = fs::remove_file(&record);
        }
    }
}

/// The target (root-relative, every component checked) and size of a record; `None` when it
/// is torn, damaged, or names anything outside the device's content or inside its state.
fn parse_record(text: &str) -> Option<(PathBuf, u64)> {
    let mut lines = text.lines();
    if lines.next()? != RECORD_HEADER {
        return None;
    }
    let size = lines.next()?.strip_prefix("size=")?.parse::<u64>().ok()?;
    let rel = lines.next()?.strip_prefix("path=")?;
    if lines.next()? != "end" {
        return None;
    }
    let mut out = PathBuf::new();
    for c in rel.split(['/', '\\']) {
        // State files written this way live in the state folder: allowed there, and only there.
        let ok =
            is_component(c) && (!is_internal(c) || (out.as_os_str().is_empty() && c == STATE_DIR));
        if !ok {
            return None;
        }
        out.push(c);
    }
    (!out.as_os_str().is_empty()).then_some((out, size))
}

#[cfg(test)]
#[path = "quirks_tests.rs"]
mod tests;
