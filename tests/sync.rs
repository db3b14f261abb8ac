//! Sync scenarios on the simulated device: partnerships, first sync, no-op resync, tag edits,
//! removed playlists, full devices, reserve, stop and resume, disconnects, contention, events.

mod common;

use std::sync::Arc;

use common::sync::*;
use wmdm::Error;
use wmdm::library::{Library, Playlist, TrackId};
use wmdm::metadata::{Metadata, tags};
use wmdm::providers::memory::{FaultPlan, MemoryDevice, MemoryProvider, Operation};
use wmdm::sync::{LeftOutReason, SyncDeviceStatus, SyncEvent, SyncItem, SyncState};

const KEY: &str = "S1";

fn no_temp_files(d: &MemoryDevice) {
    for p in d.files().keys() {
        assert!(
            !p.rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with(".wmdm-sync-") && n.ends_with(".part"))
                && !p.ends_with(".new"),
            "left behind: {p}"
        );
    }
}

#[test]
fn a_new_device_partners_asynchronously_with_exact_events() {
    let f = fixture_new_device(3, 100, 1 << 20);
    let d = f.sync_device();
    assert_eq!(d.status(), SyncDeviceStatus::NewDevice);
    assert_eq!(d.partnership_index(), 0);
    d.create_partnership().unwrap();
    assert!(f.drain().is_empty(), "the call returns at once");
    f.services.poll().unwrap();
    assert_eq!(
        f.drain(),
        vec![
            SyncEvent::DeviceStatusChange {
                device: KEY.into(),
                status: SyncDeviceStatus::PartnershipExists
            },
            SyncEvent::CreatePartnershipComplete {
                device: KEY.into(),
                result: Ok(())
            },
        ]
    );
    assert_eq!(d.partnership_index(), 1);
    // A second call succeeds without an event.
    d.create_partnership().unwrap();
    f.services.poll().unwrap();
    assert!(f.drain().is_empty());
    let marker = f.device.read_file(".wmdm-sync/partnership.txt").unwrap();
    assert!(String::from_utf8(marker).unwrap().contains("index=1"));
}

#[test]
fn first_sync_copies_the_selection_and_writes_playlists_with_relative_paths() {
    let f = fixture_partnered_device(3, 1000, 1 << 20);
    f.select("Mix", &[1, 2], 1);
    let d = f.sync_device();
    let mut seen = Vec::new();
    let s = d.run(&mut |p| seen.push(p)).unwrap();
    assert_eq!(
        (s.copied, s.deleted, s.errors, s.playlists_written),
        (2, 0, 0, 1)
    );
    assert_eq!(
        s.bytes_copied,
        2000 + f.content_files()["Playlists/Mix.m3u8"].len() as u64
    );
    assert!(s.completed);
    assert_eq!(seen.last(), Some(&100));
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {seen:?}"
    );
    let files = f.content_files();
    assert_eq!(
        files["Music/Artist 1/Album/01 Song 1.mp3"],
        content(1, 1000)
    );
    assert_eq!(
        files["Music/Artist 2/Album/02 Song 2.mp3"],
        content(2, 1000)
    );
    let m3u = String::from_utf8(files["Playlists/Mix.m3u8"].clone()).unwrap();
    assert!(
        m3u.contains("../Music/Artist 1/Album/01 Song 1.mp3"),
        "{m3u}"
    );
    assert!(!m3u.contains("03"), "only entries on the device");
    assert_eq!(d.item_info("SyncItemCount").unwrap(), "2");
    assert_eq!(d.item_info("LastSyncErrorCount").unwrap(), "0");
    assert_eq!(d.sync_state(), SyncState::Stopped);
    assert_eq!(
        f.drain(),
        vec![
            SyncEvent::DeviceSyncStateChange {
                device: KEY.into(),
                state: SyncState::Synchronizing
            },
            SyncEvent::DeviceSyncStateChange {
                device: KEY.into(),
                state: SyncState::Stopped
            },
        ]
    );
    no_temp_files(&f.device);
}

#[test]
fn a_noop_resync_copies_and_writes_nothing() {
    let f = fixture_partnered_device(4, 500, 1 << 20);
    f.select("All", &[1, 2, 3, 4], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    assert!(d.plan().unwrap().is_noop());
    // The first resync reads every copied object's play count once and records its change
    // marker in the ledger; from then on a resync writes nothing.
    d.run(&mut |_| {}).unwrap();
    f.device.reset_stats();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (
            s.copied,
            s.updated,
            s.deleted,
            s.playlists_written,
            s.bytes_copied
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(f.device.stats().bytes_written, 0);
    assert_eq!(f.device.stats().calls(Operation::Write), 0);
}

#[test]
fn a_tag_edit_updates_metadata_without_a_recopy() {
    let f = fixture_partnered_device(2, 800, 1 << 20);
    f.select("Mix", &[1, 2], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    let path = "Music/Artist 1/Album/01 Song 1.mp3";
    let before = f.device.snapshot()[path].unique_id.clone();
    f.lib().track_mut(TrackId(1)).unwrap().title = "Renamed".into();
    let plan = d.plan().unwrap();
    assert_eq!(plan.totals.metadata_updates, 1);
    assert_eq!((plan.totals.copies, plan.totals.replaces), (0, 0));
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.updated), (0, 1));
    let after = &f.device.snapshot()[path];
    assert_eq!(after.unique_id, before, "same object: not re-copied");
    let meta = f.device.handle(path).unwrap().metadata().unwrap();
    assert_eq!(meta.get_str(tags::TITLE), Some("Renamed"));
    // The playlist's title line changed, so it is rewritten; the track bytes are not.
    assert_eq!(
        s.bytes_copied,
        f.content_files()["Playlists/Mix.m3u8"].len() as u64
    );
}

#[test]
fn changed_bytes_replace_the_owned_file() {
    let f = fixture_partnered_device(1, 300, 1 << 20);
    f.select("Mix", &[1], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    f.lib().set_content(TrackId(1), content(99, 400)).unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.updated), (0, 1));
    assert_eq!(
        f.content_files()["Music/Artist 1/Album/01 Song 1.mp3"],
        content(99, 400)
    );
    no_temp_files(&f.device);
}

#[test]
fn a_removed_playlist_deletes_its_exclusive_tracks_only_and_never_user_files() {
    let f = fixture_partnered_device(3, 200, 1 << 20);
    let a = f.select("A", &[1, 2], 1);
    f.select("B", &[2, 3], 2);
    f.device
        .put_file("Music/mine.mp3", b"my own".to_vec())
        .unwrap();
    // The user's file sits exactly where track 1 would go.
    f.device
        .put_file("Music/Artist 1/Album/01 Song 1.mp3", b"user bytes".to_vec())
        .unwrap();
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    let files = f.content_files();
    assert_eq!(files["Music/Artist 1/Album/01 Song 1.mp3"], b"user bytes");
    assert_eq!(
        files["Music/Artist 1/Album/01 Song 1 (2).mp3"],
        content(1, 200)
    );
    f.lib().remove_playlist(a);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.deleted, 2, "track 1 and playlist A");
    let files = f.content_files();
    assert!(!files.contains_key("Music/Artist 1/Album/01 Song 1 (2).mp3"));
    assert!(!files.contains_key("Playlists/A.m3u8"));
    assert!(
        files.contains_key("Music/Artist 2/Album/02 Song 2.mp3"),
        "shared track kept"
    );
    assert!(files.contains_key("Music/Artist 0/Album/03 Song 3.mp3"));
    assert_eq!(files["Music/mine.mp3"], b"my own");
    assert_eq!(
        files["Music/Artist 1/Album/01 Song 1 (2).mp3"
            .replace(" (2)", "")
            .as_str()],
        b"user bytes"
    );
}

#[test]
fn a_full_device_fills_by_priority_and_reports_no_fit() {
    // 110,000 bytes of room; tracks of 30000 bytes: three fit (plus playlists and sync's
    // state room, 16 KiB for eight selected items).
    let f = fixture_partnered_device(6, 30_000, 110_000);
    f.select("Low", &[4, 5, 6], 2);
    f.select("High", &[1, 2, 3], 1);
    let d = f.sync_device();
    let plan = d.plan().unwrap();
    let no_fit: Vec<TrackId> = plan
        .left_out
        .iter()
        .filter(|l| matches!(l.reason, LeftOutReason::NoFit { priority: 2, .. }))
        .map(|l| l.track)
        .collect();
    assert_eq!(no_fit, [TrackId(4), TrackId(5), TrackId(6)]);
    assert_eq!(d.engine().last_plan(), None, "no run yet");
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.no_fit), (3, 3));
    assert_eq!(d.item_info("LastSyncNoFitCount").unwrap(), "3");
    // The run's own plan says why, without planning again.
    assert_eq!(
        d.engine().last_plan().map(|p| p.left_out),
        Some(plan.left_out)
    );
    // Raising "Low" above "High" evicts High's tracks for Low's.
    {
        let mut lib = f.lib();
        for p in lib.playlists().to_vec() {
            let prio = if p.name == "Low" { 1 } else { 2 };
            lib.playlist_mut(p.id)
                .unwrap()
                .sync
                .set_priority(1, prio)
                .unwrap();
        }
    }
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.deleted), (3, 3));
    let files = f.content_files();
    assert!(files.contains_key("Music/Artist 1/Album/04 Song 4.mp3"));
    assert!(!files.contains_key("Music/Artist 1/Album/01 Song 1.mp3"));
}

#[test]
fn a_fifty_percent_reserve_is_honoured() {
    let f = fixture_partnered_device(10, 15_000, 200_000);
    f.select("All", &(1..=10).collect::<Vec<_>>(), 1);
    let d = f.sync_device();
    d.set_item_info("PercentSpaceReserved", "50").unwrap();
    assert_eq!(d.item_info("PercentSpaceReserved").unwrap(), "50");
    assert_eq!(
        d.set_item_info("PercentSpaceReserved", "96"),
        Err(Error::InvalidArg)
    );
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 5);
    assert!(f.device.used_bytes(0) <= 100_000, "the reserve holds");
    assert_eq!(d.item_info("LastSyncNoFitCount").unwrap(), "5");
}

#[test]
fn stop_midway_keeps_what_was_copied_and_start_finishes_without_recopying() {
    let f = fixture_partnered_device(6, 10_000, 1 << 20);
    f.select("All", &[1, 2, 3, 4, 5, 6], 1);
    let d = f.sync_device();
    d.start().unwrap();
    assert!(d.step());
    assert!(d.step());
    d.stop();
    assert_eq!(d.sync_state(), SyncState::Stopped);
    assert_eq!(f.content_files().len(), 2);
    no_temp_files(&f.device);
    f.device.reset_stats();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 4);
    assert!(
        f.device.stats().bytes_written < 5 * 10_000,
        "only the rest is copied"
    );
    assert_eq!(f.content_files().len(), 7);
}

#[test]
fn a_disconnect_mid_file_then_reconnect_resumes_with_no_partial_file() {
    // 70 tracks: the first batch of 64 is committed (its record carries each file's hash,
    // about 13 kB) before the plug is pulled in a later file.
    let f = fixture_partnered_device(70, 4000, 1 << 22);
    let all: Vec<u64> = (1..=70).collect();
    f.select("All", &all, 1);
    let d = f.sync_device();
    d.engine().set_options(wmdm::sync::SyncOptions {
        batch_files: 64,
        ..wmdm::sync::SyncOptions::default()
    });
    d.start().unwrap();
    assert!(d.step());
    f.device
        .set_fault_plan(FaultPlan::new().disconnect_after_bytes(65 * 4000 + 2000 + 20_000));
    while d.step() {}
    assert_eq!(d.sync_state(), SyncState::Stopped);
    f.device.clear_faults();
    f.device.reconnect();
    f.services.poll().unwrap();
    f.device.reset_stats();
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed);
    // Only what was not committed is written again (the batch after the first 64), plus
    // state files.
    assert!(
        f.device.stats().bytes_written < 6 * 4000 + 40_000,
        "committed files are not re-copied: {}",
        f.device.stats().bytes_written
    );
    assert_eq!(s.copied, 6, "{s:?}");
    let files = f.content_files();
    for i in 1..=70u64 {
        let hit = files
            .iter()
            .filter(|(_, b)| **b == content(i, 4000))
            .count();
        assert_eq!(hit, 1, "track {i} exactly once");
    }
    no_temp_files(&f.device);
    assert!(d.plan().unwrap().is_noop());
}

#[test]
fn a_failed_item_is_an_error_event_and_the_sync_goes_on() {
    let f = fixture_partnered_device(3, 100, 1 << 20);
    f.select("All", &[1, 2, 3], 1);
    let d = f.sync_device();
    // The second file's create fails.
    f.device
        .set_fault_plan(FaultPlan::new().fail_nth(Operation::Create, 3, Error::ProcessFailed));
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 1);
    assert_eq!(s.copied, 2);
    let events = f.drain();
    assert!(matches!(
        events.first(),
        Some(SyncEvent::DeviceSyncStateChange {
            state: SyncState::Synchronizing,
            ..
        })
    ));
    assert!(events.iter().any(|e| matches!(
        e,
        SyncEvent::DeviceSyncError {
            item: SyncItem::Track(_),
            error,
            ..
        } if *error == Error::ProcessFailed
    )));
    assert!(matches!(
        events.last(),
        Some(SyncEvent::DeviceSyncStateChange {
            state: SyncState::Stopped,
            ..
        })
    ));
    assert_eq!(d.item_info("LastSyncErrorCount").unwrap(), "1");
    f.device.clear_faults();
    assert_eq!(d.run(&mut |_| {}).unwrap().copied, 1);
}

#[test]
fn two_libraries_contend_for_one_device() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    f.select("Mix", &[1], 1);
    f.sync_device().run(&mut |_| {}).unwrap();
    let other_lib = Arc::new(std::sync::RwLock::new(wmdm::library::MemoryLibrary::new()));
    let other_state = tempfile::tempdir().unwrap();
    let b = services(
        &f.manager,
        &other_lib,
        other_state.path(),
        "Office",
        &f.clock,
    );
    let bd = b.device_by_key(KEY).unwrap();
    assert_eq!(bd.status(), SyncDeviceStatus::PartnershipAnother);
    assert_eq!(bd.item_info("SyncRelationship").unwrap(), "3");
    bd.create_partnership().unwrap();
    b.poll().unwrap();
    assert_eq!(bd.status(), SyncDeviceStatus::PartnershipExists);
    // The first library now sees the device partnered elsewhere.
    f.services.poll().unwrap();
    assert_eq!(
        f.sync_device().status(),
        SyncDeviceStatus::PartnershipAnother
    );
    assert!(f.drain().contains(&SyncEvent::DeviceStatusChange {
        device: KEY.into(),
        status: SyncDeviceStatus::PartnershipAnother
    }));
    assert_eq!(f.sync_device().start(), Err(Error::Unexpected));
    // The new owner's (empty) sync never deletes the old owner's files.
    let before = f.content_files();
    bd.run(&mut |_| {}).unwrap();
    assert_eq!(f.content_files(), before);
}

#[test]
fn sixteen_partnerships_and_a_seventeenth() {
    let clock = common::clock();
    let provider = Arc::new(MemoryProvider::new());
    let devices: Vec<MemoryDevice> = (0..17)
        .map(|i| player(&format!("D{i:02}"), 1 << 16))
        .collect();
    for d in &devices {
        provider.add_device(d.clone());
    }
    let manager = memory_manager(provider, &clock);
    let lib = Arc::new(std::sync::RwLock::new(wmdm::library::MemoryLibrary::new()));
    let state = tempfile::tempdir().unwrap();
    let s = services(&manager, &lib, state.path(), "Home", &clock);
    let rx = s.events().channel();
    for i in 0..17 {
        s.device(i).unwrap().create_partnership().unwrap();
    }
    s.poll().unwrap();
    let results: Vec<Result<(), Error>> = rx
        .try_iter()
        .filter_map(|e| match e {
            SyncEvent::CreatePartnershipComplete { result, .. } => Some(result),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 17);
    assert!(results[..16].iter().all(Result::is_ok));
    assert_eq!(
        results[16],
        Err(Error::PdaCannotCreateAdditionalSyncRelationship)
    );
    let indexes: Vec<u8> = (0..16)
        .map(|i| s.device(i).unwrap().partnership_index())
        .collect();
    assert_eq!(indexes, (1..=16).collect::<Vec<u8>>());
    // Deleting one frees its slot and declines the device.
    let third = s.device(2).unwrap();
    third.delete_partnership().unwrap();
    assert_eq!(third.status(), SyncDeviceStatus::PartnershipDeclined);
    s.device_by_key("D16")
        .unwrap()
        .create_partnership()
        .unwrap();
    s.poll().unwrap();
    assert_eq!(s.device_by_key("D16").unwrap().partnership_index(), 3);
}

#[test]
fn partnerships_persist_across_runs() {
    let f = fixture_partnered_device(1, 10, 1 << 16);
    f.sync_device()
        .set_item_info("SyncOnConnect", "false")
        .unwrap();
    let again = services(&f.manager, &f.library, f.state.path(), "Home", &f.clock);
    let d = again.device_by_key(KEY).unwrap();
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipExists);
    assert_eq!(d.partnership_index(), 1);
    assert_eq!(d.item_info("SyncOnConnect").unwrap(), "False");
    assert_eq!(again.library_id(), f.services.library_id());
}

#[test]
fn a_manual_device_cannot_partner() {
    let clock = common::clock();
    let dev = MemoryDevice::builder("Manual")
        .serial("M1")
        .can_sync(false)
        .build()
        .unwrap();
    let manager = memory_manager(Arc::new(MemoryProvider::new().with_device(dev)), &clock);
    let lib = Arc::new(std::sync::RwLock::new(wmdm::library::MemoryLibrary::new()));
    let state = tempfile::tempdir().unwrap();
    let s = services(&manager, &lib, state.path(), "Home", &clock);
    let d = s.device(0).unwrap();
    assert_eq!(d.status(), SyncDeviceStatus::ManualDevice);
    assert_eq!(d.create_partnership(), Err(Error::PdaManualDevice));
    assert_eq!(d.item_info("Connected"), Err(Error::PdaManualDevice));
}

#[test]
fn sync_on_connect_and_connect_events() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    f.select("Mix", &[1, 2], 1);
    f.device.disconnect();
    f.services.poll().unwrap();
    assert!(!f.sync_device().connected());
    assert_eq!(
        f.services.device_count(),
        1,
        "a partnered device stays listed"
    );
    f.device.reconnect();
    f.services.poll().unwrap();
    assert_eq!(
        f.drain(),
        vec![
            SyncEvent::DeviceDisconnect { device: KEY.into() },
            SyncEvent::DeviceConnect { device: KEY.into() },
            SyncEvent::DeviceSyncStateChange {
                device: KEY.into(),
                state: SyncState::Synchronizing
            },
        ]
    );
    let d = f.sync_device();
    while d.step() {}
    assert_eq!(d.engine().summary().copied, 2);
}

#[test]
fn estimation_reports_totals_and_can_be_cancelled() {
    let f = fixture_partnered_device(3, 1000, 1 << 20);
    f.select("Mix", &[1, 2], 1);
    let d = f.sync_device();
    // Track 3 is not selected: the estimate is for the selection plus this playlist.
    let extra = Playlist::new_static("Extra", vec![TrackId(3)]);
    d.estimate_sync_size(Some(&extra), None).unwrap();
    assert_eq!(d.sync_state(), SyncState::Estimating);
    f.services.poll().unwrap();
    let ev = f.drain();
    assert_eq!(
        ev[0],
        SyncEvent::DeviceSyncStateChange {
            device: KEY.into(),
            state: SyncState::Estimating
        }
    );
    assert_eq!(
        ev[1],
        SyncEvent::DeviceSyncStateChange {
            device: KEY.into(),
            state: SyncState::Stopped
        }
    );
    match &ev[2] {
        SyncEvent::DeviceEstimation {
            result: Ok(()),
            estimated_used,
            estimated_space,
            ..
        } => {
            assert!(*estimated_used >= 3000 && *estimated_space > 3000);
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(f.content_files().is_empty(), "estimation changes nothing");
    assert_eq!(
        d.plan().unwrap().totals.copies,
        2,
        "the selection is unchanged"
    );
    d.estimate_sync_size(Some(&extra), None).unwrap();
    d.cancel_estimation();
    f.services.poll().unwrap();
    assert!(f.drain().iter().any(|e| matches!(
        e,
        SyncEvent::DeviceEstimation {
            result: Err(error),
            ..
        } if *error == Error::Abort
    )));
}

#[test]
fn a_corrupt_ledger_deletes_nothing() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    let a = f.select("A", &[1, 2], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    let ledger = f
        .device
        .files()
        .into_keys()
        .find(|p| p.starts_with(".wmdm-sync/ledger-"))
        .expect("the library's ledger");
    f.device
        .put_file(&ledger, b"wmdm-sync-ledger 1\ngarbage".to_vec())
        .unwrap();
    f.lib().remove_playlist(a);
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.ledger_unreadable);
    assert_eq!(s.deleted, 0);
    assert_eq!(f.content_files().len(), 3);
}

#[test]
fn play_counts_and_ratings_flow_back() {
    let f = fixture_partnered_device(1, 100, 1 << 20);
    f.select("A", &[1], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    let path = "Music/Artist 1/Album/01 Song 1.mp3";
    let mut m = Metadata::new();
    m.add(tags::PLAY_COUNT, 4u32);
    m.add(tags::USER_RATING, 75u32);
    f.device.handle(path).unwrap().set_metadata(&m).unwrap();
    d.run(&mut |_| {}).unwrap();
    let lib = f.library.read().unwrap();
    let stats = f.services.stats();
    assert_eq!(stats.play_count(&*lib, TrackId(1)), 4);
    assert_eq!(stats.rating(&*lib, TrackId(1)).value(), 75);
    drop(lib);
    let mut m = Metadata::new();
    m.add(tags::PLAY_COUNT, 6u32);
    f.device.handle(path).unwrap().set_metadata(&m).unwrap();
    d.run(&mut |_| {}).unwrap();
    let lib = f.library.read().unwrap();
    assert_eq!(f.services.stats().play_count(&*lib, TrackId(1)), 6);
    // The library's own bytes are untouched and the store persists.
    let stored = wmdm::sync::StatsStore::load(f.state.path()).unwrap();
    assert_eq!(stored.play_count(&*lib, TrackId(1)), 6);
}

/// Four tracks in one prioritised playlist, partnered with a memory device dated by `clock`
/// (so its objects' dates, in whole seconds, follow the test's time).
fn dated_rig(
    serial: &str,
) -> (
    wmdm::time::ManualClock,
    MemoryDevice,
    Arc<std::sync::RwLock<wmdm::library::MemoryLibrary>>,
    wmdm::sync::SyncServices,
    tempfile::TempDir,
) {
    let clock = common::clock();
    let device = MemoryDevice::builder(format!("Player {serial}"))
        .serial(serial)
        .storage(wmdm::providers::memory::StorageConfig::new(
            "Internal",
            1 << 20,
        ))
        .clock(clock.clone())
        .build()
        .unwrap();
    let manager = memory_manager(
        Arc::new(MemoryProvider::new().with_device(device.clone())),
        &clock,
    );
    let mut lib = wmdm::library::MemoryLibrary::new();
    for i in 1..=4 {
        lib.add_track(
            track(i, &format!("Artist {}", i % 3), "Album"),
            content(i, 100),
        );
    }
    let mut all = wmdm::library::Playlist::new_static("All", (1..=4).map(TrackId).collect());
    all.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(all);
    let library = Arc::new(std::sync::RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let s = services(&manager, &library, state.path(), "Home", &clock);
    let d = s.device(0).unwrap();
    d.create_partnership().unwrap();
    s.poll().unwrap();
    (clock, device, library, s, state)
}

#[test]
fn a_resync_reads_statistics_only_of_objects_that_changed() {
    // A device whose clock moves on between syncs (device dates have a resolution of a second).
    let (clock, device, library, s, _state) = dated_rig("T1");
    let d = s.device(0).unwrap();
    let tick = || clock.advance(std::time::Duration::from_secs(5));
    // Time passes during a real first sync: each step in its own second here, so no copied
    // object is dated in the ledger's own second (such an object would be read back once).
    d.start().unwrap();
    while d.step() {
        tick();
    }
    let metadata_reads = || device.stats().calls(Operation::GetMetadata);
    tick();
    device.reset_stats();
    d.run(&mut |_| {}).unwrap();
    assert_eq!(
        metadata_reads(),
        0,
        "what the sync wrote is the baseline: the first resync reads nothing back (it read \
         all 4 before)"
    );
    tick();
    device.reset_stats();
    d.run(&mut |_| {}).unwrap();
    assert_eq!(metadata_reads(), 0, "unchanged objects are not read");
    assert_eq!(device.stats().calls(Operation::Write), 0);
    tick();
    let path = "Music/Artist 1/Album/01 Song 1.mp3";
    let mut m = Metadata::new();
    m.add(tags::PLAY_COUNT, 3u32);
    device.handle(path).unwrap().set_metadata(&m).unwrap();
    tick();
    device.reset_stats();
    d.run(&mut |_| {}).unwrap();
    assert_eq!(metadata_reads(), 1, "only the changed object is read");
    let lib = library.read().unwrap();
    assert_eq!(s.stats().play_count(&*lib, TrackId(1)), 3);
}

#[test]
fn a_resync_in_the_first_syncs_own_second_does_not_keep_later_resyncs_reading() {
    // A first sync and a resync within one second of the device's clock (a script syncing
    // twice in a row): the resync's settling rewrite of the ledger lands in the same second,
    // so its date does not move. The clock runs on afterwards, so a later sync must settle
    // the markers and the ones after it read nothing (they read every object forever before).
    let (clock, device, _library, s, _state) = dated_rig("T2");
    let d = s.device(0).unwrap();
    let metadata_reads = || device.stats().calls(Operation::GetMetadata);
    // The first sync and the first resync, in one second.
    d.run(&mut |_| {}).unwrap();
    d.run(&mut |_| {}).unwrap();
    let mut reads = Vec::new();
    for _ in 0..3 {
        clock.advance(std::time::Duration::from_secs(5));
        device.reset_stats();
        d.run(&mut |_| {}).unwrap();
        reads.push(metadata_reads());
    }
    assert_eq!(
        reads.last(),
        Some(&0),
        "once the clock runs on, the markers settle (reads per resync: {reads:?})"
    );
}

#[test]
fn a_change_in_the_ledgers_own_second_is_not_missed() {
    // The device's clock stands still: every object is dated in the ledger's second, so
    // no change marker can be trusted and every object is read on every sync.
    let f = fixture_partnered_device(2, 100, 1 << 20);
    f.select("All", &[1, 2], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    d.run(&mut |_| {}).unwrap();
    d.run(&mut |_| {}).unwrap();
    let path = "Music/Artist 1/Album/01 Song 1.mp3";
    let mut m = Metadata::new();
    m.add(tags::PLAY_COUNT, 5u32);
    f.device.handle(path).unwrap().set_metadata(&m).unwrap();
    f.device.reset_stats();
    d.run(&mut |_| {}).unwrap();
    assert_eq!(f.device.stats().calls(Operation::GetMetadata), 2);
    let lib = f.library.read().unwrap();
    assert_eq!(f.services.stats().play_count(&*lib, TrackId(1)), 5);
}

#[test]
fn the_device_profile_decides_formats_and_the_playlist_format() {
    use wmdm::metadata::FormatCode;
    let clock = common::clock();
    let dev = MemoryDevice::builder("WMA player")
        .serial("W1")
        .formats(&[FormatCode::WMA, FormatCode::WPL_PLAYLIST])
        .build()
        .unwrap();
    let manager = memory_manager(
        Arc::new(MemoryProvider::new().with_device(dev.clone())),
        &clock,
    );
    let mut lib = wmdm::library::MemoryLibrary::new();
    lib.add_track(track(1, "A", "B"), content(1, 100));
    let mut wma = track(2, "A", "B");
    wma.relative_path = "A/B/02.wma".into();
    wma.format = FormatCode::WMA;
    lib.add_track(wma, content(2, 100));
    let mut p = wmdm::library::Playlist::new_static("Mix", vec![TrackId(1), TrackId(2)]);
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let lib = Arc::new(std::sync::RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let s = services(&manager, &lib, state.path(), "Home", &clock);
    let d = s.device(0).unwrap();
    d.create_partnership().unwrap();
    s.poll().unwrap();
    let plan = d.plan().unwrap();
    assert_eq!(plan.left_out.len(), 1);
    assert_eq!(plan.left_out[0].reason, LeftOutReason::FormatNotSupported);
    let summary = d.run(&mut |_| {}).unwrap();
    assert_eq!((summary.copied, summary.skipped), (1, 1));
    let wpl = String::from_utf8(dev.read_file("Playlists/Mix.wpl").unwrap()).unwrap();
    assert!(wpl.contains("..\\Music\\A\\B\\02 Song 2.wma"), "{wpl}");
}

#[test]
fn every_handle_shares_one_engine_and_stop_through_any_handle_stops_it() {
    let f = fixture_partnered_device(4, 1000, 1 << 20);
    f.select("All", &[1, 2, 3, 4], 1);
    let a = f.sync_device();
    let b = f.services.device(0).unwrap();
    assert!(a.is_identical(&b));
    assert!(a.engine().same_engine(&b.engine()));
    a.start().unwrap();
    assert_eq!(b.sync_state(), SyncState::Synchronizing);
    assert!(b.step());
    let p = a.progress();
    assert!(p > 0 && p < 100, "{p}");
    // Stopping through one handle stops the engine every handle sees.
    b.stop();
    assert_eq!(a.sync_state(), SyncState::Stopped);
    assert!(!a.step());
    assert_eq!(a.engine().summary().copied, 1);
    assert!(!a.engine().summary().completed);
}
