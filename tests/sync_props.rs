//! Property: random libraries x random selections x random fault plans. After the faults and
//! one clean resync, the device holds exactly the planned set, every file the user put there is
//! untouched, no temporary or partial file remains, and the library is unchanged.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use common::sync::*;
use proptest::prelude::*;
use wmdm::Error;
use wmdm::library::{ContentHash, Library, MemoryLibrary, Playlist, TrackId};
use wmdm::providers::memory::{FaultPlan, MemoryProvider, Operation};

#[derive(Clone, Debug)]
enum Fault {
    None,
    FailCreate(u64),
    FailWrite(u64),
    DisconnectAfter(u64),
    DisconnectOnDelete(u64),
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::None),
        (1u64..8).prop_map(Fault::FailCreate),
        (1u64..8).prop_map(Fault::FailWrite),
        (1u64..6000).prop_map(Fault::DisconnectAfter),
        (1u64..4).prop_map(Fault::DisconnectOnDelete),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    sizes: Vec<usize>,
    artists: Vec<u8>,
    lists: Vec<(Vec<usize>, u32)>,
    second_lists: Vec<(Vec<usize>, u32)>,
    user_files: Vec<(u8, usize)>,
    capacity: u64,
    faults: (Fault, Fault),
}

fn lists(n: usize) -> impl Strategy<Value = Vec<(Vec<usize>, u32)>> {
    prop::collection::vec((prop::collection::vec(0..n, 0..6), 0u32..4), 1..4)
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..8).prop_flat_map(|n| {
        (
            prop::collection::vec(1usize..3000, n),
            prop::collection::vec(0u8..3, n),
            lists(n),
            lists(n),
            prop::collection::vec((0u8..4, 1usize..500), 0..3),
            8_000u64..60_000,
            (fault(), fault()),
        )
            .prop_map(
                |(sizes, artists, lists, second_lists, user_files, capacity, faults)| Case {
                    sizes,
                    artists,
                    lists,
                    second_lists,
                    user_files,
                    capacity,
                    faults,
                },
            )
    })
}

fn apply_fault(f: &Fixture, fault: &Fault) {
    let plan = match fault {
        Fault::None => FaultPlan::new(),
        Fault::FailCreate(n) => {
            FaultPlan::new().fail_nth(Operation::Create, *n, Error::ProcessFailed)
        }
        Fault::FailWrite(n) => FaultPlan::new().fail_nth(Operation::Write, *n, Error::DiskFull),
        Fault::DisconnectAfter(b) => FaultPlan::new().disconnect_after_bytes(*b),
        Fault::DisconnectOnDelete(n) => FaultPlan::new().disconnect_on_nth(Operation::Delete, *n),
    };
    f.device.set_fault_plan(plan);
}

fn set_selection(lib: &mut MemoryLibrary, lists: &[(Vec<usize>, u32)]) {
    for p in lib.playlists().to_vec() {
        lib.remove_playlist(p.id);
    }
    for (i, (tracks, prio)) in lists.iter().enumerate() {
        let mut p = Playlist::new_static(
            format!("List {i}"),
            tracks.iter().map(|t| TrackId(*t as u64 + 1)).collect(),
        );
        p.sync.set_priority(1, *prio).unwrap();
        lib.add_playlist(p);
    }
}

/// One sync under a fault plan: start, step to the end (or the fault), then heal the device.
fn faulty_sync(f: &Fixture, fault: &Fault) {
    apply_fault(f, fault);
    let d = f.sync_device();
    if d.start().is_ok() {
        while d.step() {}
    }
    f.device.clear_faults();
    f.device.reconnect();
    f.services.poll().unwrap();
}

fn library_fingerprint(lib: &MemoryLibrary) -> Vec<(TrackId, String, u64, Option<ContentHash>)> {
    lib.tracks()
        .iter()
        .map(|t| (t.id, t.title.clone(), t.size, lib.content_hash(t.id).ok()))
        .collect()
}

fn check(c: &Case) -> Result<(), TestCaseError> {
    let f = fixture_partnered_device(0, 0, c.capacity);
    {
        let mut lib = f.lib();
        for (i, (size, artist)) in c.sizes.iter().zip(&c.artists).enumerate() {
            let id = i as u64 + 1;
            lib.add_track(
                track(id, &format!("Artist {artist}"), "Album"),
                content(id, *size),
            );
        }
        set_selection(&mut lib, &c.lists);
    }
    let mut user: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (i, (artist, size)) in c.user_files.iter().enumerate() {
        // Some user files sit where sync would put a track.
        let path = if i % 2 == 0 {
            format!("Music/Artist {artist}/Album/0{} Song {}.mp3", i + 1, i + 1)
        } else {
            format!("Mine/{i}.mp3")
        };
        let bytes = vec![0xEE; *size];
        if f.device.put_file(&path, bytes.clone()).is_ok() {
            user.insert(path, bytes);
        }
    }
    let before = library_fingerprint(&f.library.read().unwrap());

    faulty_sync(&f, &c.faults.0);
    set_selection(&mut f.lib(), &c.second_lists);
    faulty_sync(&f, &c.faults.1);

    let d = f.sync_device();
    let summary = d.run(&mut |_| {}).unwrap();
    prop_assert!(summary.completed, "{summary:?}");
    prop_assert_eq!(summary.errors, 0);
    let plan = d.plan().unwrap();
    prop_assert!(plan.is_noop(), "a clean resync converges: {:?}", plan.ops);

    let files = f.content_files();
    for (p, bytes) in &user {
        prop_assert_eq!(files.get(p), Some(bytes), "user file {} untouched", p);
    }
    let lib = f.library.read().unwrap();
    let mut expected: BTreeMap<String, Vec<u8>> = user.clone();
    for (id, path) in &plan.placed {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut lib.open(*id).unwrap(), &mut bytes).unwrap();
        expected.insert(path.clone(), bytes);
    }
    for (p, bytes) in &files {
        prop_assert!(
            !p.rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with(".wmdm-sync-") && n.ends_with(".part")),
            "temporary file {}",
            p
        );
        if p.starts_with("Playlists/") {
            continue;
        }
        prop_assert_eq!(
            expected.get(p),
            Some(bytes),
            "unexpected or wrong file {}",
            p
        );
    }
    for p in expected.keys() {
        prop_assert!(files.contains_key(p), "missing {}", p);
    }
    let playlists = files.keys().filter(|p| p.starts_with("Playlists/")).count();
    let selected = lib
        .playlists()
        .iter()
        .filter(|p| p.sync.priority(1) != 0)
        .count();
    prop_assert_eq!(playlists, selected);
    drop(lib);
    prop_assert_eq!(library_fingerprint(&f.library.read().unwrap()), before);
    for p in f.device.files().keys() {
        prop_assert!(
            !p.ends_with(".new")
                && !p
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with(".wmdm-sync-") && n.ends_with(".part")),
            "left behind {}",
            p
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn faults_then_one_clean_resync_converge(c in case()) {
        check(&c)?;
    }
}

/// A finished sync is a fixed point: after each clean run (a first sync, then a resync of
/// another selection, which deletes what is no longer selected on a device that may be too
/// small), the next plan has nothing to do (no copy, no delete, no playlist). The state room
/// (J2) once counted the ledger as it was before the deletes, so the run after a resync that
/// deleted could find more room and copy more: seed 233 of the crash simulation found that
/// (its own test is the regression; these cases did not hit it in 96 runs on the old rule),
/// and this property keeps the rule in general.
fn check_fixed_point(c: &Case) -> Result<(), TestCaseError> {
    let f = fixture_partnered_device(0, 0, c.capacity);
    {
        let mut lib = f.lib();
        for (i, (size, artist)) in c.sizes.iter().zip(&c.artists).enumerate() {
            let id = i as u64 + 1;
            lib.add_track(
                track(id, &format!("Artist {artist}"), "Album"),
                content(id, *size),
            );
        }
    }
    let d = f.sync_device();
    for lists in [&c.lists, &c.second_lists, &c.lists] {
        set_selection(&mut f.lib(), lists);
        let s = d.run(&mut |_| {}).unwrap();
        prop_assert!(s.completed && s.errors == 0, "{:?}", s);
        let plan = d.plan().unwrap();
        prop_assert!(plan.is_noop(), "not a fixed point: {:?}", plan.ops);
    }
    Ok(())
}

/// Libraries whose first selection is the whole library and whose second is a part of it, on
/// a device from too small to roomy: a resync that deletes tracks no longer selected while
/// some selected ones do not fit, the shape seed 233 had.
fn shrinking_case() -> impl Strategy<Value = Case> {
    (6usize..14).prop_flat_map(|n| {
        (
            prop::collection::vec(200usize..2500, n),
            prop::collection::vec(0u8..3, n),
            prop::collection::vec(0..n, 3..n),
            16_000u64..48_000,
        )
            .prop_map(move |(sizes, artists, second, capacity)| Case {
                sizes,
                artists,
                lists: vec![((0..n).collect(), 1)],
                second_lists: vec![(second, 1)],
                user_files: Vec::new(),
                capacity,
                faults: (Fault::None, Fault::None),
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn a_finished_sync_is_a_fixed_point(c in case()) {
        check_fixed_point(&c)?;
    }

    #[test]
    fn a_resync_that_deletes_on_a_small_device_is_a_fixed_point(c in shrinking_case()) {
        check_fixed_point(&c)?;
    }
}

#[test]
fn the_fixture_builds_managers_cheaply() {
    // Guards the property's cost: building a fixture must not generate keys.
    let t = std::time::Instant::now();
    let _ = fixture_new_device(1, 1, 1 << 16);
    let _ = Arc::new(RwLock::new(MemoryLibrary::new()));
    let _ = MemoryProvider::new();
    assert!(t.elapsed().as_secs() < 5);
}
