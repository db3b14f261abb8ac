//! Before a sync: hashes by the quick check, and recovery from an interrupted sync's journal;
//! the journal a sync writes.

use std::collections::HashMap;

use super::device::{
    JOURNAL_FILE, LEDGER_FILE, TEMP_SUFFIX, delete_state, read_state, resolve, write_state,
};
use super::journal::{Journal, JournalOp, Ledger, LedgerEntry, OwnedKind};
use super::plan::{SyncOp, SyncPlan, mtime_ns};
use super::text::StateParseError;
use crate::error::Result;
use crate::library::{ContentHash, Library, TrackId};
use crate::manager::WmdmStorage;
use crate::provider::NoProgress;

/// Hashes for the selected tracks: the ledger's hash when the library file's size and
/// modification time are what they were when it was copied (the quick check rsync makes),
/// otherwise the library computes it. A library that reports no modification time (the Unix
/// epoch) is always hashed.
pub(crate) fn gather_hashes(
    library: &dyn Library,
    selection: &[crate::library::Selection],
    ledger: &Ledger,
) -> HashMap<TrackId, ContentHash> {
    let by_track: HashMap<TrackId, &LedgerEntry> = ledger
        .entries
        .values()
        .filter_map(|e| e.track().map(|t| (t, e)))
        .collect();
    let mut out = HashMap::new();
    for sel in selection {
        for id in &sel.tracks {
            if out.contains_key(id) {
                continue;
            }
            let Some(track) = library.track(*id) else {
                continue;
            };
            let mtime = mtime_ns(track);
            let quick = by_track
                .get(id)
                .filter(|e| mtime != 0 && e.source_size == track.size && e.source_mtime == mtime);
            let hash = match quick {
                Some(e) => Some(e.content_hash()),
                None => library.content_hash(*id).ok(),
            };
            if let Some(h) = hash {
                out.insert(*id, h);
            }
        }
    }
    out
}

/// Reads the ledger, first completing or undoing what an interrupted sync's journal
/// describes. Returns the ledger and, when the ledger was unreadable, why.
pub(crate) fn load_ledger(
    root: &WmdmStorage,
    library_id: &str,
    index: u8,
) -> Result<(Ledger, Option<StateParseError>)> {
    let bytes = read_state(root, LEDGER_FILE)?;
    let (mut ledger, problem) = Ledger::parse_or_empty(bytes.as_deref(), library_id, index);
    if let Some(p) = &problem {
        tracing::warn!(error = %p, "the sync ledger is unreadable; treating it as empty");
    }
    let journal = read_state(root, JOURNAL_FILE)?.map(|b| Journal::parse(&b));
    match journal {
        // Nothing to recover: no write at all, so a no-op resync writes nothing.
        None => return Ok((ledger, problem)),
        Some(Err(e)) => tracing::warn!(error = %e, "the sync journal is unreadable; ignoring it"),
        Some(Ok(j)) if j.library_id == library_id && j.index == index => {
            recover(root, &j, &mut ledger)?;
        }
        Some(Ok(_)) => {}
    }
    write_state(root, LEDGER_FILE, &ledger.encode())?;
    delete_state(root, JOURNAL_FILE)?;
    Ok((ledger, problem))
}

/// Compares the journal with the device: temporary files go, finished copies join the
/// ledger, finished deletes leave it.
fn recover(root: &WmdmStorage, journal: &Journal, ledger: &mut Ledger) -> Result<()> {
    for op in &journal.ops {
        match op {
            JournalOp::Put {
                temp,
                replaces,
                entry,
            } => {
                if let Some(t) = resolve(root, temp)? {
                    t.delete(false, &mut NoProgress)?;
                }
                let Some(obj) = resolve(root, &entry.path)? else {
                    // Interrupted between deleting the replaced object and the rename: the
                    // sync removed it, so it leaves the ledger (it is not a skipped file).
                    if replaces.is_some() {
                        ledger.entries.remove(&entry.path);
                    }
                    continue;
                };
                let uid = obj.unique_id().unwrap_or_default();
                if replaces.as_deref() == Some(uid.as_str()) {
                    continue; // the old object is still there; the ledger still has it
                }
                let owned = ledger.entries.get(&entry.path).map(|e| e.unique_id.clone());
                if owned.as_deref() == Some(uid.as_str()) && !uid.is_empty() {
                    continue;
                }
                // The plan chose a path nothing occupied, so what is there now is this copy,
                // finished; the device may hold it in a different size (tags written in).
                let mut e = entry.clone();
                e.unique_id = uid;
                e.size = obj.size()?;
                ledger.insert(e);
            }
            JournalOp::Delete { path } => {
                if resolve(root, path)?.is_none() {
                    ledger.entries.remove(path);
                }
            }
            JournalOp::Retag {
                path,
                unique_id,
                size,
            } => {
                let Some(obj) = resolve(root, path)? else {
                    continue; // gone: the planner's usual rules apply
                };
                let Some(e) = ledger.entries.get_mut(path) else {
                    continue;
                };
                // Only when the ledger still describes the object as it was before this sync
                // rewrote it: then what is there now is the sync's own rewrite (the path was
                // ours and the sync held it), not a file the user put in its place.
                if e.unique_id == *unique_id && e.size == *size {
                    let now = (obj.unique_id().unwrap_or_default(), obj.size()?);
                    if (e.unique_id.as_str(), e.size) != (now.0.as_str(), now.1) {
                        e.unique_id = now.0;
                        e.size = now.1;
                        // The tags written are not known to be complete: retag next time.
                        e.meta = Default::default();
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn temp_for(path: &str) -> String {
    format!("{path}{TEMP_SUFFIX}")
}

/// The ledger entry a copy or playlist write becomes once done, as planned: the device's
/// unique ID is not known yet (empty) and the size is the planned one.
pub(crate) fn planned_entry(op: &SyncOp) -> Option<LedgerEntry> {
    let (path, kind, id, hash, size, meta, source_mtime) = match op {
        SyncOp::Copy {
            track,
            path,
            size,
            hash,
            meta,
            source_mtime,
            ..
        } => (
            path,
            OwnedKind::Track,
            track.0,
            hash.0,
            *size,
            *meta,
            *source_mtime,
        ),
        SyncOp::WritePlaylist {
            playlist,
            path,
            content,
            meta,
            ..
        } => (
            path,
            OwnedKind::Playlist,
            playlist.0,
            ContentHash::of_bytes(content).0,
            content.len() as u64,
            *meta,
            0,
        ),
        _ => return None,
    };
    Some(LedgerEntry {
        path: path.clone(),
        unique_id: String::new(),
        kind,
        id,
        hash,
        size,
        meta,
        // A track's source is the library file copied; a playlist has none.
        source_size: if kind == OwnedKind::Track { size } else { 0 },
        source_mtime,
        plays: 0,
        rating: 0,
        seen: None,
    })
}

pub(crate) fn journal_ops(plan: &SyncPlan, ledger: &Ledger) -> Vec<JournalOp> {
    plan.ops
        .iter()
        .filter_map(|op| match op {
            SyncOp::Copy { replaces, .. } | SyncOp::WritePlaylist { replaces, .. } => {
                planned_entry(op).map(|entry| JournalOp::Put {
                    temp: temp_for(&entry.path),
                    replaces: replaces.clone(),
                    entry,
                })
            }
            // A delete is atomic; its line tells recovery that an owned object gone from the
            // device was deleted by the sync, not by the user (who makes it a skipped file).
            SyncOp::Delete { path, .. } => Some(JournalOp::Delete { path: path.clone() }),
            SyncOp::UpdateMetadata { path, .. } => {
                ledger.entries.get(path).map(|e| JournalOp::Retag {
                    path: path.clone(),
                    unique_id: e.unique_id.clone(),
                    size: e.size,
                })
            }
            _ => None,
        })
        .collect()
}
