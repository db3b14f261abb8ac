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

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::journal::{LedgerEntry, OwnedKind};
use super::names::{NameRule, numbered};
use crate::library::{Library, PathStyle, Track, TrackId, WriteEntry, write_m3u, write_wpl};
use crate::metadata::{Metadata, tags};

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

/// The device metadata for a track (the round-trip set of wmdm-facts §5.6 and §5.7).
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

/// FNV-1a for the planner's internal maps: their keys are track ids (already hashes of a path)
/// and paths, from the user's own library and device, so SipHash's flood resistance buys
/// nothing and costs a third of a resync's planning time.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // FNV-1a's shape, eight bytes at a time.
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w))
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(23);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h ^ bytes.len() as u64;
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

struct Names<'a> {
    rule: NameRule,
    device: &'a DeviceContents,
    taken: Option<FastSet<String>>,
    // The next number to try per wanted path, so a thousand untagged tracks that all render
    // to one name cost linear time, not quadratic.
    next: FastMap<String, u32>,
}

impl Names<'_> {
    fn taken(&mut self) -> &mut FastSet<String> {
        let (rule, device) = (self.rule, self.device);
        // Built on first use: a no-op resync never renders a name.
        self.taken
            .get_or_insert_with(|| device.files.keys().map(|p| rule.collision_key(p)).collect())
    }

    /// A free path for `wanted`, reserving it.
    fn claim(&mut self, wanted: &str) -> String {
        let rule = self.rule;
        let key = rule.collision_key(wanted);
        let mut n = self.next.get(&key).copied().unwrap_or(2);
        let taken = self.taken();
        let mut candidate = wanted.to_owned();
        if taken.insert(rule.collision_key(&candidate)) {
            return candidate;
        }
        loop {
            candidate = numbered(wanted, n);
            n += 1;
            if taken.insert(rule.collision_key(&candidate)) {
                break;
            }
        }
        self.next.insert(key, n);
        candidate
    }

    fn spell(&self, folder: &str, relative: &str) -> String {
        let mut parts: Vec<String> = Vec::new();
        for c in folder.split('/').chain(relative.split('/')) {
            if !c.trim().is_empty() {
                parts.push(self.rule.component(c));
            }
        }
        if parts.is_empty() {
            parts.push("_".into());
        }
        parts.join("/")
    }
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
    for e in input.ledger.entries.values() {
        let valid = dev.files.get(&e.path).is_some_and(|f| {
            f.size == e.size && (e.unique_id.is_empty() || f.unique_id == e.unique_id)
        });
        if !valid {
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
        .saturating_sub(dev.state_bytes);
    // Room for sync's own files and the playlists (they grow with the selection), so a full
    // device never fails on writing its journal or a playlist. It depends on the selection
    // only, so a plan made right after a sync admits the same tracks: sync converges.
    let selected: u64 = input
        .selection
        .iter()
        .map(|s| s.tracks.len() as u64 + 1)
        .sum();
    let state_room = STATE_ROOM_BASE + STATE_ROOM_PER_ITEM * selected;
    let budget = usable.saturating_sub(others).saturating_sub(state_room);
    out.totals.budget = budget;
    // Free space drifts down a little between syncs without anyone adding content: the file
    // system's and the provider's own bookkeeping grow (directory entries, metadata sidecars).
    // Without a tolerance, the last file that fit would be evicted at the next sync and a
    // smaller one copied in its place, so a resync would not be a no-op.
    let keep_tolerance = budget / KEEP_TOLERANCE_DIVISOR;

    let mut names = Names {
        rule: s.names,
        device: dev,
        taken: None,
        next: FastMap::default(),
    };
    let mut used = 0u64;
    let mut seen: FastSet<TrackId> =
        FastSet::with_capacity_and_hasher(n_selected, Default::default());
    // Owned tracks that stay, by their ledger id.
    let mut kept: FastSet<u64> = FastSet::with_capacity_and_hasher(n_ledger, Default::default());
    out.placed.reserve(n_selected);
    let mut selected_but_out: FastSet<TrackId> = FastSet::default();

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
            if let Some(formats) = &s.formats {
                if !formats.contains(&track.format) {
                    out.left_out.push(leave(LeftOutReason::FormatNotSupported));
                    selected_but_out.insert(id);
                    continue;
                }
            }
            let Some(hash) = input.hashes.get(&id).copied() else {
                out.left_out.push(leave(LeftOutReason::SourceMissing));
                continue;
            };
            let mut existing = owned_tracks.get(&id).copied();
            let mut rekeyed = false;
            if existing.is_none() {
                let orphans = orphans_by_hash
                    .get_or_insert_with(|| find_orphans(input.library, &owned_tracks));
                if let Some(list) = orphans.get_mut(&hash.0) {
                    if !list.is_empty() {
                        existing = Some(list.remove(0));
                        rekeyed = true;
                    }
                }
            }
            let same = existing.filter(|e| e.hash == hash.0);
            let size = same.map_or(track.size, |e| e.size);
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
                    if rekeyed {
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
                    });
                    out.totals.replaces += 1;
                    out.totals.bytes_to_copy += size;
                    out.placed.insert(id, e.path.clone());
                }
                (None, _) => {
                    let wanted = names.spell(&s.music_folder, &s.template.render(track));
                    let path = names.claim(&wanted);
                    copies.push(SyncOp::Copy {
                        track: id,
                        path: path.clone(),
                        size,
                        hash,
                        meta,
                        source_mtime: mtime_ns(track),
                        priority: sel.priority,
                        replaces: None,
                    });
                    out.totals.copies += 1;
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
    for sel in input.selection {
        let name = input.library.playlist(sel.playlist).map_or_else(
            || format!("Playlist {:016x}", sel.playlist.0),
            |p| p.name.clone(),
        );
        let mut seen_here = FastSet::default();
        let entries: Vec<WriteEntry<'_>> = sel
            .tracks
            .iter()
            .filter(|id| seen_here.insert(**id))
            .filter_map(|id| {
                let path = out.placed.get(id)?;
                let t = input.library.track(*id)?;
                Some(WriteEntry {
                    path,
                    title: Some(t.title.as_str()),
                    duration: Some(t.duration),
                })
            })
            .collect();
        let file = format!("{name}.{}", s.playlist_format.extension());
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
        let owned = owned_playlists.get(wanted.as_str()).copied();
        if let Some(e) = owned {
            if e.meta == input_hash && e.id == sel.playlist.0 {
                written.insert(e.path.clone());
                continue;
            }
        }
        let content = match s.playlist_format {
            PlaylistFormat::M3u8 => write_m3u(Some(&name), &entries, &style),
            PlaylistFormat::Wpl => write_wpl(&name, &entries, &style),
        };
        // Paths come from the name rules, so they never hold line breaks; an error here would
        // be a bug, and the playlist is skipped rather than written wrong.
        let Ok(content) = content else { continue };
        let content = content.into_bytes();
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
    out.totals.tracks_on_device = out.placed.len();
    out.totals.bytes_owned_after = used
        + playlist_ops.iter().map(SyncOp::bytes).sum::<u64>()
        + owned_playlists
            .values()
            .filter(|e| written.contains(&e.path))
            .filter(|e| !playlist_ops.iter().any(|o| op_path(o) == e.path))
            .map(|e| e.size)
            .sum::<u64>();
    out.ops = forget;
    out.ops.extend(meta_ops);
    out.ops.extend(deletes);
    out.ops.extend(copies);
    out.ops.extend(playlist_ops);
    out
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
        | SyncOp::Rekey { path, .. }
        | SyncOp::UpdateMetadata { path, .. }
        | SyncOp::Delete { path, .. }
        | SyncOp::Copy { path, .. }
        | SyncOp::WritePlaylist { path, .. } => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::{ContentHash, MemoryLibrary, PlaylistId, Selection};
    use crate::metadata::FormatCode;
    use crate::sync::journal::Ledger;

    fn lib(n: u64) -> (MemoryLibrary, HashMap<TrackId, ContentHash>) {
        let mut l = MemoryLibrary::new();
        let mut h = HashMap::new();
        for i in 1..=n {
            let mut t = Track::new(TrackId(i), format!("a/{i}.mp3"));
            t.title = format!("T{i}");
            l.add_track(t, vec![i as u8; 100]);
            h.insert(TrackId(i), ContentHash::of_bytes(&[i as u8; 100]));
        }
        (l, h)
    }

    fn sel(tracks: &[u64], priority: u32, id: u64) -> Selection {
        Selection {
            priority,
            playlist: PlaylistId(id),
            tracks: tracks.iter().map(|t| TrackId(*t)).collect(),
        }
    }

    fn device(capacity: u64) -> DeviceContents {
        DeviceContents {
            capacity,
            free: capacity,
            ..DeviceContents::default()
        }
    }

    #[test]
    fn plans_are_deterministic() {
        let (l, h) = lib(20);
        let s = [sel(&(1..=20).collect::<Vec<_>>(), 1, 1)];
        let d = device(1 << 20);
        let ledger = Ledger::new("x", 1);
        let settings = PlanSettings::default();
        let input = PlanInput {
            library: &l,
            selection: &s,
            hashes: &h,
            device: &d,
            ledger: &ledger,
            settings: &settings,
        };
        assert_eq!(plan(&input), plan(&input));
        assert_eq!(plan(&input).totals.copies, 20);
    }

    #[test]
    fn a_ledger_entry_the_device_no_longer_matches_is_forgotten_not_deleted() {
        let (l, h) = lib(1);
        let mut d = device(1 << 20);
        d.files.insert(
            "Music/x.mp3".into(),
            DeviceFile {
                size: 5,
                unique_id: "other".into(),
                modified: 0,
            },
        );
        let mut ledger = Ledger::new("x", 1);
        ledger.insert(LedgerEntry {
            path: "Music/x.mp3".into(),
            unique_id: "mine".into(),
            kind: OwnedKind::Track,
            id: 99,
            hash: [0; 20],
            size: 5,
            meta: 0,
            source_size: 5,
            source_mtime: 0,
            plays: 0,
            rating: 0,
            seen: None,
        });
        let settings = PlanSettings::default();
        let p = plan(&PlanInput {
            library: &l,
            selection: &[],
            hashes: &h,
            device: &d,
            ledger: &ledger,
            settings: &settings,
        });
        assert_eq!(
            p.ops,
            vec![SyncOp::Forget {
                path: "Music/x.mp3".into()
            }]
        );
    }

    #[test]
    fn a_little_lost_free_space_does_not_churn_a_full_device() {
        // Tracks 1..=10 of 100 bytes; the first sync admits what fits.
        let (l, h) = lib(10);
        let s = [sel(&(1..=10).collect::<Vec<_>>(), 1, 1)];
        let settings = PlanSettings::default();
        let state_room = STATE_ROOM_BASE + STATE_ROOM_PER_ITEM * 11;
        let capacity = state_room + 650;
        let empty = device(capacity);
        let ledger = Ledger::new("x", 1);
        let first = plan(&PlanInput {
            library: &l,
            selection: &s,
            hashes: &h,
            device: &empty,
            ledger: &ledger,
            settings: &settings,
        });
        assert_eq!(first.totals.copies, 6);
        // The device now holds those six, and 5 bytes of provider bookkeeping appeared.
        let mut d = device(capacity);
        let mut ledger = Ledger::new("x", 1);
        for op in &first.ops {
            if let SyncOp::Copy {
                track, path, hash, ..
            } = op
            {
                d.files.insert(
                    path.clone(),
                    DeviceFile {
                        size: 100,
                        unique_id: format!("u{}", track.0),
                        modified: 0,
                    },
                );
                ledger.insert(LedgerEntry {
                    path: path.clone(),
                    unique_id: format!("u{}", track.0),
                    kind: OwnedKind::Track,
                    id: track.0,
                    hash: hash.0,
                    size: 100,
                    meta: metadata_hash(l.track(*track).unwrap()),
                    source_size: 100,
                    source_mtime: 0,
                    plays: 0,
                    rating: 0,
                    seen: None,
                });
            }
        }
        d.free = capacity - 600 - 5 - 50;
        let second = plan(&PlanInput {
            library: &l,
            selection: &s,
            hashes: &h,
            device: &d,
            ledger: &ledger,
            settings: &settings,
        });
        assert_eq!(second.totals.copies, 0, "{:?}", second.ops);
        assert!(
            !second
                .ops
                .iter()
                .any(|op| matches!(op, SyncOp::Delete { .. })),
            "{:?}",
            second.ops
        );
    }

    #[test]
    fn a_moved_library_file_is_rekeyed_not_copied() {
        let (mut l, mut h) = lib(1);
        let mut d = device(1 << 20);
        d.files.insert(
            "Music/a.mp3".into(),
            DeviceFile {
                size: 100,
                unique_id: "u".into(),
                modified: 0,
            },
        );
        let mut ledger = Ledger::new("x", 1);
        let track = l.track(TrackId(1)).cloned().unwrap();
        ledger.insert(LedgerEntry {
            path: "Music/a.mp3".into(),
            unique_id: "u".into(),
            kind: OwnedKind::Track,
            id: 1,
            hash: h[&TrackId(1)].0,
            size: 100,
            meta: metadata_hash(&track),
            source_size: 100,
            source_mtime: 0,
            plays: 0,
            rating: 0,
            seen: None,
        });
        // The file moves: a new id with the same bytes.
        l.remove_track(TrackId(1));
        let mut moved = track.clone();
        moved.id = TrackId(2);
        l.add_track(moved, vec![1u8; 100]);
        h.insert(TrackId(2), h[&TrackId(1)]);
        let settings = PlanSettings::default();
        let p = plan(&PlanInput {
            library: &l,
            selection: &[sel(&[2], 1, 1)],
            hashes: &h,
            device: &d,
            ledger: &ledger,
            settings: &settings,
        });
        assert_eq!(p.totals.copies + p.totals.replaces + p.totals.deletes, 0);
        assert!(matches!(
            p.ops.first(),
            Some(SyncOp::Rekey {
                track: TrackId(2),
                ..
            })
        ));
        assert_eq!(p.placed[&TrackId(2)], "Music/a.mp3");
    }

    #[test]
    fn unsupported_formats_and_missing_sources_have_reasons() {
        let (l, mut h) = lib(2);
        h.remove(&TrackId(2));
        let settings = PlanSettings {
            formats: Some(vec![FormatCode::WMA]),
            ..PlanSettings::default()
        };
        let p = plan(&PlanInput {
            library: &l,
            selection: &[sel(&[1, 3], 1, 1)],
            hashes: &h,
            device: &device(1 << 20),
            ledger: &Ledger::new("x", 1),
            settings: &settings,
        });
        let reasons: Vec<LeftOutReason> = p.left_out.iter().map(|l| l.reason).collect();
        assert_eq!(
            reasons,
            [
                LeftOutReason::FormatNotSupported,
                LeftOutReason::SourceMissing
            ]
        );
    }
}
