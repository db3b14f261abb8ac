//! Unit tests of the planner (kept beside `plan.rs` so the planner stays small).

use std::collections::HashMap;

use super::*;
use crate::library::{ContentHash, MemoryLibrary, PlaylistId, Selection};
use crate::metadata::FormatCode;
use crate::sync::filter::{MediaKind, SyncFilter};
use crate::sync::journal::{Ledger, OwnedKind};

/// A library of `n` tracks of 100 bytes each, and their hashes (the core's tests use it too).
pub(crate) fn lib(n: u64) -> (MemoryLibrary, HashMap<TrackId, ContentHash>) {
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
        skipped: &Default::default(),
        adoptable: None,
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
            modified_ns: 0,
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
        fingerprint: None,
    });
    let settings = PlanSettings::default();
    let p = plan(&PlanInput {
        library: &l,
        selection: &[],
        hashes: &h,
        device: &d,
        ledger: &ledger,
        settings: &settings,
        skipped: &Default::default(),
        adoptable: None,
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
        skipped: &Default::default(),
        adoptable: None,
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
                    modified_ns: 0,
                },
            );
            ledger.insert(LedgerEntry {
                path: path.clone(),
                unique_id: format!("u{}", track.0),
                kind: OwnedKind::Track,
                id: track.0,
                hash: hash.map_or([0; 20], |h| h.0),
                size: 100,
                meta: metadata_hash(l.track(*track).unwrap()),
                source_size: 100,
                source_mtime: 0,
                plays: 0,
                rating: 0,
                seen: None,
                fingerprint: None,
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
        skipped: &Default::default(),
        adoptable: None,
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
            modified_ns: 0,
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
        fingerprint: None,
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
        skipped: &Default::default(),
        adoptable: None,
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
        skipped: &Default::default(),
        adoptable: None,
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

/// Puts track `id` on the device at `path`, owned by the ledger, as a finished sync would.
fn own(l: &MemoryLibrary, d: &mut DeviceContents, ledger: &mut Ledger, id: u64, path: &str) {
    let t = l.track(TrackId(id)).unwrap();
    let bytes = vec![id as u8; t.size as usize];
    d.files.insert(
        path.into(),
        DeviceFile {
            size: t.size,
            unique_id: format!("u{id}"),
            modified_ns: 0,
        },
    );
    d.free -= t.size;
    ledger.insert(LedgerEntry {
        path: path.into(),
        unique_id: format!("u{id}"),
        kind: OwnedKind::Track,
        id,
        hash: ContentHash::of_bytes(&bytes).0,
        size: t.size,
        meta: metadata_hash(t),
        source_size: t.size,
        source_mtime: 0,
        plays: 0,
        rating: 0,
        seen: None,
        fingerprint: None,
    });
}

/// Tracks 1-2 and 4 are MP3s, 3 and 5 WMV videos, of 100 bytes each.
fn mixed_library() -> (MemoryLibrary, HashMap<TrackId, ContentHash>) {
    let mut l = MemoryLibrary::new();
    let mut h = HashMap::new();
    for i in 1..=5u64 {
        let ext = if i == 3 || i == 5 { "wmv" } else { "mp3" };
        let mut t = Track::new(TrackId(i), format!("a/{i}.{ext}"));
        t.title = format!("T{i}");
        l.add_track(t, vec![i as u8; 100]);
        h.insert(TrackId(i), ContentHash::of_bytes(&[i as u8; 100]));
    }
    (l, h)
}

#[test]
fn the_sync_filter_neither_copies_nor_deletes_excluded_types() {
    let (l, h) = mixed_library();
    let mut d = device(1 << 20);
    let mut ledger = Ledger::new("x", 1);
    // Owned and no longer selected: track 1 (music) and track 3 (video).
    own(&l, &mut d, &mut ledger, 1, "Music/1.mp3");
    own(&l, &mut d, &mut ledger, 3, "Music/3.wmv");
    // Selected, not on the device: track 2 (music) and track 5 (video).
    let selection = [sel(&[2, 5], 1, 1)];
    let settings = PlanSettings {
        filter: SyncFilter::VIDEO,
        ..PlanSettings::default()
    };
    let p = plan(&PlanInput {
        library: &l,
        selection: &selection,
        hashes: &h,
        device: &d,
        ledger: &ledger,
        settings: &settings,
        skipped: &Default::default(),
        adoptable: None,
    });
    let copied: Vec<TrackId> = p
        .ops
        .iter()
        .filter_map(|op| match op {
            SyncOp::Copy { track, .. } => Some(*track),
            _ => None,
        })
        .collect();
    assert_eq!(copied, [TrackId(5)]);
    let deleted: Vec<&str> = p
        .ops
        .iter()
        .filter_map(|op| match op {
            SyncOp::Delete { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, ["Music/3.wmv"]);
    assert_eq!(
        p.left_out,
        [LeftOut {
            track: TrackId(2),
            playlist: PlaylistId(1),
            reason: LeftOutReason::Filtered {
                kind: MediaKind::Music
            },
        }]
    );
    assert_eq!(
        p.held_back,
        [HeldBack {
            path: "Music/1.mp3".into(),
            track: TrackId(1),
            change: HeldChange::Delete,
            reason: HoldReason::Filtered {
                kind: MediaKind::Music
            },
        }]
    );
    // The held-back track keeps its bytes and stays on the device.
    assert_eq!(p.totals.bytes_owned_after, 200);
    assert_eq!(p.totals.tracks_on_device, 2);
    // Without the filter the same input copies 2 and deletes 1.
    let unfiltered = PlanSettings::default();
    let p = plan(&PlanInput {
        library: &l,
        selection: &selection,
        hashes: &h,
        device: &d,
        ledger: &ledger,
        settings: &unfiltered,
        skipped: &Default::default(),
        adoptable: None,
    });
    assert_eq!((p.totals.copies, p.totals.deletes), (2, 2));
    assert!(p.held_back.is_empty() && p.left_out.is_empty());
}

#[test]
fn a_filtered_owned_track_keeps_its_place_and_holds_back_its_replacement() {
    let (mut l, mut h) = mixed_library();
    let mut d = device(1 << 20);
    let mut ledger = Ledger::new("x", 1);
    own(&l, &mut d, &mut ledger, 1, "Music/1.mp3");
    // Track 1's bytes change in the library.
    let t = l.track(TrackId(1)).cloned().unwrap();
    l.add_track(t, vec![9; 100]);
    h.insert(TrackId(1), ContentHash::of_bytes(&[9; 100]));
    let settings = PlanSettings {
        filter: SyncFilter(0),
        ..PlanSettings::default()
    };
    let p = plan(&PlanInput {
        library: &l,
        selection: &[sel(&[1], 1, 1)],
        hashes: &h,
        device: &d,
        ledger: &ledger,
        settings: &settings,
        skipped: &Default::default(),
        adoptable: None,
    });
    assert!(p.ops.is_empty(), "{:?}", p.ops);
    assert_eq!(p.placed[&TrackId(1)], "Music/1.mp3");
    assert_eq!(p.held_back.len(), 1);
    assert_eq!(p.held_back[0].change, HeldChange::Replace);
}

#[test]
fn a_track_the_user_deleted_is_skipped_and_not_copied_again() {
    let (l, h) = lib(3);
    let mut d = device(1 << 20);
    let mut ledger = Ledger::new("x", 1);
    own(&l, &mut d, &mut ledger, 1, "Music/1.mp3");
    own(&l, &mut d, &mut ledger, 2, "Music/2.mp3");
    // The user deletes track 1's file; track 3 was skipped at an earlier sync.
    d.files.remove("Music/1.mp3");
    let skipped = [TrackId(3)].into_iter().collect();
    let settings = PlanSettings::default();
    let p = plan(&PlanInput {
        library: &l,
        selection: &[sel(&[1, 2, 3], 1, 1)],
        hashes: &h,
        device: &d,
        ledger: &ledger,
        settings: &settings,
        skipped: &skipped,
        adoptable: None,
    });
    assert_eq!(p.newly_skipped, [TrackId(1)]);
    assert_eq!(
        p.ops,
        [SyncOp::Forget {
            path: "Music/1.mp3".into()
        }]
    );
    let reasons: Vec<(TrackId, LeftOutReason)> =
        p.left_out.iter().map(|l| (l.track, l.reason)).collect();
    assert_eq!(
        reasons,
        [
            (TrackId(1), LeftOutReason::Skipped),
            (TrackId(3), LeftOutReason::Skipped)
        ]
    );
    // A replaced object (the user put another file there) is not a skip.
    let mut d2 = d.clone();
    d2.files.insert(
        "Music/1.mp3".into(),
        DeviceFile {
            size: 7,
            unique_id: "user".into(),
            modified_ns: 0,
        },
    );
    let p = plan(&PlanInput {
        library: &l,
        selection: &[sel(&[1, 2], 1, 1)],
        hashes: &h,
        device: &d2,
        ledger: &ledger,
        settings: &settings,
        skipped: &Default::default(),
        adoptable: None,
    });
    assert!(p.newly_skipped.is_empty());
    assert_eq!(p.totals.copies, 1);
}

#[test]
fn a_selection_without_a_library_playlist_writes_no_playlist_file() {
    let (l, h) = lib(2);
    let settings = PlanSettings::default();
    let p = plan(&PlanInput {
        library: &l,
        selection: &[sel(&[1, 2], 1, 77)],
        hashes: &h,
        device: &device(1 << 20),
        ledger: &Ledger::new("x", 1),
        settings: &settings,
        skipped: &Default::default(),
        adoptable: None,
    });
    assert_eq!((p.totals.copies, p.totals.playlists), (2, 0));
}

#[test]
fn a_library_file_with_a_new_date_and_the_same_bytes_moves_the_quick_check_forward() {
    let (l, h) = lib(1);
    let t = l.track(TrackId(1)).unwrap().clone();
    let mut d = device(1 << 20);
    d.files.insert(
        "Music/x.mp3".into(),
        DeviceFile {
            size: 100,
            unique_id: "U1".into(),
            modified_ns: 0,
        },
    );
    let mut ledger = Ledger::new("x", 1);
    ledger.insert(LedgerEntry {
        path: "Music/x.mp3".into(),
        unique_id: "U1".into(),
        kind: OwnedKind::Track,
        id: 1,
        hash: h[&TrackId(1)].0,
        size: 100,
        meta: metadata_hash(&t),
        source_size: 100,
        source_mtime: mtime_ns(&t) + 1,
        plays: 0,
        rating: 0,
        seen: None,
        fingerprint: None,
    });
    let settings = PlanSettings::default();
    let p = plan(&PlanInput {
        library: &l,
        selection: &[sel(&[1], 1, 1)],
        hashes: &h,
        device: &d,
        ledger: &ledger,
        settings: &settings,
        skipped: &Default::default(),
        adoptable: None,
    });
    assert_eq!(
        p.ops,
        vec![SyncOp::Rekey {
            path: "Music/x.mp3".into(),
            track: TrackId(1),
            source_size: 100,
            source_mtime: mtime_ns(&t),
        }]
    );
}
