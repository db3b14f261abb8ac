//! Partnerships as WMP documents them: deletePartnership's return codes and a declined
//! status that stays, createPartnership refused on a manual device at call and completion,
//! the default selection of a new partnership, a freed slot's `SyncNN` cleared, a slot
//! released when another library takes the device, progress before any sync, and the
//! Supports*/Preferred* attributes.

mod common;

use std::sync::{Arc, RwLock};

use common::sync::*;
use wmdm::Error;
use wmdm::library::{Library, MemoryLibrary, TrackId};
use wmdm::metadata::FormatCode;
use wmdm::providers::memory::{MemoryDevice, MemoryProvider, StorageConfig};
use wmdm::sync::{SyncDeviceStatus, SyncEvent};

const KEY: &str = "S1";

fn manual(serial: &str) -> MemoryDevice {
    MemoryDevice::builder("Manual")
        .serial(serial)
        .can_sync(false)
        .build()
        .unwrap()
}

#[test]
fn delete_partnership_answers_as_its_reference_page_lists() {
    // NewDevice: nothing to delete (S_FALSE), and nothing changes.
    let f = fixture_new_device(1, 10, 1 << 16);
    let d = f.sync_device();
    assert_eq!(d.delete_partnership(), Ok(false));
    assert_eq!(d.status(), SyncDeviceStatus::NewDevice);
    // A partnership: deleted, then nothing left to delete.
    d.create_partnership().unwrap();
    f.services.poll().unwrap();
    assert_eq!(d.delete_partnership(), Ok(true));
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipDeclined);
    assert_eq!(d.delete_partnership(), Ok(false));
    // A manual device.
    let clock = common::clock();
    let m = memory_manager(
        Arc::new(MemoryProvider::new().with_device(manual("M1"))),
        &clock,
    );
    let lib = Arc::new(RwLock::new(MemoryLibrary::new()));
    let state = tempfile::tempdir().unwrap();
    let s = services(&m, &lib, state.path(), "Home", &clock);
    assert_eq!(
        s.device(0).unwrap().delete_partnership(),
        Err(Error::PdaManualDevice)
    );
}

#[test]
fn delete_partnership_of_a_device_partnered_elsewhere_is_partnershipnotexist() {
    let f = fixture_partnered_device(1, 10, 1 << 16);
    let other_lib = Arc::new(RwLock::new(MemoryLibrary::new()));
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
    assert_eq!(bd.delete_partnership(), Err(Error::PdaPartnershipNotExist));
    assert_eq!(
        Error::PdaPartnershipNotExist.hresult().as_u32(),
        0xC00D_1184
    );
    // The owner's partnership is untouched.
    assert_eq!(
        f.sync_device().status(),
        SyncDeviceStatus::PartnershipExists
    );
}

#[test]
fn a_deleted_partnership_stays_declined_across_discovery_even_when_its_marker_stayed() {
    let clock = common::clock();
    let a = player("A1", 1 << 16);
    let b = player("B1", 1 << 16);
    let provider = Arc::new(
        MemoryProvider::new()
            .with_device(a.clone())
            .with_device(b.clone()),
    );
    let manager = memory_manager(provider, &clock);
    let lib = Arc::new(RwLock::new(MemoryLibrary::new()));
    let state = tempfile::tempdir().unwrap();
    let s = services(&manager, &lib, state.path(), "Home", &clock);
    let da = s.device_by_key("A1").unwrap();
    da.create_partnership().unwrap();
    s.poll().unwrap();
    assert_eq!(da.partnership_index(), 1);
    // Deleted while away: its marker stays on the device.
    a.disconnect();
    s.poll().unwrap();
    assert_eq!(da.delete_partnership(), Ok(true));
    assert!(
        a.files().keys().any(|p| p.ends_with("partnership.txt")),
        "the marker could not be removed"
    );
    // Slot 1 goes to another device, which then goes away.
    let db = s.device_by_key("B1").unwrap();
    db.create_partnership().unwrap();
    s.poll().unwrap();
    assert_eq!(db.partnership_index(), 1);
    b.disconnect();
    s.poll().unwrap();
    // The first comes back: still declined, and slot 1 is still the second's.
    a.reconnect();
    s.poll().unwrap();
    assert_eq!(da.status(), SyncDeviceStatus::PartnershipDeclined);
    assert_eq!(da.partnership_index(), 0);
    let table = s.partnerships();
    assert_eq!(table.by_index(1).map(|p| p.serial.as_str()), Some("B1"));
    // And again after another pass, and after a reconnect.
    a.disconnect();
    s.poll().unwrap();
    a.reconnect();
    s.poll().unwrap();
    assert_eq!(da.status(), SyncDeviceStatus::PartnershipDeclined);
}

#[test]
fn create_partnership_on_a_manual_device_is_refused_at_the_call_and_at_completion() {
    let f = fixture_new_device(1, 10, 1 << 16);
    let d = f.sync_device();
    d.create_partnership().unwrap();
    // Before the creation completes, a manual device with the same serial takes the place
    // of the device.
    f.provider.remove_device(KEY).unwrap();
    f.provider.add_device(manual(KEY));
    f.manager.poll_changes().unwrap();
    f.services.poll().unwrap();
    let results: Vec<_> = f
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            SyncEvent::CreatePartnershipComplete { result, .. } => Some(result),
            _ => None,
        })
        .collect();
    assert_eq!(results, vec![Err(Error::PdaManualDevice)]);
    assert_eq!(d.status(), SyncDeviceStatus::ManualDevice);
    assert!(f.services.partnerships().partnerships().is_empty());
    // And at the call.
    assert_eq!(d.create_partnership(), Err(Error::PdaManualDevice));
}

#[test]
fn a_new_partnership_syncs_the_default_selection_until_playlists_are_chosen() {
    let f = fixture_new_device(3, 100, 1 << 20);
    let d = f.sync_device();
    d.create_partnership().unwrap();
    f.services.poll().unwrap();
    assert!(
        f.services
            .partnerships()
            .for_device(KEY)
            .unwrap()
            .settings
            .starter
    );
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 3, "the whole library, by the default rules");
    // The user chooses a playlist: from then on the partnership syncs it.
    f.select("One", &[1], 1);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.deleted, 2, "{s:?}");
    assert!(
        !f.services
            .partnerships()
            .for_device(KEY)
            .unwrap()
            .settings
            .starter
    );
    assert_eq!(
        f.content_files()
            .values()
            .filter(|b| **b == content(1, 100))
            .count(),
        1
    );
    // Unselecting everything later does not bring the default back.
    f.lib()
        .playlists_mut_for_test(|p| p.sync.set_priority(1, 0).unwrap());
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 0, "{s:?}");
}

/// Test-only access to every playlist of the fixture's library.
trait PlaylistsMut {
    fn playlists_mut_for_test(&mut self, f: impl FnMut(&mut wmdm::library::Playlist));
}

impl PlaylistsMut for MemoryLibrary {
    fn playlists_mut_for_test(&mut self, mut f: impl FnMut(&mut wmdm::library::Playlist)) {
        let ids: Vec<_> = self.playlists().iter().map(|p| p.id).collect();
        for id in ids {
            if let Some(p) = self.playlist_mut(id) {
                f(p);
            }
        }
    }
}

#[test]
fn a_freed_slot_has_its_playlist_priorities_cleared_so_the_next_device_inherits_nothing() {
    let clock = common::clock();
    let a = player("A1", 1 << 20);
    let b = player("B1", 1 << 20);
    let provider = Arc::new(
        MemoryProvider::new()
            .with_device(a.clone())
            .with_device(b.clone()),
    );
    let manager = memory_manager(provider, &clock);
    let mut lib = MemoryLibrary::new();
    for i in 1..=3 {
        lib.add_track(track(i, "A", "B"), content(i, 100));
    }
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let s = services(&manager, &library, state.path(), "Home", &clock);
    let da = s.device_by_key("A1").unwrap();
    da.create_partnership().unwrap();
    s.poll().unwrap();
    let mut mix = wmdm::library::Playlist::new_static("Mix", vec![TrackId(1)]);
    mix.sync.set_priority(1, 1).unwrap();
    mix.sync.set_priority(2, 5).unwrap();
    let id = mix.id;
    library.write().unwrap().add_playlist(mix);
    assert_eq!(da.delete_partnership(), Ok(true));
    let l = library.read().unwrap();
    let p = l.playlist(id).unwrap();
    assert_eq!(p.sync.priority(1), 0, "slot 1's Sync01 is cleared");
    assert_eq!(p.sync.priority(2), 5, "other slots keep theirs");
    drop(l);
    // The next device in slot 1 starts from the default selection, not "Mix".
    let db = s.device_by_key("B1").unwrap();
    db.create_partnership().unwrap();
    s.poll().unwrap();
    assert_eq!(db.partnership_index(), 1);
    assert_eq!(db.run(&mut |_| {}).unwrap().copied, 3);
}

#[test]
fn a_slot_whose_device_another_library_took_is_released_and_cleared_when_another_device_takes_it() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    let mix = f.select("Mix", &[1], 1);
    f.sync_device().run(&mut |_| {}).unwrap();
    let other_lib = Arc::new(RwLock::new(MemoryLibrary::new()));
    let other_state = tempfile::tempdir().unwrap();
    let b = services(
        &f.manager,
        &other_lib,
        other_state.path(),
        "Office",
        &f.clock,
    );
    let bd = b.device_by_key(KEY).unwrap();
    bd.create_partnership().unwrap();
    b.poll().unwrap();
    assert_eq!(bd.status(), SyncDeviceStatus::PartnershipExists);
    f.services.poll().unwrap();
    assert_eq!(
        f.sync_device().status(),
        SyncDeviceStatus::PartnershipAnother
    );
    assert!(
        f.services.partnerships().for_device(KEY).is_none(),
        "slot released"
    );
    // Saved: a new process sees it released too.
    let again = services(&f.manager, &f.library, f.state.path(), "Home", &f.clock);
    assert!(again.partnerships().partnerships().is_empty());
    // The slot's playlists are the taken device's until another device takes the slot.
    assert_eq!(f.lib().playlist(mix).unwrap().sync.priority(1), 1);
    let other = player("N1", 1 << 20);
    f.provider.add_device(other);
    f.manager.poll_changes().unwrap();
    f.services.poll().unwrap();
    let n = f.services.device_by_key("N1").unwrap();
    n.create_partnership().unwrap();
    f.services.poll().unwrap();
    assert_eq!(n.partnership_index(), 1);
    assert_eq!(
        f.lib().playlist(mix).unwrap().sync.priority(1),
        0,
        "cleared for N1"
    );
}

#[test]
fn a_device_that_comes_back_to_its_released_slot_keeps_its_playlists() {
    let f = fixture_partnered_device(2, 100, 1 << 20);
    let mix = f.select("Mix", &[1], 1);
    f.sync_device().run(&mut |_| {}).unwrap();
    let other_lib = Arc::new(RwLock::new(MemoryLibrary::new()));
    let other_state = tempfile::tempdir().unwrap();
    let b = services(
        &f.manager,
        &other_lib,
        other_state.path(),
        "Office",
        &f.clock,
    );
    let bd = b.device_by_key(KEY).unwrap();
    bd.create_partnership().unwrap();
    b.poll().unwrap();
    f.services.poll().unwrap();
    let d = f.sync_device();
    d.create_partnership().unwrap();
    f.services.poll().unwrap();
    assert_eq!(d.partnership_index(), 1);
    assert_eq!(f.lib().playlist(mix).unwrap().sync.priority(1), 1);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.deleted), (0, 0), "{s:?}");
}

#[test]
fn progress_is_zero_before_any_sync_and_100_after_one() {
    let f = fixture_partnered_device(1, 10, 1 << 16);
    let d = f.sync_device();
    assert_eq!(d.progress(), 0);
    assert_eq!(d.item_info("SyncPercentComplete").unwrap(), "0");
    d.run(&mut |_| {}).unwrap();
    assert_eq!(d.progress(), 100);
    // A sync with nothing to do is complete too.
    d.run(&mut |_| {}).unwrap();
    assert_eq!(d.item_info("SyncPercentComplete").unwrap(), "100");
}

#[test]
fn supports_and_preferred_attributes_come_from_the_device() {
    let clock = common::clock();
    let video = MemoryDevice::builder("Video player")
        .serial("V1")
        .formats(&[FormatCode::MP3, FormatCode::MP4])
        .storage(StorageConfig::new("Internal", 1 << 16))
        .storage(StorageConfig::new("Card", 1 << 20))
        .build()
        .unwrap();
    let plain = player("P1", 1 << 16);
    let provider = Arc::new(
        MemoryProvider::new()
            .with_device(video)
            .with_device(plain.clone()),
    );
    let manager = memory_manager(provider, &clock);
    let lib = Arc::new(RwLock::new(MemoryLibrary::new()));
    let state = tempfile::tempdir().unwrap();
    let s = services(&manager, &lib, state.path(), "Home", &clock);
    let v = s.device_by_key("V1").unwrap();
    assert_eq!(v.item_info("SupportsAudio").unwrap(), "True");
    assert_eq!(v.item_info("SupportsVideo").unwrap(), "True");
    assert_eq!(v.item_info("SupportsPhoto").unwrap(), "False");
    for name in ["PreferredAudio", "PreferredVideo", "PreferredPhoto"] {
        assert_eq!(v.item_info(name).unwrap(), "1", "{name}: the larger card");
    }
    let p = s.device_by_key("P1").unwrap();
    assert_eq!(p.item_info("PreferredAudio").unwrap(), "0");
    plain.disconnect();
    s.poll().unwrap();
    // A device that is away has no storages to prefer.
    let _ = p.item_info("PreferredAudio");
}

#[test]
fn get_device_past_the_end_is_invalidarg_and_does_not_hang() {
    let f = fixture_new_device(1, 10, 1 << 16);
    let s = f.services.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(s.device(5).map(|_| ()));
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("getDevice(5) returned");
    assert_eq!(got, Err(Error::InvalidArg));
    assert!(f.services.device(0).is_ok());
}
