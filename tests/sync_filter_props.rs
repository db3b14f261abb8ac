//! Property of the planner under a SyncFilter: random libraries of music, video and pictures,
//! random owned sets (some with changed bytes or tags), random selections, random filters and
//! device sizes. No step of the plan touches an object or track of an excluded type; every
//! owned object of an excluded type stays (and keeps its place when selected); every selected
//! track of an excluded type that is not on the device is left out as Filtered; and skipped
//! tracks are never copied.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use wmdm::fuzzing::{STATE_ROOM_BASE, STATE_ROOM_PER_ITEM};
use wmdm::library::{ContentHash, Library, MemoryLibrary, PlaylistId, Selection, Track, TrackId};
use wmdm::sync::{
    DeviceContents, DeviceFile, Ledger, LedgerEntry, LeftOutReason, MediaKind, OwnedKind,
    PlanInput, PlanSettings, SyncFilter, SyncOp, metadata_hash, plan,
};

#[derive(Clone, Debug)]
struct Item {
    ext: &'static str,
    owned: bool,
    selected: bool,
    bytes_changed: bool,
    tags_changed: bool,
    skipped: bool,
}

fn item() -> impl Strategy<Value = Item> {
    (
        prop_oneof![Just("mp3"), Just("wmv"), Just("jpg")],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(ext, owned, selected, bytes_changed, tags_changed, skipped)| Item {
                ext,
                owned,
                selected,
                bytes_changed,
                tags_changed,
                skipped,
            },
        )
}

proptest! {
    #[test]
    fn the_filter_never_touches_excluded_types(
        items in prop::collection::vec(item(), 1..40),
        filter in 0u32..=0xFF,
        room_in_tracks in 0u64..45,
    ) {
        let mut library = MemoryLibrary::new();
        let mut hashes = HashMap::new();
        let mut device = DeviceContents::default();
        let mut ledger = Ledger::new("lib", 1);
        let mut owned_bytes = 0;
        for (i, it) in items.iter().enumerate() {
            let id = TrackId(i as u64 + 1);
            let mut t = Track::new(id, format!("a/{i}.{}", it.ext));
            t.title = format!("T{i}");
            let original = vec![i as u8; 100];
            let now = if it.bytes_changed { vec![i as u8 ^ 0xFF; 100] } else { original.clone() };
            let old_meta = metadata_hash(&t);
            if it.tags_changed {
                t.title = format!("Retitled {i}");
            }
            library.add_track(t, now.clone());
            hashes.insert(id, ContentHash::of_bytes(&now));
            if it.owned {
                let path = format!("Music/{i}.{}", it.ext);
                device.files.insert(path.clone(), DeviceFile {
                    size: 100,
                    unique_id: format!("u{i}"),
                    modified_ns: 0,
                });
                owned_bytes += 100;
                ledger.insert(LedgerEntry {
                    path,
                    unique_id: format!("u{i}"),
                    kind: OwnedKind::Track,
                    id: id.0,
                    hash: ContentHash::of_bytes(&original).0,
                    size: 100,
                    meta: old_meta,
                    source_size: 100,
                    source_mtime: 0,
                    plays: 0,
                    rating: 0,
                    seen: None,
                    fingerprint: None,
                });
            }
        }
        let selected: Vec<TrackId> = items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.selected)
            .map(|(i, _)| TrackId(i as u64 + 1))
            .collect();
        let skipped: HashSet<TrackId> = items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.skipped)
            .map(|(i, _)| TrackId(i as u64 + 1))
            .collect();
        let selection = [Selection { priority: 1, playlist: PlaylistId(1), tracks: selected.clone() }];
        let state_room = STATE_ROOM_BASE + STATE_ROOM_PER_ITEM * (selected.len() as u64 + 1);
        device.capacity = state_room + room_in_tracks * 100 + owned_bytes;
        device.free = device.capacity - owned_bytes;
        let filter = SyncFilter(filter);
        let settings = PlanSettings { filter, ..PlanSettings::default() };
        let p = plan(&PlanInput {
            library: &library,
            selection: &selection,
            hashes: &hashes,
            device: &device,
            ledger: &ledger,
            settings: &settings,
            skipped: &skipped,
            adoptable: None,
        });
        let kind_of = |id: TrackId| MediaKind::of(library.track(id).unwrap().format);
        for op in &p.ops {
            match op {
                SyncOp::Copy { track, replaces, .. } => {
                    prop_assert!(filter.includes(kind_of(*track)), "{op:?}");
                    prop_assert!(replaces.is_some() || !skipped.contains(track), "{op:?}");
                }
                SyncOp::UpdateMetadata { track, .. } => {
                    prop_assert!(filter.includes(kind_of(*track)), "{op:?}");
                }
                SyncOp::Delete { path, kind: OwnedKind::Track, .. } => {
                    prop_assert!(filter.includes(MediaKind::of_file_name(path)), "{op:?}");
                }
                _ => {}
            }
        }
        for (i, it) in items.iter().enumerate() {
            let id = TrackId(i as u64 + 1);
            let excluded = !filter.includes(kind_of(id));
            if !excluded {
                continue;
            }
            if it.owned && it.selected {
                prop_assert_eq!(p.placed.get(&id), Some(&format!("Music/{i}.{}", it.ext)));
            }
            if !it.owned && it.selected {
                let reason = p.left_out.iter().find(|l| l.track == id).map(|l| l.reason);
                prop_assert_eq!(reason, Some(LeftOutReason::Filtered { kind: kind_of(id) }));
            }
        }
        // Pinned bytes stay counted: the plan never promises more than the budget allows.
        prop_assert!(p.totals.bytes_owned_after <= p.totals.budget + p.totals.budget / 100 + owned_bytes);
    }
}
