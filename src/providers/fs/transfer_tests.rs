//! Tests of direct transfers under a caller's own temporary name
//! ([`TransferOptions::temporary`]): written in place, never over anything.

use std::io::Read;

use super::*;
use crate::fuzzing::Recorder;
use crate::metadata::{Metadata, tags};
use crate::provider::{CreateRequest, DirectTransfer, NoProgress, Storage};
use crate::providers::fs::{DeviceOptions, FsDevice, NameMode, NamePolicy};

/// A sync's journaled temporary name.
const TEMP: &str = ".wmdm-sync-0123456789abcdef-00000001.part";

fn options(name: &str) -> TransferOptions {
    TransferOptions {
        destination_name: name.into(),
        temporary: true,
        ..TransferOptions::default()
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != super::super::STATE_DIR)
        .collect();
    v.sort();
    v
}

/// A reader that lists the folder the file is written into, half-way through.
struct Peek<'a> {
    data: std::io::Cursor<Vec<u8>>,
    dir: &'a Path,
    seen: Option<Vec<String>>,
}

impl Read for Peek<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.position() > 0 && self.seen.is_none() {
            self.seen = Some(entries(self.dir));
        }
        // A few bytes a call, so the write is seen in progress.
        let n = buf.len().min(100);
        self.data.read(&mut buf[..n])
    }
}

#[test]
fn a_caller_temporary_name_is_written_in_place_with_no_provider_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let root = d.root();
    let used0 = d.globals().capacity().unwrap().used;
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let mut peek = Peek {
        data: std::io::Cursor::new(data.clone()),
        dir: dir.path(),
        seen: None,
    };
    let mut meta = Metadata::new();
    meta.add(tags::USER_RATING, 60u32);
    let opts = TransferOptions {
        metadata: Some(meta),
        ..options(TEMP)
    };
    let out = root
        .transfer_to_device(
            TransferSource::Reader {
                reader: &mut peek,
                size: data.len() as u64,
            },
            &opts,
            &mut NoProgress,
        )
        .unwrap();
    // While the data was written, the only entry was the file itself: no temporary file of
    // the provider's, so nothing to rename.
    assert_eq!(peek.seen, Some(vec![TEMP.to_owned()]));
    assert_eq!(entries(dir.path()), vec![TEMP.to_owned()]);
    assert_eq!(std::fs::read(dir.path().join(TEMP)).unwrap(), data);
    assert_eq!(out.name().unwrap(), TEMP);
    assert_eq!(out.size().unwrap(), data.len() as u64);
    // The metadata given with it is applied; the space it takes is counted once.
    assert_eq!(out.metadata().unwrap().get_u32(tags::USER_RATING), Some(60));
    assert_eq!(
        d.globals().capacity().unwrap().used,
        used0 + data.len() as u64
    );
    // Renamed into place by the caller, it keeps its ID.
    let id = out.unique_id().unwrap();
    out.rename("song.mp3", &mut NoProgress).unwrap();
    assert_eq!(entries(dir.path()), vec!["song.mp3".to_owned()]);
    assert_eq!(root.child("song.mp3").unwrap().unique_id().unwrap(), id);
}

#[test]
fn a_caller_temporary_name_that_is_taken_fails_and_leaves_the_file_alone() {
    let policies = [
        NamePolicy::default(),
        NamePolicy::fat(NameMode::Reject),
        NamePolicy::fat(NameMode::Sanitise),
    ];
    for mode in policies {
        let dir = tempfile::tempdir().unwrap();
        let d = FsDevice::open(
            dir.path(),
            DeviceOptions::default().durable(false).policy(mode),
        )
        .unwrap();
        std::fs::write(dir.path().join(TEMP), b"the user's").unwrap();
        let mut data = std::io::Cursor::new(vec![1u8; 50]);
        let r = d.root().transfer_to_device(
            TransferSource::Reader {
                reader: &mut data,
                size: 50,
            },
            &TransferOptions {
                overwrite: true,
                ..options(TEMP)
            },
            &mut NoProgress,
        );
        assert_eq!(
            r.err(),
            Some(Error::AlreadyExists),
            "{mode:?}: never numbered"
        );
        assert_eq!(entries(dir.path()), vec![TEMP.to_owned()], "{mode:?}");
        assert_eq!(std::fs::read(dir.path().join(TEMP)).unwrap(), b"the user's");
        // No reservation is left: once the user's file is gone, the name can be written.
        std::fs::remove_file(dir.path().join(TEMP)).unwrap();
        transfer(&d.root(), TEMP, b"ours", None);
        assert_eq!(std::fs::read(dir.path().join(TEMP)).unwrap(), b"ours");
    }
    // A name reserved by a write in progress is taken too.
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let reserved = d
        .root()
        .create_named(&CreateRequest::file(TEMP), true)
        .unwrap();
    assert!(reserved.is_pending());
    assert_eq!(
        d.root()
            .create_named(&CreateRequest::file(TEMP), true)
            .err(),
        Some(Error::AlreadyExists)
    );
}

#[test]
fn a_write_in_place_that_fails_or_is_dropped_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let root = d.root();
    let used0 = d.globals().capacity().unwrap().used;
    // Cancelled half-way.
    let mut data = std::io::Cursor::new(vec![2u8; 3_000_000]);
    let r = root.transfer_to_device(
        TransferSource::Reader {
            reader: &mut data,
            size: 3_000_000,
        },
        &options(TEMP),
        &mut Recorder::new().cancel_at(1_000_000),
    );
    assert_eq!(r.err(), Some(Error::UserCancelled));
    // Short of its announced size.
    let mut short = std::io::Cursor::new(vec![3u8; 10]);
    let r = root.transfer_to_device(
        TransferSource::Reader {
            reader: &mut short,
            size: 20,
        },
        &options(TEMP),
        &mut NoProgress,
    );
    assert_eq!(r.err(), Some(Error::EndOfFile));
    assert!(entries(dir.path()).is_empty());
    assert!(root.child(TEMP).is_err(), "no reservation left");
    assert_eq!(d.globals().capacity().unwrap().used, used0);
    // A session dropped before it is published (what a write cut short leaves) removes its
    // file; one that is never dropped (the process died) leaves only the caller's name,
    // which the caller recorded (the sync's recovery deletes it).
    let created = root.create_named(&CreateRequest::file(TEMP), true).unwrap();
    let mut session = WriteSession::start_in_place(&created, false).unwrap();
    session
        .fill_from_reader(
            &mut std::io::Cursor::new(vec![4u8; 10]),
            None,
            &mut NoProgress,
        )
        .unwrap();
    assert_eq!(entries(dir.path()), vec![TEMP.to_owned()]);
    drop(session);
    assert!(entries(dir.path()).is_empty());
    let mut session = WriteSession::start_in_place(&created, false).unwrap();
    session
        .fill_from_reader(
            &mut std::io::Cursor::new(vec![5u8; 10]),
            None,
            &mut NoProgress,
        )
        .unwrap();
    std::mem::forget(session);
    assert_eq!(entries(dir.path()), vec![TEMP.to_owned()]);
}

/// An MP3 of `frames` silent frames, with no tags.
fn mp3(frames: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..frames {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]);
    }
    v
}

fn transfer(folder: &FsStorage, name: &str, data: &[u8], meta: Option<Metadata>) -> StorageRef {
    let mut reader = std::io::Cursor::new(data.to_vec());
    folder
        .transfer_to_device(
            TransferSource::Reader {
                reader: &mut reader,
                size: data.len() as u64,
            },
            &TransferOptions {
                metadata: meta,
                ..options(name)
            },
            &mut NoProgress,
        )
        .unwrap()
}

fn read_whole(s: &dyn Storage) -> Vec<u8> {
    let mut io = s.open(crate::flags::OpenMode::READ).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
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

#[test]
fn the_read_after_a_write_is_the_bytes_written_without_opening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let root = d.root();
    let data = mp3(40);
    let out = transfer(&root, TEMP, &data, None);
    // As the sync reads a file back: its size, then its content.
    assert_eq!(out.size().unwrap(), data.len() as u64);
    // Gone behind the provider's back: a read that opened the file would fail. The first
    // read is served from what the write kept (the bytes it wrote and published unchanged).
    std::fs::remove_file(dir.path().join(TEMP)).unwrap();
    assert_eq!(read_whole(out.as_ref()), data);
    // Only once: the next read opens the file.
    assert!(out.open(crate::flags::OpenMode::READ).is_err());
}

#[test]
fn the_read_after_a_write_is_the_stored_file_once_anything_changed() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let root = d.root();
    let data = mp3(40);
    // Tags written into the file: the file holds other bytes than were sent.
    let mut meta = Metadata::new();
    meta.add(tags::TITLE, "A title");
    let tagged = transfer(&root, TEMP, &data, Some(meta));
    let stored = std::fs::read(dir.path().join(TEMP)).unwrap();
    assert_ne!(stored, data, "the title went into the file");
    assert_eq!(read_whole(tagged.as_ref()), stored);
    // Another change since the write (a rename): the file is read.
    let other = ".wmdm-sync-0123456789abcdef-00000002.part";
    let first = transfer(&root, other, &data, None);
    first.rename("b.mp3", &mut NoProgress).unwrap();
    std::fs::write(
        dir.path().join("b.mp3"),
        mp3(40).iter().map(|b| !b).collect::<Vec<u8>>(),
    )
    .unwrap();
    assert_eq!(
        read_whole(first.as_ref()),
        std::fs::read(dir.path().join("b.mp3")).unwrap()
    );
    // A write of another file: the first one's read is its file.
    let third = ".wmdm-sync-0123456789abcdef-00000003.part";
    let a = transfer(&root, third, &data, None);
    let _b = transfer(&root, "c.mp3", &mp3(3), None);
    std::fs::write(dir.path().join(third), b"changed").unwrap();
    assert_eq!(read_whole(a.as_ref()), b"changed");
}

/// Metadata given with a new file is part of its creation: its date is the write's, never
/// ahead of the clock. Given with a file that replaces another, it is a change: dated at least
/// one FAT step past the old date, so a host that remembers date and size sees it.
#[test]
fn metadata_with_a_new_file_keeps_its_date_and_with_a_replacement_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let root = d.root();
    let send = |name: &str, overwrite: bool| {
        let mut meta = Metadata::new();
        meta.add(tags::USER_RATING, 60u32);
        let opts = TransferOptions {
            destination_name: name.into(),
            overwrite,
            metadata: Some(meta),
            ..TransferOptions::default()
        };
        let mut data = std::io::Cursor::new(vec![5u8; 300]);
        root.transfer_to_device(
            TransferSource::Reader {
                reader: &mut data,
                size: 300,
            },
            &opts,
            &mut NoProgress,
        )
        .unwrap()
    };
    let modified = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .modified()
            .unwrap()
    };
    send("new.bin", false);
    assert!(
        modified("new.bin") <= std::time::SystemTime::now(),
        "dated ahead"
    );
    let before = modified("new.bin");
    send("new.bin", true);
    assert!(
        modified("new.bin") >= before + std::time::Duration::from_secs(2),
        "a replacement's metadata did not date it as a change"
    );
}

/// A file written under the caller's temporary name into a folder checked a moment ago costs
/// no `lstat` of the folder where the kernel creates the file refusing links on its path
/// (else one, the look that refuses a folder swapped for a link before a name is taken in
/// it), and none of the new file: its snapshot comes from its descriptor before it is
/// closed. The metadata given with the file is applied and its snapshot is what the disk
/// says.
#[test]
fn a_write_in_place_looks_at_neither_its_folder_nor_its_file() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let music = d
        .root()
        .create_impl(&CreateRequest::folder("Music"))
        .unwrap();
    let data = mp3(10);
    let mut meta = Metadata::new();
    meta.add(tags::USER_RATING, 40u32);
    transfer(&music, TEMP, &data, Some(meta.clone()));
    let lstats = || d.shared.lstats.load(Ordering::Relaxed);
    let before = lstats();
    let name = ".wmdm-sync-0123456789abcdef-00000002.part";
    // The manager asks first whether the folder takes direct transfers.
    assert!(music.direct_transfer().is_some());
    let out = transfer(&music, name, &data, Some(meta));
    let folder_looks = if d.shared.beneath.supported() { 0 } else { 1 };
    assert_eq!(lstats(), before + folder_looks);
    let md = std::fs::symlink_metadata(dir.path().join("Music").join(name)).unwrap();
    assert_eq!(out.size().unwrap(), md.len());
    assert_eq!(
        out.modified_precise().unwrap(),
        Some(md.modified().unwrap())
    );
    assert_eq!(out.metadata().unwrap().get_u32(tags::USER_RATING), Some(40));
}

/// A folder swapped for a link behind the provider's back a moment after it was written into
/// (so within the window in which a checked folder is trusted) is refused at once, whether
/// the kernel checks the file's path or the folder is looked at: nothing is written outside,
/// and the folder that was swapped out keeps only what was written into it before.
#[cfg(unix)]
#[test]
fn a_write_in_place_into_a_folder_swapped_for_a_link_is_refused_at_once() {
    for kernel in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
        if !kernel {
            d.shared.beneath.refuse();
        }
        let music = d
            .root()
            .create_impl(&CreateRequest::folder("Music"))
            .unwrap();
        transfer(&music, TEMP, b"one", None);
        std::fs::rename(dir.path().join("Music"), dir.path().join("Moved")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("Music")).unwrap();
        let mut data = std::io::Cursor::new(b"two".to_vec());
        let refused = music
            .transfer_to_device(
                TransferSource::Reader {
                    reader: &mut data,
                    size: 3,
                },
                &options(".wmdm-sync-0123456789abcdef-00000002.part"),
                &mut NoProgress,
            )
            .unwrap_err();
        assert!(
            refused == Error::AccessDenied || refused == Error::InterfaceDead,
            "{kernel}: {refused:?}"
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert_eq!(entries(&dir.path().join("Moved")), vec![TEMP.to_owned()]);
    }
}

/// The snapshot a write in place vouched for is forgotten by the next change to the file: a
/// rewrite of its data through a write session, then tags written into it.
#[test]
fn a_vouched_snapshot_is_forgotten_when_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let root = d.root();
    let out = transfer(&root, TEMP, &mp3(4), None);
    let on_disk = || std::fs::metadata(dir.path().join(TEMP)).unwrap().len();
    assert_eq!(out.size().unwrap(), on_disk());
    let mut io = out.open(crate::flags::OpenMode::WRITE).unwrap();
    io.write(&mp3(9)).unwrap();
    io.close().unwrap();
    assert_eq!(out.size().unwrap(), on_disk());
    assert_eq!(out.size().unwrap(), mp3(9).len() as u64);
    let mut meta = Metadata::new();
    meta.add(tags::TITLE, "A title long enough to grow the file");
    out.set_metadata(&meta).unwrap();
    assert_eq!(out.size().unwrap(), on_disk());
}

/// `content_holds_metadata` answers, from the bytes alone, whether a transfer of them with
/// that metadata would store anything more: where it says yes, the transfer given the
/// metadata stores exactly the bytes sent.
#[test]
fn content_holds_metadata_says_whether_a_transfer_would_store_more() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
    let root = d.root();
    let tagged_as = |title: &str| {
        let mut m = Metadata::new();
        m.add(tags::TITLE, title);
        m.add(tags::AUTHOR, "Band");
        m.add(tags::TRACK, 3u32);
        m
    };
    let meta = tagged_as("Song");
    let plain = mp3(40);
    for name in ["a.mp3", ".wmdm-sync-1-00000001.part"] {
        assert!(!root.content_holds_metadata(name, &plain, &meta), "{name}");
    }
    // The transfer writes the tags into the file: its bytes then hold them, under an
    // audio name or a temporary one (typed by the bytes).
    let tagged = read_whole(&*transfer(&root, "a.mp3", &plain, Some(meta.clone())));
    assert_ne!(tagged, plain);
    for name in ["b.mp3", ".wmdm-sync-1-00000002.part"] {
        assert!(root.content_holds_metadata(name, &tagged, &meta), "{name}");
        let again = transfer(&root, name, &tagged, Some(meta.clone()));
        assert_eq!(
            read_whole(&*again),
            tagged,
            "{name}: stored more than was sent"
        );
    }
    // Another title is not held; a rating goes to the sidecar, so it is not held either.
    assert!(!root.content_holds_metadata("c.mp3", &tagged, &tagged_as("Other")));
    let mut rated = meta.clone();
    rated.add(tags::USER_RATING, 60u32);
    assert!(!root.content_holds_metadata("c.mp3", &tagged, &rated));
    // Bytes lofty cannot read hold nothing.
    assert!(!root.content_holds_metadata("d.mp3", b"not audio at all", &meta));
    assert!(!root.content_holds_metadata("d.part", b"", &meta));
}
