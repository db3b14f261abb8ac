//! Recovery from interrupted syncs (docs/sync.md, invariants J1-J9): plans never write, the
//! journal comes first, recovery touches only what the disk confirms is the sync's own.

mod common;

use common::sync::*;
use wmdm::Error;
use wmdm::library::{Library, PlaylistKind, TrackId};
use wmdm::providers::memory::{FaultPlan, Operation};
use wmdm::sync::{
    CommitRecord, Committed, Journal, JournalOp, Ledger, LedgerEntry, LeftAloneReason, OwnedKind,
    SyncDevice, SyncEvent, SyncItem, SyncServices, SyncState, temp_name,
};

/// The device's sync key: its serial (partnerships follow the device, not a path).
const KEY: &str = "S1";

/// Everything on the device: paths, bytes, and each object's attributes and dates.
fn everything(f: &Fixture) -> String {
    format!("{:?}{:?}", f.device.snapshot(), f.device.files())
}

/// A fresh process: new services (and so a new engine) over the same state folder, as after
/// `kill -9`. The old services are dropped with whatever their engine held.
fn restart(f: &Fixture) -> (SyncServices, SyncDevice) {
    f.device.clear_faults();
    f.device.reconnect();
    let s = services(&f.manager, &f.library, f.state.path(), "Home", &f.clock);
    s.poll().unwrap();
    let d = s.device_by_key(KEY).unwrap();
    (s, d)
}

fn state_file(f: &Fixture, prefix: &str) -> Option<String> {
    f.device
        .files()
        .into_keys()
        .find(|p| p.starts_with(&format!(".wmdm-sync/{prefix}")))
}

fn library_id(f: &Fixture) -> String {
    ledger(f).library_id
}

/// The fixture library's own ledger on the device.
fn ledger(f: &Fixture) -> Ledger {
    find_ledger(f.device.files(), Some(&f.services.library_id()))
        .expect("a readable ledger")
        .expect("a ledger")
        .1
}

fn is_temp(p: &str) -> bool {
    p.rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with(".wmdm-sync-") && n.ends_with(".part"))
}

fn track_copies(f: &Fixture, i: u64, size: usize) -> usize {
    f.content_files()
        .values()
        .filter(|b| **b == content(i, size))
        .count()
}

#[test]
fn plan_and_estimates_leave_an_interrupted_device_byte_for_byte_unchanged() {
    let f = fixture_partnered_device(6, 3000, 1 << 20);
    let all = f.select("All", &[1, 2, 3, 4, 5, 6], 1);
    let d = f.sync_device();
    // The batch's commit record is written (two renames: the journal's, the record's), two
    // files are renamed into place, and the plug is pulled on the third.
    f.device
        .set_fault_plan(FaultPlan::new().disconnect_on_nth(Operation::Rename, 5));
    d.start().unwrap();
    while d.step() {}
    assert_eq!(d.sync_state(), SyncState::Stopped);
    let (_s, d) = restart(&f);
    assert!(state_file(&f, "journal-").is_some(), "an interrupted sync");
    assert!(
        state_file(&f, "commit-").is_some(),
        "with a committed batch"
    );
    assert!(
        f.device.files().keys().any(|p| is_temp(p)),
        "and temporary files"
    );
    let before = everything(&f);
    let plan = d.plan().unwrap();
    let estimate = d
        .plan_estimate(
            None,
            Some(&f.library.read().unwrap().playlist(all).unwrap().clone()),
        )
        .unwrap();
    assert_eq!(everything(&f), before, "plan() and estimates wrote nothing");
    // The plan already sees the recovered state: the files renamed into place are owned.
    assert_eq!(plan.totals.copies, 4, "{:?}", plan.totals);
    assert_eq!(estimate.totals.copies, 4);
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed && s.left_alone.is_empty(), "{s:?}");
    assert_eq!(s.copied, 4);
    for i in 1..=6 {
        assert_eq!(track_copies(&f, i, 3000), 1, "track {i} exactly once");
    }
    assert!(!f.device.files().keys().any(|p| is_temp(p)));
    assert!(state_file(&f, "journal-").is_none() && state_file(&f, "commit-").is_none());
    assert!(d.plan().unwrap().is_noop());
}

/// Fills a device so that a sync's journal no longer fits, then asks it to make room.
#[test]
fn a_journal_that_cannot_be_written_changes_nothing_and_says_so() {
    let f = fixture_partnered_device(10, 10_000, 130_000);
    f.select("All", &(1..=10).collect::<Vec<_>>(), 1);
    let d = f.sync_device();
    assert_eq!(d.run(&mut |_| {}).unwrap().copied, 10);
    // A larger reserve puts the partnership over its quota (it must evict several tracks),
    // and another program fills the device: there is no room left even for the journal.
    d.set_item_info("PercentSpaceReserved", "30").unwrap();
    let free = {
        let used = f.device.used_bytes(0);
        130_000 - used
    };
    f.device
        .put_file(
            "other/big.bin",
            vec![7u8; usize::try_from(free - 10).unwrap()],
        )
        .unwrap();
    // The kill comes at the second create: before this change the sync deleted a track after
    // its journal failed, then died retrying the journal, leaving a track deleted without a
    // trace. Now no delete may happen at all.
    f.device
        .set_fault_plan(FaultPlan::new().disconnect_on_nth(Operation::Create, 2));
    f.drain();
    let before = everything(&f);
    assert_eq!(d.start(), Err(Error::DiskFull));
    assert_ne!(d.sync_state(), SyncState::Synchronizing);
    assert_eq!(everything(&f), before, "nothing changed");
    let named = f.drain().into_iter().any(|e| {
        matches!(e, SyncEvent::DeviceSyncError { item: SyncItem::DeviceObject(p), error, .. }
            if error == Error::DiskFull && p.starts_with(".wmdm-sync/journal-"))
    });
    assert!(named, "the error names the journal");
    // The next run (a new process) takes none of the tracks for the user's deletes.
    let (_s, d) = restart(&f);
    let plan = d.plan().unwrap();
    assert!(plan.newly_skipped.is_empty(), "{:?}", plan.newly_skipped);
}

#[test]
fn a_kill_while_deleting_over_quota_never_makes_skipped_files() {
    let f = fixture_partnered_device(10, 10_000, 122_000);
    f.select("All", &(1..=10).collect::<Vec<_>>(), 1);
    let d = f.sync_device();
    assert_eq!(d.run(&mut |_| {}).unwrap().copied, 10);
    // Over its quota: half the device reserved, so about half the tracks are evicted.
    d.set_item_info("PercentSpaceReserved", "50").unwrap();
    f.device
        .set_fault_plan(FaultPlan::new().disconnect_on_nth(Operation::Delete, 3));
    d.start().unwrap();
    while d.step() {}
    let (s, d) = restart(&f);
    let summary = d.run(&mut |_| {}).unwrap();
    assert!(summary.completed, "{summary:?}");
    assert!(summary.newly_skipped.is_empty(), "{summary:?}");
    assert_eq!(d.item_info("SkippedFiles").unwrap(), "0");
    assert!(summary.no_fit > 0, "{summary:?}");
    // The reserve lifted, every track comes back: none was skipped for good.
    d.set_item_info("PercentSpaceReserved", "0").unwrap();
    let back = d.run(&mut |_| {}).unwrap();
    assert!(
        back.completed && back.no_fit == 0 && back.skipped == 0,
        "{back:?}"
    );
    for i in 1..=10 {
        assert_eq!(track_copies(&f, i, 10_000), 1, "track {i}");
    }
    drop(s);
}

fn damaged_journal(f: &Fixture, ops: Vec<JournalOp>, session: u64) {
    let lib = library_id(f);
    let j = Journal {
        library_id: lib.clone(),
        index: 1,
        session,
        ops,
    };
    let name = format!(".wmdm-sync/journal-{lib}.txt");
    f.device.put_file(&name, j.encode()).unwrap();
}

fn planned(path: &str) -> LedgerEntry {
    LedgerEntry {
        path: path.into(),
        unique_id: String::new(),
        kind: OwnedKind::Track,
        id: 99,
        hash: [1; 20],
        size: 4,
        meta: 0,
        source_size: 4,
        source_mtime: 0,
        plays: 0,
        rating: 0,
        seen: None,
        fingerprint: None,
    }
}

#[test]
fn a_damaged_journal_naming_a_users_file_neither_deletes_nor_adopts_it() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    let a = f.select("A", &[1, 2], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    f.device
        .put_file("Music/mine.mp3", b"mine".to_vec())
        .unwrap();
    f.device
        .put_file("Music/yours.mp3", b"your".to_vec())
        .unwrap();
    let session = 0x1234_5678_9abc_def0;
    // The user's file as a temporary name: the journal is refused as a whole.
    let mut text = String::from_utf8(
        Journal {
            library_id: library_id(&f),
            index: 1,
            session,
            ops: vec![JournalOp::Put {
                temp: format!("Music/{}", temp_name(session, 0)),
                replaces: None,
                entry: planned("Music/x.mp3"),
            }],
        }
        .encode(),
    )
    .unwrap();
    text = text.replace(&temp_name(session, 0), "mine.mp3");
    let lib = library_id(&f);
    f.device
        .put_file(&format!(".wmdm-sync/journal-{lib}.txt"), text.into_bytes())
        .unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(f.device.read_file("Music/mine.mp3").unwrap(), b"mine");
    assert_eq!(
        s.left_alone.first().map(|l| l.reason),
        Some(LeftAloneReason::UnreadableState),
        "{s:?}"
    );
    // A well-formed journal whose put names a user's file as its final name, once without a
    // commit record and once with one that does not match it: neither is adopted.
    damaged_journal(
        &f,
        vec![
            JournalOp::Put {
                temp: format!("Music/{}", temp_name(session, 0)),
                replaces: None,
                entry: planned("Music/mine.mp3"),
            },
            JournalOp::Put {
                temp: format!("Music/{}", temp_name(session, 1)),
                replaces: None,
                entry: planned("Music/yours.mp3"),
            },
        ],
        session,
    );
    let record = CommitRecord {
        session,
        files: vec![Committed {
            temp: format!("Music/{}", temp_name(session, 1)),
            path: "Music/yours.mp3".into(),
            size: 4,
            unique_id: String::new(),
            fingerprint: [0; 20],
            hash: None,
        }],
    };
    f.device
        .put_file(&format!(".wmdm-sync/commit-{lib}-0.txt"), record.encode())
        .unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    let reasons: Vec<_> = s
        .left_alone
        .iter()
        .map(|l| (l.path.as_str(), l.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("Music/mine.mp3", LeftAloneReason::Unconfirmed),
            ("Music/yours.mp3", LeftAloneReason::Mismatch)
        ]
    );
    assert!(!ledger(&f).entries.contains_key("Music/mine.mp3"));
    assert!(!ledger(&f).entries.contains_key("Music/yours.mp3"));
    // Unselecting everything deletes the sync's files only.
    f.lib().remove_playlist(a);
    d.run(&mut |_| {}).unwrap();
    assert_eq!(f.device.read_file("Music/mine.mp3").unwrap(), b"mine");
    assert_eq!(f.device.read_file("Music/yours.mp3").unwrap(), b"your");
    assert_eq!(f.content_files().len(), 2, "{:?}", f.content_files().keys());
}

#[test]
fn a_users_file_named_like_a_temporary_file_is_never_deleted_or_hidden() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    let a = f.select("A", &[1, 2], 1);
    let mine = [
        "Music/.wmdm-tmp-mine.part".to_owned(),
        format!("Music/{}", temp_name(1, 0)),
        "Music/x.mp3.wmdm-sync-part".to_owned(),
    ];
    for p in &mine {
        f.device.put_file(p, b"mine".to_vec()).unwrap();
    }
    let d = f.sync_device();
    for _ in 0..2 {
        d.run(&mut |_| {}).unwrap();
    }
    f.lib().remove_playlist(a);
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed);
    for p in &mine {
        assert_eq!(f.device.read_file(p).unwrap(), b"mine", "{p}");
    }
    // They count as the user's data in the budget: the plan sees them.
    let plan = d.plan().unwrap();
    assert!(plan.is_noop());
}

#[test]
fn a_ledger_line_with_an_empty_unique_id_never_deletes_a_users_file() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    let a = f.select("A", &[1, 2], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    f.device.put_file("Music/user.mp3", vec![5u8; 50]).unwrap();
    let mut l = ledger(&f);
    l.insert(LedgerEntry {
        size: 50,
        id: 1,
        ..planned("Music/user.mp3")
    });
    let p = state_file(&f, "ledger-").unwrap();
    f.device.put_file(&p, l.encode()).unwrap();
    f.lib().remove_playlist(a);
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed, "{s:?}");
    assert_eq!(f.device.read_file("Music/user.mp3").unwrap(), vec![5u8; 50]);
    assert!(s.newly_skipped.is_empty());
}

#[test]
fn a_playlist_rewrite_interrupted_between_delete_and_rename_stays_owned() {
    let f = fixture_partnered_device(3, 100, 1 << 20);
    let a = f.select("A", &[1, 2], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    assert!(ledger(&f).entries.contains_key("Playlists/A.m3u8"));
    // A new track in the playlist: the copy and the playlist's rewrite form one batch.
    if let Some(PlaylistKind::Static(ids)) = f.lib().playlist_mut(a).map(|p| &mut p.kind) {
        ids.push(TrackId(3));
    }
    // Renames: the journal's, the commit record's, the copy's, then the playlist's.
    f.device
        .set_fault_plan(FaultPlan::new().disconnect_on_nth(Operation::Rename, 4));
    d.start().unwrap();
    while d.step() {}
    let files = f.device.files();
    assert!(
        !files.contains_key("Playlists/A.m3u8"),
        "interrupted after the delete"
    );
    assert!(
        files
            .keys()
            .any(|p| p.starts_with("Playlists/") && is_temp(p))
    );
    let (_s, d) = restart(&f);
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed && s.newly_skipped.is_empty(), "{s:?}");
    assert!(f.device.files().contains_key("Playlists/A.m3u8"));
    assert!(ledger(&f).entries.contains_key("Playlists/A.m3u8"), "owned");
    // Owned, so unselecting it deletes it: it is not left forever.
    f.lib().remove_playlist(a);
    d.run(&mut |_| {}).unwrap();
    assert!(!f.device.files().contains_key("Playlists/A.m3u8"));
}

#[test]
fn a_lone_complete_ledger_twin_survives_a_second_interruption() {
    let f = fixture_partnered_device(4, 100, 1 << 20);
    let a = f.select("A", &[1, 2, 3], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    // The last ledger write got as far as deleting the old file: only the `.new` is left.
    let p = state_file(&f, "ledger-").unwrap();
    let bytes = f.device.read_file(&p).unwrap();
    f.device.put_file(&format!("{p}.new"), bytes).unwrap();
    f.device
        .handle(&p)
        .unwrap()
        .delete(false, &mut wmdm::provider::NoProgress)
        .unwrap();
    // A new track, so the next sync writes the journal, the track, the playlist, the commit
    // record, then the ledger: it is killed while writing the ledger, after the lone twin
    // was dealt with.
    if let Some(PlaylistKind::Static(ids)) = f.lib().playlist_mut(a).map(|p| &mut p.kind) {
        ids.push(TrackId(4));
    }
    f.device
        .set_fault_plan(FaultPlan::new().disconnect_on_nth(Operation::Write, 5));
    let _ = d.run(&mut |_| {});
    let (_s, d) = restart(&f);
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed && s.copied == 0, "{s:?}");
    assert!(!f.content_files().keys().any(|p| p.contains("(2)")));
    assert!(
        !f.device.files().keys().any(|p| p.ends_with(".new")),
        "{:?}",
        f.device.files().keys()
    );
}

#[test]
fn an_owned_playlist_at_a_numbered_name_stays_there() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    // The user's file takes the playlist's name, so the sync writes "Mix (2)".
    f.device
        .put_file("Playlists/Mix.m3u8", b"#EXTM3U\n".to_vec())
        .unwrap();
    let mix = f.select("Mix", &[1], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    assert!(f.device.files().contains_key("Playlists/Mix (2).m3u8"));
    if let Some(PlaylistKind::Static(ids)) = f.lib().playlist_mut(mix).map(|p| &mut p.kind) {
        ids.push(TrackId(2));
    }
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.playlists_written, s.deleted), (1, 0), "{s:?}");
    assert!(f.device.files().contains_key("Playlists/Mix (2).m3u8"));
    assert!(!f.device.files().contains_key("Playlists/Mix (3).m3u8"));
    assert!(d.plan().unwrap().is_noop());
}

/// Library B with its own copies of tracks 1-4 (the same bytes and tags as A's), in its own
/// state folder.
fn second_library(
    f: &Fixture,
) -> (
    std::sync::Arc<std::sync::RwLock<wmdm::library::MemoryLibrary>>,
    tempfile::TempDir,
    SyncServices,
) {
    let mut lib = wmdm::library::MemoryLibrary::new();
    for i in 1..=4 {
        lib.add_track(
            track(i, &format!("Artist {}", i % 3), "Album"),
            content(i, 3000),
        );
    }
    let mut p = wmdm::library::Playlist::new_static("Office", (1..=4).map(TrackId).collect());
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let lib = std::sync::Arc::new(std::sync::RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let s = services(&f.manager, &lib, state.path(), "Office", &f.clock);
    (lib, state, s)
}

fn numbered(f: &Fixture) -> Vec<String> {
    f.content_files()
        .into_keys()
        .filter(|p| p.contains(" (2)"))
        .collect()
}

#[test]
fn takeover_adopts_identical_files_and_the_first_library_returns_to_its_own() {
    let f = fixture_partnered_device(6, 3000, 1 << 20);
    f.select("Home", &[1, 2, 3, 4, 5, 6], 1);
    let a = f.sync_device();
    assert_eq!(a.run(&mut |_| {}).unwrap().copied, 6);
    // B takes the device over: its first plan adopts A's byte-identical files at the paths
    // it would write, and says so.
    let (_lib, _state, b) = second_library(&f);
    let bd = b.device_by_key(KEY).unwrap();
    bd.create_partnership().unwrap();
    b.poll().unwrap();
    let plan = bd.plan().unwrap();
    assert_eq!(
        (plan.totals.adoptions, plan.totals.copies),
        (4, 0),
        "{:?}",
        plan.totals
    );
    assert!(
        plan.ops
            .iter()
            .any(|o| matches!(o, wmdm::sync::SyncOp::Adopt { .. }))
    );
    let s = bd.run(&mut |_| {}).unwrap();
    assert_eq!((s.adopted, s.copied), (4, 0), "{s:?}");
    assert!(numbered(&f).is_empty(), "{:?}", numbered(&f));
    assert!(bd.plan().unwrap().is_noop());
    // A's ledger is still on the device, untouched by B.
    let lib_a = f
        .device
        .files()
        .into_keys()
        .filter(|p| p.starts_with(".wmdm-sync/ledger-"))
        .count();
    assert_eq!(lib_a, 2, "one ledger per library");
    // A comes back: its files are its own, nothing is copied.
    f.services.poll().unwrap();
    let d = f.sync_device();
    d.create_partnership().unwrap();
    f.services.poll().unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed, "{s:?}");
    assert_eq!((s.copied, s.deleted), (0, 0), "{s:?}");
    assert!(numbered(&f).is_empty(), "{:?}", numbered(&f));
    for i in 1..=6 {
        assert_eq!(track_copies(&f, i, 3000), 1, "track {i} once");
    }
    assert!(d.plan().unwrap().is_noop());
}

#[test]
fn the_fingerprint_covers_the_size_and_both_ends_read_through_the_manager() {
    use sha1::Digest;
    let f = fixture_partnered_device(0, 0, 1 << 20);
    let big: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let small = b"tiny".to_vec();
    f.device.put_file("a/big.bin", big.clone()).unwrap();
    f.device.put_file("a/small.bin", small.clone()).unwrap();
    let root = f.manager.devices().unwrap()[0]
        .storages()
        .unwrap()
        .remove(0);
    let folder = root.child("a").unwrap();
    let expect = |parts: &[&[u8]], size: usize| -> [u8; 20] {
        let mut h = sha1::Sha1::new();
        h.update((size as u64).to_le_bytes());
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    };
    let got = wmdm::sync::fingerprint_of(&folder.child("big.bin").unwrap()).unwrap();
    assert_eq!(got, expect(&[&big[..4096], &big[20_000 - 4096..]], 20_000));
    let got = wmdm::sync::fingerprint_of(&folder.child("small.bin").unwrap()).unwrap();
    assert_eq!(got, expect(&[&small], 4));
    // One byte changed in the middle is outside the fingerprint; at either end it is not.
    let mut end = big.clone();
    end[19_999] ^= 1;
    f.device.put_file("a/end.bin", end).unwrap();
    let other = wmdm::sync::fingerprint_of(&folder.child("end.bin").unwrap()).unwrap();
    assert_ne!(
        other,
        expect(&[&big[..4096], &big[20_000 - 4096..]], 20_000)
    );
}

#[test]
fn an_older_versions_single_ledger_is_migrated_when_it_is_the_librarys() {
    let f = fixture_partnered_device(3, 100, 1 << 20);
    f.select("A", &[1, 2, 3], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    // As an older version left it: one `ledger.txt`.
    let p = state_file(&f, "ledger-").unwrap();
    let bytes = f.device.read_file(&p).unwrap();
    f.device.put_file(".wmdm-sync/ledger.txt", bytes).unwrap();
    f.device
        .handle(&p)
        .unwrap()
        .delete(false, &mut wmdm::provider::NoProgress)
        .unwrap();
    assert!(
        d.plan().unwrap().is_noop(),
        "the old ledger is this library's"
    );
    // A change makes the sync write its ledger under the new name.
    f.select("B", &[1], 2);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.deleted), (0, 0), "{s:?}");
    assert!(state_file(&f, "ledger-").is_some());
    assert!(d.plan().unwrap().is_noop());
    // Another library's old ledger is not taken: it owns nothing here.
    let (_lib, _state, b) = second_library(&f);
    let bd = b.device_by_key(KEY).unwrap();
    bd.create_partnership().unwrap();
    b.poll().unwrap();
    let plan = bd.plan().unwrap();
    assert_eq!(plan.totals.deletes, 0);
}

/// The shared test helpers the crash simulations check temporary files and ledgers with: a
/// helper that recognised nothing would make those checks pass vacuously.
#[test]
fn the_test_helpers_recognise_temporary_names_and_ledgers() {
    assert!(is_sync_temp(&format!("Music/A/{}", temp_name(u64::MAX, 3))));
    assert!(is_sync_temp(&temp_name(0, 0)));
    for user in [
        "Music/.wmdm-sync-mine.part",
        "Music/mine.mp3.wmdm-sync-part",
        "Music/.wmdm-tmp-mine.part",
        "Music/.wmdm-sync-0123456789abcdeg-00000000.part",
    ] {
        assert!(!is_sync_temp(user), "{user}");
    }
    let f = fixture_partnered_device(2, 3000, 1 << 20);
    f.select("All", &[1, 2], 1);
    assert_eq!(f.sync_device().run(&mut |_| {}).unwrap().copied, 2);
    let own = f.services.library_id();
    let (path, l) = find_ledger(f.device.files(), Some(&own)).unwrap().unwrap();
    assert!(path.starts_with(".wmdm-sync/ledger-"), "{path}");
    assert_eq!(l.entries.len(), 3, "two tracks and the playlist");
    assert_eq!(find_ledger(f.device.files(), Some("another")), Ok(None));
    // A lone `.new` twin is read as the ledger, as the sync reads it.
    let mut files = f.device.files();
    let bytes = files.remove(&path).unwrap();
    files.insert(format!("{path}.new"), bytes);
    assert_eq!(find_ledger(files, None).unwrap().unwrap().1, l);
}

/// An older version (before per-session temporary names) interrupted: its `journal.txt`
/// records puts through `<path>.wmdm-sync-part`. Recovery deletes such a temporary file only
/// when the library's own old journal records it at exactly its size; a recorded one of
/// another size, a user's file named like one, and everything under another library's old
/// journal stay. A plan touches nothing.
#[test]
fn an_older_versions_journal_removes_only_its_own_temporaries_at_their_size() {
    let line = |path: &str, size: u64| {
        format!(
            "put\t{path}.wmdm-sync-part\t\tt\t{path}\t\t0000000000000009\t{}\t{size}\t0000000000000000\t{size}\t0\t0\t0\n",
            "01".repeat(20)
        )
    };
    let journal = |library: &str| {
        format!(
            "wmdm-sync-journal 1\nlibrary={library}\nindex=1\n{}{}del\tMusic/gone.mp3\n",
            line("Music/x.mp3", 300),
            line("Music/y.mp3", 300)
        )
    };
    let f = fixture_partnered_device(2, 100, 1 << 20);
    f.select("A", &[1, 2], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    let put = |p: &str, n: usize| f.device.put_file(p, vec![7; n]).unwrap();
    // Another library's old journal: nothing it names is touched, and it stays.
    f.device
        .put_file(".wmdm-sync/journal.txt", journal("another").into_bytes())
        .unwrap();
    put("Music/x.mp3.wmdm-sync-part", 300);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    assert!(f.device.files().contains_key("Music/x.mp3.wmdm-sync-part"));
    assert!(f.device.files().contains_key(".wmdm-sync/journal.txt"));
    // This library's.
    f.device
        .handle(".wmdm-sync/journal.txt")
        .unwrap()
        .delete(false, &mut wmdm::provider::NoProgress)
        .unwrap();
    f.device
        .put_file(
            ".wmdm-sync/journal.txt",
            journal(&f.services.library_id()).into_bytes(),
        )
        .unwrap();
    put("Music/y.mp3.wmdm-sync-part", 100);
    put("Music/z.mp3.wmdm-sync-part", 300);
    let before = everything(&f);
    let plan = d.plan().unwrap();
    assert_eq!(everything(&f), before, "a plan wrote");
    assert!(plan.is_noop(), "{:?}", plan.ops);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    let files = f.device.files();
    assert!(
        !files.contains_key("Music/x.mp3.wmdm-sync-part"),
        "its own temporary file stays"
    );
    assert_eq!(files["Music/y.mp3.wmdm-sync-part"].len(), 100);
    assert_eq!(files["Music/z.mp3.wmdm-sync-part"].len(), 300);
    assert!(!files.contains_key(".wmdm-sync/journal.txt"));
    assert!(
        s.left_alone
            .iter()
            .any(|l| l.path == "Music/y.mp3.wmdm-sync-part"
                && l.reason == LeftAloneReason::Unconfirmed),
        "{:?}",
        s.left_alone
    );
    assert!(d.plan().unwrap().is_noop());
}
