//! Scenario tests of the folder device on real temporary folders.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use wmdm::Error;
use wmdm::flags::{Attributes, FindScope, OpenMode, Placement, SeekOrigin};
use wmdm::fuzzing::Recorder;
use wmdm::metadata::{FormatCode, Metadata, tags};
use wmdm::provider::{
    CreateRequest, Device, NoProgress, ProgressEvent, Storage, StorageGlobals, StorageRef, walk,
};
use wmdm::providers::fs::{DeviceOptions, FsDevice, NamePolicy, STATE_DIR};

fn open(dir: &Path) -> FsDevice {
    FsDevice::open(dir, DeviceOptions::default().durable(false)).unwrap()
}

fn write_file(folder: &dyn Storage, name: &str, data: &[u8]) -> StorageRef {
    let s = folder.create(&CreateRequest::file(name)).unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    assert_eq!(io.write(data).unwrap(), data.len());
    io.close().unwrap();
    s
}

fn read_all(s: &dyn Storage) -> Vec<u8> {
    let mut io = s.open(OpenMode::READ).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
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

fn names(folder: &dyn Storage) -> Vec<String> {
    folder
        .children()
        .unwrap()
        .iter()
        .map(|c| c.name().unwrap())
        .collect()
}

fn visible_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != STATE_DIR)
        .collect();
    v.sort();
    v
}

#[test]
fn identity_is_created_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let serial = d.serial();
    assert_eq!(serial.len(), 32);
    assert!(dir.path().join(".wmdm/device.id").is_file());
    let folder_name = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(d.name().unwrap(), folder_name);
    d.set_friendly_name("Walkman").unwrap();
    drop(d);
    let d = open(dir.path());
    assert_eq!(d.serial(), serial);
    assert_eq!(d.name().unwrap(), "Walkman");
    assert_eq!(d.serial_number().unwrap().serial(), serial.as_bytes());
    assert!(
        d.device_type()
            .unwrap()
            .contains(wmdm::flags::DeviceType::STORAGE)
    );
    assert!(
        d.format_support()
            .unwrap()
            .mime_types
            .iter()
            .any(|m| m == "audio/mpeg")
    );
    assert_eq!(
        names(d.root().as_ref()),
        Vec::<String>::new(),
        ".wmdm is never content"
    );
    assert_eq!(d.set_friendly_name(" \n"), Err(Error::InvalidArg));
}

#[test]
fn write_then_read_back_with_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let root = d.root();
    let music = root.create(&CreateRequest::folder("Music")).unwrap();
    let song = write_file(music.as_ref(), "song.mp3", b"0123456789");
    assert_eq!(read_all(song.as_ref()), b"0123456789");
    assert_eq!(song.size().unwrap(), 10);
    let a = song.attributes().unwrap().attributes;
    for f in [
        Attributes::FILE,
        Attributes::AUDIO,
        Attributes::MUSIC,
        Attributes::CANREAD,
        Attributes::CANDELETE,
        Attributes::CANRENAME,
        Attributes::CANMOVE,
    ] {
        assert!(a.contains(f), "{f:?}");
    }
    assert!(!a.contains(Attributes::FOLDER));
    assert!(music.attributes().unwrap().attributes.is_folder());
    assert!(song.date().unwrap().year >= 2024);
    assert_eq!(
        song.parent().unwrap().unwrap().unique_id().unwrap(),
        music.unique_id().unwrap()
    );
    assert!(root.parent().unwrap().is_none());
    assert_eq!(
        fs::read(dir.path().join("Music/song.mp3")).unwrap(),
        b"0123456789"
    );
    // Seek and partial reads.
    let mut io = song.open(OpenMode::READ).unwrap();
    assert_eq!(io.seek(SeekOrigin::EOF, 3).unwrap(), 7);
    let mut b = [0u8; 8];
    assert_eq!(io.read(&mut b).unwrap(), 3);
    assert_eq!(&b[..3], b"789");
    assert_eq!(io.seek(SeekOrigin::BOF, 11), Err(Error::InvalidArg));
    assert_eq!(io.write(b"x"), Err(Error::AccessDenied));
    // Read-write edits in place, through a temporary file.
    let mut io = song.open(OpenMode(3)).unwrap();
    io.seek(SeekOrigin::BOF, 2).unwrap();
    io.write(b"ab").unwrap();
    io.close().unwrap();
    assert_eq!(read_all(song.as_ref()), b"01ab456789");
    assert_eq!(music.open(OpenMode::READ).err(), Some(Error::InvalidType));
    assert_eq!(song.open(OpenMode(0)).err(), Some(Error::InvalidArg));
    assert_eq!(song.children().err(), Some(Error::InvalidType));
    let txt = write_file(root.as_ref(), ".hidden.txt", b"x");
    let a = txt.attributes().unwrap().attributes;
    assert!(a.contains(Attributes::HIDDEN) && a.contains(Attributes::DATA));
}

#[cfg_attr(
    windows,
    ignore = "under Wine a dropped write's temporary file is still listed by the host: not yet investigated"
)]
#[test]
fn dropped_write_leaves_no_visible_object() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let root = d.root();
    let s = root.create(&CreateRequest::file("new.mp3")).unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    io.write(&[7u8; 5000]).unwrap();
    drop(io);
    assert!(names(root.as_ref()).is_empty());
    assert!(
        visible_files(dir.path()).is_empty(),
        "temp removed: {:?}",
        visible_files(dir.path())
    );
    // The session keeps the reservation alive after the creating handle is gone.
    let mut io = root
        .create(&CreateRequest::file("kept.mp3"))
        .unwrap()
        .open(OpenMode::WRITE)
        .unwrap();
    io.write(b"kept").unwrap();
    io.close().unwrap();
    assert_eq!(names(root.as_ref()), vec!["kept.mp3"]);
    root.child("kept.mp3")
        .unwrap()
        .delete(false, &mut NoProgress)
        .unwrap();
    // An existing object keeps its old content when a rewrite is abandoned.
    let old = write_file(root.as_ref(), "keep.mp3", b"old");
    let mut io = old.open(OpenMode::WRITE).unwrap();
    io.write(b"new content").unwrap();
    drop(io);
    assert_eq!(read_all(old.as_ref()), b"old");
    // A crash (here: a session that never ends) leaves a temporary file: never listed, and
    // removed by the next session's scan. A user's file that only looks like one stays.
    let mut io = old.open(OpenMode::WRITE).unwrap();
    io.write(b"unfinished").unwrap();
    std::mem::forget(io);
    fs::write(dir.path().join(".wmdm-tmp-00000000deadbeef.part"), b"mine").unwrap();
    assert_eq!(names(root.as_ref()), vec!["keep.mp3"]);
    let next = open(dir.path());
    assert_eq!(names(next.root().as_ref()), vec!["keep.mp3"]);
    assert_eq!(
        visible_files(dir.path()),
        vec![".wmdm-tmp-00000000deadbeef.part", "keep.mp3"]
    );
}

#[test]
fn create_collisions_and_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let root = d.root();
    let a = write_file(root.as_ref(), "Song.mp3", b"one");
    assert_eq!(
        root.create(&CreateRequest::file("Song.mp3")).err(),
        Some(Error::AlreadyExists)
    );
    assert_eq!(
        root.create(&CreateRequest::file("song.MP3")).err(),
        Some(Error::AlreadyExists),
        "FAT names are case-insensitive"
    );
    let b = root
        .create(&CreateRequest::file("song.mp3").overwrite())
        .unwrap();
    assert_eq!(b.unique_id().unwrap(), a.unique_id().unwrap());
    let mut io = b.open(OpenMode::WRITE).unwrap();
    io.write(b"two").unwrap();
    io.close().unwrap();
    assert_eq!(names(root.as_ref()), vec!["Song.mp3"]);
    assert_eq!(read_all(a.as_ref()), b"two");
    // A reserved name that was never written is handed back, not refused.
    let r = root.create(&CreateRequest::file("pending.mp3")).unwrap();
    let again = root.create(&CreateRequest::file("pending.mp3")).unwrap();
    assert_eq!(again.unique_id().unwrap(), r.unique_id().unwrap());
    assert_eq!(
        root.create(&CreateRequest::folder("pending.mp3")).err(),
        Some(Error::AlreadyExists)
    );
    assert_eq!(
        a.create(&CreateRequest::file("x")).err(),
        Some(Error::InvalidType),
        "into a file"
    );
    let sib = a
        .create(&CreateRequest::file("after.mp3").placement(Placement::After))
        .unwrap();
    assert_eq!(
        sib.parent().unwrap().unwrap().unique_id().unwrap(),
        root.unique_id().unwrap()
    );
    // Sanitising picks a free name instead.
    let dir2 = tempfile::tempdir().unwrap();
    let d2 = FsDevice::open(
        dir2.path(),
        DeviceOptions::default().policy(NamePolicy::fat(wmdm::providers::fs::NameMode::Sanitise)),
    )
    .unwrap();
    write_file(d2.root().as_ref(), "a.mp3", b"1");
    write_file(d2.root().as_ref(), "A.mp3", b"2");
    write_file(d2.root().as_ref(), "a?.mp3", b"3");
    assert_eq!(
        names(d2.root().as_ref()),
        vec!["A (2).mp3", "a.mp3", "a_.mp3"]
    );
}

#[test]
fn ids_survive_rename_move_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (song_id, album_id, other_id);
    {
        let d = open(dir.path());
        let root = d.root();
        let album = root.create(&CreateRequest::folder("Album")).unwrap();
        let other = root.create(&CreateRequest::folder("Other")).unwrap();
        let song = write_file(album.as_ref(), "01.mp3", b"x");
        song_id = song.unique_id().unwrap();
        album_id = album.unique_id().unwrap();
        other_id = other.unique_id().unwrap();
        assert!(song_id.starts_with(&d.serial()));
        album.rename("Renamed", &mut NoProgress).unwrap();
        assert_eq!(song.unique_id().unwrap(), song_id);
        assert_eq!(
            read_all(song.as_ref()),
            b"x",
            "the handle follows its folder"
        );
        album
            .move_to(Placement::Into, other.as_ref(), &mut NoProgress)
            .unwrap();
        assert!(dir.path().join("Other/Renamed/01.mp3").is_file());
        assert_eq!(
            other.move_to(Placement::Into, album.as_ref(), &mut NoProgress),
            Err(Error::InvalidArg),
            "into its own subtree"
        );
        song.rename("02.mp3", &mut NoProgress).unwrap();
        let mut rec = Recorder::new();
        song.move_to(Placement::Before, other.as_ref(), &mut rec)
            .unwrap();
        assert_eq!(rec.events().last(), Some(&ProgressEvent::End(Ok(()))));
        assert!(dir.path().join("02.mp3").is_file());
        d.flush().unwrap();
    }
    let d = open(dir.path());
    let song = d.find_storage(FindScope::GLOBAL, &song_id).unwrap();
    assert_eq!(song.name().unwrap(), "02.mp3");
    let album = d.find_storage(FindScope::GLOBAL, &album_id).unwrap();
    assert_eq!(album.name().unwrap(), "Renamed");
    assert_eq!(
        album.parent().unwrap().unwrap().unique_id().unwrap(),
        other_id
    );
    let root = d.root();
    assert!(
        root.find_storage(FindScope::IMMEDIATE_CHILDREN, &album_id)
            .is_err()
    );
    assert!(
        root.find_storage(FindScope::IMMEDIATE_CHILDREN, &other_id)
            .is_ok()
    );
    assert_eq!(
        d.find_storage(FindScope::GLOBAL, "nonsense").err(),
        Some(Error::FileNotFound)
    );
    // Files added behind the provider's back get IDs that last.
    fs::write(dir.path().join("Other/added.mp3"), b"abc").unwrap();
    let other = root.child("Other").unwrap();
    let added = other.child("added.mp3").unwrap();
    let added_id = added.unique_id().unwrap();
    d.flush().unwrap();
    drop((d, root, other, added, song, album));
    let d = open(dir.path());
    let again = d.find_storage(FindScope::GLOBAL, &added_id).unwrap();
    assert_eq!(again.size().unwrap(), 3);
}

#[test]
fn delete_rules_and_progress() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let root = d.root();
    let f = root.create(&CreateRequest::folder("F")).unwrap();
    let sub = f.create(&CreateRequest::folder("Sub")).unwrap();
    write_file(sub.as_ref(), "a.mp3", b"a");
    write_file(f.as_ref(), "b.mp3", b"b");
    assert_eq!(
        f.delete(false, &mut NoProgress),
        Err(Error::DirectoryNotEmpty)
    );
    let mut rec = Recorder::new();
    f.delete(true, &mut rec).unwrap();
    assert_eq!(rec.events().first(), Some(&ProgressEvent::Begin(4)));
    assert_eq!(rec.last_progress(), Some(4));
    assert!(visible_files(dir.path()).is_empty());
    assert_eq!(f.name().err(), Some(Error::InterfaceDead));
    assert_eq!(sub.size().err(), Some(Error::InterfaceDead));
    assert_eq!(root.delete(true, &mut NoProgress), Err(Error::AccessDenied));
    let ro = write_file(root.as_ref(), "ro.mp3", b"r");
    let mut attrs = ro.attributes().unwrap();
    attrs.attributes |= Attributes::READONLY;
    ro.set_attributes(&attrs).unwrap();
    assert!(
        ro.attributes()
            .unwrap()
            .attributes
            .contains(Attributes::READONLY)
    );
    assert_eq!(ro.delete(false, &mut NoProgress), Err(Error::AccessDenied));
    assert_eq!(ro.open(OpenMode::WRITE).err(), Some(Error::AccessDenied));
    attrs.attributes.remove(Attributes::READONLY);
    ro.set_attributes(&attrs).unwrap();
    ro.delete(false, &mut NoProgress).unwrap();
    // Cancelling a delete stops it.
    let g = root.create(&CreateRequest::folder("G")).unwrap();
    for i in 0..5 {
        write_file(g.as_ref(), &format!("{i}.mp3"), b"x");
    }
    let mut rec = Recorder::new().cancel_at(2);
    assert_eq!(g.delete(true, &mut rec), Err(Error::UserCancelled));
    assert!(g.name().is_ok(), "the folder is still there");
}

#[test]
fn quota_accounting() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("user.txt"), vec![0u8; 100]).unwrap();
    let d = FsDevice::open(
        dir.path(),
        DeviceOptions::default().quota(10_000).durable(false),
    )
    .unwrap();
    let g = d.globals();
    let used0 = g.capacity().unwrap().used;
    assert!(used0 >= 100, "counts what is already there");
    assert_eq!(g.total_size().unwrap(), 10_000);
    assert_eq!(g.total_free().unwrap(), 10_000 - used0);
    let root = d.root();
    write_file(root.as_ref(), "a.mp3", &vec![1u8; 4000]);
    assert_eq!(g.total_free().unwrap(), 10_000 - used0 - 4000);
    // A write that does not fit fails with disk full and leaves nothing behind.
    let s = root.create(&CreateRequest::file("big.mp3")).unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    io.write(&vec![2u8; 3000]).unwrap();
    assert_eq!(io.write(&vec![2u8; 3000]), Err(Error::DiskFull));
    assert_eq!(io.close(), Err(Error::DiskFull));
    assert_eq!(names(root.as_ref()), vec!["a.mp3", "user.txt"]);
    assert_eq!(visible_files(dir.path()), vec!["a.mp3", "user.txt"]);
    assert_eq!(g.total_free().unwrap(), 10_000 - used0 - 4000);
    assert_eq!(
        root.create(&CreateRequest::file("hint.mp3").size_hint(1 << 20))
            .err(),
        Some(Error::DiskFull)
    );
    // Replacing a file counts only the difference.
    let a = root.child("a.mp3").unwrap();
    let mut io = a.open(OpenMode::WRITE).unwrap();
    io.write(&vec![3u8; 9000]).unwrap();
    io.close().unwrap();
    assert_eq!(g.total_free().unwrap(), 10_000 - used0 - 9000);
    a.delete(false, &mut NoProgress).unwrap();
    assert_eq!(g.total_free().unwrap(), 10_000 - used0);
    assert_eq!(g.total_bad().unwrap(), 0);
    // A device over its quota (the user lowered it) still takes software's small state files
    // in a hidden folder at the root: a sync must be able to journal the deletes that make
    // room. Content still fails.
    write_file(
        root.as_ref(),
        "fill.mp3",
        &vec![4u8; 10_000 - used0 as usize],
    );
    assert_eq!(g.total_free().unwrap(), 0);
    let state = root
        .create(&CreateRequest::folder(".wmdm-sync"))
        .unwrap_or_else(|_| root.child(".wmdm-sync").unwrap());
    let s = state
        .create(&CreateRequest::file("journal.txt").size_hint(500))
        .unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    io.write(&[b'j'; 500]).unwrap();
    io.close().unwrap();
    let s = root.create(&CreateRequest::file("more.mp3")).unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    assert_eq!(io.write(&[5u8; 500]), Err(Error::DiskFull));
    drop(io);
    root.child("fill.mp3")
        .unwrap()
        .delete(false, &mut NoProgress)
        .unwrap();
    // Without a quota, the file system's figures.
    let d2 = open(dir.path());
    let c = d2.globals().capacity().unwrap();
    if let (Some(t), Some(f)) = (c.total, c.free) {
        assert!(t > 0 && f <= t);
    }
}

#[test]
fn ten_thousand_files_enumerate_completely_and_stably() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    fs::create_dir(&big).unwrap();
    for i in 0..10_000 {
        fs::write(big.join(format!("track {i:05}.mp3")), i.to_string()).unwrap();
    }
    let d = open(dir.path());
    let folder = d.root().child("big").unwrap();
    let first = folder.children().unwrap();
    assert_eq!(first.len(), 10_000);
    let n1: Vec<String> = first.iter().map(|c| c.name().unwrap()).collect();
    let mut sorted = n1.clone();
    sorted.sort();
    assert_eq!(n1, sorted);
    let ids1: Vec<String> = first.iter().map(|c| c.unique_id().unwrap()).collect();
    let second = folder.children().unwrap();
    let ids2: Vec<String> = second.iter().map(|c| c.unique_id().unwrap()).collect();
    assert_eq!(ids1, ids2);
    let total: u64 = second.iter().map(|c| c.size().unwrap()).sum();
    let expect: u64 = (0..10_000).map(|i: u32| i.to_string().len() as u64).sum();
    assert_eq!(total, expect);
    assert_eq!(walk(d.root().as_ref()).unwrap().len(), 10_001);
}

#[test]
fn symlinks_never_lead_out_of_the_root() {
    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret.txt"), b"secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("s.txt"))
            .unwrap();
        let d = open(dir.path());
        let root = d.root();
        assert!(names(root.as_ref()).is_empty(), "links are not listed");
        assert!(root.child("escape").is_err());
        // A folder swapped for a link behind the provider's back is refused.
        let f = root.create(&CreateRequest::folder("F")).unwrap();
        let song = write_file(f.as_ref(), "x.mp3", b"x");
        fs::remove_file(dir.path().join("F/x.mp3")).unwrap();
        fs::remove_dir(dir.path().join("F")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("F")).unwrap();
        assert!(f.create(&CreateRequest::file("y.mp3")).is_err());
        assert!(song.open(OpenMode::WRITE).is_err());
        assert!(f.children().is_err());
        assert_eq!(
            fs::read_dir(outside.path()).unwrap().count(),
            1,
            "nothing written outside"
        );
    }
}

#[test]
fn direct_transfer_copies_with_progress_and_cancel() {
    use wmdm::provider::{TransferOptions, TransferSource};
    let src_dir = tempfile::tempdir().unwrap();
    let src = src_dir.path().join("src.mp3");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&src, &data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let root = d.root();
    let dt = root.direct_transfer().unwrap();
    let mut opts = TransferOptions {
        destination_name: "copy.mp3".into(),
        ..TransferOptions::default()
    };
    let mut meta = Metadata::new();
    meta.add(tags::USER_RATING, 80u32);
    opts.metadata = Some(meta);
    let mut rec = Recorder::new();
    let out = dt
        .transfer_to_device(TransferSource::File(&src), &opts, &mut rec)
        .unwrap();
    assert_eq!(fs::read(dir.path().join("copy.mp3")).unwrap(), data);
    assert_eq!(rec.events().first(), Some(&ProgressEvent::Begin(3_000_000)));
    assert_eq!(rec.last_progress(), Some(3_000_000));
    assert_eq!(out.metadata().unwrap().get_u32(tags::USER_RATING), Some(80));
    assert_eq!(
        dt.transfer_to_device(TransferSource::File(&src), &opts, &mut NoProgress)
            .err(),
        Some(Error::AlreadyExists)
    );
    // From a stream, cancelled half-way: nothing is left.
    let mut reader = std::io::Cursor::new(data.clone());
    opts.destination_name = "stream.mp3".into();
    let mut rec = Recorder::new().cancel_at(1_500_000);
    let r = dt.transfer_to_device(
        TransferSource::Reader {
            reader: &mut reader,
            size: data.len() as u64,
        },
        &opts,
        &mut rec,
    );
    assert_eq!(r.err(), Some(Error::UserCancelled));
    assert_eq!(visible_files(dir.path()), vec!["copy.mp3"]);
    assert_eq!(names(root.as_ref()), vec!["copy.mp3"]);
    // A short stream is an error, not a truncated file.
    let mut short = std::io::Cursor::new(vec![1u8; 10]);
    let r = dt.transfer_to_device(
        TransferSource::Reader {
            reader: &mut short,
            size: 20,
        },
        &opts,
        &mut NoProgress,
    );
    assert_eq!(r.err(), Some(Error::EndOfFile));
    assert_eq!(names(root.as_ref()), vec!["copy.mp3"]);
    let mut ok = std::io::Cursor::new(vec![1u8; 20]);
    dt.transfer_to_device(
        TransferSource::Reader {
            reader: &mut ok,
            size: 20,
        },
        &opts,
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(
        fs::read(dir.path().join("stream.mp3")).unwrap(),
        vec![1u8; 20]
    );
    opts.overwrite = true;
    opts.destination_name = "copy.mp3".into();
    let mut ok = std::io::Cursor::new(vec![9u8; 5]);
    dt.transfer_to_device(
        TransferSource::Reader {
            reader: &mut ok,
            size: 5,
        },
        &opts,
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(fs::read(dir.path().join("copy.mp3")).unwrap(), vec![9u8; 5]);
}

#[test]
fn device_properties() {
    use wmdm::metadata::device as props;
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let formats = d.property(props::FORMATS_SUPPORTED).unwrap();
    assert!(formats.as_u32_array().unwrap().contains(&FormatCode::MP3.0));
    d.set_property(props::DEVICE_FRIENDLY_NAME, &"Car stick".into())
        .unwrap();
    assert_eq!(
        d.property(props::DEVICE_FRIENDLY_NAME).unwrap().as_str(),
        Some("Car stick")
    );
    assert_eq!(d.property("WMDM/Nope").err(), Some(Error::NotSupported));
    assert_eq!(d.storages().unwrap().len(), 1);
    let g = d.root().globals().unwrap();
    assert!(
        g.root_storage()
            .unwrap()
            .attributes()
            .unwrap()
            .attributes
            .is_folder()
    );
    assert_eq!(g.device().unwrap().name().unwrap(), "Car stick");
    let _: Arc<dyn Device> = Arc::new(d);
}

#[test]
fn open_readers_and_case_variants_behave_alike_on_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let root = d.root();
    let song = write_file(root.as_ref(), "Song.mp3", b"one");
    // A reader stays open across a rewrite and a delete: Windows keeps the name of an open
    // file taken, which must not show through.
    let mut reader = song.open(OpenMode::READ).unwrap();
    let mut io = song.open(OpenMode::WRITE).unwrap();
    io.write(b"two").unwrap();
    io.close().unwrap();
    assert_eq!(read_all(song.as_ref()), b"two");
    let mut b = [0u8; 8];
    assert_eq!(reader.read(&mut b).unwrap(), 3);
    assert_eq!(&b[..3], b"one", "an open reader keeps the data it opened");
    song.delete(false, &mut NoProgress).unwrap();
    assert!(names(root.as_ref()).is_empty());
    let again = write_file(root.as_ref(), "Song.mp3", b"three");
    assert_eq!(names(root.as_ref()), vec!["Song.mp3"]);
    drop(reader);
    assert_eq!(read_all(again.as_ref()), b"three");
    assert_eq!(visible_files(dir.path()), vec!["Song.mp3"]);
    // A case variant opens the same file on Windows, so it is the same object there; a
    // case-sensitive host has no such file.
    match root.child("SONG.MP3") {
        Ok(upper) if cfg!(windows) => {
            assert_eq!(upper.unique_id().unwrap(), again.unique_id().unwrap());
            assert_eq!(upper.name().unwrap(), "Song.mp3");
        }
        other => assert_eq!(other.err(), Some(Error::FileNotFound)),
    }
    assert_eq!(root.child("Song.mp3\\x").err(), Some(Error::FileNotFound));
    // Changing only the case of a name is a rename like any other.
    again.rename("SONG.mp3", &mut NoProgress).unwrap();
    assert_eq!(names(root.as_ref()), vec!["SONG.mp3"]);
    assert_eq!(visible_files(dir.path()), vec!["SONG.mp3"]);
    assert_eq!(
        root.child("SONG.mp3").unwrap().unique_id().unwrap(),
        again.unique_id().unwrap()
    );
    // A folder goes away at once even while one of its files is being read, and whatever
    // read-only files it holds.
    let album = root.create(&CreateRequest::folder("Album")).unwrap();
    let track = write_file(album.as_ref(), "t.mp3", b"track");
    let locked = write_file(album.as_ref(), "locked.mp3", b"locked");
    locked
        .set_attributes(&wmdm::provider::ObjectAttributes::new(
            Attributes::FILE | Attributes::READONLY,
        ))
        .unwrap();
    assert_eq!(
        locked.delete(false, &mut NoProgress),
        Err(Error::AccessDenied)
    );
    let mut reader = track.open(OpenMode::READ).unwrap();
    album.delete(true, &mut NoProgress).unwrap();
    assert_eq!(names(root.as_ref()), vec!["SONG.mp3"]);
    assert_eq!(reader.read(&mut b).unwrap(), 5);
    drop(reader);
    assert_eq!(visible_files(dir.path()), vec!["SONG.mp3"]);
    drop(d);
    let leftovers: Vec<_> = fs::read_dir(dir.path().join(STATE_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
