//! Before a sync: hashes by the quick check, and the journal a sync writes (recovery from an
//! interrupted one is in `recover`).

use std::collections::HashMap;

use super::device::{
    LEGACY_LEDGER_FILE, ledger_file, read_state, read_states_with_prefix, resolve,
};
use super::journal::{JournalOp, Ledger, LedgerEntry, OwnedKind, temp_path};
use super::plan::{Adoptable, DeviceContents, SyncOp, SyncPlan, mtime_ns};
use crate::error::Result;
use crate::library::{ContentHash, Library, TrackId};
use crate::sync::machine::DeviceObject;

/// Hashes for the selected tracks, reading as few sources as the planner allows: for an owned
/// track, the ledger's hash when the library file's size and modification time are what they
/// were when it was copied (the quick check rsync makes), otherwise the library computes it (a
/// library that reports no modification time, the Unix epoch, is always hashed). For a track
/// the partnership does not own, the hash the library knows without reading; it is computed
/// only when the planner compares it: when an owned track whose id left the library had the
/// same size (a re-key candidate). Other new tracks are hashed by their copy.
pub(crate) fn gather_hashes(
    library: &dyn Library,
    selection: &[crate::library::Selection],
    ledger: &Ledger,
) -> HashMap<TrackId, ContentHash> {
    let by_track: crate::maps::FastMap<TrackId, &LedgerEntry> = ledger
        .entries
        .values()
        .filter_map(|e| e.track().map(|t| (t, e)))
        .collect();
    // Sizes of owned tracks whose id left the library: a new track of such a size may be one
    // of them re-keyed, which the planner finds by hash.
    let orphan_sizes: crate::maps::FastSet<u64> = ledger
        .entries
        .values()
        .filter_map(|e| {
            e.track()
                .filter(|t| library.track(*t).is_none())
                .map(|_| e.source_size)
        })
        .collect();
    let mut out = HashMap::with_capacity(selection.iter().map(|s| s.tracks.len()).sum());
    for sel in selection {
        for id in &sel.tracks {
            if out.contains_key(id) {
                continue;
            }
            let Some(track) = library.track(*id) else {
                continue;
            };
            let mtime = mtime_ns(track);
            let owned = by_track.get(id);
            let quick = owned
                .filter(|e| mtime != 0 && e.source_size == track.size && e.source_mtime == mtime);
            let hash = match (quick, owned) {
                (Some(e), _) => Some(e.content_hash()),
                (None, Some(_)) => library.content_hash(*id).ok(),
                (None, None) => library.known_hash(*id).or_else(|| {
                    orphan_sizes
                        .contains(&track.size)
                        .then(|| library.content_hash(*id).ok())
                        .flatten()
                }),
            };
            if let Some(h) = hash {
                out.insert(*id, h);
            }
        }
    }
    out
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
            // Unknown until the copy computes it (then the ledger has it). A file recovery
            // adopts from the journal keeps the zero hash: it holds the bytes the source had
            // when planned, so the quick check still holds for it, and a changed source
            // differs from it, as it should.
            hash.map_or([0; 20], |h| h.0),
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
        fingerprint: None,
    })
}

/// The journal's steps for a plan (invariant J1: every step that changes the device), with
/// each write's temporary name: the session's, numbered in plan order (J3).
pub(crate) fn journal_ops(plan: &SyncPlan, ledger: &Ledger, session: u64) -> Vec<JournalOp> {
    let mut seq = 0u32;
    plan.ops
        .iter()
        .filter_map(|op| match op {
            SyncOp::Copy { replaces, .. } | SyncOp::WritePlaylist { replaces, .. } => {
                planned_entry(op).map(|entry| {
                    let temp = temp_path(&entry.path, session, seq);
                    seq = seq.wrapping_add(1);
                    JournalOp::Put {
                        temp,
                        replaces: replaces.clone(),
                        entry,
                    }
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

/// The files among the plan's collisions that are byte-identical to the track that would be
/// copied beside them (J8): another library's ledger on the device vouches for the object
/// (same hash, and the object still has the size and non-empty unique ID it recorded), or the
/// object has the track's size and its SHA-1, read through the manager, is the track's hash.
/// Reads only.
pub(crate) fn find_adoptable<O: DeviceObject>(
    root: &O,
    library_id: &str,
    library: &dyn Library,
    collisions: &[(TrackId, String)],
    hashes: &mut HashMap<TrackId, ContentHash>,
    device: &DeviceContents,
) -> Result<HashMap<String, Adoptable>> {
    let mut others: HashMap<String, LedgerEntry> = HashMap::new();
    let mut ledgers: Vec<Vec<u8>> = read_states_with_prefix(root, "ledger-")?
        .into_iter()
        .filter(|(name, _, _)| *name != ledger_file(library_id))
        .map(|(_, bytes, _)| bytes)
        .collect();
    ledgers.extend(read_state(root, LEGACY_LEDGER_FILE)?);
    for bytes in ledgers {
        // Another library's ledger is evidence only when it reads whole.
        let Ok(l) = Ledger::parse(&bytes) else {
            continue;
        };
        if l.library_id == library_id {
            continue;
        }
        for (path, e) in l.entries {
            others.entry(path).or_insert(e);
        }
    }
    let mut out = HashMap::new();
    for (track, path) in collisions {
        let (Some(f), Some(t)) = (device.files.get(path), library.track(*track)) else {
            continue;
        };
        // A new track's hash is computed here only when a file could be its copy (the copy
        // would otherwise compute it); the second plan compares with it.
        let could_be = others.contains_key(path) || f.size == t.size;
        let hash = match hashes.get(track) {
            Some(h) => *h,
            None if could_be => match library.content_hash(*track) {
                Ok(h) => {
                    hashes.insert(*track, h);
                    h
                }
                Err(_) => continue,
            },
            None => continue,
        };
        let hash = &hash;
        let vouched = others.get(path).filter(|e| {
            e.hash == hash.0
                && e.size == f.size
                && !e.unique_id.is_empty()
                && e.unique_id == f.unique_id
        });
        let meta = match vouched {
            Some(e) => Some(Some(e.meta)),
            None if f.size == t.size => match resolve(root, path)? {
                Some(obj) if sha1_of(&obj)? == *hash => Some(None),
                _ => None,
            },
            None => None,
        };
        if let Some(meta) = meta {
            out.insert(
                path.clone(),
                Adoptable {
                    track: *track,
                    hash: *hash,
                    size: f.size,
                    unique_id: f.unique_id.clone(),
                    meta,
                },
            );
        }
    }
    Ok(out)
}

/// The SHA-1 of a device object's bytes (read whole: only a file the size of the track it may
/// be a copy of is read, and only when planning met a collision).
fn sha1_of<O: DeviceObject>(obj: &O) -> Result<ContentHash> {
    let mut bytes = Vec::new();
    obj.read_into(&mut bytes)?;
    Ok(ContentHash(
        sha1::Digest::finalize(<sha1::Sha1 as sha1::Digest>::new_with_prefix(&bytes)).into(),
    ))
}
