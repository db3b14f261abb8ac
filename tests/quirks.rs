//! The quirk and fault wrapper itself: each quirk observable through it, at every level
//! (devices, storages, globals, open objects, play info, direct transfers). The sync through
//! the wrapper is in tests/quirks_sync.rs.

use std::sync::Arc;

use wmdm::Error;
use wmdm::flags::{OpenMode, Placement};
use wmdm::metadata::{Metadata, PropValue, device as props};
use wmdm::provider::{CreateRequest, DeviceRef, NoProgress, ServiceProvider, Storage, StorageRef};
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider, NamePolicy};
use wmdm::providers::memory::{MemoryDevice, MemoryProvider, Operation, StorageConfig};
use wmdm::providers::quirks::{Quirk, QuirkHandle, QuirkProvider, Quirks};
use wmdm::time::ManualClock;

// ---------------------------------------------------------------------------------------
// The wrapper itself.

/// A memory device with one file `Music/old.mp3`, behind the wrapper.
fn wrapped(quirks: Quirks) -> (MemoryDevice, DeviceRef, StorageRef, QuirkHandle) {
    let clock = ManualClock::at_unix(1_700_000_001); // an odd second
    let dev = MemoryDevice::builder("Player")
        .serial("Q1")
        .clock(clock)
        .storage(StorageConfig::new("Internal", 1 << 20).file("Music/old.mp3", b"old".to_vec()))
        .build()
        .unwrap();
    let q = QuirkProvider::new(
        Arc::new(MemoryProvider::new().with_device(dev.clone())),
        quirks,
    );
    let d = q.devices().unwrap().remove(0);
    let root = d.storages().unwrap().remove(0);
    (dev, d, root, q.handle())
}

fn write_file(folder: &dyn Storage, name: &str, data: &[u8]) -> wmdm::Result<StorageRef> {
    let f = folder.create(&CreateRequest::file(name))?;
    let mut io = f.open(OpenMode::WRITE)?;
    io.write(data)?;
    io.close()?;
    Ok(f)
}

#[test]
fn the_nth_call_of_an_operation_fails_once_with_the_chosen_error() {
    let (_, _, root, h) = wrapped(Quirks::none().fail_nth(Operation::Create, 2, Error::Busy));
    assert!(root.create(&CreateRequest::folder("a")).is_ok());
    assert_eq!(
        root.create(&CreateRequest::folder("b")).err(),
        Some(Error::Busy)
    );
    assert!(root.create(&CreateRequest::folder("c")).is_ok());
    assert_eq!(h.calls(Operation::Create), 3);
    assert_eq!(h.bitten(), [Quirk::Fault]);
    // The refused call never reached the device.
    assert_eq!(
        root.child("b").err().map(|e| e.kind()),
        Some(wmdm::ErrorKind::NotFound)
    );
}

#[test]
fn a_disconnect_fails_every_call_at_every_level_until_reconnected() {
    let (_, d, root, h) = wrapped(Quirks::none().disconnect_on(Operation::Children, 2));
    let music = root.child("Music").unwrap();
    let g = music.globals().unwrap();
    let inner_root = g.root_storage().unwrap();
    assert_eq!(music.children().err(), Some(Error::DeviceNotConnected));
    assert!(h.is_disconnected());
    assert_eq!(d.name().err(), Some(Error::DeviceNotConnected));
    assert_eq!(g.total_free().err(), Some(Error::DeviceNotConnected));
    assert_eq!(inner_root.name().err(), Some(Error::DeviceNotConnected));
    h.reconnect();
    assert!(music.children().is_ok());
    h.disconnect();
    assert_eq!(music.name().err(), Some(Error::DeviceNotConnected));
    h.set(Quirks::none());
    assert!(music.name().is_ok());
}

#[test]
fn writes_fail_disk_full_past_the_mark() {
    let (dev, _, root, h) = wrapped(Quirks::none().disk_full_after(10));
    let f = root.create(&CreateRequest::file("x.bin")).unwrap();
    let mut io = f.open(OpenMode::WRITE).unwrap();
    assert_eq!(io.write(&[1; 8]), Ok(8));
    assert_eq!(io.write(&[2; 5]), Err(Error::DiskFull));
    io.close().unwrap();
    assert_eq!(h.bytes_written(), 8);
    assert_eq!(dev.files().get("x.bin").map(Vec::len), Some(8));
    assert_eq!(h.bitten(), [Quirk::DiskFull]);
}

#[test]
fn a_read_only_medium_refuses_every_change_and_reads_still_work() {
    let (dev, d, root, h) = wrapped(Quirks::none().read_only());
    let before = dev.files();
    let old = root.child("Music").unwrap().child("old.mp3").unwrap();
    let wp = Some(Error::WriteProtected);
    assert_eq!(root.create(&CreateRequest::file("n")).err(), wp);
    assert_eq!(old.open(OpenMode::WRITE).err(), wp);
    assert_eq!(old.delete(false, &mut NoProgress).err(), wp);
    assert_eq!(old.rename("x.mp3", &mut NoProgress).err(), wp);
    assert_eq!(old.set_metadata(&Metadata::new()).err(), wp);
    assert_eq!(
        old.move_to(Placement::Into, &*root, &mut NoProgress).err(),
        wp
    );
    assert_eq!(
        d.set_property("x", &wmdm::metadata::PropValue::U32(1))
            .err(),
        wp
    );
    let mut io = old.open(OpenMode::READ).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(io.read(&mut buf), Ok(3));
    assert_eq!(dev.files(), before);
    assert_eq!(h.bitten(), [Quirk::ReadOnly]);
}

#[test]
fn no_append_refuses_writes_into_existing_objects_only() {
    let (dev, _, root, h) = wrapped(Quirks::none().no_append());
    // A new object takes its first write session whole.
    let f = root.create(&CreateRequest::file("new.bin")).unwrap();
    let mut io = f.open(OpenMode::WRITE).unwrap();
    io.write(b"abc").unwrap();
    io.write(b"def").unwrap();
    io.close().unwrap();
    assert!(h.bitten().is_empty());
    // Then it is an existing object: no append, no rewrite.
    let mut io = f.open(OpenMode::WRITE).unwrap();
    io.seek(wmdm::flags::SeekOrigin::EOF, 0).unwrap();
    assert_eq!(io.write(b"more"), Err(Error::AccessDenied));
    io.close().unwrap();
    let old = root.child("Music").unwrap().child("old.mp3").unwrap();
    let mut io = old.open(OpenMode::WRITE).unwrap();
    assert_eq!(io.write(b"x"), Err(Error::AccessDenied));
    io.close().unwrap();
    assert_eq!(
        dev.files().get("new.bin").map(Vec::as_slice),
        Some(&b"abcdef"[..])
    );
    assert_eq!(
        dev.files().get("Music/old.mp3").map(Vec::as_slice),
        Some(&b"old"[..])
    );
    assert_eq!(h.bitten(), [Quirk::NoAppend]);
}

#[test]
fn no_rename_refuses_renames_and_moves() {
    let (dev, _, root, h) = wrapped(Quirks::none().no_rename());
    let old = root.child("Music").unwrap().child("old.mp3").unwrap();
    assert_eq!(
        old.rename("new.mp3", &mut NoProgress).err(),
        Some(Error::NotSupported)
    );
    assert_eq!(
        old.move_to(Placement::Into, &*root, &mut NoProgress).err(),
        Some(Error::NotSupported)
    );
    assert!(dev.files().contains_key("Music/old.mp3"));
    assert_eq!(h.bitten(), [Quirk::NoRename]);
    // Without the quirk, a move through the wrapper reaches the inner target.
    h.set(Quirks::none());
    old.move_to(Placement::Into, &*root, &mut NoProgress)
        .unwrap();
    assert!(dev.files().contains_key("old.mp3"), "{:?}", dev.files());
}

#[test]
fn coarse_times_round_dates_down_to_even_seconds() {
    let (_, _, root, h) = wrapped(Quirks::none());
    let f = write_file(&*root, "t.bin", b"x").unwrap();
    let fine = f.date().unwrap();
    assert_eq!(
        fine.second % 2,
        1,
        "the device clock stands at an odd second"
    );
    h.set(Quirks::none().coarse_times());
    let coarse = f.date().unwrap();
    assert_eq!(coarse.second, fine.second - 1);
    assert_eq!((coarse.minute, coarse.hour), (fine.minute, fine.hour));
    let m = f.metadata().unwrap();
    for (name, v) in m.iter() {
        if let wmdm::metadata::TagValue::Date(d) = v {
            assert_eq!(d.second % 2, 0, "{name}");
        }
    }
}

#[cfg_attr(
    windows,
    ignore = "a Windows folder is case-insensitive itself: the test needs a case-sensitive host folder"
)]
#[test]
fn case_insensitive_names_over_a_case_sensitive_folder() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsProvider::new(
        FsConfig::root(dir.path()).options(
            DeviceOptions::default()
                .durable(false)
                .policy(NamePolicy::permissive()),
        ),
    ));
    let q = QuirkProvider::new(fs, Quirks::none());
    let root = q.devices().unwrap()[0].storages().unwrap().remove(0);
    write_file(&*root, "Song.mp3", b"1").unwrap();
    // The folder itself is case-sensitive.
    assert!(root.child("SONG.mp3").is_err());
    assert!(write_file(&*root, "song.MP3", b"2").is_ok());
    root.child("song.MP3")
        .unwrap()
        .delete(false, &mut NoProgress)
        .unwrap();
    q.handle().set(Quirks::none().case_insensitive());
    assert_eq!(root.child("SONG.mp3").unwrap().name().unwrap(), "Song.mp3");
    assert_eq!(
        root.create(&CreateRequest::file("song.MP3")).err(),
        Some(Error::AlreadyExists)
    );
    let other = write_file(&*root, "Other.mp3", b"3").unwrap();
    assert_eq!(
        other.rename("SONG.MP3", &mut NoProgress).err(),
        Some(Error::AlreadyExists)
    );
    // A case change of its own name is no collision.
    other.rename("OTHER.mp3", &mut NoProgress).unwrap();
    assert_eq!(q.handle().bitten(), [Quirk::CaseInsensitive]);
}

#[test]
fn names_over_the_limit_are_refused() {
    let (_, _, root, h) = wrapped(Quirks::none().name_limit(12));
    assert!(root.create(&CreateRequest::file("twelve.bytes")).is_ok());
    assert_eq!(
        root.create(&CreateRequest::file("thirteen.byte")).err(),
        Some(Error::InvalidName)
    );
    let f = root.child("twelve.bytes").unwrap();
    assert_eq!(
        f.rename("é23456789012", &mut NoProgress).err(),
        Some(Error::InvalidName)
    );
    assert_eq!(h.bitten(), [Quirk::NameLimit]);
}

#[test]
fn names_outside_ascii_are_refused_with_ascii_names() {
    let (_, _, root, h) = wrapped(Quirks::none().ascii_names());
    assert!(root.create(&CreateRequest::file("Ana Sol.mp3")).is_ok());
    assert_eq!(
        root.create(&CreateRequest::folder("Ana Sól")).err(),
        Some(Error::InvalidName)
    );
    let f = root.child("Ana Sol.mp3").unwrap();
    assert_eq!(
        f.rename("Kōbō.mp3", &mut NoProgress).err(),
        Some(Error::InvalidName)
    );
    assert_eq!(h.bitten(), [Quirk::AsciiNames]);
}

/// The device reports the name quirks as its name rule and component limit, on top of what
/// the wrapped device reports, so that a sync plans names the quirks accept.
#[cfg_attr(
    windows,
    ignore = "on Windows the folder device always follows Windows' name rules (FAT's), never the permissive ones this test expects"
)]
#[test]
fn the_device_reports_its_name_quirks() {
    let rule_and_max = |d: &DeviceRef| {
        (
            d.property(props::NAME_RULE).unwrap(),
            d.property(props::NAME_MAX).unwrap(),
        )
    };
    let s = |v: &str| PropValue::String(v.into());
    let (_, d, _, h) = wrapped(Quirks::none());
    // The memory device's own: FAT rules, 255 bytes.
    assert_eq!(rule_and_max(&d), (s("fat"), PropValue::U32(255)));
    h.set(Quirks::none().name_limit(40).ascii_names());
    assert_eq!(rule_and_max(&d), (s("fat-ascii"), PropValue::U32(40)));
    h.set(Quirks::fusefat());
    assert_eq!(rule_and_max(&d), (s("fat-ascii"), PropValue::U32(255)));
    // Over a permissive folder, case-insensitive names need FAT's rules.
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsProvider::new(
        FsConfig::root(dir.path()).options(
            DeviceOptions::default()
                .durable(false)
                .policy(NamePolicy::permissive()),
        ),
    ));
    let q = QuirkProvider::new(fs, Quirks::none());
    let d = q.devices().unwrap().remove(0);
    assert_eq!(rule_and_max(&d), (s("permissive"), PropValue::U32(255)));
    q.handle()
        .set(Quirks::none().case_insensitive().name_limit(300));
    assert_eq!(rule_and_max(&d), (s("fat"), PropValue::U32(255)));
    assert!(q.handle().bitten().is_empty());
}

#[test]
fn direct_transfers_and_play_info_go_through_the_quirks() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsProvider::new(
        FsConfig::root(dir.path()).options(DeviceOptions::default().durable(false)),
    ));
    let q = QuirkProvider::new(fs, Quirks::none().read_only());
    let root = q.devices().unwrap()[0].storages().unwrap().remove(0);
    let data = b"direct".to_vec();
    let transfer = |name: &str| {
        let mut reader: &[u8] = &data;
        root.direct_transfer()
            .expect("the folder provider transfers directly")
            .transfer_to_device(
                wmdm::provider::TransferSource::Reader {
                    reader: &mut reader,
                    size: data.len() as u64,
                },
                &wmdm::provider::TransferOptions {
                    destination_name: name.into(),
                    ..Default::default()
                },
                &mut NoProgress,
            )
    };
    assert_eq!(transfer("a.bin").err(), Some(Error::WriteProtected));
    q.handle().set(Quirks::none().name_limit(4));
    assert_eq!(transfer("long.bin").err(), Some(Error::InvalidName));
    q.handle().set(Quirks::none());
    let made = transfer("b.bin").unwrap();
    assert_eq!(std::fs::read(dir.path().join("b.bin")).unwrap(), b"direct");
    q.handle().set(Quirks::none().read_only());
    if let Some(info) = made.object_info() {
        assert_eq!(info.set_play_length(5).err(), Some(Error::WriteProtected));
    }
    // What a transfer hands back is wrapped too.
    q.handle().disconnect();
    assert_eq!(made.name().err(), Some(Error::DeviceNotConnected));
}
