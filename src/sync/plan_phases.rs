//! The planner's phases ([`plan`](super::plan)): ownership and the budget, one decision per
//! selected track, eviction, playlists, and the order of the operations.

use super::super::filter::MediaKind;
use super::super::journal::{LedgerEntry, OwnedKind};
use super::super::plan_names::{FastMap, FastSet, Names};
use super::super::plan_room::state_room;
use super::{
    DeleteReason, HeldBack, HeldChange, HoldReason, KEEP_TOLERANCE_DIVISOR, LeftOut, LeftOutReason,
    PlanInput, PlaylistLayout, SyncOp, SyncPlan, find_orphans, metadata_hash, mtime_ns, op_path,
};
use crate::library::{ContentHash, Selection, Track, TrackId};

#[path = "plan_playlists.rs"]
mod playlists;

/// What the plan does with one selected track.
pub(super) enum Decision<'l> {
    /// Not on the device after this sync; `selected` counts it as selected-but-out (an owned
    /// copy of it is `Evicted`, not `Unselected`).
    Out {
        reason: LeftOutReason,
        selected: bool,
    },
    /// An owned object the session's filter holds back: it stays as it is.
    Pinned(&'l LedgerEntry),
    /// Admitted: `size` bytes of the budget. `existing` is its owned object (re-keyed from a
    /// track that left the library when `rekeyed`), `same` when that object has its bytes.
    Admit {
        track: &'l Track,
        existing: Option<&'l LedgerEntry>,
        same: bool,
        rekeyed: bool,
        hash: Option<ContentHash>,
        size: u64,
    },
}

/// The planner's state between phases.
pub(super) struct Planner<'l> {
    input: &'l PlanInput<'l>,
    out: SyncPlan,
    forget: Vec<SyncOp>,
    meta_ops: Vec<SyncOp>,
    copies: Vec<SyncOp>,
    deletes: Vec<SyncOp>,
    playlist_ops: Vec<SyncOp>,
    owned_tracks: FastMap<TrackId, &'l LedgerEntry>,
    owned_playlists: FastMap<&'l str, &'l LedgerEntry>,
    // Tracks the user deleted from the device since the last sync.
    skipped_now: FastSet<TrackId>,
    // Owned objects whose track left the library, by hash: candidates for a re-key. Built on
    // first need, since a resync where every track is owned never needs it.
    orphans_by_hash: Option<FastMap<[u8; 20], Vec<&'l LedgerEntry>>>,
    budget: u64,
    keep_tolerance: u64,
    names: Names<'l>,
    used: u64,
    // Owned tracks the filter excludes: they stay whatever happens.
    pinned: FastMap<u64, MediaKind>,
    pub(super) seen: FastSet<TrackId>,
    // Owned tracks that stay, by their ledger id.
    kept: FastSet<u64>,
    selected_but_out: FastSet<TrackId>,
    // Paths adopted in this plan (each file is adopted once).
    adopted: FastSet<String>,
    // Playlist paths this plan keeps or writes.
    written: FastSet<String>,
    layout: Option<PlaylistLayout>,
}

impl<'l> Planner<'l> {
    /// Ownership and the budget.
    pub(super) fn new(input: &'l PlanInput<'l>) -> Planner<'l> {
        let s = input.settings;
        let dev = input.device;
        let n_ledger = input.ledger.entries.len();
        let n_selected: usize = input.selection.iter().map(|s| s.tracks.len()).sum();
        let mut p = Planner {
            input,
            out: SyncPlan::default(),
            forget: Vec::new(),
            meta_ops: Vec::new(),
            copies: Vec::new(),
            deletes: Vec::new(),
            playlist_ops: Vec::new(),
            owned_tracks: FastMap::with_capacity_and_hasher(n_ledger, Default::default()),
            owned_playlists: FastMap::default(),
            skipped_now: FastSet::default(),
            orphans_by_hash: None,
            budget: 0,
            keep_tolerance: 0,
            names: Names::new(s.names, s.name_max, dev),
            used: 0,
            pinned: FastMap::default(),
            seen: FastSet::with_capacity_and_hasher(n_selected, Default::default()),
            kept: FastSet::with_capacity_and_hasher(n_ledger, Default::default()),
            selected_but_out: FastSet::default(),
            adopted: FastSet::default(),
            written: FastSet::default(),
            layout: None,
        };
        let owned_bytes = p.ownership();
        p.set_budget(owned_bytes);
        p.out.placed.reserve(n_selected);
        p
    }

    /// Ledger entries that still match the device are owned; the rest are forgotten. Returns
    /// the bytes owned.
    fn ownership(&mut self) -> u64 {
        let input = self.input;
        let dev = input.device;
        let mut owned_bytes = 0u64;
        for e in input.ledger.entries.values() {
            let on_device = dev.files.get(&e.path);
            // J5: an empty unique ID proves nothing by itself; on a device without unique IDs
            // the entry needs the fingerprint the sync recorded (checked again before a delete
            // or replace, since the listing has no fingerprints).
            // A playlist with a unique ID stays owned whatever its size: a device that keeps
            // playlists as references rewrites the file when a track it lists is deleted (J6).
            let resized_playlist = e.kind == OwnedKind::Playlist && !e.unique_id.is_empty();
            let valid = on_device.is_some_and(|f| {
                (f.size == e.size || resized_playlist)
                    && if e.unique_id.is_empty() {
                        f.unique_id.is_empty() && e.fingerprint.is_some()
                    } else {
                        f.unique_id == e.unique_id
                    }
            });
            if !valid {
                // Gone, not replaced: the user deleted it (the sync's own deletes leave the
                // ledger, through the journal when interrupted). A replaced object is the
                // user's file now and the track may be copied beside it.
                if on_device.is_none() && e.kind == OwnedKind::Track {
                    let id = TrackId(e.id);
                    if input.library.track(id).is_some() && self.skipped_now.insert(id) {
                        self.out.newly_skipped.push(id);
                    }
                }
                self.forget.push(SyncOp::Forget {
                    path: e.path.clone(),
                });
                continue;
            }
            owned_bytes += e.size;
            match e.kind {
                OwnedKind::Track => {
                    self.owned_tracks.insert(TrackId(e.id), e);
                }
                OwnedKind::Playlist => {
                    self.owned_playlists.insert(e.path.as_str(), e);
                }
            }
        }
        owned_bytes
    }

    /// The budget: the usable capacity, less what the partnership does not own and the room
    /// for sync's own files (J2).
    fn set_budget(&mut self, owned_bytes: u64) {
        let input = self.input;
        let dev = input.device;
        let reserve = u64::from(input.settings.reserve_percent.min(95));
        let usable = u128::from(dev.capacity) * u128::from(100 - reserve) / 100;
        let usable = u64::try_from(usable).unwrap_or(u64::MAX);
        let others = dev
            .capacity
            .saturating_sub(dev.free)
            .saturating_sub(owned_bytes)
            .saturating_sub(dev.state_bytes)
            // Files this plan may adopt are its own, not others' data.
            .saturating_sub(input.adoptable.map_or(0, |a| {
                a.iter()
                    .filter(|(p, _)| dev.files.contains_key(*p))
                    .map(|(_, a)| a.size)
                    .sum()
            }));
        // Room for sync's own files and the playlists (J2; see `plan_room`).
        let state_room = state_room(input, &self.owned_tracks, &self.owned_playlists);
        self.budget = usable.saturating_sub(others).saturating_sub(state_room);
        self.out.totals.budget = self.budget;
        // Free space drifts down a little between syncs without anyone adding content: the
        // file system's and the provider's own bookkeeping grow (directory entries, metadata
        // sidecars). Without a tolerance, the last file that fit would be evicted at the next
        // sync and a smaller one copied in its place, so a resync would not be a no-op.
        self.keep_tolerance = self.budget / KEEP_TOLERANCE_DIVISOR;
    }

    /// Owned tracks the filter excludes stay whatever happens, so their bytes are spent first.
    pub(super) fn pin_filtered(&mut self) {
        let s = self.input.settings;
        if s.filter.is_none() {
            return;
        }
        for e in self.owned_tracks.values() {
            let kind = self.input.library.track(TrackId(e.id)).map_or_else(
                || MediaKind::of_file_name(&e.path),
                |t| MediaKind::of(t.format),
            );
            if !s.filter.includes(kind) {
                self.pinned.insert(e.id, kind);
                self.used += e.size;
            }
        }
    }

    /// The decision for one selected track, seen for the first time in sync order.
    pub(super) fn decide(&mut self, sel: &Selection, id: TrackId) -> Decision<'l> {
        let input = self.input;
        let s = input.settings;
        let out = |reason, selected| Decision::Out { reason, selected };
        let Some(track) = input.library.track(id) else {
            return out(LeftOutReason::SourceMissing, false);
        };
        if let Some(formats) = &s.formats
            && !formats.contains(&track.format)
        {
            return out(LeftOutReason::FormatNotSupported, true);
        }
        // Only a filtered session has pinned tracks; the common case skips the lookup.
        if !self.pinned.is_empty()
            && let Some(e) = self
                .owned_tracks
                .get(&id)
                .filter(|e| self.pinned.contains_key(&e.id))
        {
            return Decision::Pinned(e);
        }
        let kind = MediaKind::of(track.format);
        if !s.filter.includes(kind) {
            return out(LeftOutReason::Filtered { kind }, false);
        }
        let hash = input.hashes.get(&id).copied();
        let mut existing = self.owned_tracks.get(&id).copied();
        if hash.is_none() && existing.is_some() {
            // An owned track must be compared with its file: without its hash, leave it.
            return out(LeftOutReason::SourceMissing, false);
        }
        let mut rekeyed = false;
        if let (None, Some(hash)) = (existing, hash) {
            let owned = &self.owned_tracks;
            let orphans = self
                .orphans_by_hash
                .get_or_insert_with(|| find_orphans(input.library, owned));
            if let Some(list) = orphans.get_mut(&hash.0) {
                // A pinned object stays what it is: it is not re-keyed to another track.
                if let Some(at) = list.iter().position(|e| !self.pinned.contains_key(&e.id)) {
                    existing = Some(list.remove(at));
                    rekeyed = true;
                }
            }
        }
        if existing.is_none() && (self.skipped_now.contains(&id) || input.skipped.contains(&id)) {
            return out(LeftOutReason::Skipped, false);
        }
        let same = existing.is_some_and(|e| hash.is_some_and(|h| e.hash == h.0));
        let size = match existing {
            Some(e) if same => e.size,
            _ => track.size,
        };
        // A file already on the device may stay within the tolerance; a new copy must fit
        // the budget itself, so the tolerance never lets sync fill the device further.
        let limit = if same {
            self.budget.saturating_add(self.keep_tolerance)
        } else {
            self.budget
        };
        if self.used.saturating_add(size) > limit {
            self.out.totals.no_fit += 1;
            let reason = LeftOutReason::NoFit {
                priority: sel.priority,
                needed: size,
                available: self.budget.saturating_sub(self.used),
            };
            return out(reason, true);
        }
        Decision::Admit {
            track,
            existing,
            same,
            rekeyed,
            hash,
            size,
        }
    }

    /// Carries a decision out: left out, held back, kept, replaced, adopted or copied.
    pub(super) fn apply(&mut self, sel: &Selection, id: TrackId, decision: Decision<'l>) {
        match decision {
            Decision::Out { reason, selected } => {
                self.out.left_out.push(LeftOut {
                    track: id,
                    playlist: sel.playlist,
                    reason,
                });
                if selected {
                    self.selected_but_out.insert(id);
                }
            }
            Decision::Pinned(e) => self.hold(id, e),
            Decision::Admit {
                track,
                existing,
                same,
                rekeyed,
                hash,
                size,
            } => {
                self.used += size;
                match existing {
                    Some(e) if same => self.keep(id, track, e, rekeyed),
                    Some(e) => self.replace(sel, id, track, e, hash, size),
                    None => self.place_new(sel, id, track, hash, size),
                }
            }
        }
    }

    /// A pinned owned track stays; what would have changed is held back.
    fn hold(&mut self, id: TrackId, e: &'l LedgerEntry) {
        let s = self.input.settings;
        self.kept.insert(e.id);
        self.out.placed.insert(id, e.path.clone());
        let hash = self.input.hashes.get(&id);
        let track = self.input.library.track(id);
        let change = if hash.is_some_and(|h| h.0 != e.hash) {
            Some(HeldChange::Replace)
        } else if hash.is_some()
            && s.supports_metadata
            && track.is_some_and(|t| e.meta != metadata_hash(t))
        {
            Some(HeldChange::UpdateMetadata)
        } else {
            None
        };
        if let Some(change) = change {
            let kind = self.pinned.get(&e.id).copied().unwrap_or(MediaKind::Music);
            self.out.held_back.push(HeldBack {
                path: e.path.clone(),
                track: id,
                change,
                reason: HoldReason::Filtered { kind },
            });
        }
    }

    /// An owned object with the track's bytes stays; re-keyed, or its tags updated.
    fn keep(&mut self, id: TrackId, track: &Track, e: &'l LedgerEntry, rekeyed: bool) {
        self.kept.insert(e.id);
        // Also when only the library file's size or date moved (same bytes: a copy without
        // times, a restore): the ledger's quick-check values move with it, or the file would
        // be hashed again on every sync.
        if rekeyed || e.source_size != track.size || e.source_mtime != mtime_ns(track) {
            self.forget.push(SyncOp::Rekey {
                path: e.path.clone(),
                track: id,
                source_size: track.size,
                source_mtime: mtime_ns(track),
            });
        }
        let meta = metadata_hash(track);
        if e.meta != meta && self.input.settings.supports_metadata {
            self.meta_ops.push(SyncOp::UpdateMetadata {
                track: id,
                path: e.path.clone(),
                meta,
            });
            self.out.totals.metadata_updates += 1;
        }
        self.out.placed.insert(id, e.path.clone());
    }

    /// An owned object whose track's bytes changed is replaced in place.
    fn replace(
        &mut self,
        sel: &Selection,
        id: TrackId,
        track: &Track,
        e: &'l LedgerEntry,
        hash: Option<ContentHash>,
        size: u64,
    ) {
        self.kept.insert(e.id);
        self.copies.push(SyncOp::Copy {
            track: id,
            path: e.path.clone(),
            size,
            hash,
            meta: metadata_hash(track),
            source_mtime: mtime_ns(track),
            priority: sel.priority,
            replaces: Some(e.unique_id.clone()),
        });
        self.out.totals.replaces += 1;
        self.out.totals.bytes_to_copy += size;
        self.out.placed.insert(id, e.path.clone());
    }

    /// A track new to the device: adopted when a byte-identical file is at its path (J8),
    /// else copied to a name no file has.
    fn place_new(
        &mut self,
        sel: &Selection,
        id: TrackId,
        track: &Track,
        hash: Option<ContentHash>,
        size: u64,
    ) {
        let input = self.input;
        let s = input.settings;
        let meta = metadata_hash(track);
        let wanted = self.names.spell(&s.music_folder, &s.template.render(track));
        // A byte-identical file at the very path: adopt it (its path is a device file, so no
        // other copy can claim it).
        let adopt = input
            .adoptable
            .and_then(|a| a.get(&wanted))
            .filter(|a| a.track == id && Some(a.hash) == hash)
            .filter(|_| self.adopted.insert(wanted.clone()));
        if let Some(a) = adopt {
            self.used = self.used.saturating_sub(size).saturating_add(a.size);
            self.forget.push(SyncOp::Adopt {
                track: id,
                path: wanted.clone(),
                size: a.size,
                unique_id: a.unique_id.clone(),
                hash: a.hash,
                meta: a.meta.unwrap_or_default(),
                source_size: track.size,
                source_mtime: mtime_ns(track),
            });
            self.out.totals.adoptions += 1;
            if a.meta != Some(meta) && s.supports_metadata {
                self.meta_ops.push(SyncOp::UpdateMetadata {
                    track: id,
                    path: wanted.clone(),
                    meta,
                });
                self.out.totals.metadata_updates += 1;
            }
            self.out.placed.insert(id, wanted);
            return;
        }
        let path = self.names.claim(&wanted);
        if path != wanted
            && input.device.files.contains_key(&wanted)
            && !input.ledger.entries.contains_key(&wanted)
        {
            self.out.collisions.push((id, wanted.clone()));
        }
        self.copies.push(SyncOp::Copy {
            track: id,
            path: path.clone(),
            size,
            hash,
            meta,
            source_mtime: mtime_ns(track),
            priority: sel.priority,
            replaces: None,
        });
        self.out.totals.copies += 1;
        self.out.totals.bytes_to_copy += size;
        self.out.placed.insert(id, path);
    }

    /// Owned tracks not admitted are deleted (unless the filter holds them back).
    pub(super) fn evict(&mut self) {
        for (id, e) in &self.owned_tracks {
            if self.kept.contains(&e.id) {
                continue;
            }
            if let Some(kind) = self.pinned.get(&e.id) {
                self.out.held_back.push(HeldBack {
                    path: e.path.clone(),
                    track: *id,
                    change: HeldChange::Delete,
                    reason: HoldReason::Filtered { kind: *kind },
                });
                continue;
            }
            let reason = if self.selected_but_out.contains(id) {
                DeleteReason::Evicted
            } else {
                DeleteReason::Unselected
            };
            self.deletes.push(SyncOp::Delete {
                path: e.path.clone(),
                kind: OwnedKind::Track,
                size: e.size,
                reason,
            });
            self.out.totals.bytes_to_delete += e.size;
        }
    }

    /// The operations in their order (forget, adopt and re-key, metadata updates, deletes,
    /// copies by priority, playlists) and the totals.
    pub(super) fn finish(mut self) -> SyncPlan {
        let mut out = std::mem::take(&mut self.out);
        self.deletes.sort_by(|a, b| op_path(a).cmp(op_path(b)));
        self.forget.sort_by(|a, b| op_path(a).cmp(op_path(b)));
        self.meta_ops.sort_by(|a, b| op_path(a).cmp(op_path(b)));
        out.totals.deletes = self.deletes.len();
        out.held_back.sort_by(|a, b| a.path.cmp(&b.path));
        out.newly_skipped.sort();
        // Pinned tracks no longer selected stay on the device without a place in the selection.
        out.totals.tracks_on_device = out.placed.len()
            + out
                .held_back
                .iter()
                .filter(|h| h.change == HeldChange::Delete)
                .count();
        let playlist_ops = &self.playlist_ops;
        out.totals.bytes_owned_after = self.used
            + playlist_ops.iter().map(SyncOp::bytes).sum::<u64>()
            + self
                .owned_playlists
                .values()
                .filter(|e| self.written.contains(&e.path))
                .filter(|e| !playlist_ops.iter().any(|o| op_path(o) == e.path))
                .map(|e| e.size)
                .sum::<u64>();
        if !self.playlist_ops.is_empty() {
            out.playlist_layout = self.layout.take();
        }
        out.ops = self.forget;
        out.ops.extend(self.meta_ops);
        out.ops.extend(self.deletes);
        out.ops.extend(self.copies);
        out.ops.extend(self.playlist_ops);
        out
    }
}
