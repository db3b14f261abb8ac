//! Applying one step: a copy through its temporary name, a metadata update, a delete, a
//! playlist write, or a ledger-only change.

use std::io::Read;
use std::sync::atomic::Ordering;

use super::device::{commit_prefix, fingerprint_of, is_not_found, resolve, split};
use super::engine::{Run, Shared, SyncEngine, item_of};
use super::event::SyncEvent;
use super::journal::{CommitRecord, Committed, LedgerEntry, OwnedKind};
use super::plan::{SyncOp, device_metadata, mtime_ns};
use super::recover::owns;
use super::resume::planned_entry;
use super::stats::set_written_baseline;
use crate::error::{Error, ErrorKind, Result};
use crate::library::{ContentHash, Library};
use crate::manager::{InsertOptions, InsertSource, WmdmStorage};
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

impl SyncEngine {
    pub(super) fn apply(
        &self,
        run: &mut Run,
        library: &dyn Library,
        op: &SyncOp,
        base: u64,
    ) -> Result<()> {
        if run.transcoding.is_some() {
            super::apply_convert::start_encodes(run, library);
        }
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
            SyncOp::Adopt {
                track,
                path,
                size,
                unique_id,
                hash,
                meta,
                source_size,
                source_mtime,
            } => {
                // The plan proved it byte-identical; take it only if it is still that object.
                let obj = resolve(&run.root, path)?.ok_or(Error::FileNotFound)?;
                let now = obj.unique_id().unwrap_or_default();
                if obj.size()? != *size || now != *unique_id {
                    return Err(Error::FileNotFound);
                }
                run.ledger.insert(LedgerEntry {
                    path: path.clone(),
                    unique_id: now,
                    kind: OwnedKind::Track,
                    id: track.0,
                    hash: hash.0,
                    size: *size,
                    meta: *meta,
                    source_size: *source_size,
                    source_mtime: *source_mtime,
                    plays: 0,
                    rating: 0,
                    seen: None,
                    fingerprint: Some(fingerprint_of(&obj)?),
                });
                run.summary.adopted += 1;
            }
            SyncOp::UpdateMetadata { track, path, meta } => {
                let t = library.track(*track).ok_or(Error::FileNotFound)?;
                let obj = resolve(&run.root, path)?.ok_or(Error::FileNotFound)?;
                // Only the sync's own object is retagged (J5).
                if !still_owned(run, path, &obj)? {
                    return Err(Error::FileNotFound);
                }
                obj.set_metadata(&device_metadata(t))?;
                // A device that keeps tags in the file (the fs provider) rewrites it: record the
                // object as it is now, so the ledger still matches it (on a device without
                // unique IDs, by its new fingerprint).
                let obj = resolve(&run.root, path)?.ok_or(Error::FileNotFound)?;
                let (stored, uid) = (obj.size()?, obj.unique_id().unwrap_or_default());
                let fingerprint = if uid.is_empty() {
                    Some(fingerprint_of(&obj)?)
                } else {
                    None
                };
                if let Some(e) = run.ledger.entries.get_mut(path) {
                    e.size = stored;
                    e.unique_id = uid;
                    e.fingerprint = fingerprint;
                    e.meta = *meta;
                    e.source_size = t.size;
                    e.source_mtime = mtime_ns(t);
                }
                run.summary.updated += 1;
            }
            SyncOp::Delete { path, .. } => {
                if let Some(obj) = resolve(&run.root, path)? {
                    // The ledger said so at planning time; check again, since deleting the
                    // user's file is the one thing sync must never do (J5).
                    if still_owned(run, path, &obj)? {
                        obj.delete(false, &mut NoProgress)?;
                        run.summary.deleted += 1;
                    }
                }
                run.ledger.entries.remove(path);
            }
            SyncOp::Copy {
                track,
                convert: Some(c),
                ..
            } => self.apply_conversion(run, library, op, *track, c, base)?,
            SyncOp::Copy {
                track, size, hash, ..
            } => {
                let t = library.track(*track).ok_or(Error::FileNotFound)?;
                // Each source is read once: the copy hashes what it reads, checks it against
                // the planned hash when there was one, and the ledger records it.
                let mut hashing = library.open_hashing(*track).inspect_err(|e| {
                    if *e == Error::ProcessFailed {
                        tracing::warn!(track = %t.relative_path, "the library file changed since the scan; the next sync copies it");
                    }
                })?;
                let metadata = device_metadata(t);
                let (source_size, rating, plays) = (t.size, t.rating.value(), t.play_count);
                self.write_temp(run, op, &mut hashing, *size, Some(metadata), base, |h| {
                    hash.is_none_or(|want| h.hash() == want)
                })?;
                let Some(mut p) = run.batch.pop() else {
                    return Err(Error::Fail);
                };
                match library.finish_hashing(*track, hashing) {
                    Ok(got) => {
                        p.hash = Some(got);
                        p.source_size = source_size;
                        p.rating = rating;
                        p.plays = plays;
                        run.batch.push(p);
                    }
                    Err(e) => {
                        // Changed while it was copied: its bytes are no one version of the
                        // file. The temporary file goes; the next sync copies it again.
                        run.batch_bytes = run.batch_bytes.saturating_sub(*size);
                        if let Err(d) = p.created.delete(false, &mut NoProgress) {
                            tracing::warn!(error = %d, "could not remove a temporary file; the journal has it");
                        }
                        if e == Error::ProcessFailed {
                            tracing::warn!(track = %t.relative_path, "the library file changed while it was copied; the next sync copies it");
                        }
                        return Err(e);
                    }
                }
            }
            SyncOp::WritePlaylist { tracks, .. } => {
                // A playlist lists only what is on the device: without the tracks whose copy
                // failed earlier in this run.
                let op = if tracks.iter().any(|t| run.failed.contains(t)) {
                    without_failed(run, library, op)?
                } else {
                    op.clone()
                };
                let SyncOp::WritePlaylist { content, .. } = &op else {
                    return Err(Error::Fail);
                };
                let size = content.len() as u64;
                let mut reader = std::io::Cursor::new(content.as_slice());
                self.write_temp(run, &op, &mut reader, size, None, base, |_| true)?;
            }
        }
        Ok(())
    }

    /// Writes a copy's or playlist's bytes under its journaled temporary name (J3), verifies
    /// them, and records what the device stored (size, unique ID, fingerprint: J4) for the
    /// batch's commit record. The rename into place happens in [`commit_batch`].
    ///
    /// [`commit_batch`]: Self::commit_batch
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_temp<R: Read + Send>(
        &self,
        run: &mut Run,
        op: &SyncOp,
        reader: &mut R,
        size: u64,
        metadata: Option<crate::metadata::Metadata>,
        base: u64,
        verify: impl FnOnce(&R) -> bool,
    ) -> Result<()> {
        let (path, replaces) = match op {
            SyncOp::Copy { path, replaces, .. } | SyncOp::WritePlaylist { path, replaces, .. } => {
                (path, replaces)
            }
            _ => return Err(Error::Fail),
        };
        // Every write was journaled with its temporary name before the sync started.
        let temp_path = run.temps.get(path).cloned().ok_or(Error::Fail)?;
        let (dir, final_name) = split(path);
        let (_, temp) = split(&temp_path);
        let folder = run.folders.ensure(&run.root, dir)?;
        // Where the device refuses renames, the bytes go under the final name, announced by an
        // intent record first; the object replaced goes before (docs/sync.md, "Devices that
        // refuse renames").
        let direct = run.renames.refused();
        let target = if direct {
            self.intend(run)?;
            match folder.child(final_name) {
                Ok(old) if replaces.is_some() && still_owned(run, path, &old)? => {
                    old.delete(false, &mut NoProgress)?;
                    // The sync's own delete (J6): the ledger no longer owns the path.
                    run.ledger.entries.remove(path);
                }
                // Someone else's object took the name: never overwrite it, and no longer
                // announce it.
                Ok(_) => {
                    self.unannounce(run, path)?;
                    return Err(Error::AlreadyExists);
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e),
            }
            final_name
        } else {
            match folder.child(temp) {
                // The name is this session's; whatever holds it is not ours to delete.
                Ok(_) => return Err(Error::AlreadyExists),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e),
            }
            temp
        };
        let mut progress = StepProgress {
            shared: &self.shared,
            base,
        };
        let created = folder
            .insert(
                InsertSource::Reader {
                    reader,
                    name: target.to_owned(),
                    size,
                },
                &InsertOptions {
                    metadata,
                    ..InsertOptions::default()
                },
                &mut progress,
            )
            .or_else(|e| {
                // An object that appeared at the final name since the check above.
                if direct && e == Error::AlreadyExists {
                    self.unannounce(run, path)?;
                }
                Err(e)
            })?;
        let recorded = (|| -> Result<(u64, String, [u8; 20], i64)> {
            if !verify(reader) {
                // The library file changed after planning; the next sync plans it again.
                tracing::warn!(path = %path, "the library file's bytes are not those planned; the next sync copies it");
                return Err(Error::ProcessFailed);
            }
            // A device that writes the metadata into the file (the fs provider tags it) may
            // hold more or fewer bytes than were sent; the record says what it holds.
            Ok((
                created.size()?,
                created.unique_id().unwrap_or_default(),
                fingerprint_of(&created)?,
                // Dated after the last write: the statistics baseline (the rename into place
                // keeps the date).
                created
                    .date()
                    .ok()
                    .and_then(|d| d.to_unix().ok())
                    .unwrap_or(0),
            ))
        })();
        let (stored, unique_id, fingerprint, dated) = match recorded {
            Ok(r) => r,
            Err(e) => {
                if let Err(d) = created.delete(false, &mut NoProgress) {
                    tracing::warn!(error = %d, "could not remove a temporary file; the journal has it");
                }
                return Err(e);
            }
        };
        run.batch_bytes += size;
        run.batch.push(Pending {
            op: op.clone(),
            temp: temp_path,
            direct,
            folder,
            created,
            replaces: replaces.clone(),
            stored,
            unique_id,
            fingerprint,
            source_size: 0,
            rating: 0,
            plays: 0,
            dated,
            hash: None,
        });
        Ok(())
    }

    /// Commits the batch (J4): one commit record for all its files, then each replaced object
    /// is deleted (only if it is still the owned one) and each temporary file renamed into
    /// place, and the ledger learns it. A failed item is a DeviceSyncError event; only a
    /// disconnect is returned.
    pub(super) fn commit_batch(&self, run: &mut Run) -> Result<()> {
        if run.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut run.batch);
        run.batch_bytes = 0;
        let record = CommitRecord {
            session: run.journal.session,
            files: batch
                .iter()
                .filter_map(|p| {
                    let path = op_path(&p.op)?;
                    Some(Committed {
                        temp: p.temp.clone(),
                        path: path.to_owned(),
                        size: p.stored,
                        unique_id: p.unique_id.clone(),
                        fingerprint: p.fingerprint,
                        hash: p.hash.map(|h| h.0),
                    })
                })
                .collect(),
        };
        let name = format!(
            "{}{}.txt",
            commit_prefix(&run.journal.library_id),
            run.commits_written
        );
        run.commits_written += 1;
        // Group commit: one barrier makes every temporary file of the batch durable before
        // the record that commits them, a second the record before any rename or delete it
        // allows (J4).
        if let Err(e) = run.barrier() {
            run.batch = batch;
            return Err(e);
        }
        let written = run.write_state(&name, &record.encode());
        if written.is_ok() {
            run.commits.push(name);
            if let Err(e) = run.barrier() {
                run.batch = batch;
                return Err(e);
            }
        }
        if let Err(e) = written {
            // Without its record nothing of the batch may be renamed: its temporary files go
            // (they are journaled, so an interruption here is cleaned up too).
            for p in &batch {
                if let Err(d) = p.created.delete(false, &mut NoProgress) {
                    tracing::warn!(error = %d, "could not remove a temporary file; the journal has it");
                }
            }
            if e.kind() == ErrorKind::Disconnected {
                return Err(e);
            }
            for p in &batch {
                self.item_error(run, &p.op, e.clone());
            }
            return Ok(());
        }
        for p in batch {
            // A playlist of this batch that lists a copy whose placing just failed is not put
            // in place either (the next sync writes it).
            if let SyncOp::WritePlaylist { tracks, .. } = &p.op
                && !p.direct
                && tracks.iter().any(|t| run.failed.contains(t))
            {
                if let Err(d) = p.created.delete(false, &mut NoProgress) {
                    tracing::warn!(error = %d, "could not remove a temporary file; the journal has it");
                }
                self.item_error(run, &p.op, Error::FileNotFound);
                continue;
            }
            match self.place(run, &p) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Disconnected => return Err(e),
                Err(e) => {
                    if let Err(d) = p.created.delete(false, &mut NoProgress) {
                        tracing::warn!(error = %d, "could not remove a temporary file; the journal has it");
                    }
                    self.item_error(run, &p.op, e);
                }
            }
        }
        Ok(())
    }

    /// A failed item: a DeviceSyncError event and the error count. A copy that leaves its
    /// track off the device (a new one, or a replacement whose old object is gone) is
    /// remembered, so playlists written later in the run leave the track out.
    pub(super) fn item_error(&self, run: &mut Run, op: &SyncOp, error: Error) {
        if let SyncOp::Copy { track, path, .. } = op
            && !run.ledger.entries.contains_key(path)
        {
            run.failed.insert(*track);
        }
        run.summary.errors += 1;
        self.shared.events.emit(SyncEvent::DeviceSyncError {
            device: self.shared.key.clone(),
            item: item_of(op),
            error,
        });
    }

    /// Renames one committed temporary file into place (after deleting the object it replaces
    /// when that is still the owned one) and records it in the ledger.
    fn place(&self, run: &mut Run, p: &Pending) -> Result<()> {
        let path = op_path(&p.op).ok_or(Error::Fail)?;
        // Written in place: already at its final name.
        if !p.direct {
            // A refusal earlier in this batch: the rename would be refused too (the old
            // object is not deleted for nothing).
            if run.renames.refused() {
                return Err(Error::NotSupported);
            }
            let (_, name) = split(path);
            match p.folder.child(name) {
                Ok(old) => {
                    if p.replaces.is_some() && still_owned(run, path, &old)? {
                        old.delete(false, &mut NoProgress)?;
                        // The sync's own delete (J6), whatever happens to the rename.
                        run.ledger.entries.remove(path);
                    } else {
                        // Someone else's object took the name: never overwrite it.
                        return Err(Error::AlreadyExists);
                    }
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = p.created.rename(name, &mut NoProgress) {
                // A device that refuses renames: this file is an item error (its temporary
                // file goes, the next sync copies it), every later write goes in place.
                run.renames.note(&e);
                return Err(e);
            }
        }
        let unique_id = p.created.unique_id().unwrap_or_default();
        if let Some(mut e) = planned_entry(&p.op) {
            e.unique_id = unique_id;
            e.size = p.stored;
            e.fingerprint = Some(p.fingerprint);
            if let Some(h) = p.hash {
                e.hash = h.0;
            }
            match &p.op {
                SyncOp::Copy {
                    size,
                    replaces,
                    convert,
                    ..
                } => {
                    e.source_size = p.source_size;
                    run.summary.transcode.converted += u32::from(convert.is_some());
                    // A conversion's planned size is an estimate; it wrote what it stored.
                    let size = if convert.is_some() { &p.stored } else { size };
                    // What the sync wrote is the statistics baseline: the next sync reads no
                    // tags back from this file unless the device changes it.
                    set_written_baseline(&mut e, p.plays, p.rating, p.stored, p.dated);
                    run.summary.bytes_copied += size;
                    if replaces.is_some() {
                        run.summary.updated += 1;
                    } else {
                        run.summary.copied += 1;
                    }
                }
                SyncOp::WritePlaylist { content, .. } => {
                    run.summary.bytes_copied += content.len() as u64;
                    run.summary.playlists_written += 1;
                }
                _ => {}
            }
            run.ledger.insert(e);
        }
        Ok(())
    }
}

/// `op` (a playlist write) without the tracks whose copy failed in this run: rendered again
/// in the plan's layout, with its metadata hash unknown (0), so the next plan writes it again
/// once those tracks are there.
fn without_failed(run: &Run, library: &dyn Library, op: &SyncOp) -> Result<SyncOp> {
    let SyncOp::WritePlaylist {
        playlist,
        name,
        path,
        replaces,
        tracks,
        ..
    } = op
    else {
        return Err(Error::Fail);
    };
    let layout = run.plan.playlist_layout.as_ref().ok_or(Error::Fail)?;
    let kept: Vec<_> = tracks
        .iter()
        .filter(|t| !run.failed.contains(t))
        .copied()
        .collect();
    let mut entries = Vec::with_capacity(kept.len());
    for t in &kept {
        let (Some(at), Some(track)) = (run.plan.placed.get(t), library.track(*t)) else {
            continue;
        };
        entries.push(crate::library::WriteEntry {
            path: at,
            title: Some(track.title.as_str()),
            duration: Some(track.duration),
        });
    }
    Ok(SyncOp::WritePlaylist {
        playlist: *playlist,
        name: name.clone(),
        path: path.clone(),
        meta: 0,
        content: layout.render(name, &entries)?.into(),
        replaces: replaces.clone(),
        tracks: kept,
    })
}

/// True when the ledger's entry for `path` is the object `obj` (J5): the same non-empty
/// unique ID, or, on a device without unique IDs, the same size and fingerprint.
fn still_owned(run: &Run, path: &str, obj: &WmdmStorage) -> Result<bool> {
    let Some(e) = run.ledger.entries.get(path) else {
        return Ok(false);
    };
    let unique_id = obj.unique_id().unwrap_or_default();
    let fp = if e.unique_id.is_empty() && unique_id.is_empty() && e.fingerprint.is_some() {
        Some(fingerprint_of(obj)?)
    } else {
        None
    };
    Ok(owns(e, obj.size()?, &unique_id, fp))
}

pub(super) fn op_path(op: &SyncOp) -> Option<&str> {
    match op {
        SyncOp::Copy { path, .. } | SyncOp::WritePlaylist { path, .. } => Some(path),
        _ => None,
    }
}

/// A temporary file written and closed, waiting for its batch's commit record.
pub(super) struct Pending {
    op: SyncOp,
    temp: String,
    // Written in place under its final name (a device that refuses renames).
    direct: bool,
    folder: WmdmStorage,
    created: WmdmStorage,
    replaces: Option<String>,
    stored: u64,
    unique_id: String,
    fingerprint: [u8; 20],
    source_size: u64,
    rating: u8,
    plays: u32,
    dated: i64,
    // The hash the copy computed from the bytes it read (the ledger records it).
    hash: Option<ContentHash>,
}

impl Pending {
    /// What the ledger records of the source: the hash (or converted identity), the library
    /// file's size, and the statistics baseline.
    pub(super) fn set_source(&mut self, hash: ContentHash, size: u64, rating: u8, plays: u32) {
        self.hash = Some(hash);
        self.source_size = size;
        self.rating = rating;
        self.plays = plays;
    }
}
