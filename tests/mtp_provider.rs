//! The MTP provider against mtp-rs's virtual device (a folder-backed device that speaks the
//! MTP/PTP binary protocol): objects, writes, renames, deletes, the writer lock, enumeration,
//! the device's fault hooks, and random operation sequences against a model.
#![cfg(feature = "mtp-virtual")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mtp_rs::virtual_device::{VirtualDeviceConfig, VirtualStorageConfig};
use proptest::prelude::*;
use wmdm::Error;
use wmdm::flags::{OpenMode, SeekOrigin};
use wmdm::metadata::FormatCode;
use wmdm::provider::{
    CreateRequest, Device, LockHolder, NoProgress, ServiceProvider, Storage, StorageRef,
};
use wmdm::providers::mtp::{LOCK_NAME, MtpDevice, MtpOptions, MtpProvider};

fn config(dir: &Path, serial: &str, rename: bool) -> VirtualDeviceConfig {
    VirtualDeviceConfig {
        manufacturer: "Virtual".into(),
        model: "Player".into(),
        serial: serial.into(),
        storages: vec![VirtualStorageConfig {
            description: "Internal".into(),
            capacity: 1 << 30,
            backing_dir: dir.to_path_buf(),
            read_only: false,
        }],
        supports_rename: rename,
        event_poll_interval: Duration::ZERO,
        watch_backing_dirs: false,
        ..Default::default()
    }
}

/// A provider over a virtual device backed by `dir`.
fn open(dir: &Path, serial: &str, rename: bool) -> (MtpProvider, Arc<MtpDevice>) {
    let device = futures::executor::block_on(
        mtp_rs::MtpDevice::builder().open_virtual(config(dir, serial, rename)),
    )
    .expect("virtual device opens");
    let provider = MtpProvider::with_device(device, vec![FormatCode::MP3], MtpOptions::new());
    let d = provider.mtp_devices().unwrap().remove(0);
    (provider, d)
}

fn root(d: &MtpDevice) -> StorageRef {
    d.storages().unwrap().remove(0)
}

fn write(folder: &StorageRef, name: &str, data: &[u8]) -> StorageRef {
    let f = folder.create(&CreateRequest::file(name)).unwrap();
    let mut io = f.open(OpenMode::WRITE).unwrap();
    io.write(data).unwrap();
    io.close().unwrap();
    f
}

fn read(s: &dyn Storage) -> Vec<u8> {
    let mut io = s.open(OpenMode::READ).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 7000];
    loop {
        let n = io.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    io.close().unwrap();
    out
}

fn names(folder: &StorageRef) -> Vec<String> {
    let mut v: Vec<String> = folder
        .children()
        .unwrap()
        .iter()
        .map(|c| c.name().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_virtual_device_serves_storages_files_folders_and_identity() {
    let dir = tempfile::tempdir().unwrap();
    let (_p, d) = open(dir.path(), "mtp-basics", true);
    assert_eq!(d.name().unwrap(), "Player");
    assert_eq!(d.manufacturer().unwrap(), "Virtual");
    assert_eq!(d.serial_number().unwrap().serial(), b"mtp-basics");
    assert_eq!(d.canonical_name().unwrap(), "mtp:mtp-basics");
    assert!(
        d.format_support()
            .unwrap()
            .mime_types
            .contains(&"audio/mpeg".to_string())
    );
    let r = root(&d);
    assert_eq!(r.name().unwrap(), "Internal");
    let g = r.globals().unwrap();
    assert_eq!(g.total_size().unwrap(), 1 << 30);
    let free_before = g.total_free().unwrap();

    let music = r.create(&CreateRequest::folder("Music")).unwrap();
    assert!(dir.path().join("Music").is_dir());
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let f = write(&music, "a.mp3", &content);
    assert_eq!(f.size().unwrap(), content.len() as u64);
    assert_eq!(
        std::fs::read(dir.path().join("Music/a.mp3")).unwrap(),
        content
    );
    assert_eq!(
        read(f.as_ref()),
        content,
        "windowed reads return every byte"
    );
    assert!(g.total_free().unwrap() <= free_before);

    // Seek and read the tail (what the sync's fingerprint reads).
    let mut io = f.open(OpenMode::READ).unwrap();
    assert_eq!(
        io.seek(SeekOrigin::EOF, 4096).unwrap(),
        content.len() as u64 - 4096
    );
    let mut tail = vec![0u8; 8192];
    let n = io.read(&mut tail).unwrap();
    assert_eq!(&tail[..n], &content[content.len() - 4096..]);
    assert_eq!(
        io.seek(SeekOrigin::BOF, content.len() as u64 + 1),
        Err(Error::InvalidArg)
    );
    io.close().unwrap();

    // Names: taken, bad, and the listing.
    assert_eq!(
        music.create(&CreateRequest::file("a.mp3")).err(),
        Some(Error::AlreadyExists)
    );
    assert_eq!(
        music.create(&CreateRequest::file("A.MP3")).err(),
        Some(Error::AlreadyExists),
        "names compare without case, as on the device's FAT-like storage"
    );
    assert_eq!(
        music.create(&CreateRequest::file("a/b")).err(),
        Some(Error::InvalidName)
    );
    assert_eq!(names(&music), vec!["a.mp3"]);
    assert_eq!(music.child("a.mp3").unwrap().size().unwrap(), 3_000_000);
    let m = f.metadata().unwrap();
    assert_eq!(m.get_str("WMDM/FileName"), Some("a.mp3"));
    assert_eq!(f.parent().unwrap().unwrap().name().unwrap(), "Music");

    // A created file is on the device only once its write is closed; an abandoned write
    // leaves nothing.
    let pending = music.create(&CreateRequest::file("b.mp3")).unwrap();
    let mut io = pending.open(OpenMode::WRITE).unwrap();
    io.write(b"never sent").unwrap();
    drop(io);
    assert_eq!(names(&music), vec!["a.mp3"]);

    // A rewrite replaces the whole object.
    let mut io = f.open(OpenMode::WRITE).unwrap();
    io.write(b"short").unwrap();
    io.close().unwrap();
    assert_eq!(read(f.as_ref())[..5], *b"short");

    // Rename, move, delete.
    f.rename("c.mp3", &mut NoProgress).unwrap();
    assert!(dir.path().join("Music/c.mp3").is_file());
    let other = r.create(&CreateRequest::folder("Other")).unwrap();
    f.move_to(
        wmdm::flags::Placement::Into,
        other.as_ref(),
        &mut NoProgress,
    )
    .unwrap();
    assert!(dir.path().join("Other/c.mp3").is_file());
    assert_eq!(
        other.delete(false, &mut NoProgress),
        Err(Error::DirectoryNotEmpty)
    );
    other.delete(true, &mut NoProgress).unwrap();
    assert!(!dir.path().join("Other").exists());
}

#[test]
fn renames_are_refused_on_a_device_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_p, d) = open(dir.path(), "mtp-norename", false);
    assert!(!d.supports_rename());
    let r = root(&d);
    let f = write(&r, "a.mp3", b"one");
    assert_eq!(f.rename("b.mp3", &mut NoProgress), Err(Error::NotSupported));
    // A rewrite still lands whole (delete, then send).
    let mut io = f.open(OpenMode::WRITE).unwrap();
    io.write(b"two!").unwrap();
    io.close().unwrap();
    assert_eq!(std::fs::read(dir.path().join("a.mp3")).unwrap(), b"two!");
}

#[test]
fn the_writer_lock_excludes_a_second_writer_and_a_dead_holder_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let (_p, d) = open(dir.path(), "mtp-lock", true);
    let me = LockHolder::current("test");
    let lock = d.lock_writer(&me).unwrap();
    assert_eq!(
        d.lock_writer(&LockHolder::current("other")).err(),
        Some(Error::Busy)
    );
    assert_eq!(d.writer_holder().unwrap().unwrap().session, me.session);
    assert!(
        dir.path().join(LOCK_NAME).is_file(),
        "the record is on the device"
    );
    assert!(names(&root(&d)).is_empty(), "and hidden from listings");
    drop(lock);
    assert!(!dir.path().join(LOCK_NAME).exists());
    assert_eq!(d.writer_holder().unwrap(), None);

    // A record left by a process that died (kill -9) is taken over; a live one is not.
    let mut dead = LockHolder::current("killed");
    dead.pid = u32::MAX - 7;
    std::fs::write(dir.path().join(LOCK_NAME), dead.encode()).unwrap();
    let (p2, d2) = open(dir.path(), "mtp-lock-2", true);
    assert_eq!(d2.writer_holder().unwrap(), None);
    let lock = d2.lock_writer(&me).unwrap();
    drop(lock);
    drop((p2, d2));
    // A cut record (a writer killed while sending it) is taken over too.
    std::fs::write(dir.path().join(LOCK_NAME), b"wmdm-writer-lock 1\nhost=").unwrap();
    let (p2, d2) = open(dir.path(), "mtp-lock-cut", true);
    assert_eq!(d2.writer_holder().unwrap(), None);
    drop(d2.lock_writer(&me).unwrap());
    drop((p2, d2));
    let mut alive = LockHolder::current("elsewhere");
    alive.host = "another-host".into();
    std::fs::write(dir.path().join(LOCK_NAME), alive.encode()).unwrap();
    let (_p3, d3) = open(dir.path(), "mtp-lock-3", true);
    assert_eq!(d3.lock_writer(&me).err(), Some(Error::Busy));
    assert_eq!(d3.writer_holder().unwrap().unwrap().host, "another-host");
}

/// Taking the writer lock lists the root of the first storage; that listing also serves the
/// root's next listing (on some devices, the virtual one among them, listing a root walks the
/// whole storage, and the sync lists the root right after the lock). Seen here with a file
/// put behind the device's back in between: the kept listing (5 s) does not show it yet.
#[test]
fn the_lock_listing_of_the_root_serves_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_p, d) = open(dir.path(), "mtp-lock-listing", true);
    write(&root(&d), "a.mp3", b"a");
    // A new connection lists afresh.
    let (_p, d) = open(dir.path(), "mtp-lock-listing-2", true);
    let lock = d.lock_writer(&LockHolder::current("test")).unwrap();
    std::fs::write(dir.path().join("behind.mp3"), b"b").unwrap();
    assert_eq!(names(&root(&d)), vec!["a.mp3"], "the lock's listing, kept");
    drop(lock);
}

#[test]
fn devices_arrive_and_leave_with_enumeration() {
    let dir = tempfile::tempdir().unwrap();
    let info =
        mtp_rs::virtual_device::register_virtual_device(&config(dir.path(), "mtp-enum", true));
    if let Err(e) = mtp_rs::MtpDevice::list_devices() {
        // mtp-rs lists virtual devices after the USB bus, so a host without one (a
        // container without /sys/bus/usb) cannot run this.
        eprintln!("skipped: this host cannot enumerate USB ({e})");
        return;
    }
    let provider = MtpProvider::new(MtpOptions::new().serial("mtp-enum"));
    let devices = provider.devices().unwrap();
    assert_eq!(devices.len(), 1);
    let r = devices[0].storages().unwrap().remove(0);
    write(&r, "x.mp3", b"x");
    assert_eq!(
        provider.device_count().unwrap(),
        1,
        "known devices stay open"
    );
    mtp_rs::virtual_device::unregister_virtual_device(info.location_id);
    assert_eq!(provider.device_count().unwrap(), 0, "the device left");
    assert_eq!(devices[0].name(), Err(Error::DeviceNotConnected));
    assert_eq!(r.children().err(), Some(Error::DeviceNotConnected));
}

#[test]
fn a_wedged_operation_is_run_again_when_it_only_reads() {
    let dir = tempfile::tempdir().unwrap();
    let serial = "mtp-wedge";
    let (_p, d) = open(dir.path(), serial, true);
    let r = root(&d);
    write(&r, "a.mp3", b"abc");
    // A handle from the listing reads the device (the writing handle's first read session
    // would not: see `the_read_back_right_after_a_write_needs_no_round_trip`).
    let f = r.child("a.mp3").unwrap();
    assert!(mtp_rs::virtual_device::force_operation_wedge(serial));
    assert_eq!(
        read(f.as_ref()),
        b"abc",
        "a read is run again after a reset"
    );
    // A change is never repeated blindly (it may have taken effect): the caller hears of it,
    // and the next attempt asks the device afresh.
    assert!(mtp_rs::virtual_device::force_operation_wedge(serial));
    assert_eq!(
        r.create(&CreateRequest::folder("F")).err(),
        Some(Error::NotReady)
    );
    let f = r.create(&CreateRequest::folder("F")).unwrap();
    assert_eq!(f.name().unwrap(), "F");
    assert!(dir.path().join("F").is_dir());
    assert_eq!(names(&r), vec!["F", "a.mp3"]);
}

#[test]
fn a_stalled_partial_read_is_an_error_and_a_short_one_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let serial = "mtp-partial";
    let (_p, d) = open(dir.path(), serial, true);
    let r = root(&d);
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 13) as u8).collect();
    write(&r, "a.mp3", &content);
    let f = r.child("a.mp3").unwrap();

    assert!(mtp_rs::virtual_device::force_partial_read_caps(
        serial,
        vec![1000, 7]
    ));
    assert_eq!(
        read(f.as_ref()),
        content,
        "short reads advance by what came"
    );

    assert!(mtp_rs::virtual_device::force_partial_read_caps(
        serial,
        vec![0, 0]
    ));
    let mut io = f.open(OpenMode::READ).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(
        io.read(&mut buf),
        Err(Error::ProcessFailed),
        "0 bytes mid-object"
    );
}

/// The sync fingerprints each file it wrote by reading its first and last 4 KiB back right
/// after the write. The handle that wrote the object answers that first read session from the
/// ends of the bytes the device acknowledged, without a round trip (the device is stalled here,
/// so any read it served would fail); a later session on that handle, and a handle from a
/// listing, read the device.
#[test]
fn the_read_back_right_after_a_write_needs_no_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let serial = "mtp-read-back";
    let (_p, d) = open(dir.path(), serial, true);
    let r = root(&d);
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let f = write(&r, "a.mp3", &content);
    let small = write(&r, "b.mp3", &content[..5000]);
    // Every partial read the device serves from now on returns nothing: a stall.
    assert!(mtp_rs::virtual_device::force_partial_read_caps(
        serial,
        vec![0; 3]
    ));

    let mut io = f.open(OpenMode::READ).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(io.read(&mut buf), Ok(4096));
    assert_eq!(buf, content[..4096]);
    assert_eq!(io.seek(SeekOrigin::EOF, 4096), Ok(100_000 - 4096));
    assert_eq!(io.read(&mut buf), Ok(4096));
    assert_eq!(buf, content[100_000 - 4096..]);
    // The middle was not kept: the device is asked, and it stalls.
    assert_eq!(io.seek(SeekOrigin::BOF, 50_000), Ok(50_000));
    assert_eq!(io.read(&mut buf), Err(Error::ProcessFailed));
    io.close().unwrap();
    let mut io = small.open(OpenMode::READ).unwrap();
    let mut all = vec![0u8; 6000];
    assert_eq!(io.read(&mut all), Ok(5000));
    assert_eq!(all[..5000], content[..5000]);
    io.close().unwrap();

    // Only the first session after the write: the next one reads the device.
    let mut io = f.open(OpenMode::READ).unwrap();
    assert_eq!(io.read(&mut buf), Err(Error::ProcessFailed));
    let listed = r.child("a.mp3").unwrap();
    let mut io = listed.open(OpenMode::READ).unwrap();
    assert_eq!(io.read(&mut buf), Err(Error::ProcessFailed));
    // The stall is over: the device holds what was sent.
    assert_eq!(read(listed.as_ref()), content);
}

/// IMDSPDirectTransfer: a folder takes a whole file from a host source in one step (the
/// manager's insert goes through it); a file has none; a cancel or a taken name leaves the
/// device as it was; overwrite replaces.
#[test]
fn a_folder_takes_a_file_by_direct_transfer() {
    use wmdm::fuzzing::Recorder;
    use wmdm::provider::{TransferOptions, TransferSource};
    let dir = tempfile::tempdir().unwrap();
    let (_p, d) = open(dir.path(), "mtp-transfer", true);
    let r = root(&d);
    let music = r.create(&CreateRequest::folder("Music")).unwrap();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();
    let send = |name: &str, data: &[u8], overwrite: bool, progress: &mut Recorder| {
        let options = TransferOptions {
            destination_name: name.into(),
            overwrite,
            metadata: None,
            temporary: false,
        };
        let mut reader = data;
        let source = TransferSource::Reader {
            reader: &mut reader,
            size: data.len() as u64,
        };
        music
            .direct_transfer()
            .expect("a folder offers direct transfer")
            .transfer_to_device(source, &options, progress)
    };

    let made = send("a.mp3", &content, false, &mut Recorder::new()).unwrap();
    assert_eq!(made.name().unwrap(), "a.mp3");
    assert_eq!(made.size().unwrap(), 3_000_000);
    assert!(made.direct_transfer().is_none(), "a file takes no transfer");
    assert_eq!(
        std::fs::read(dir.path().join("Music/a.mp3")).unwrap(),
        content
    );
    assert_eq!(read(music.child("a.mp3").unwrap().as_ref()), content);

    // A cancel after the first megabyte: nothing was sent, nothing is left.
    let cancelled = send(
        "b.mp3",
        &content,
        false,
        &mut Recorder::new().cancel_at(1 << 20),
    );
    assert_eq!(cancelled.err(), Some(Error::UserCancelled));
    assert_eq!(names(&music), vec!["a.mp3"]);
    assert!(!dir.path().join("Music/b.mp3").exists());

    // A taken name is refused without overwrite, replaced with it.
    assert_eq!(
        send("a.mp3", b"new", false, &mut Recorder::new()).err(),
        Some(Error::AlreadyExists)
    );
    send("a.mp3", b"new", true, &mut Recorder::new()).unwrap();
    assert_eq!(names(&music), vec!["a.mp3"]);
    assert_eq!(
        std::fs::read(dir.path().join("Music/a.mp3")).unwrap(),
        b"new"
    );
}

/// A read after a seek (or the first of a session) fetches about what it asks for, not a whole
/// 1 MiB window: checking a file's fingerprint (its first and last 4 KiB, once per file on a
/// resync) costs kilobytes. Seen here by changing the backing file behind the device: a
/// window fetched ahead would serve the old bytes.
#[test]
fn a_read_after_a_seek_fetches_what_it_asks_for() {
    let dir = tempfile::tempdir().unwrap();
    let (_p, d) = open(dir.path(), "mtp-first-read", true);
    let r = root(&d);
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 239) as u8).collect();
    write(&r, "a.mp3", &content);
    let f = r.child("a.mp3").unwrap();
    let mut io = f.open(OpenMode::READ).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(io.read(&mut buf), Ok(4096));
    assert_eq!(buf, content[..4096]);
    let mut changed = content.clone();
    changed[200_000..204_096].fill(7);
    std::fs::write(dir.path().join("a.mp3"), &changed).unwrap();
    assert_eq!(io.seek(SeekOrigin::BOF, 200_000), Ok(200_000));
    assert_eq!(io.read(&mut buf), Ok(4096));
    assert_eq!(buf, changed[200_000..204_096], "fetched now, not ahead");
    io.close().unwrap();
    // Reading on still reads everything.
    assert_eq!(read(f.as_ref()), changed);
}

#[derive(Clone, Debug)]
enum Op {
    Write { name: usize, len: usize, fill: u8 },
    Abandon { name: usize },
    Rename { from: usize, to: usize },
    Delete { name: usize },
    Reopen,
}

const NAMES: &[&str] = &["a.mp3", "B.mp3", "c d.flac", "e", "zz.wma"];

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    prop_oneof![
        (n.clone(), 0..3000usize, any::<u8>()).prop_map(|(name, len, fill)| Op::Write {
            name,
            len,
            fill
        }),
        n.clone().prop_map(|name| Op::Abandon { name }),
        (n.clone(), n.clone()).prop_map(|(from, to)| Op::Rename { from, to }),
        n.prop_map(|name| Op::Delete { name }),
        Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// The same model the folder device passes (tests/fs_model.rs), over MTP: listings,
    /// contents and the backing folder always equal the model.
    #[test]
    fn the_mtp_device_matches_the_model(ops in proptest::collection::vec(op(), 1..20)) {
        let dir = tempfile::tempdir().unwrap();
        let serial = "mtp-model";
        let (mut p, mut d) = open(dir.path(), serial, true);
        let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for op in ops {
            let r = root(&d);
            match op {
                Op::Write { name, len, fill } => {
                    let name = NAMES[name];
                    let s = match r.child(name) {
                        Ok(s) => s,
                        Err(_) => r.create(&CreateRequest::file(name)).unwrap(),
                    };
                    let mut io = s.open(OpenMode::WRITE).unwrap();
                    // A session starts from the old content: write it all anew.
                    io.seek(SeekOrigin::BOF, 0).unwrap();
                    io.write(&vec![fill; len]).unwrap();
                    io.close().unwrap();
                    let old = model.get(name).cloned().unwrap_or_default();
                    let mut new = vec![fill; len];
                    if old.len() > len {
                        new.extend_from_slice(&old[len..]);
                    }
                    model.insert(name.to_string(), new);
                }
                Op::Abandon { name } => {
                    let name = NAMES[name];
                    let s = match r.child(name) {
                        Ok(s) => s,
                        Err(_) => r.create(&CreateRequest::file(name)).unwrap(),
                    };
                    let mut io = s.open(OpenMode::WRITE).unwrap();
                    io.write(b"never visible").unwrap();
                    drop(io);
                }
                Op::Rename { from, to } => {
                    let (from, to) = (NAMES[from], NAMES[to]);
                    if let Ok(s) = r.child(from) {
                        let res = s.rename(to, &mut NoProgress);
                        if from == to || model.contains_key(to) {
                            prop_assert!(res.is_err() || from == to);
                        } else {
                            res.unwrap();
                            let entry = model.remove(from).unwrap();
                            model.insert(to.to_string(), entry);
                        }
                    }
                }
                Op::Delete { name } => {
                    let name = NAMES[name];
                    if let Ok(s) = r.child(name) {
                        s.delete(false, &mut NoProgress).unwrap();
                        model.remove(name);
                    }
                }
                Op::Reopen => {
                    drop(r);
                    drop((p, d));
                    (p, d) = open(dir.path(), serial, true);
                }
            }
            let r = root(&d);
            prop_assert_eq!(names(&r), model.keys().cloned().collect::<Vec<_>>());
            for c in r.children().unwrap() {
                prop_assert_eq!(&read(c.as_ref()), &model[&c.name().unwrap()]);
            }
            let on_disk: BTreeMap<String, Vec<u8>> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
                })
                .collect();
            prop_assert_eq!(&on_disk, &model, "exactly the model's files on the device");
        }
    }
}

#[test]
fn a_read_only_device_refuses_changes_and_a_file_that_cannot_fit_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kept.mp3"), b"kept").unwrap();
    let mut c = config(dir.path(), "mtp-readonly", true);
    c.storages[0].capacity = 10_000;
    let device = futures::executor::block_on(mtp_rs::MtpDevice::builder().open_virtual(c)).unwrap();
    let provider = MtpProvider::with_device(device, Vec::new(), MtpOptions::new().read_only(true));
    let d = provider.mtp_devices().unwrap().remove(0);
    let r = root(&d);
    assert_eq!(
        r.create(&CreateRequest::folder("F")).err(),
        Some(Error::WriteProtected)
    );
    let kept = r.child("kept.mp3").unwrap();
    assert_eq!(read(kept.as_ref()), b"kept", "reads still work");
    assert_eq!(
        kept.delete(false, &mut NoProgress),
        Err(Error::WriteProtected)
    );
    assert_eq!(
        d.lock_writer(&LockHolder::current("dry run")).err(),
        Some(Error::WriteProtected)
    );
    assert_eq!(
        d.format_support().unwrap().mime_types,
        Vec::<String>::new(),
        "no PlaybackFormats known: no list"
    );
    drop((provider, d));

    let (_p, d) = open(dir.path(), "mtp-small", true);
    let mut request = CreateRequest::file("big.mp3");
    request.size_hint = Some(2 << 30);
    assert_eq!(root(&d).create(&request).err(), Some(Error::DiskFull));
}
