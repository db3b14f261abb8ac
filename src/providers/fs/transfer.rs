//! IMDSPDirectTransfer: the provider copies a host file or a stream onto the device itself;
//! and a batch copy of many host files that syncs them together.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::provider::{
    CreateRequest, DirectTransfer, Progress, StorageRef, TransferOptions, TransferSource,
    run_with_progress,
};

use super::durability::Barrier;
use super::io::WriteSession;
use super::storage::FsStorage;
use super::tagging;

/// A batch publishes its files in groups of at most this many bytes...
const GROUP_BYTES: u64 = 256 << 20;
/// ... or this many files, whichever comes first: a group's files stay open until it is
/// published, and its data waits in temporary files.
const GROUP_FILES: usize = 64;

/// One file of a batch copy ([`FsStorage::transfer_files`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileCopy<'a> {
    /// The host file to copy.
    pub source: &'a Path,
    /// The name it gets in the destination folder (checked against the device's name policy).
    pub name: &'a str,
}

/// Reports a file's progress as part of the whole batch's.
struct Offset<'a> {
    inner: &'a mut dyn Progress,
    base: u64,
}

impl Progress for Offset<'_> {
    fn begin(&mut self, _estimated_ticks: u64) -> Result<()> {
        Ok(())
    }

    fn progress(&mut self, transpired_ticks: u64) -> Result<()> {
        self.inner
            .progress(self.base.saturating_add(transpired_ticks))
    }

    fn end(&mut self, _result: Result<()>) {}
}

impl std::fmt::Debug for Offset<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offset").field("base", &self.base).finish()
    }
}

/// Files of a batch copied but not yet published.
type Group = Vec<(Arc<FsStorage>, WriteSession)>;

/// Publishes a group: every file's data reaches the medium before any of them takes its name,
/// then each folder is synced once after its last rename. Writeback of each file started while
/// it was copied, so by the time the first sync has waited for the disk and the journal, the
/// syncs after it mostly find nothing left to do.
fn publish(group: &mut Group, barrier: &Barrier, out: &mut Vec<StorageRef>) -> Result<()> {
    for (_, session) in group.iter_mut() {
        session.sync()?;
    }
    let mut folders: BTreeSet<PathBuf> = BTreeSet::new();
    for (created, session) in group.drain(..) {
        folders.insert(session.publish_in_batch()?);
        out.push(created);
    }
    for dir in &folders {
        barrier.dir_entries(dir);
    }
    Ok(())
}

impl FsStorage {
    /// Copies host files into this folder as one batch, the fast way to fill a device with
    /// durable writes.
    ///
    /// Each file is copied as [`DirectTransfer::transfer_to_device`] copies it (into a
    /// temporary file, by the kernel where it can), but the files are synced and renamed into
    /// place in groups (up to 64 files or 256 MiB): all the data of a group reaches the medium
    /// first, then every file of the group takes its name, then the folder is synced once. So a
    /// file is never visible before its data is complete and synced, and when the call returns
    /// every file is visible and, on a durable device, on the medium; but the disk's cache
    /// flushes and journal commits are shared by a group instead of paid twice per file. On a
    /// device that is not durable it is the same as transferring the files one by one.
    ///
    /// Progress ticks are bytes of the whole batch. The returned handles are in the order of
    /// `files`.
    ///
    /// # Errors
    /// [`Error::InvalidType`] when this is not a folder; [`Error::InvalidArg`] for an empty
    /// name; the errors of [`DirectTransfer::transfer_to_device`] for each file (a name taken
    /// without `overwrite`, a name the policy rejects, [`Error::DiskFull`], the progress sink's
    /// error when cancelled, I/O errors reading a source). On an error the files of the groups
    /// already published stay on the device, complete; the files of the group in progress are
    /// removed, and nothing of the files after it is written.
    pub fn transfer_files(
        &self,
        files: &[FileCopy<'_>],
        overwrite: bool,
        progress: &mut dyn Progress,
    ) -> Result<Vec<StorageRef>> {
        self.shared.check_write()?;
        if !self.snap()?.is_dir {
            return Err(Error::InvalidType);
        }
        if files.iter().any(|f| f.name.is_empty()) {
            return Err(Error::InvalidArg);
        }
        let mut total = 0u64;
        for f in files {
            total = total.saturating_add(std::fs::metadata(f.source)?.len());
        }
        let barrier = &self.shared.io.barrier;
        run_with_progress(progress, total, |p| {
            let mut out: Vec<StorageRef> = Vec::with_capacity(files.len());
            let mut group: Group = Vec::new();
            let mut group_bytes = 0u64;
            let mut done = 0u64;
            for f in files {
                let mut src = File::open(f.source)?;
                let size = src.metadata()?.len();
                let mut request = CreateRequest::file(f.name).size_hint(size);
                if overwrite {
                    request = request.overwrite();
                }
                let created = self.create_impl(&request)?;
                let mut session = WriteSession::start(&created, false)?;
                session.fill_from_file(
                    &mut src,
                    size,
                    &mut Offset {
                        inner: &mut *p,
                        base: done,
                    },
                )?;
                done = done.saturating_add(session.len());
                group_bytes = group_bytes.saturating_add(session.len());
                group.push((created, session));
                if group_bytes >= GROUP_BYTES || group.len() >= GROUP_FILES {
                    publish(&mut group, barrier, &mut out)?;
                    group_bytes = 0;
                }
            }
            publish(&mut group, barrier, &mut out)?;
            Ok(out)
        })
    }
}

impl DirectTransfer for FsStorage {
    /// Copies into a temporary file in this folder and renames it into place. A host file is
    /// copied by the kernel (`copy_file_range`) where possible. A failure or a cancel removes
    /// the temporary file and the name reserved for it. With
    /// [`TransferOptions::temporary`] the data goes straight to the (new) name asked for,
    /// created exclusively, and a failure or a cancel removes that file.
    fn transfer_to_device(
        &self,
        source: TransferSource<'_>,
        options: &TransferOptions,
        progress: &mut dyn Progress,
    ) -> Result<StorageRef> {
        self.shared.check_write()?;
        if options.destination_name.is_empty() {
            return Err(Error::InvalidArg);
        }
        let in_place = options.temporary;
        // A file written in place is created by the kernel refusing a link anywhere on its
        // path (`crate::sys::beneath`), which refuses a folder swapped for a link by itself:
        // a folder a path check found to be one a moment ago needs no `lstat` of its own.
        let kernel_checks = in_place && self.shared.beneath.supported();
        let is_dir = if kernel_checks {
            self.is_folder()?
        } else {
            self.snap()?.is_dir
        };
        if !is_dir {
            return Err(Error::InvalidType);
        }
        let (mut file, size) = match &source {
            TransferSource::File(path) => {
                let f = File::open(path)?;
                let len = f.metadata()?.len();
                (Some(f), len)
            }
            TransferSource::Reader { size, .. } => (None, *size),
        };
        let mut request = CreateRequest::file(options.destination_name.clone()).size_hint(size);
        // The caller's own temporary name is written in place: never over anything, and
        // with no temporary file of the provider's (the caller's name already is one).
        if options.overwrite && !in_place {
            request = request.overwrite();
        }
        let created = self.create_named(&request, in_place)?;
        let fresh = created.is_pending();
        let result = run_with_progress(progress, size, |p| {
            let mut session = if in_place {
                WriteSession::start_in_place(&created, kernel_checks)?
            } else {
                WriteSession::start(&created, false)?
            };
            match (&mut file, source) {
                (Some(f), _) => session.fill_from_file(f, size, p)?,
                (None, TransferSource::Reader { reader, size }) => {
                    session.fill_from_reader(reader, Some(size), p)?;
                }
                (None, TransferSource::File(_)) => return Err(Error::InvalidArg),
            }
            // The bytes just written, when the session kept them: their tags are compared
            // with the metadata from memory instead of reading the file back.
            let written = session.take_written();
            let known = session.finish_known()?;
            Ok((written, known))
        });
        match result {
            Ok((written, known)) => {
                // What the file's descriptor said before it was closed is its snapshot (and
                // the write vouched for the file, `Shared::bump_published`): the metadata
                // below looks at it no more than its rename into place will.
                if let Some((snap, generation)) = known {
                    created.remember(snap, generation);
                }
                // Taken after the write's publish: a change after it (tags written into
                // the file) means the file no longer holds the bytes written.
                let generation = self.shared.generation();
                // A new object's metadata is part of its creation; a replaced one's is a
                // change, dated as such.
                if let Some(m) = &options.metadata
                    && let Err(e) = tagging::set_metadata(&created, m, written.as_deref(), fresh)
                {
                    tracing::warn!(?e, "metadata for a transferred file was not applied");
                }
                super::io::keep(&self.shared, created.id(), generation, written);
                Ok(created)
            }
            Err(e) => {
                if fresh && created.is_pending() {
                    created.forget_reservation();
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
