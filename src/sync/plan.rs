//! The planner: a pure, deterministic function from (library, selection, device contents,
//! ledger, settings) to a [`SyncPlan`].
//!
//! Rules (docs/sync.md has the reasoning):
//!
//! * **Identity** is the library's [`TrackId`] plus the [`ContentHash`] of the bytes. An owned
//!   object whose track still has the same hash stays where it is; when only the tags changed
//!   (the metadata hash differs) the plan updates the device's metadata, never re-copies. When
//!   the bytes changed the object is replaced. A track whose id is gone but whose hash matches
//!   an owned object (the file moved in the library) is re-keyed, not re-copied.
//! * **Priorities**: the selection is walked in sync order (lower priority numbers first, then
//!   playlist order); each track takes the priority of its first playlist. Tracks are admitted
//!   while they fit in the budget; one that does not fit is left out with
//!   [`LeftOutReason::NoFit`] and smaller later ones may still fit.
//! * **Budget**: capacity times `(100 - PercentSpaceReserved) / 100`, minus what the partnership
//!   does not own (user files, other data).
//! * **Stability**: a file already on the device that is still selected and unchanged is
//!   kept while the admitted total stays within the budget plus 1% (free space drifts down as
//!   file-system and provider bookkeeping grow); new copies must fit the budget itself.
//! * **Eviction and ownership**: an owned object that is not admitted is deleted
//!   (`Unselected` or `Evicted`). Only ledger entries that still match the device (same path,
//!   size and unique ID) can be deleted; anything else is the user's and is never touched.
//! * **SyncFilter**: owned objects of a media type the session's filter excludes stay as they
//!   are (their changes are [`SyncPlan::held_back`]) and keep their space; selected tracks of
//!   such a type are not copied ([`LeftOutReason::Filtered`]).
//! * **Skipped files**: an owned track whose object is gone from the device was deleted by the
//!   user; it is reported in [`SyncPlan::newly_skipped`] and, like every track in
//!   [`PlanInput::skipped`], not copied again ([`LeftOutReason::Skipped`]).

use std::hash::Hasher;

use super::filter::MediaKind;
use super::journal::{LedgerEntry, OwnedKind};
use super::names::{component, file_limit};
use super::plan_names::{FastMap, FastSet, Fnv, Names};
use super::plan_room::state_room;
use crate::library::{ContentHash, Library, PathStyle, Track, TrackId, WriteEntry};
use crate::metadata::{FormatCode, Metadata, tags};
use crate::transcode::{Decision, converted_identity, decide};

pub use super::plan_types::*;

/// A kept file may overrun the budget by `budget / KEEP_TOLERANCE_DIVISOR` (1%).
const KEEP_TOLERANCE_DIVISOR: u64 = 100;

/// The hash of the tags sync writes as device metadata.
pub fn metadata_hash(t: &Track) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(&t.title);
    feed(&t.artist);
    feed(&t.album);
    feed(&t.album_artist);
    feed(&t.genre);
    for n in [t.track_number, t.disc, t.year] {
        let v = n.map_or(u64::MAX, u64::from);
        h = (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The device metadata for a track (the round-trip set of Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/enabling-synchronization-with-windows-media-player>).
pub fn device_metadata(t: &Track) -> Metadata {
    let mut m = Metadata::new();
    m.add(tags::TITLE, t.title.as_str());
    m.add(tags::AUTHOR, t.artist.as_str());
    m.add(tags::ALBUM_TITLE, t.album.as_str());
    m.add(tags::ALBUM_ARTIST, t.album_artist.as_str());
    m.add(tags::GENRE, t.genre.as_str());
    if let Some(n) = t.track_number {
        m.add(tags::TRACK, n);
    }
    m.add(
        tags::YEAR,
        t.year.map(|y| y.to_string()).unwrap_or_default(),
    );
    m
}

/// A library file's modification time in ns since the epoch (0 before it).
pub fn mtime_ns(t: &Track) -> u64 {
    t.modified
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Plans a sync. Pure and deterministic: the same input gives the same plan.
pub fn plan(input: &PlanInput<'_>) -> SyncPlan {
    let s = input.settings;
    let dev = input.device;
    let mut out = SyncPlan::default();
    let mut forget = Vec::new();
    let mut meta_ops = Vec::new();
    let mut copies = Vec::new();

    // Ledger entries that still match the device are owned; the rest are forgotten.
    let n_ledger = input.ledger.entries.len();
    let n_selected: usize = input.selection.iter().map(|s| s.tracks.len()).sum();
    let mut owned_tracks: FastMap<TrackId, &LedgerEntry> =
        FastMap::with_capacity_and_hasher(n_ledger, Default::default());
    let mut owned_playlists: FastMap<&str, &LedgerEntry> = FastMap::default();
    let mut owned_bytes = 0u64;
    // Tracks the user deleted from the device since the last sync, and the ones remembered.
    let mut skipped_now: FastSet<TrackId> = FastSet::default();
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
            // ledger, through the journal when interrupted). A replaced object is the user's
            // file now and the track may be copied beside it.
            if on_device.is_none() && e.kind == OwnedKind::Track {
                let id = TrackId(e.id);
                if input.library.track(id).is_some() && skipped_now.insert(id) {
                    out.newly_skipped.push(id);
                }
            }
            forget.push(SyncOp::Forget {
                path: e.path.clone(),
            });
            continue;
        }
        owned_bytes += e.size;
        match e.kind {
            OwnedKind::Track => {
                owned_tracks.insert(TrackId(e.id), e);
            }
            OwnedKind::Playlist => {
                owned_playlists.insert(e.path.as_str(), e);
            }
        }
    }
    // Owned objects whose track left the library, by hash: candidates for a re-key. Built on
    // first need, since a resync where every track is owned never needs it.
    let mut orphans_by_hash: Option<FastMap<[u8; 20], Vec<&LedgerEntry>>> = None;
    let reserve = u64::from(s.reserve_percent.min(95));
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
    let state_room = state_room(input, &owned_tracks, &owned_playlists);
    let budget = usable.saturating_sub(others).saturating_sub(state_room);
    out.totals.budget = budget;
    // Free space drifts down a little between syncs without anyone adding content: the file
    // system's and the provider's own bookkeeping grow (directory entries, metadata sidecars).
    // Without a tolerance, the last file that fit would be evicted at the next sync and a
    // smaller one copied in its place, so a resync would not be a no-op.
    let keep_tolerance = budget / KEEP_TOLERANCE_DIVISOR;

    let mut names = Names::new(s.names, s.name_max, dev);
    let mut used = 0u64;
    // Owned tracks the filter excludes stay whatever happens, so their bytes are spent first.
    let mut pinned: FastMap<u64, MediaKind> = FastMap::default();
    if !s.filter.is_none() {
        for e in owned_tracks.values() {
            let kind = input.library.track(TrackId(e.id)).map_or_else(
                || MediaKind::of_file_name(&e.path),
                |t| MediaKind::of(t.format),
            );
            if !s.filter.includes(kind) {
                pinned.insert(e.id, kind);
                used += e.size;
            }
        }
    }
    let mut seen: FastSet<TrackId> =
        FastSet::with_capacity_and_hasher(n_selected, Default::default());
    // Owned tracks that stay, by their ledger id.
    let mut kept: FastSet<u64> = FastSet::with_capacity_and_hasher(n_ledger, Default::default());
    out.placed.reserve(n_selected);
    let mut selected_but_out: FastSet<TrackId> = FastSet::default();
    // Paths adopted in this plan (each file is adopted once).
    let mut adopted: FastSet<String> = FastSet::default();
    // What the decision sees of the device (once per plan), and the settings without the
    // encoders' availability: an owned conversion that is up to date needs no encoder.
    let convert = s.convert.as_ref().map(|cs| {
        let mut caps = s.device_caps.clone();
        if let Some(f) = &s.formats {
            caps.formats.clone_from(f);
        } else if caps.formats.is_empty() {
            caps.formats = FormatCode::ALL.to_vec();
        }
        let any = crate::transcode::ConvertSettings {
            available: None,
            ..cs.clone()
        };
        (caps, any, cs.available.as_deref())
    });
    // Whether a path's extension is the track's own (`{ext}` at the end of the template, as
    // in the default): then an owned file's extension is checked without rendering its path.
    let ext_from_track = convert.is_some() && {
        let probe = Track::new(TrackId(0), "x.wmdmprobe");
        s.template.render(&probe).ends_with(".wmdmprobe")
    };

    for sel in input.selection {
        for &id in &sel.tracks {
            if !seen.insert(id) {
                continue;
            }
            let leave = |reason| LeftOut {
                track: id,
                playlist: sel.playlist,
                reason,
            };
            let Some(track) = input.library.track(id) else {
                out.left_out.push(leave(LeftOutReason::SourceMissing));
                continue;
            };
            let conversion = match &convert {
                Some((caps, any, _)) => match decide(track, caps, any) {
                    Decision::Copy => None,
                    Decision::Convert { target, reason } => Some(Conversion { target, reason }),
                    Decision::LeaveOut { needed, reason } => {
                        out.left_out
                            .push(leave(LeftOutReason::CannotConvert { needed, reason }));
                        selected_but_out.insert(id);
                        continue;
                    }
                },
                None => {
                    if let Some(formats) = &s.formats
                        && !formats.contains(&track.format)
                    {
                        out.left_out.push(leave(LeftOutReason::FormatNotSupported));
                        selected_but_out.insert(id);
                        continue;
                    }
                    None
                }
            };
            // Only a filtered session has pinned tracks; the common case skips the lookup.
            let pinned_here = if pinned.is_empty() {
                None
            } else {
                owned_tracks.get(&id).filter(|e| pinned.contains_key(&e.id))
            };
            if let Some(e) = pinned_here {
                kept.insert(e.id);
                out.placed.insert(id, e.path.clone());
                let hash = input.hashes.get(&id);
                let change = if hash.is_some_and(|h| h.0 != e.hash) {
                    Some(HeldChange::Replace)
                } else if hash.is_some() && s.supports_metadata && e.meta != metadata_hash(track) {
                    Some(HeldChange::UpdateMetadata)
                } else {
                    None
                };
                if let Some(change) = change {
                    let kind = pinned.get(&e.id).copied().unwrap_or(MediaKind::Music);
                    out.held_back.push(HeldBack {
                        path: e.path.clone(),
                        track: id,
                        change,
                        reason: HoldReason::Filtered { kind },
                    });
                }
                continue;
            }
            let kind = MediaKind::of(track.format);
            if !s.filter.includes(kind) {
                out.left_out.push(leave(LeftOutReason::Filtered { kind }));
                continue;
            }
            let mut hash = input.hashes.get(&id).copied();
            // What the ledger records for the track's file on the device: the library file's
            // hash for a copy, that hash bound to the target for a conversion (so a changed
            // profile converts again, and an unchanged one is up to date).
            let identity = |hash: Option<ContentHash>| match conversion {
                Some(c) => hash.map(|h| converted_identity(h, &c.target)),
                None => hash,
            };
            let mut want = identity(hash);
            let mut existing = owned_tracks.get(&id).copied();
            if hash.is_none() && existing.is_some() {
                // An owned track must be compared with its file: without its hash, leave it.
                out.left_out.push(leave(LeftOutReason::SourceMissing));
                continue;
            }
            let mut rekeyed = false;
            if let (None, Some(hash)) = (existing, want) {
                let orphans = orphans_by_hash
                    .get_or_insert_with(|| find_orphans(input.library, &owned_tracks));
                if let Some(list) = orphans.get_mut(&hash.0) {
                    // A pinned object stays what it is: it is not re-keyed to another track.
                    if let Some(at) = list.iter().position(|e| !pinned.contains_key(&e.id)) {
                        existing = Some(list.remove(at));
                        rekeyed = true;
                    }
                }
            }
            if existing.is_none() && (skipped_now.contains(&id) || input.skipped.contains(&id)) {
                out.left_out.push(leave(LeftOutReason::Skipped));
                continue;
            }
            // A converted track's path is rendered as if its file had the target's extension.
            let render = |t: &Track| match conversion {
                Some(c) => s
                    .template
                    .render(&with_extension(t, c.target.codec.extension())),
                None => s.template.render(t),
            };
            // A file whose extension is no longer right (converted now, or no longer) is not
            // replaced in place: the track goes to a new path and the old file is deleted.
            if convert.is_some()
                && let Some(e) = existing
                && extension_of(&e.path)
                    != match (ext_from_track, conversion) {
                        (true, Some(c)) => c.target.codec.extension().to_owned(),
                        (true, None) => track.extension(),
                        (false, _) => extension_of(&render(track)),
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
            let same = existing.filter(|e| want.is_some_and(|h| e.hash == h.0));
            // Needs encoding and no encoder: an owned older version stays as it is.
            if let (Some(c), None, Some((_, _, Some(available)))) = (conversion, same, &convert)
                && !available.contains(&c.target.codec)
            {
                out.left_out.push(leave(LeftOutReason::CannotConvert {
                    needed: c.reason,
                    reason: crate::transcode::NoConvertReason::EncoderMissing(c.target.codec),
                }));
                if let Some(e) = existing {
                    kept.insert(e.id);
                    used += e.size;
                    out.placed.insert(id, e.path.clone());
                } else {
                    selected_but_out.insert(id);
                }
                continue;
            }
            // A conversion counts its estimated size until it is made; once on the device, at
            // least that estimate: the real size is usually a little smaller, and counting it
            // would give the next plan room the plan that put it there did not have, so a
            // resync would copy an earlier track of the same priority and evict later ones.
            let estimate = conversion.map(|c| c.target.estimated_size(track.duration));
            let size = match (same, estimate) {
                (Some(e), Some(est)) => e.size.max(est),
                (Some(e), None) => e.size,
                (None, Some(est)) => est,
                (None, None) => track.size,
            };
            // A file already on the device may stay within the tolerance; a new copy must fit
            // the budget itself, so the tolerance never lets sync fill the device further.
            let limit = if same.is_some() {
                budget.saturating_add(keep_tolerance)
            } else {
                budget
            };
            if used.saturating_add(size) > limit {
                out.left_out.push(leave(LeftOutReason::NoFit {
                    priority: sel.priority,
                    needed: size,
                    available: budget.saturating_sub(used),
                }));
                out.totals.no_fit += 1;
                selected_but_out.insert(id);
                continue;
            }
            used += size;
            let meta = metadata_hash(track);
            match (existing, same) {
                (Some(e), Some(_)) => {
                    kept.insert(e.id);
                    // Also when only the library file's size or date moved (same bytes: a copy
                    // without times, a restore): the ledger's quick-check values move with it,
                    // or the file would be hashed again on every sync.
                    if rekeyed || e.source_size != track.size || e.source_mtime != mtime_ns(track) {
                        forget.push(SyncOp::Rekey {
                            path: e.path.clone(),
                            track: id,
                            source_size: track.size,
                            source_mtime: mtime_ns(track),
                        });
                    }
                    if e.meta != meta && s.supports_metadata {
                        meta_ops.push(SyncOp::UpdateMetadata {
                            track: id,
                            path: e.path.clone(),
                            meta,
                        });
                        out.totals.metadata_updates += 1;
                    }
                    out.placed.insert(id, e.path.clone());
                }
                (Some(e), None) => {
                    kept.insert(e.id);
                    copies.push(SyncOp::Copy {
                        track: id,
                        path: e.path.clone(),
                        size,
                        hash,
                        meta,
                        source_mtime: mtime_ns(track),
                        priority: sel.priority,
                        replaces: Some(e.unique_id.clone()),
                        convert: conversion,
                    });
                    out.totals.replaces += 1;
                    out.totals.conversions += usize::from(conversion.is_some());
                    out.totals.bytes_to_copy += size;
                    out.placed.insert(id, e.path.clone());
                }
                (None, _) => {
                    let wanted = names.spell(&s.music_folder, &render(track));
                    // A byte-identical file at the very path: adopt it (its path is a device
                    // file, so no other copy can claim it).
                    let adopt = input
                        .adoptable
                        .and_then(|a| a.get(&wanted))
                        .filter(|a| a.track == id && Some(a.hash) == want)
                        .filter(|_| adopted.insert(wanted.clone()));
                    if let Some(a) = adopt {
                        used = used.saturating_sub(size).saturating_add(a.size);
                        forget.push(SyncOp::Adopt {
                            track: id,
                            path: wanted.clone(),
                            size: a.size,
                            unique_id: a.unique_id.clone(),
                            hash: a.hash,
                            meta: a.meta.unwrap_or_default(),
                            source_size: track.size,
                            source_mtime: mtime_ns(track),
                        });
                        out.totals.adoptions += 1;
                        if a.meta != Some(meta) && s.supports_metadata {
                            meta_ops.push(SyncOp::UpdateMetadata {
                                track: id,
                                path: wanted.clone(),
                                meta,
                            });
                            out.totals.metadata_updates += 1;
                        }
                        out.placed.insert(id, wanted);
                        continue;
                    }
                    let path = names.claim(&wanted);
                    if path != wanted
                        && dev.files.contains_key(&wanted)
                        && !input.ledger.entries.contains_key(&wanted)
                    {
                        out.collisions.push((id, wanted.clone()));
                    }
                    copies.push(SyncOp::Copy {
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
                    out.totals.copies += 1;
                    out.totals.conversions += usize::from(conversion.is_some());
                    out.totals.bytes_to_copy += size;
                    out.placed.insert(id, path);
                }
            }
        }
    }

    // Owned tracks not admitted are deleted.
    let mut deletes: Vec<SyncOp> = Vec::new();
    for (id, e) in &owned_tracks {
        if kept.contains(&e.id) {
            continue;
        }
        if let Some(kind) = pinned.get(&e.id) {
            out.held_back.push(HeldBack {
                path: e.path.clone(),
                track: *id,
                change: HeldChange::Delete,
                reason: HoldReason::Filtered { kind: *kind },
            });
            continue;
        }
        let reason = if selected_but_out.contains(id) {
            DeleteReason::Evicted
        } else {
            DeleteReason::Unselected
        };
        deletes.push(SyncOp::Delete {
            path: e.path.clone(),
            kind: OwnedKind::Track,
            size: e.size,
            reason,
        });
        out.totals.bytes_to_delete += e.size;
    }

    // Playlists: only entries that are on the device, relative to the playlist's folder.
    let mut playlist_ops = Vec::new();
    let mut written: FastSet<String> = FastSet::default();
    let style = PathStyle::relative(
        names
            .spell(&s.playlist_folder, "x")
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_owned()),
        s.playlist_separator,
    );
    let layout = PlaylistLayout {
        format: s.playlist_format,
        style,
    };
    let style = &layout.style;
    for sel in input.selection {
        // A selection without a library playlist (the default rules' implicit playlist, a
        // playlist being estimated) has no file on the device.
        let Some(name) = input.library.playlist(sel.playlist).map(|p| p.name.clone()) else {
            continue;
        };
        let mut seen_here = FastSet::default();
        let mut listed = Vec::new();
        let entries: Vec<WriteEntry<'_>> = sel
            .tracks
            .iter()
            .filter(|id| seen_here.insert(**id))
            .filter_map(|id| {
                let path = out.placed.get(id)?;
                let t = input.library.track(*id)?;
                listed.push(*id);
                Some(WriteEntry {
                    path,
                    title: Some(t.title.as_str()),
                    duration: Some(t.duration),
                })
            })
            .collect();
        // One component whatever the title holds: "a/b" is `a_b.m3u8`, not a folder `a`.
        let file = component(
            s.names,
            &format!("{name}.{}", s.playlist_format.extension()),
            file_limit(s.name_max),
        );
        let wanted = names.spell(&s.playlist_folder, &file);
        // What the file's bytes are made of, hashed: an unchanged playlist is recognised
        // without rendering it (the ledger keeps this hash as the playlist's `meta`).
        let mut fp = Fnv::default();
        fp.write(name.as_bytes());
        fp.write(s.playlist_format.extension().as_bytes());
        fp.write(style.base_folder.as_bytes());
        fp.write_u64(u64::from(u32::from(s.playlist_separator)));
        for e in &entries {
            fp.write(e.path.as_bytes());
            fp.write_u64(0);
            fp.write(e.title.unwrap_or("").as_bytes());
            fp.write_u64(e.duration.map_or(u64::MAX, |d| d.as_secs()));
        }
        let input_hash = fp.finish();
        // The playlist's own file: at the name it would get, or, when that name was taken
        // when it was first written (it got "name (2)"), wherever the ledger has it, so an
        // owned playlist never moves on a rewrite.
        let owned = owned_playlists
            .get(wanted.as_str())
            .copied()
            .filter(|e| e.id == sel.playlist.0)
            .or_else(|| {
                owned_playlists
                    .values()
                    .filter(|e| e.id == sel.playlist.0 && !written.contains(&e.path))
                    .min_by(|a, b| a.path.cmp(&b.path))
                    .copied()
            })
            .or_else(|| owned_playlists.get(wanted.as_str()).copied());
        if let Some(e) = owned
            && e.meta == input_hash
            && e.id == sel.playlist.0
        {
            written.insert(e.path.clone());
            continue;
        }
        // Paths come from the name rules, so they never hold line breaks; an error here would
        // be a bug, and the playlist is skipped rather than written wrong.
        let Ok(content) = layout.render(&name, &entries) else {
            continue;
        };
        let path = match owned {
            Some(e) => {
                written.insert(e.path.clone());
                e.path.clone()
            }
            None => {
                let p = names.claim(&wanted);
                written.insert(p.clone());
                p
            }
        };
        out.totals.bytes_to_copy += content.len() as u64;
        out.totals.playlists += 1;
        playlist_ops.push(SyncOp::WritePlaylist {
            playlist: sel.playlist,
            name,
            path,
            meta: input_hash,
            content,
            replaces: owned.map(|e| e.unique_id.clone()),
            tracks: listed,
        });
    }
    for e in owned_playlists.values() {
        if !written.contains(&e.path) {
            deletes.push(SyncOp::Delete {
                path: e.path.clone(),
                kind: OwnedKind::Playlist,
                size: e.size,
                reason: DeleteReason::Unselected,
            });
            out.totals.bytes_to_delete += e.size;
        }
    }
    deletes.sort_by(|a, b| match (a, b) {
        (SyncOp::Delete { path: x, .. }, SyncOp::Delete { path: y, .. }) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    });
    forget.sort_by(|a, b| op_path(a).cmp(op_path(b)));
    meta_ops.sort_by(|a, b| op_path(a).cmp(op_path(b)));

    out.totals.deletes = deletes.len();
    out.held_back.sort_by(|a, b| a.path.cmp(&b.path));
    out.newly_skipped.sort();
    // Pinned tracks no longer selected stay on the device without a place in the selection.
    out.totals.tracks_on_device = out.placed.len()
        + out
            .held_back
            .iter()
            .filter(|h| h.change == HeldChange::Delete)
            .count();
    out.totals.bytes_owned_after = used
        + playlist_ops.iter().map(SyncOp::bytes).sum::<u64>()
        + owned_playlists
            .values()
            .filter(|e| written.contains(&e.path))
            .filter(|e| !playlist_ops.iter().any(|o| op_path(o) == e.path))
            .map(|e| e.size)
            .sum::<u64>();
    if !playlist_ops.is_empty() {
        out.playlist_layout = Some(layout);
    }
    out.ops = forget;
    out.ops.extend(meta_ops);
    out.ops.extend(deletes);
    out.ops.extend(copies);
    out.ops.extend(playlist_ops);
    out
}

/// `track` as if its file had extension `ext`: what a converted copy is named by.
fn with_extension(track: &Track, ext: &str) -> Track {
    let mut t = track.clone();
    let (dir, name) = match t.relative_path.rsplit_once('/') {
        Some((d, n)) => (format!("{d}/"), n),
        None => (String::new(), t.relative_path.as_str()),
    };
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    t.relative_path = format!("{dir}{stem}.{ext}");
    t.format = FormatCode::from_extension(ext);
    t
}

/// The lower-case extension of a device path (empty when none).
fn extension_of(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn find_orphans<'a>(
    library: &dyn Library,
    owned: &FastMap<TrackId, &'a LedgerEntry>,
) -> FastMap<[u8; 20], Vec<&'a LedgerEntry>> {
    let mut m: FastMap<[u8; 20], Vec<&'a LedgerEntry>> = FastMap::default();
    for (id, e) in owned {
        if library.track(*id).is_none() {
            m.entry(e.hash).or_default().push(*e);
        }
    }
    for v in m.values_mut() {
        v.sort_by(|a, b| a.path.cmp(&b.path));
    }
    m
}

fn op_path(op: &SyncOp) -> &str {
    match op {
        SyncOp::Forget { path }
        | SyncOp::Adopt { path, .. }
        | SyncOp::Rekey { path, .. }
        | SyncOp::UpdateMetadata { path, .. }
        | SyncOp::Delete { path, .. }
        | SyncOp::Copy { path, .. }
        | SyncOp::WritePlaylist { path, .. } => path,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "plan_convert_tests.rs"]
mod convert_tests;
