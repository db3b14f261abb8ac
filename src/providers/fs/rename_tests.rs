//! Tests of renames and moves: a file renamed where no reservation or known object is in the
//! way takes one step that refuses a taken name by itself (`FsIo::rename_if_free`); whatever
//! path a rename takes, a name taken on disk, reserved, or taken under the FAT policy's
//! spelling is refused, and the objects keep their IDs.

use std::path::Path;
use std::sync::atomic::Ordering;

use crate::error::Error;
use crate::provider::{CreateRequest, NoProgress, Storage, TransferOptions};
use crate::provider::{StorageRef, TransferSource};
use crate::providers::fs::{DeviceOptions, FsDevice, NameMode, NamePolicy};

fn device(dir: &Path, policy: NamePolicy) -> FsDevice {
    FsDevice::open(dir, DeviceOptions::default().durable(false).policy(policy)).unwrap()
}

/// Writes `bytes` as `name` into `folder` through the provider.
fn put(folder: &dyn Storage, name: &str, bytes: &[u8]) -> StorageRef {
    put_as(folder, name, bytes, false)
}

/// [`put`]; with `temporary`, under the caller's own temporary name (a sync's write).
fn put_as(folder: &dyn Storage, name: &str, bytes: &[u8], temporary: bool) -> StorageRef {
    let mut data = std::io::Cursor::new(bytes.to_vec());
    folder
        .direct_transfer()
        .unwrap()
        .transfer_to_device(
            TransferSource::Reader {
                reader: &mut data,
                size: bytes.len() as u64,
            },
            &TransferOptions {
                destination_name: name.into(),
                temporary,
                ..TransferOptions::default()
            },
            &mut NoProgress,
        )
        .unwrap()
}

fn one_step_renames(d: &FsDevice) -> usize {
    d.shared.io.noreplace_renames.load(Ordering::Relaxed)
}

/// True when this host's file system renames without replacing (Linux on most file systems).
fn host_has_noreplace(dir: &Path) -> bool {
    let (a, b) = (dir.join("probe-a"), dir.join("probe-b"));
    std::fs::write(&a, b"").unwrap();
    let yes = crate::sys::noreplace::rename_noreplace(&a, &b).unwrap()
        == crate::sys::noreplace::NoReplace::Renamed;
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
    yes
}

#[test]
fn a_file_renamed_to_a_free_name_takes_one_step_and_keeps_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let atomic = host_has_noreplace(dir.path());
    let d = device(dir.path(), NamePolicy::default());
    let music = d.root().create(&CreateRequest::folder("Music")).unwrap();
    let other = d.root().create(&CreateRequest::folder("Other")).unwrap();
    let f = put(&*music, "a.part", b"data");
    let id = f.unique_id().unwrap();
    f.rename("a.mp3", &mut NoProgress).unwrap();
    // A move into another folder goes the same way.
    f.move_to(crate::flags::Placement::Into, &*other, &mut NoProgress)
        .unwrap();
    assert_eq!(one_step_renames(&d), if atomic { 2 } else { 0 });
    assert_eq!(
        std::fs::read(dir.path().join("Other/a.mp3")).unwrap(),
        b"data"
    );
    drop(d);
    let d = device(dir.path(), NamePolicy::default());
    let found = d.root().child("Other").unwrap().child("a.mp3").unwrap();
    assert_eq!(found.unique_id().unwrap(), id);
}

/// A name taken behind the provider's back (a file, or a link pointing nowhere) is refused
/// however the rename is made, and nothing is replaced; with the one-step rename refused by
/// the file system, the provider checks names first for the rest of the session.
#[test]
fn a_name_taken_on_disk_is_refused_and_nothing_replaced() {
    for refuse in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let d = device(dir.path(), NamePolicy::default());
        d.shared
            .io
            .refuse_noreplace
            .store(refuse, Ordering::Release);
        let f = put(&*d.root(), "a.part", b"mine");
        let id = f.unique_id().unwrap();
        std::fs::write(dir.path().join("b.mp3"), b"the user's").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("c.mp3")).unwrap();
        assert_eq!(
            f.rename("b.mp3", &mut NoProgress).err(),
            Some(Error::AlreadyExists)
        );
        #[cfg(unix)]
        assert_eq!(
            f.rename("c.mp3", &mut NoProgress).err(),
            Some(Error::AlreadyExists)
        );
        assert_eq!(
            std::fs::read(dir.path().join("b.mp3")).unwrap(),
            b"the user's"
        );
        assert_eq!(std::fs::read(dir.path().join("a.part")).unwrap(), b"mine");
        assert_eq!(f.name().unwrap(), "a.part");
        f.rename("d.mp3", &mut NoProgress).unwrap();
        assert_eq!(std::fs::read(dir.path().join("d.mp3")).unwrap(), b"mine");
        if refuse {
            assert_eq!(one_step_renames(&d), 0);
            assert!(!d.shared.io.noreplace.load(Ordering::Acquire), "remembered");
        }
        drop(d);
        // The refused renames left the ID map as it was.
        let d = device(dir.path(), NamePolicy::default());
        assert_eq!(d.root().child("d.mp3").unwrap().unique_id().unwrap(), id);
    }
}

/// Names the disk does not show still count: a name reserved by a create not yet written,
/// and under the FAT policy a sibling spelt in another case.
#[test]
fn reserved_names_and_fat_spellings_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path(), NamePolicy::default());
    let f = put(&*d.root(), "a.part", b"x");
    let reserved = d.root().create(&CreateRequest::file("r.mp3")).unwrap();
    assert_eq!(
        f.rename("r.mp3", &mut NoProgress).err(),
        Some(Error::AlreadyExists)
    );
    drop(reserved);

    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path(), NamePolicy::fat(NameMode::Reject));
    let f = put(&*d.root(), "a.part", b"x");
    std::fs::write(dir.path().join("song.mp3"), b"the user's").unwrap();
    assert_eq!(
        f.rename("SONG.mp3", &mut NoProgress).err(),
        Some(Error::AlreadyExists)
    );
    // The object's own name in another case is no collision.
    f.rename("A.part", &mut NoProgress).unwrap();
    assert_eq!(f.name().unwrap(), "A.part");
}

/// A name the ID map still holds for a file deleted behind the provider's back is free: the
/// rename checks the disk and takes it.
#[test]
fn a_stale_name_in_the_id_map_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path(), NamePolicy::default());
    let gone = put(&*d.root(), "b.mp3", b"old").unique_id().unwrap();
    let f = put(&*d.root(), "a.part", b"new");
    std::fs::remove_file(dir.path().join("b.mp3")).unwrap();
    f.rename("b.mp3", &mut NoProgress).unwrap();
    assert_eq!(std::fs::read(dir.path().join("b.mp3")).unwrap(), b"new");
    assert_ne!(gone, f.unique_id().unwrap());
    assert_eq!(
        d.root().child("b.mp3").unwrap().unique_id().unwrap(),
        f.unique_id().unwrap()
    );
}

/// A file written a moment ago is renamed into place without an `lstat` of its own: its
/// snapshot is what its descriptor said, through other files' writes and renames. A change
/// that may alter it (an attribute set through the provider) forgets that snapshot, so a
/// file made read-only is still refused.
#[test]
fn a_file_written_a_moment_ago_is_renamed_without_an_lstat_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path(), NamePolicy::default());
    let root = d.root();
    let files: Vec<StorageRef> = (0..3)
        .map(|i| {
            put_as(
                &*root,
                &format!(".wmdm-sync-0123456789abcdef-{i:08x}.part"),
                b"x",
                true,
            )
        })
        .collect();
    let lstats = || d.shared.lstats.load(Ordering::Relaxed);
    let before = lstats();
    files[0].rename("0.mp3", &mut NoProgress).unwrap();
    files[1].rename("1.mp3", &mut NoProgress).unwrap();
    if host_has_noreplace(dir.path()) {
        assert_eq!(lstats(), before, "no lstat of the files renamed");
    }
    let mut attrs = files[2].attributes().unwrap();
    attrs.attributes |= crate::flags::Attributes::READONLY;
    files[2].set_attributes(&attrs).unwrap();
    assert_eq!(
        files[2].rename("2.mp3", &mut NoProgress).err(),
        Some(Error::AccessDenied)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with(".wmdm") || n.ends_with(".part"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".wmdm-sync-0123456789abcdef-00000002.part",
            "0.mp3",
            "1.mp3"
        ]
    );
}
