//! Applying one step: a copy through its temporary name, a metadata update, a delete, a
//! playlist write, or a ledger-only change.

use std::io::Read;
use std::sync::atomic::Ordering;

use super::device::{is_not_found, resolve, split};
use super::engine::{Run, Shared, SyncEngine};
use super::plan::{SyncOp, device_metadata, mtime_ns};
use super::resume::{planned_entry, temp_for};
use super::stats::set_written_baseline;
use crate::error::{Error, Result};
use crate::library::{ContentHash, Library};
use crate::manager::{InsertOptions, InsertSource};
use crate::provider::{NoProgress, Progress};

/// Progress sink for one copy: adds to the engine's byte counter and cancels on stop.
struct StepProgress<'a> {
    shared: &'a Shared,
    base: u64,
}

impl Progress for StepProgress<'_> {
    fn begin(&mut self, _estimated: u64) -> Result<()> {
        self.check()
    }
    fn progress(&mut self, done: u64) -> Result<()> {
        self.shared.done.store(self.base + done, Ordering::Relaxed);
        self.check()
    }
    fn end(&mut self, _result: Result<()>) {}
}

impl StepProgress<'_> {
    fn check(&self) -> Result<()> {
        if self.shared.stop.load(Ordering::Relaxed) {
            Err(Error::UserCancelled)
        } else {
            Ok(())
        }
    }
}

/// A reader that hashes what it yields, so a copy is verified against the planned hash.
struct HashingReader<'a> {
    inner: Box<dyn Read + Send + 'a>,
    hasher: sha1::Sha1,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha1::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

impl SyncEngine {
    pub(super) fn apply(
        &self,
        run: &mut Run,
        library: &dyn Library,
        op: &SyncOp,
        base: u64,
    ) -> Result<()> {
        match op {
            SyncOp::Forget { path } => {
                run.ledger.entries.remove(path);
            }
            SyncOp::Rekey {
                path,
                track,
                source_size,
                source_mtime,
            } => {
                if let Some(e) = run.ledger.entries.get_mut(path) {
                    e.id = track.0;
                    e.source_size = *source_size;
                    e.source_mtime = *source_mtime;
                }
            }
            SyncOp::UpdateMetadata { track, path, meta } => {
                let t = library.track(*track).ok_or(Error::FileNotFound)?;
                let obj = resolve(&run.root, path)?.ok_or(Error::FileNotFound)?;
                obj.set_metadata(&device_metadata(t))?;
                // A device that keeps tags in the file (the fs provider) rewrites it: record the
                // object as it is now, so the ledger still matches it.
                let obj = resolve(&run.root, path)?.ok_or(Error::FileNotFound)?;
                let (stored, uid) = (obj.size()?, obj.unique_id().unwrap_or_default());
                if let Some(e) = run.ledger.entries.get_mut(path) {
                    e.size = stored;
                    e.unique_id = uid;
                    e.meta = *meta;
                    e.source_size = t.size;
                    e.source_mtime = mtime_ns(t);
                }
                run.summary.updated += 1;
            }
            SyncOp::Delete { path, .. } => {
                if let Some(obj) = resolve(&run.root, path)? {
                    let owned = run.ledger.entries.get(path).map(|e| e.unique_id.clone());
                    let uid = obj.unique_id().unwrap_or_default();
                    // The ledger said so at planning time; check again, since deleting the
                    // user's file is the one thing sync must never do.
                    if owned.is_some_and(|o| o.is_empty() || o == uid) {
                        obj.delete(false, &mut NoProgress)?;
                    }
                }
                run.ledger.entries.remove(path);
                run.summary.deleted += 1;
            }
            SyncOp::Copy {
                track,
                path,
                size,
                hash,
                replaces,
                ..
            } => {
                let t = library.track(*track).ok_or(Error::FileNotFound)?;
                let reader = library.open(*track)?;
                let mut hashing = HashingReader {
                    inner: reader,
                    hasher: <sha1::Sha1 as sha1::Digest>::new(),
                };
                let metadata = device_metadata(t);
                let (uid, stored, dated) = self.put(
                    run,
                    path,
                    &mut hashing,
                    *size,
                    Some(metadata),
                    replaces.as_deref(),
                    base,
                    |h| {
                        let got = ContentHash(sha1::Digest::finalize(h.hasher.clone()).into());
                        got == *hash
                    },
                )?;
                if let Some(mut e) = planned_entry(op) {
                    e.unique_id = uid;
                    e.size = stored;
                    e.source_size = t.size;
                    set_written_baseline(&mut e, t, stored, dated);
                    run.ledger.insert(e);
                }
                run.summary.bytes_copied += size;
                if replaces.is_some() {
                    run.summary.updated += 1;
                } else {
                    run.summary.copied += 1;
                }
            }
            SyncOp::WritePlaylist {
                path,
                content,
                replaces,
                ..
            } => {
                let size = content.len() as u64;
                let mut reader = std::io::Cursor::new(content.as_slice());
                let (uid, stored, _) = self.put(
                    run,
                    path,
                    &mut reader,
                    size,
                    None,
                    replaces.as_deref(),
                    base,
                    |_| true,
                )?;
                if let Some(mut e) = planned_entry(op) {
                    e.unique_id = uid;
                    e.size = stored;
                    run.ledger.insert(e);
                }
                run.summary.bytes_copied += size;
                run.summary.playlists_written += 1;
            }
        }
        Ok(())
    }

    /// Writes `path` through its temporary name: insert (with progress), verify, delete the
    /// replaced object, rename into place. Returns the new object's unique ID, its size on the
    /// device, and its date on the device (seconds since the epoch, 0 when it has none).
    #[allow(clippy::too_many_arguments)]
    fn put<R: Read + Send>(
        &self,
        run: &mut Run,
        path: &str,
        reader: &mut R,
        size: u64,
        metadata: Option<crate::metadata::Metadata>,
        replaces: Option<&str>,
        base: u64,
        verify: impl FnOnce(&R) -> bool,
    ) -> Result<(String, u64, i64)> {
        let (dir, name) = split(path);
        let folder = run.folders.ensure(&run.root, dir)?;
        let temp = temp_for(name);
        match folder.child(&temp) {
            Ok(stale) => stale.delete(false, &mut NoProgress)?,
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
        let mut progress = StepProgress {
            shared: &self.shared,
            base,
        };
        let created = folder.insert(
            InsertSource::Reader {
                reader,
                name: temp,
                size,
            },
            &InsertOptions {
                metadata,
                ..InsertOptions::default()
            },
            &mut progress,
        )?;
        let done = (|| -> Result<(String, u64, i64)> {
            if !verify(reader) {
                // The library file changed after planning; the next sync plans it again.
                return Err(Error::ProcessFailed);
            }
            // A device that writes the metadata into the file (the fs provider tags it) may
            // hold more or fewer bytes than were sent; the ledger records what it holds.
            let stored = created.size()?;
            // Its date now, with its size: the statistics baseline (a rename dates nothing).
            let dated = created
                .date()
                .ok()
                .and_then(|d| d.to_unix().ok())
                .unwrap_or(0);
            match folder.child(name) {
                Ok(old) => {
                    let uid = old.unique_id().unwrap_or_default();
                    if replaces.is_some_and(|r| r.is_empty() || r == uid) {
                        old.delete(false, &mut NoProgress)?;
                    } else {
                        // Someone else's object took the name: never overwrite it.
                        return Err(Error::AlreadyExists);
                    }
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e),
            }
            created.rename(name, &mut NoProgress)?;
            Ok((created.unique_id().unwrap_or_default(), stored, dated))
        })();
        if done.is_err() {
            if let Err(e) = created.delete(false, &mut NoProgress) {
                tracing::warn!(error = %e, "could not remove a temporary file; the journal has it");
            }
        }
        done
    }
}
