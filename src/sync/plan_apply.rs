//! The planner's per-track outcomes ([`plan`](super::super::plan)): a decision carried out,
//! the track left out, held back, kept, replaced, adopted, copied or converted.

use super::super::super::filter::MediaKind;
use super::super::super::journal::LedgerEntry;
use super::super::{
    Conversion, HeldBack, HeldChange, HoldReason, LeftOut, SyncOp, identity, metadata_hash,
    mtime_ns, with_extension,
};
use super::{Decision, Planner, Write};
use crate::library::{Selection, Track, TrackId};

impl<'l> Planner<'l> {
    /// The path template's rendering of `track`; a converted track's as if its file had the
    /// target's extension.
    pub(super) fn render(&self, track: &Track, conversion: Option<Conversion>) -> String {
        let template = &self.input.settings.template;
        match conversion {
            Some(c) => template.render(&with_extension(track, c.target.codec.extension())),
            None => template.render(track),
        }
    }

    /// Carries a decision out: left out, held back, kept, replaced, adopted or copied.
    pub(in crate::sync) fn apply(&mut self, sel: &Selection, id: TrackId, decision: Decision<'l>) {
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
            Decision::NoEncoder { reason, keep } => {
                self.out.left_out.push(LeftOut {
                    track: id,
                    playlist: sel.playlist,
                    reason,
                });
                if let Some(e) = keep {
                    self.kept.insert(e.id);
                    self.used += e.size;
                    self.out.placed.insert(id, e.path.clone());
                } else {
                    self.selected_but_out.insert(id);
                }
            }
            Decision::Admit {
                track,
                existing,
                same,
                rekeyed,
                hash,
                size,
                conversion,
            } => {
                self.used += size;
                let w = Write {
                    hash,
                    size,
                    conversion,
                };
                match existing {
                    Some(e) if same => self.keep(id, track, e, rekeyed),
                    Some(e) => self.replace(sel, id, track, e, w),
                    None => self.place_new(sel, id, track, w),
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
        w: Write,
    ) {
        let Write {
            hash,
            size,
            conversion,
        } = w;
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
            convert: conversion,
        });
        self.out.totals.replaces += 1;
        self.out.totals.conversions += usize::from(conversion.is_some());
        self.out.totals.bytes_to_copy += size;
        self.out.placed.insert(id, e.path.clone());
    }

    /// A track new to the device: adopted when a byte-identical file is at its path (J8),
    /// else copied to a name no file has.
    fn place_new(&mut self, sel: &Selection, id: TrackId, track: &Track, w: Write) {
        let Write {
            hash,
            size,
            conversion,
        } = w;
        let input = self.input;
        let s = input.settings;
        let meta = metadata_hash(track);
        let rendered = self.render(track, conversion);
        let wanted = self.names.spell(&s.music_folder, &rendered);
        // A byte-identical file at the very path: adopt it (its path is a device file, so no
        // other copy can claim it).
        let adopt = input
            .adoptable
            .and_then(|a| a.get(&wanted))
            .filter(|a| a.track == id && Some(a.hash) == identity(hash, conversion))
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
            convert: conversion,
        });
        self.out.totals.copies += 1;
        self.out.totals.conversions += usize::from(conversion.is_some());
        self.out.totals.bytes_to_copy += size;
        self.out.placed.insert(id, path);
    }
}
