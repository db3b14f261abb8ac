//! The planner's phases ([`plan`](super::plan)): ownership and the budget, one decision per
//! selected track (carried out in `plan_apply.rs`), eviction, playlists, and the order of the
//! operations.

use super::super::filter::MediaKind;
use super::super::journal::{LedgerEntry, OwnedKind};
use super::super::plan_names::{FastMap, FastSet, Names};
use super::super::plan_room::state_room;
use super::{
    Conversion, ConvertView, DeleteReason, HeldBack, HeldChange, HoldReason,
    KEEP_TOLERANCE_DIVISOR, LeftOutReason, PlanInput, PlaylistLayout, SyncOp, SyncPlan,
    extension_of, find_orphans, identity, op_path,
};
use crate::library::{ContentHash, Selection, Track, TrackId};
use crate::transcode::{self, NoConvertReason};

#[path = "plan_apply.rs"]
mod apply;
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
    /// Needs an encoder this host lacks: left out for `reason`, and an owned older version
    /// (`keep`) stays as it is.
    NoEncoder {
        reason: LeftOutReason,
        keep: Option<&'l LedgerEntry>,
    },
    /// Admitted: `size` bytes of the budget. `existing` is its owned object (re-keyed from a
    /// track that left the library when `rekeyed`), `same` when that object has its bytes (or
    /// is its conversion to the same target). `conversion` when it is written converted.
    Admit {
        track: &'l Track,
        existing: Option<&'l LedgerEntry>,
        same: bool,
        rekeyed: bool,
        hash: Option<ContentHash>,
        size: u64,
        conversion: Option<Conversion>,
    },
}

/// What an admitted track's new file is written from: the library file's hash when known, the
/// bytes it counts, and its conversion.
#[derive(Clone, Copy)]
struct Write {
    hash: Option<ContentHash>,
    size: u64,
    conversion: Option<Conversion>,
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
    // What the conversion decision sees; `None` when the settings do not convert.
    convert: Option<ConvertView<'l>>,
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
            convert: ConvertView::new(s),
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
        let conversion = match &self.convert {
            Some(v) => match transcode::decide(track, &v.caps, &v.any) {
                transcode::Decision::Copy => None,
                transcode::Decision::Convert { target, reason } => {
                    Some(Conversion { target, reason })
                }
                transcode::Decision::LeaveOut { needed, reason } => {
                    return out(LeftOutReason::CannotConvert { needed, reason }, true);
                }
            },
            None => {
                if let Some(formats) = &s.formats
                    && !formats.contains(&track.format)
                {
                    return out(LeftOutReason::FormatNotSupported, true);
                }
                None
            }
        };
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
        let mut hash = input.hashes.get(&id).copied();
        let mut want = identity(hash, conversion);
        let mut existing = self.owned_tracks.get(&id).copied();
        if hash.is_none() && existing.is_some() {
            // An owned track must be compared with its file: without its hash, leave it.
            return out(LeftOutReason::SourceMissing, false);
        }
        let mut rekeyed = false;
        if let (None, Some(hash)) = (existing, want) {
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
        // A file whose extension is no longer right (converted now, or no longer) is not
        // replaced in place: the track goes to a new path and the old file is deleted.
        if let Some(v) = &self.convert
            && let Some(e) = existing
            && extension_of(&e.path)
                != match (v.ext_from_track, conversion) {
                    (true, Some(c)) => c.target.codec.extension().to_owned(),
                    (true, None) => track.extension(),
                    (false, _) => extension_of(&self.render(track, conversion)),
                }
        {
            // A converted file's ledger hash, passed on by the quick check, is not the
            // library file's: the copy computes that while it reads the file.
            if conversion.is_none() && hash.is_some_and(|h| h.0 == e.hash) {
                hash = None;
                want = None;
            }
            existing = None;
        }
        let same = existing.is_some_and(|e| want.is_some_and(|h| e.hash == h.0));
        // Needs encoding and no encoder: an owned older version stays as it is.
        if let (Some(c), false, Some(available)) = (
            conversion,
            same,
            self.convert.as_ref().and_then(|v| v.available),
        ) && !available.contains(&c.target.codec)
        {
            let reason = LeftOutReason::CannotConvert {
                needed: c.reason,
                reason: NoConvertReason::EncoderMissing(c.target.codec),
            };
            return Decision::NoEncoder {
                reason,
                keep: existing,
            };
        }
        // A conversion counts its estimated size until it is made; once on the device, at
        // least that estimate: the real size is usually a little smaller, and counting it
        // would give the next plan room the plan that put it there did not have, so a resync
        // would copy an earlier track of the same priority and evict later ones.
        let estimate = conversion.map(|c| c.target.estimated_size(track.duration));
        let size = match (existing.filter(|_| same), estimate) {
            (Some(e), Some(est)) => e.size.max(est),
            (Some(e), None) => e.size,
            (None, Some(est)) => est,
            (None, None) => track.size,
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
            conversion,
        }
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
        // Made at its size: the copies alone may be tens of thousands of operations.
        out.ops = Vec::with_capacity(
            self.forget.len()
                + self.meta_ops.len()
                + self.deletes.len()
                + self.copies.len()
                + self.playlist_ops.len(),
        );
        out.ops.extend(self.forget);
        out.ops.extend(self.meta_ops);
        out.ops.extend(self.deletes);
        out.ops.extend(self.copies);
        out.ops.extend(self.playlist_ops);
        out
    }
}
