//! The WMP 12 item-info settings on the simulated device: SyncFilter for one session,
//! AutoSyncDefaultRules, BackgroundSyncState, skipped files and IncludeSkippedFiles, and
//! estimateSyncSize with its two playlists.

mod common;

use common::sync::*;
use wmdm::Error;
use wmdm::fuzzing::{STATE_ROOM_BASE, STATE_ROOM_PER_ITEM};
use wmdm::library::{Playlist, Rating, Track, TrackId};
use wmdm::metadata::{Metadata, tags};
use wmdm::provider::NoProgress;
use wmdm::sync::{
    HeldChange, LeftOutReason, MediaKind, PlanSettings, SyncEvent, SyncState, default_selection,
};

const KEY: &str = "S1";

/// A partnered device and a library of tracks 1-3 (MP3, 1000 bytes) and 10 (a WMV video),
/// with a layout that takes every format.
fn mixed() -> Fixture {
    let f = fixture_partnered_device(3, 1000, 1 << 20);
    let mut clip = Track::new(TrackId(10), "Clips/clip.wmv");
    clip.title = "Clip".into();
    clip.album_artist = "Videos".into();
    clip.album = "Home".into();
    clip.track_number = Some(1);
    f.lib().add_track(clip, content(10, 1000));
    f.sync_device().set_settings(PlanSettings::default());
    f
}

fn tracks_on_device(f: &Fixture) -> Vec<String> {
    f.content_files()
        .into_keys()
        .filter(|p| p.starts_with("Music/"))
        .collect()
}

#[test]
fn settings_need_a_partnership() {
    let f = fixture_new_device(1, 10, 1 << 16);
    let d = f.sync_device();
    for (name, value) in [
        ("SyncFilter", "1"),
        ("AutoSyncDefaultRules", "true"),
        ("BackgroundSyncState", "1"),
        ("IncludeSkippedFiles", ""),
    ] {
        assert_eq!(
            d.set_item_info(name, value),
            Err(Error::Unexpected),
            "{name}"
        );
    }
    for name in [
        "AutoSyncDefaultRules",
        "BackgroundSyncState",
        "SkippedFiles",
    ] {
        assert_eq!(d.item_info(name), Err(Error::Unexpected), "{name}");
    }
}

#[test]
fn sync_filter_takes_decimal_and_hex_and_applies_to_one_session() {
    let f = mixed();
    f.select("Mix", &[1, 2, 10], 1);
    let d = f.sync_device();
    assert_eq!(d.item_info("SyncFilter").unwrap(), "0xFF");
    assert_eq!(
        d.set_item_info("SyncFilter", "0x100"),
        Err(Error::InvalidArg)
    );
    assert_eq!(
        d.set_item_info("SyncFilter", "video"),
        Err(Error::InvalidArg)
    );
    d.set_item_info("SyncFilter", "2").unwrap();
    assert_eq!(d.item_info("SyncFilter").unwrap(), "0x02");
    // Video only: the clip is copied, the music waits with a reason.
    let plan = d.plan().unwrap();
    let filtered: Vec<TrackId> = plan
        .left_out
        .iter()
        .filter(|l| {
            l.reason
                == LeftOutReason::Filtered {
                    kind: MediaKind::Music,
                }
        })
        .map(|l| l.track)
        .collect();
    assert_eq!(filtered, [TrackId(1), TrackId(2)]);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.skipped), (1, 2));
    assert_eq!(tracks_on_device(&f), ["Music/Videos/Home/01 Clip.wmv"]);
    // The session used it up.
    assert_eq!(d.item_info("SyncFilter").unwrap(), "0xFF");
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.skipped), (2, 0));
}

#[test]
fn a_filtered_type_is_not_deleted_in_that_session() {
    let f = mixed();
    let mix = f.select("Mix", &[1, 10], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    assert_eq!(tracks_on_device(&f).len(), 2);
    f.lib().remove_playlist(mix);
    d.set_item_info("SyncFilter", "0x01").unwrap();
    let plan = d.plan().unwrap();
    assert_eq!(plan.held_back.len(), 1);
    assert_eq!(plan.held_back[0].change, HeldChange::Delete);
    assert_eq!(plan.held_back[0].track, TrackId(10));
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (s.deleted, s.held_back),
        (2, 1),
        "the track and the playlist"
    );
    assert_eq!(tracks_on_device(&f), ["Music/Videos/Home/01 Clip.wmv"]);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.deleted, 1);
    assert!(tracks_on_device(&f).is_empty());
}

#[test]
fn a_write_only_session_reads_nothing_back() {
    let f = fixture_partnered_device(1, 100, 1 << 20);
    f.select("A", &[1], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    let mut m = Metadata::new();
    m.add(tags::PLAY_COUNT, 5u32);
    f.device
        .handle("Music/Artist 1/Album/01 Song 1.mp3")
        .unwrap()
        .set_metadata(&m)
        .unwrap();
    d.set_item_info("SyncFilter", "0x0F").unwrap();
    d.run(&mut |_| {}).unwrap();
    let plays = |f: &Fixture| {
        let lib = f.library.read().unwrap();
        f.services.stats().play_count(&*lib, TrackId(1))
    };
    assert_eq!(plays(&f), 0, "write-only: no acquisition");
    d.run(&mut |_| {}).unwrap();
    assert_eq!(plays(&f), 5);
}

#[test]
fn default_rules_sync_favourites_first_and_persist() {
    let f = fixture_partnered_device(4, 1000, 1 << 20);
    f.select("Mix", &[1], 1);
    {
        let mut lib = f.lib();
        for (id, rating, plays) in [(2, 100, 0), (3, 60, 9), (4, 60, 3)] {
            let mut t = track(id, &format!("Artist {}", id % 3), "Album");
            t.rating = Rating::new(rating);
            t.play_count = plays;
            lib.add_track(t, content(id, 1000));
        }
    }
    let d = f.sync_device();
    assert_eq!(d.item_info("AutoSyncDefaultRules").unwrap(), "False");
    assert_eq!(
        d.set_item_info("AutoSyncDefaultRules", "yes"),
        Err(Error::InvalidArg)
    );
    d.set_item_info("AutoSyncDefaultRules", "TRUE").unwrap();
    let order: Vec<TrackId> = {
        let lib = f.library.read().unwrap();
        default_selection(&*lib, &f.clock)[0].tracks.clone()
    };
    assert_eq!(order, [TrackId(2), TrackId(3), TrackId(4), TrackId(1)]);
    let plan = d.plan().unwrap();
    assert_eq!(plan.totals.copies, 4);
    assert_eq!(
        plan.totals.playlists, 0,
        "the default rules write no playlist"
    );
    d.run(&mut |_| {}).unwrap();
    assert_eq!(tracks_on_device(&f).len(), 4);
    // Saved with the partnership.
    let again = services(&f.manager, &f.library, f.state.path(), "Home", &f.clock);
    let d2 = again.device_by_key(KEY).unwrap();
    assert_eq!(d2.item_info("AutoSyncDefaultRules").unwrap(), "True");
    d.set_item_info("AutoSyncDefaultRules", "false").unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.deleted, s.playlists_written), (3, 1), "back to the Mix");
}

#[test]
fn default_rules_fill_a_small_device_with_favourites() {
    // Room for two of the four tracks once sync's own state room (for four tracks and the
    // implicit playlist) is set aside.
    let state_room = STATE_ROOM_BASE + STATE_ROOM_PER_ITEM * 5;
    let f = fixture_partnered_device(4, 1000, state_room + 2500);
    {
        let mut lib = f.lib();
        for (id, rating) in [(2, 100), (4, 80)] {
            let mut t = track(id, &format!("Artist {}", id % 3), "Album");
            t.rating = Rating::new(rating);
            lib.add_track(t, content(id, 1000));
        }
    }
    let d = f.sync_device();
    d.set_item_info("AutoSyncDefaultRules", "true").unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.no_fit), (2, 2));
    let placed = tracks_on_device(&f);
    assert_eq!(
        placed,
        [
            "Music/Artist 1/Album/04 Song 4.mp3",
            "Music/Artist 2/Album/02 Song 2.mp3"
        ]
    );
}

#[test]
fn background_sync_state_is_in_memory_and_gates_sync_on_connect() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    f.select("Mix", &[1, 2], 1);
    let d = f.sync_device();
    assert_eq!(d.item_info("BackgroundSyncState").unwrap(), "255");
    assert_eq!(
        d.set_item_info("BackgroundSyncState", "256"),
        Err(Error::InvalidArg)
    );
    d.set_item_info("BackgroundSyncState", "2").unwrap();
    assert_eq!(d.item_info("BackgroundSyncState").unwrap(), "2");
    f.device.disconnect();
    f.services.poll().unwrap();
    f.device.reconnect();
    f.services.poll().unwrap();
    assert_eq!(
        f.drain(),
        [
            SyncEvent::DeviceDisconnect { device: KEY.into() },
            SyncEvent::DeviceConnect { device: KEY.into() },
        ],
        "no background sync without bit 1"
    );
    assert_ne!(d.sync_state(), SyncState::Synchronizing);
    // Never saved: another process starts from 255.
    let again = services(&f.manager, &f.library, f.state.path(), "Home", &f.clock);
    let d2 = again.device_by_key(KEY).unwrap();
    assert_eq!(d2.item_info("BackgroundSyncState").unwrap(), "255");
    d.set_item_info("BackgroundSyncState", "0x01").unwrap();
    f.device.disconnect();
    f.services.poll().unwrap();
    f.device.reconnect();
    f.services.poll().unwrap();
    assert_eq!(d.sync_state(), SyncState::Synchronizing);
}

#[test]
fn a_file_the_user_deletes_is_skipped_until_include_skipped_files() {
    let f = fixture_partnered_device(3, 500, 1 << 20);
    f.select("Mix", &[1, 2, 3], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    assert_eq!(d.item_info("SkippedFiles").unwrap(), "0");
    let gone = "Music/Artist 2/Album/02 Song 2.mp3";
    f.device
        .handle(gone)
        .unwrap()
        .delete(false, &mut NoProgress)
        .unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 0, "not copied again");
    assert_eq!(s.newly_skipped, [TrackId(2)]);
    assert_eq!(d.item_info("SkippedFiles").unwrap(), "1");
    let plan = d.plan().unwrap();
    assert_eq!(plan.left_out.len(), 1);
    assert_eq!(plan.left_out[0].track, TrackId(2));
    assert_eq!(plan.left_out[0].reason, LeftOutReason::Skipped);
    let m3u = String::from_utf8(f.content_files()["Playlists/Mix.m3u8"].clone()).unwrap();
    assert!(!m3u.contains("02 Song 2"), "{m3u}");
    // Remembered across runs.
    let again = services(&f.manager, &f.library, f.state.path(), "Home", &f.clock);
    assert_eq!(
        again
            .device_by_key(KEY)
            .unwrap()
            .item_info("SkippedFiles")
            .unwrap(),
        "1"
    );
    assert_eq!(
        d.set_item_info("IncludeSkippedFiles", "1"),
        Err(Error::InvalidArg)
    );
    d.set_item_info("IncludeSkippedFiles", "").unwrap();
    assert_eq!(d.item_info("SkippedFiles").unwrap(), "0");
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 1);
    assert!(f.content_files().contains_key(gone));
}

#[test]
fn the_syncs_own_interrupted_deletes_are_not_skipped_files() {
    let f = fixture_partnered_device(3, 500, 1 << 20);
    let a = f.select("A", &[1, 2], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    // Unselect A, select track 1 again elsewhere; the sync deletes track 2, then the device
    // goes away before the ledger is written.
    f.lib().remove_playlist(a);
    f.select("B", &[1], 1);
    d.start().unwrap();
    let mut deleted = false;
    while d.step() {
        if d.engine().summary().deleted > 0 && !deleted {
            deleted = true;
            f.device.disconnect();
        }
    }
    assert!(deleted);
    f.device.reconnect();
    f.services.poll().unwrap();
    while d.step() {}
    d.run(&mut |_| {}).unwrap();
    assert_eq!(d.item_info("SkippedFiles").unwrap(), "0");
    // Selected again, track 2 comes back.
    f.select("A", &[1, 2], 1);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 1);
}

#[test]
fn estimates_add_a_playlist_or_replace_the_rules_without_changing_the_selection() {
    let f = fixture_partnered_device(3, 1000, 1 << 20);
    f.select("Mix", &[1, 2], 1);
    let d = f.sync_device();
    assert_eq!(d.estimate_sync_size(None, None), Err(Error::InvalidArg));
    let only3 = Playlist::new_static("Only 3", vec![TrackId(3)]);
    let used = |plan: wmdm::sync::SyncPlan| plan.totals.bytes_owned_after;
    let base = used(d.plan().unwrap());
    let added = used(d.plan_estimate(Some(&only3), None).unwrap());
    let replaced = used(d.plan_estimate(None, Some(&only3)).unwrap());
    assert_eq!(added, base + 1000);
    assert_eq!(replaced, 1000, "the rules playlist alone, no playlist file");
    d.estimate_sync_size(None, Some(&only3)).unwrap();
    f.services.poll().unwrap();
    let estimated: Vec<u64> = f
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            SyncEvent::DeviceEstimation {
                result: Ok(()),
                estimated_used,
                ..
            } => Some(estimated_used),
            _ => None,
        })
        .collect();
    assert_eq!(estimated, [1000]);
    assert_eq!(used(d.plan().unwrap()), base, "the selection is unchanged");
    assert!(f.content_files().is_empty());
}

#[test]
fn a_noop_resync_rewrites_neither_the_stats_store_nor_the_settings() {
    let f = fixture_partnered_device(1, 100, 1 << 20);
    f.select("A", &[1], 1);
    let d = f.sync_device();
    d.run(&mut |_| {}).unwrap();
    d.run(&mut |_| {}).unwrap();
    let stats = f.state.path().join(wmdm::sync::STATS_FILE_NAME);
    let _ = std::fs::remove_file(&stats);
    d.run(&mut |_| {}).unwrap();
    assert!(
        !stats.exists(),
        "nothing new was read: the store is not rewritten"
    );
    let mut m = Metadata::new();
    m.add(tags::PLAY_COUNT, 2u32);
    f.device
        .handle("Music/Artist 1/Album/01 Song 1.mp3")
        .unwrap()
        .set_metadata(&m)
        .unwrap();
    d.run(&mut |_| {}).unwrap();
    assert!(stats.exists(), "a new play count is saved");
}
