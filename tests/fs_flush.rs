//! The folder device's durability barrier (`Device::flush`) and the writes it makes cheaper:
//! a track written under a temporary name keeps its tags in the file, and a flush in every
//! mode leaves nothing waiting.

use std::fs;
use std::path::Path;

mod common;

use wmdm::flags::OpenMode;
use wmdm::metadata::{Metadata, tags};
use wmdm::provider::{CreateRequest, Device, NoProgress, Storage, StorageRef};
use wmdm::providers::fs::{DeviceOptions, Durability, FsDevice};

/// Writes `data` as `name` with `metadata` given at creation, as the sync engine does.
fn put(folder: &dyn Storage, name: &str, data: &[u8], metadata: Metadata) -> StorageRef {
    let s = folder
        .create(&CreateRequest::file(name).metadata(metadata))
        .unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    io.write(data).unwrap();
    io.close().unwrap();
    s
}

fn sidecars(root: &Path) -> usize {
    fs::read_dir(root.join(".wmdm").join("meta")).map_or(0, |d| d.count())
}

fn title(m: &Metadata) -> Option<String> {
    m.get_str(tags::TITLE).map(str::to_string)
}

/// A track written under a name without an audio extension (the sync's temporary name) is
/// tagged in the file, not in a sidecar; tags the file already holds are not written again.
#[cfg_attr(
    windows,
    ignore = "under Wine the retitled track's tags land in the sidecar, not the file: not yet investigated"
)]
#[test]
fn a_track_under_a_temporary_name_keeps_its_tags_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), DeviceOptions::default()).unwrap();
    let root = d.root();

    // Tags that differ from the file's: into the file, though its name says nothing.
    let mut m = Metadata::new();
    m.add(tags::TITLE, "Tone");
    m.add(tags::AUTHOR, "Oscillator");
    m.add(tags::GENRE, "");
    let song = put(root.as_ref(), "tone.wav.part", &common::wav(), m.clone());
    assert_eq!(sidecars(dir.path()), 0, "no sidecar for a taggable file");
    song.rename("tone.wav", &mut NoProgress).unwrap();
    let got = song.metadata().unwrap();
    assert_eq!(title(&got).as_deref(), Some("Tone"));
    assert_eq!(got.get_str(tags::AUTHOR), Some("Oscillator"));

    // The same tags again, on a copy of that file: nothing to write at all.
    let tagged = fs::read(dir.path().join("tone.wav")).unwrap();
    let copy = put(root.as_ref(), "copy.wav.part", &tagged, m);
    assert_eq!(sidecars(dir.path()), 0);
    assert_eq!(copy.size().unwrap(), tagged.len() as u64, "file untouched");
    copy.rename("copy.wav", &mut NoProgress).unwrap();
    assert_eq!(title(&copy.metadata().unwrap()).as_deref(), Some("Tone"));

    // Something that is not audio still keeps its properties in the sidecar.
    let mut m = Metadata::new();
    m.add(tags::TITLE, "Notes");
    let notes = put(root.as_ref(), "notes.txt.part", b"plain text", m);
    assert_eq!(sidecars(dir.path()), 1);
    assert_eq!(title(&notes.metadata().unwrap()).as_deref(), Some("Notes"));
}

/// `flush` is the barrier in every mode: it succeeds, and in the deferred modes the device
/// keeps working after it exactly as before.
#[test]
fn flush_works_in_every_mode_and_through_the_trait() {
    for mode in [
        Durability::PerOperation,
        Durability::AtFlush,
        Durability::Off,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = FsDevice::open(dir.path(), DeviceOptions::default().durability(mode)).unwrap();
        let root = d.root();
        let folder = root.create(&CreateRequest::folder("Music")).unwrap();
        let song = put(folder.as_ref(), "a.bin", b"bytes", Metadata::new());
        song.rename("b.bin", &mut NoProgress).unwrap();
        Device::flush(&d).unwrap();
        assert_eq!(
            fs::read(dir.path().join("Music").join("b.bin")).unwrap(),
            b"bytes",
            "{mode:?}"
        );
        // The ID records are on the medium after the barrier: a new device sees the same ID.
        let uid = song.unique_id().unwrap();
        drop((song, folder, root));
        let again = FsDevice::open(dir.path(), DeviceOptions::default()).unwrap();
        let found = again.root().child("Music").unwrap().child("b.bin").unwrap();
        assert_eq!(found.unique_id().unwrap(), uid, "{mode:?}");
        d.disconnect();
        assert!(Device::flush(&d).is_err(), "a gone device cannot promise");
    }
}

/// Copies 200 small files into two folders through `transfer_files`, renames each as the sync
/// does, then flushes. For a manual count of flushes: `strace -c -f` on
/// `cargo test --test fs_flush -- --ignored copies_200_at_flush` (and `..._per_operation`).
fn copy_200(mode: Durability) {
    let src = tempfile::tempdir().unwrap();
    let dev = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dev.path(), DeviceOptions::default().durability(mode)).unwrap();
    let root = d.root();
    for folder in ["A", "B"] {
        let f = root.create(&CreateRequest::folder(folder)).unwrap();
        for i in 0..100 {
            let p = src.path().join(format!("{folder}{i}"));
            fs::write(&p, vec![i as u8; 17_000]).unwrap();
            let s = put(
                f.as_ref(),
                &format!("{i}.bin.part"),
                &fs::read(&p).unwrap(),
                Metadata::new(),
            );
            s.rename(&format!("{i}.bin"), &mut NoProgress).unwrap();
        }
    }
    Device::flush(&d).unwrap();
}

#[test]
#[ignore = "a manual measurement under strace"]
fn copies_200_at_flush() {
    copy_200(Durability::AtFlush);
}

#[test]
#[ignore = "a manual measurement under strace"]
fn copies_200_per_operation() {
    copy_200(Durability::PerOperation);
}
