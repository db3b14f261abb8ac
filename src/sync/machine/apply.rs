//! One step of the plan: a copy through its temporary name, a metadata update, a delete, a
//! playlist write, or a ledger-only change; then the group commit and the checkpoint that
//! follow it.

use super::ahead::AheadJob;
use super::commit::{commit_batch, item_error, op_path};
use super::finish::{after_checkpoint, barrier, checkpoint, write_state};
use super::flow::Flow;
use super::request::{DeviceRequest, DeviceResponse, Fingerprint, ObjectInfo, WriteSource};
use super::{End, Pending, Run, is_disconnect};
use crate::error::{Error, Result};
use crate::library::Library;
use crate::sync::device::{intent_prefix, split};
use crate::sync::intent::{IntendedFile, IntentRecord};
use crate::sync::journal::{LedgerEntry, OwnedKind};
use crate::sync::plan::{SyncOp, device_metadata, mtime_ns};
use crate::sync::recover::owns;
use crate::transcode::converted_identity;

/// The step for `op` (at the cursor), its group commit and its checkpoint.
pub(super) fn step(run: &mut Run, library: &dyn Library, op: SyncOp) -> Flow {
    let base = run.done;
    let bytes = op.bytes().max(1);
    let next = op.clone();
    apply(run, library, &op).then(run, move |run, result| {
        // Group commit (J4): the batch's temporary files are committed together when it is
        // full, or when the next step is not a write (so deletes, playlists and the end see
        // every earlier copy in place).
        let next_is_write = matches!(
            run.plan.ops.get(run.cursor + 1),
            Some(SyncOp::Copy { .. } | SyncOp::WritePlaylist { .. })
        );
        let full = run.batch.len() >= run.batch_files || run.batch_bytes >= run.batch_bytes_max;
        let commit = if !run.batch.is_empty() && (full || !next_is_write) {
            commit_batch(run)
        } else {
            Flow::OK
        };
        // commit_batch reports its items' failures itself and returns only a disconnect or
        // a failed barrier, which outrank this step's own error.
        commit.then(run, move |run, committed| {
            let result = committed.and(result);
            after_step(run, &next, base, bytes, result)
        })
    })
}

fn after_step(run: &mut Run, op: &SyncOp, base: u64, bytes: u64, result: Result<()>) -> Flow {
    if let Some(e) = run.halted.clone() {
        run.end = Some(End::Halt(e));
        return Flow::OK;
    }
    match result {
        Ok(()) => {}
        Err(e) if is_disconnect(&e) => {
            run.end = Some(End::Abandon);
            return Flow::OK;
        }
        Err(e) if e == Error::UserCancelled && run.stop => {
            run.end = Some(End::Stop);
            return Flow::OK;
        }
        Err(e) => item_error(run, op, e),
    }
    run.done = base + bytes;
    run.note_quirks();
    run.cursor += 1;
    run.since_checkpoint += 1;
    // A write that went into the open batch, with no batch committed since the last
    // checkpoint, changed nothing a checkpoint would record: it waits for the next step that
    // did (a commit, a delete...), which saves a ledger write and two flushes. The last
    // step's checkpoint is the end's ledger write.
    let idle = (run.commits.is_empty()
        && matches!(op, SyncOp::Copy { .. } | SyncOp::WritePlaylist { .. }))
        || run.cursor >= run.plan.ops.len();
    // A checkpoint only shortens a recovery (the commit records and the journal already make
    // every step recoverable): one after as many steps as the ledger has entries keeps their
    // cost O(n) overall with few of them (a first sync of 10,000 tracks makes about four,
    // each a ledger write and two flushes).
    if !idle && run.since_checkpoint >= run.checkpoint_every.max(run.ledger.entries.len()) {
        run.since_checkpoint = 0;
        checkpoint(run).then(run, after_checkpoint)
    } else {
        after_checkpoint(run, Ok(()))
    }
}

/// How a lookup of `path` reads the fingerprint the ownership check (J5) compares: only
/// where the ledger has no unique ID but a fingerprint for it.
fn owner_fingerprint(run: &Run, path: &str) -> Fingerprint {
    match run.ledger.entries.get(path) {
        Some(e) if e.unique_id.is_empty() && e.fingerprint.is_some() => {
            Fingerprint::WithoutUniqueId
        }
        _ => Fingerprint::Never,
    }
}

/// True when the ledger's entry for `path` is the object found (J5): the same non-empty
/// unique ID, or, on a device without unique IDs, the same size and fingerprint.
pub(super) fn still_owned(run: &Run, path: &str, obj: &ObjectInfo) -> bool {
    let Some(e) = run.ledger.entries.get(path) else {
        return false;
    };
    let fp = if e.unique_id.is_empty() && obj.unique_id.is_empty() {
        obj.fingerprint
    } else {
        None
    };
    owns(e, obj.size, &obj.unique_id, fp)
}

/// Looks `path` up for an ownership check (with the fingerprint it needs).
pub(super) fn lookup_owned(
    run: &Run,
    path: &str,
    then: impl FnOnce(&mut Run, Result<Option<ObjectInfo>>) -> Flow + Send + 'static,
) -> Flow {
    Flow::lookup(path, owner_fingerprint(run, path), then)
}

fn apply(run: &mut Run, library: &dyn Library, op: &SyncOp) -> Flow {
    match op {
        SyncOp::Forget { path } => {
            run.ledger.entries.remove(path);
            Flow::OK
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
            Flow::OK
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
            let entry = LedgerEntry {
                path: path.clone(),
                unique_id: unique_id.clone(),
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
                fingerprint: None,
            };
            Flow::lookup(path, Fingerprint::Always, move |run, found| {
                let obj = match found {
                    Ok(Some(o)) => o,
                    Ok(None) => return Flow::Done(Err(Error::FileNotFound)),
                    Err(e) => return Flow::Done(Err(e)),
                };
                if obj.size != entry.size || obj.unique_id != entry.unique_id {
                    return Flow::Done(Err(Error::FileNotFound));
                }
                let Some(fingerprint) = obj.fingerprint else {
                    return Flow::Done(Err(
                        Error::Fail.context("a lookup without the fingerprint asked for")
                    ));
                };
                run.ledger.insert(LedgerEntry {
                    fingerprint: Some(fingerprint),
                    ..entry
                });
                run.summary.adopted += 1;
                Flow::OK
            })
        }
        SyncOp::UpdateMetadata { track, path, meta } => {
            let Some(t) = library.track(*track) else {
                return Flow::Done(Err(Error::FileNotFound));
            };
            let metadata = device_metadata(t);
            let (source_size, source_mtime, meta) = (t.size, mtime_ns(t), *meta);
            let path = path.clone();
            lookup_owned(run, &path.clone(), move |run, found| {
                let obj = match found {
                    Ok(Some(o)) => o,
                    Ok(None) => return Flow::Done(Err(Error::FileNotFound)),
                    Err(e) => return Flow::Done(Err(e)),
                };
                // Only the sync's own object is retagged (J5).
                if !still_owned(run, &path, &obj) {
                    return Flow::Done(Err(Error::FileNotFound));
                }
                let request = DeviceRequest::SetMetadata {
                    object: obj.object,
                    metadata,
                };
                Flow::ask_done(request, move |run, r| {
                    if let Err(e) = r {
                        return Flow::Done(Err(e));
                    }
                    // A device that keeps tags in the file (the fs provider) rewrites it:
                    // record the object as it is now, so the ledger still matches it (on a
                    // device without unique IDs, by its new fingerprint).
                    let _ = run;
                    Flow::lookup(
                        &path.clone(),
                        Fingerprint::WithoutUniqueId,
                        move |run, found| {
                            let obj = match found {
                                Ok(Some(o)) => o,
                                Ok(None) => return Flow::Done(Err(Error::FileNotFound)),
                                Err(e) => return Flow::Done(Err(e)),
                            };
                            let fingerprint = if obj.unique_id.is_empty() {
                                obj.fingerprint
                            } else {
                                None
                            };
                            if let Some(e) = run.ledger.entries.get_mut(&path) {
                                e.size = obj.size;
                                e.unique_id = obj.unique_id;
                                e.fingerprint = fingerprint;
                                e.meta = meta;
                                e.source_size = source_size;
                                e.source_mtime = source_mtime;
                            }
                            run.summary.updated += 1;
                            Flow::OK
                        },
                    )
                })
            })
        }
        SyncOp::Delete { path, .. } => {
            let path = path.clone();
            lookup_owned(run, &path.clone(), move |run, found| {
                match found {
                    Err(e) => Flow::Done(Err(e)),
                    // The ledger said so at planning time; check again, since deleting the
                    // user's file is the one thing sync must never do (J5).
                    Ok(Some(obj)) if still_owned(run, &path, &obj) => Flow::ask_done(
                        DeviceRequest::Delete { object: obj.object },
                        move |run, r| {
                            if let Err(e) = r {
                                return Flow::Done(Err(e));
                            }
                            run.summary.deleted += 1;
                            run.ledger.entries.remove(&path);
                            Flow::OK
                        },
                    ),
                    Ok(_) => {
                        run.ledger.entries.remove(&path);
                        Flow::OK
                    }
                }
            })
        }
        SyncOp::Copy {
            track,
            convert: Some(c),
            ..
        } => {
            let Some(t) = library.track(*track) else {
                return Flow::Done(Err(Error::FileNotFound));
            };
            let (size, rating, plays) = (t.size, t.rating.value(), t.play_count);
            let target = c.target;
            // The encoded file carries the cover art; the tags are written here, as for a
            // copy, so a tag edit never needs a new encode.
            let source = WriteSource::Encoded { track: *track };
            write_temp(run, op, source, 0, Some(device_metadata(t)), move |p, w| {
                let Some(info) = w else {
                    return Err(Error::Fail.context("an encoded write without the encoder's facts"));
                };
                p.hash = Some(converted_identity(info.source, &target));
                p.source_size = size;
                p.rating = rating;
                p.plays = plays;
                Ok(())
            })
        }
        SyncOp::Copy {
            track, size, hash, ..
        } => {
            let Some(t) = library.track(*track) else {
                return Flow::Done(Err(Error::FileNotFound));
            };
            let (source_size, rating, plays) = (t.size, t.rating.value(), t.play_count);
            // Each source is read once: the executor hashes what it reads, checks it against
            // the planned hash when there was one, and the ledger records it.
            let source = WriteSource::Track {
                track: *track,
                expect: *hash,
            };
            write_temp(
                run,
                op,
                source,
                *size,
                Some(device_metadata(t)),
                move |p, _| {
                    p.source_size = source_size;
                    p.rating = rating;
                    p.plays = plays;
                    Ok(())
                },
            )
        }
        SyncOp::WritePlaylist { tracks, .. } => {
            // A playlist lists only what is on the device: without the tracks whose copy
            // failed earlier in this run.
            let op = if tracks.iter().any(|t| run.failed.contains(t)) {
                match without_failed(run, library, op) {
                    Ok(op) => op,
                    Err(e) => return Flow::Done(Err(e)),
                }
            } else {
                op.clone()
            };
            let SyncOp::WritePlaylist { content, .. } = &op else {
                return Flow::Done(Err(Error::Fail));
            };
            let size = content.len() as u64;
            let source = WriteSource::Bytes(content.as_slice().to_vec());
            write_temp(run, &op, source, size, None, |_, _| Ok(()))
        }
    }
}

/// The copy `op` for the read-ahead ([`super::ahead`]): a plain copy (no conversion) of a
/// small track the library hands over as a host file.
/// `name`: the name the copy will be written under, when known (the device is asked whether
/// the bytes under that name hold the copy's metadata).
pub(super) fn ahead_job(
    library: &dyn Library,
    op: &SyncOp,
    name: Option<&str>,
) -> Option<AheadJob> {
    let SyncOp::Copy {
        track,
        size,
        convert: None,
        ..
    } = op
    else {
        return None;
    };
    if *size >= super::ahead::LARGEST {
        return None;
    }
    let t = library.track(*track)?;
    Some(AheadJob {
        track: *track,
        source: library.copy_source(*track)?,
        what: t.relative_path.clone(),
        // What the step gives the write (`write_temp` below).
        metadata: name.map(|n| (n.to_owned(), device_metadata(t))),
    })
}

type Record =
    Box<dyn FnOnce(&mut Pending, Option<super::request::EncodeInfo>) -> Result<()> + Send>;

/// Writes a copy's or playlist's bytes under its journaled temporary name (J3), verified by
/// the executor, and records what the device stored (size, unique ID, fingerprint: J4) for
/// the batch's commit record; `record` adds what the ledger needs of the source. The rename
/// into place happens in the batch's commit.
fn write_temp(
    run: &mut Run,
    op: &SyncOp,
    source: WriteSource,
    size: u64,
    metadata: Option<crate::metadata::Metadata>,
    record: impl FnOnce(&mut Pending, Option<super::request::EncodeInfo>) -> Result<()> + Send + 'static,
) -> Flow {
    let (path, replaces) = match op {
        SyncOp::Copy { path, replaces, .. } | SyncOp::WritePlaylist { path, replaces, .. } => {
            (path.clone(), replaces.clone())
        }
        _ => return Flow::Done(Err(Error::Fail)),
    };
    // Every write was journaled with its temporary name before the sync started.
    let Some(temp_path) = run.temps.get(&path).cloned() else {
        return Flow::Done(Err(Error::Fail));
    };
    let (dir, final_name) = split(&path);
    let (_, temp) = split(&temp_path);
    let write = Write {
        op: op.clone(),
        path: path.clone(),
        temp: temp_path.clone(),
        dir: dir.to_owned(),
        name: final_name.to_owned(),
        replaces: replaces.clone(),
        source,
        size,
        metadata,
        record: Box::new(record),
    };
    // Where the device refuses renames, the bytes go under the final name, announced by an
    // intent record first; the object replaced goes before (docs/sync.md, "Devices that
    // refuse renames").
    if !run.renames_refused {
        let temp = temp.to_owned();
        return Write {
            name: temp,
            ..write
        }
        .go(true, false);
    }
    intend(run).and(run, move |run| {
        let mode = if replaces.is_some() {
            owner_fingerprint(run, &path)
        } else {
            Fingerprint::Never
        };
        Flow::lookup(&path.clone(), mode, move |run, found| match found {
            Err(e) => Flow::Done(Err(e)),
            Ok(None) => write.go(false, true),
            Ok(Some(old)) if replaces.is_some() && still_owned(run, &path, &old) => {
                Flow::ask_done(
                    DeviceRequest::Delete { object: old.object },
                    move |run, r| {
                        if let Err(e) = r {
                            return Flow::Done(Err(e));
                        }
                        // The sync's own delete (J6): the ledger no longer owns the path.
                        run.ledger.entries.remove(&path);
                        write.go(false, true)
                    },
                )
            }
            // Someone else's object took the name: never overwrite it, and no longer
            // announce it.
            Ok(Some(_)) => {
                unannounce(run, &path).and(run, |_| Flow::Done(Err(Error::AlreadyExists)))
            }
        })
    })
}

/// A write about to be asked for.
struct Write {
    op: SyncOp,
    path: String,
    temp: String,
    dir: String,
    name: String,
    replaces: Option<String>,
    source: WriteSource,
    size: u64,
    metadata: Option<crate::metadata::Metadata>,
    record: Record,
}

impl Write {
    /// Asks for the write: as a fresh temporary file, or `direct`ly under the final name.
    fn go(self, fresh: bool, direct: bool) -> Flow {
        let request = DeviceRequest::Write {
            dir: self.dir.clone(),
            name: self.name.clone(),
            fresh,
            source: self.source.clone(),
            size: self.size,
            metadata: self.metadata.clone(),
        };
        Flow::ask(request, move |run, response| {
            let (written, info) = match response {
                DeviceResponse::Written(w, info) => (w, info),
                DeviceResponse::Failed(e) => (Err(e), None),
                _ => (Err(Error::Fail.context("not a write's answer")), None),
            };
            if let Some(i) = &info {
                run.summary.transcode.reused += u32::from(i.reused);
                run.summary.transcode.encode_time += i.encode_time;
            }
            let w = match written {
                Ok(w) => w,
                // An object that appeared at the final name since the check.
                Err(e) if direct && e == Error::AlreadyExists => {
                    let path = self.path.clone();
                    return unannounce(run, &path).and(run, move |_| Flow::Done(Err(e)));
                }
                Err(e) => return Flow::Done(Err(e)),
            };
            let mut p = Pending {
                op: self.op,
                temp: self.temp,
                direct,
                object: w.object,
                replaces: self.replaces,
                stored: w.stored,
                unique_id: w.unique_id,
                fingerprint: w.fingerprint,
                source_size: 0,
                rating: 0,
                plays: 0,
                dated: w.dated,
                hash: w.hash,
            };
            if let Err(e) = (self.record)(&mut p, info) {
                return Flow::Done(Err(e));
            }
            run.batch_bytes += w.sent;
            run.batch.push(p);
            Flow::OK
        })
    }
}

/// Where the device refuses renames: makes sure an intent record announces the write at the
/// cursor before its final path is touched. A new record announces the writes from the
/// cursor on, as many as a batch takes (the batch's commit record follows them), and is
/// durable before this is done.
fn intend(run: &mut Run) -> Flow {
    let covered = |run: &Run, op: Option<&SyncOp>| {
        op.and_then(op_path)
            .is_some_and(|p| run.intended.contains(p))
    };
    if covered(run, run.plan.ops.get(run.cursor)) {
        return Flow::OK;
    }
    let mut files = Vec::new();
    let mut bytes = 0;
    for op in run.plan.ops.get(run.cursor..).unwrap_or_default() {
        let Some(path) = op_path(op) else { break };
        if run.intended.contains(path) {
            continue;
        }
        files.push(IntendedFile {
            path: path.to_owned(),
            size: op.bytes(),
        });
        bytes += op.bytes();
        if files.len() >= run.batch_files || bytes >= run.batch_bytes_max {
            break;
        }
    }
    let record = IntentRecord {
        session: run.journal.session,
        files,
    };
    let name = format!(
        "{}{}.txt",
        intent_prefix(&run.journal.library_id),
        run.intents_written
    );
    run.intents_written += 1;
    write_state(run, name.clone(), record.encode()).and(run, move |run| {
        run.intended
            .extend(record.files.iter().map(|f| f.path.clone()));
        run.intents.push((name, record));
        barrier(run)
    })
}

/// Takes `path` out of the intent record that announces it, because another program's
/// object holds it: recovery must never take that object for the sync's partial write. The
/// record is rewritten and made durable. (The path stays covered for this session: its
/// write fails, nothing is written there.)
fn unannounce(run: &mut Run, path: &str) -> Flow {
    let Some((name, record)) = run
        .intents
        .iter_mut()
        .find(|(_, r)| r.files.iter().any(|f| f.path == path))
    else {
        return Flow::OK;
    };
    record.files.retain(|f| f.path != path);
    let (name, bytes) = (name.clone(), record.encode());
    write_state(run, name, bytes).and(run, barrier)
}

/// `op` (a playlist write) without the tracks whose copy failed in this run: rendered again
/// in the plan's layout, with its metadata hash unknown (0), so the next plan writes it
/// again once those tracks are there.
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
