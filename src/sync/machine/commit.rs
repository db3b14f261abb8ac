//! The group commit (J4): one commit record for a batch of temporary files, then each
//! replaced object deleted (only if it is still the owned one) and each temporary file
//! renamed into place, and the ledger told.

use std::collections::VecDeque;

use super::apply::{lookup_owned, still_owned};
use super::finish::{barrier, write_state};
use super::flow::Flow;
use super::request::{DeviceRequest, DeviceResponse, ObjectId, ObjectInfo};
use super::{Pending, Run, is_disconnect};
use crate::error::Error;
use crate::sync::device::{commit_prefix, split};
use crate::sync::engine::item_of;
use crate::sync::journal::{CommitRecord, Committed};
use crate::sync::plan::SyncOp;
use crate::sync::resume::planned_entry;
use crate::sync::stats::set_written_baseline;

/// The final path of a write.
pub(super) fn op_path(op: &SyncOp) -> Option<&str> {
    match op {
        SyncOp::Copy { path, .. } | SyncOp::WritePlaylist { path, .. } => Some(path),
        _ => None,
    }
}

/// A failed item: a DeviceSyncError event and the error count. A copy that leaves its track
/// off the device (a new one, or a replacement whose old object is gone) is remembered, so
/// playlists written later in the run leave the track out.
pub(super) fn item_error(run: &mut Run, op: &SyncOp, error: Error) {
    if let SyncOp::Copy { track, path, .. } = op
        && !run.ledger.entries.contains_key(path)
    {
        run.failed.insert(*track);
    }
    run.summary.errors += 1;
    run.emit(item_of(op), error);
}

/// Deletes temporary files that will not be placed; a failure is only logged (the journal
/// has them).
fn delete_quietly(mut objects: VecDeque<ObjectId>) -> Flow {
    let Some(object) = objects.pop_front() else {
        return Flow::OK;
    };
    Flow::ask_done(DeviceRequest::Delete { object }, move |_, r| {
        if let Err(d) = r {
            tracing::warn!(error = %d, "could not remove a temporary file; the journal has it");
        }
        delete_quietly(objects)
    })
}

/// Commits the batch. A failed item is a DeviceSyncError event; only a disconnect or a
/// failed barrier ends this with an error.
pub(super) fn commit_batch(run: &mut Run) -> Flow {
    if run.batch.is_empty() {
        return Flow::OK;
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
    // Group commit: one barrier makes every temporary file of the batch durable before the
    // record that commits them, a second the record before any rename or delete it allows.
    barrier(run).then(run, move |run, r| {
        if let Err(e) = r {
            run.batch = batch;
            return Flow::Done(Err(e));
        }
        write_state(run, name.clone(), record.encode()).then(run, move |run, written| {
            match written {
                Ok(()) => {
                    run.commits.push(name);
                    barrier(run).then(run, move |run, r| match r {
                        Ok(()) => place_rest(run, batch.into()),
                        Err(e) => {
                            run.batch = batch;
                            Flow::Done(Err(e))
                        }
                    })
                }
                Err(e) => {
                    // Without its record nothing of the batch may be renamed: its temporary
                    // files go (they are journaled, so an interruption here is cleaned up
                    // too).
                    let objects = batch.iter().map(|p| p.object).collect();
                    delete_quietly(objects).then(run, move |run, _| {
                        if is_disconnect(&e) {
                            return Flow::Done(Err(e));
                        }
                        for p in &batch {
                            item_error(run, &p.op, e.clone());
                        }
                        Flow::OK
                    })
                }
            }
        })
    })
}

/// Places the batch's files in order; a file that cannot be placed is an item error, a
/// disconnect ends the batch.
fn place_rest(run: &mut Run, mut rest: VecDeque<Pending>) -> Flow {
    while let Some(p) = rest.pop_front() {
        match place_or_drop(run, p) {
            Flow::Done(Ok(())) => {}
            Flow::Done(Err(e)) => return Flow::Done(Err(e)),
            waiting => {
                return waiting.and(run, move |run| place_rest(run, rest));
            }
        }
    }
    Flow::OK
}

/// Places one file, or removes its temporary file and reports the item.
fn place_or_drop(run: &mut Run, p: Pending) -> Flow {
    // A playlist of this batch that lists a copy whose placing just failed is not put in
    // place either (the next sync writes it).
    if let SyncOp::WritePlaylist { tracks, .. } = &p.op
        && !p.direct
        && tracks.iter().any(|t| run.failed.contains(t))
    {
        let op = p.op.clone();
        return delete_quietly([p.object].into()).then(run, move |run, _| {
            item_error(run, &op, Error::FileNotFound);
            Flow::OK
        });
    }
    let (op, object) = (p.op.clone(), p.object);
    place(run, p).then(run, move |run, r| match r {
        Ok(()) => Flow::OK,
        Err(e) if is_disconnect(&e) => Flow::Done(Err(e)),
        Err(e) => delete_quietly([object].into()).then(run, move |run, _| {
            item_error(run, &op, e);
            Flow::OK
        }),
    })
}

/// Renames one committed temporary file into place (after deleting the object it replaces
/// when that is still the owned one) and records it in the ledger.
fn place(run: &mut Run, p: Pending) -> Flow {
    let Some(path) = op_path(&p.op).map(str::to_owned) else {
        return Flow::Done(Err(Error::Fail));
    };
    // Written in place: already at its final name.
    if p.direct {
        let unique_id = p.unique_id.clone();
        record(run, &p, unique_id);
        return Flow::OK;
    }
    // A refusal earlier in this batch: the rename would be refused too (the old object is
    // not deleted for nothing).
    if run.renames_refused {
        return Flow::Done(Err(Error::NotSupported));
    }
    let path_for_lookup = path.clone();
    let replaces = p.replaces.is_some();
    let at = path.clone();
    let rename = move |run: &mut Run, p: Pending, free_in: Option<String>| {
        let (_, name) = split(&path);
        let request = DeviceRequest::Rename {
            object: p.object,
            name: name.to_owned(),
            free_in,
        };
        let _ = run;
        Flow::ask(request, move |run, response| match response {
            DeviceResponse::Renamed { unique_id } => {
                record(run, &p, unique_id);
                Flow::OK
            }
            other => {
                let e = other
                    .done()
                    .err()
                    .unwrap_or_else(|| Error::Fail.context("not a rename's answer"));
                // A device that refuses renames: this file is an item error (its temporary
                // file goes, the next sync copies it), every later write goes in place.
                if e == Error::NotSupported {
                    run.note_refusal();
                }
                Flow::Done(Err(e))
            }
        })
    };
    // A new file replaces nothing: its rename is refused if anything took the name (never an
    // overwrite), by the device itself where it can, else after the executor's look.
    if !replaces {
        let (dir, _) = split(&path_for_lookup);
        let dir = dir.to_owned();
        return rename(run, p, Some(dir));
    }
    let found = move |run: &mut Run, found: crate::error::Result<Option<ObjectInfo>>| match found {
        Err(e) => Flow::Done(Err(e)),
        Ok(None) => rename(run, p, None),
        Ok(Some(old)) if still_owned(run, &at, &old) => Flow::ask_done(
            DeviceRequest::Delete { object: old.object },
            move |run, r| {
                if let Err(e) = r {
                    return Flow::Done(Err(e));
                }
                // The sync's own delete (J6), whatever happens to the rename.
                run.ledger.entries.remove(&at);
                rename(run, p, None)
            },
        ),
        // Someone else's object took the name: never overwrite it.
        Ok(Some(_)) => Flow::Done(Err(Error::AlreadyExists)),
    };
    // The fingerprint is read only when the ownership check needs it.
    lookup_owned(run, &path_for_lookup, found)
}

/// Records a placed file in the ledger and the summary.
fn record(run: &mut Run, p: &Pending, unique_id: String) {
    let Some(mut e) = planned_entry(&p.op) else {
        return;
    };
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
            let size = if convert.is_some() { p.stored } else { *size };
            // What the sync wrote is the statistics baseline: the next sync reads no tags
            // back from this file unless the device changes it.
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
