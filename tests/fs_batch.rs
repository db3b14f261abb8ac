//! The folder device's batch copy: many host files, synced together, each visible only once
//! complete.

use std::fs;
use std::path::{Path, PathBuf};

use wmdm::Error;
use wmdm::fuzzing::Recorder;
use wmdm::provider::{CreateRequest, NoProgress, ProgressEvent, Storage};
use wmdm::providers::fs::{DeviceOptions, FileCopy, FsDevice};

/// `count` host files of distinct sizes and contents; their paths.
fn sources(dir: &Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let p = dir.join(format!("src{i:03}.mp3"));
            fs::write(&p, vec![i as u8; 1000 + i * 37]).unwrap();
            p
        })
        .collect()
}

/// Names of everything in `dir`, temporary files included, sorted.
fn on_disk(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_batch_copies_every_file_in_order_with_progress() {
    let host = tempfile::tempdir().unwrap();
    // More files than one group holds, so the batch publishes several groups.
    let srcs = sources(host.path(), 150);
    let names: Vec<String> = (0..srcs.len()).map(|i| format!("t{i:03}.mp3")).collect();
    let files: Vec<FileCopy<'_>> = srcs
        .iter()
        .zip(&names)
        .map(|(s, n)| FileCopy { source: s, name: n })
        .collect();
    let total: u64 = srcs.iter().map(|s| fs::metadata(s).unwrap().len()).sum();
    for durable in [true, false] {
        let dev_dir = tempfile::tempdir().unwrap();
        let dev =
            FsDevice::open(dev_dir.path(), DeviceOptions::default().durable(durable)).unwrap();
        let music = dev.root().create(&CreateRequest::folder("Music")).unwrap();
        let folder = dev.object(&music.unique_id().unwrap()).unwrap();
        let mut rec = Recorder::new();
        let out = folder.transfer_files(&files, false, &mut rec).unwrap();
        assert_eq!(out.len(), files.len());
        for (i, (obj, src)) in out.iter().zip(&srcs).enumerate() {
            assert_eq!(obj.name().unwrap(), names[i]);
            assert_eq!(
                fs::read(dev_dir.path().join("Music").join(&names[i])).unwrap(),
                fs::read(src).unwrap()
            );
        }
        assert_eq!(rec.events().first(), Some(&ProgressEvent::Begin(total)));
        assert_eq!(rec.last_progress(), Some(total));
        // Nothing temporary is left behind.
        assert_eq!(on_disk(&dev_dir.path().join("Music")), names);
    }
}

#[test]
fn a_failed_batch_keeps_published_groups_and_leaves_no_partial_file() {
    let host = tempfile::tempdir().unwrap();
    let mut srcs = sources(host.path(), 70);
    // The 68th source does not exist: the first group (64 files) is published by then.
    srcs[67] = host.path().join("missing.mp3");
    let names: Vec<String> = (0..srcs.len()).map(|i| format!("t{i:03}.mp3")).collect();
    let files: Vec<FileCopy<'_>> = srcs
        .iter()
        .zip(&names)
        .map(|(s, n)| FileCopy { source: s, name: n })
        .collect();
    let dev_dir = tempfile::tempdir().unwrap();
    let dev = FsDevice::open(dev_dir.path(), DeviceOptions::default()).unwrap();
    let root = dev.root();
    // Sizes are read up front, so a missing source fails before anything is written.
    assert_eq!(
        root.transfer_files(&files, false, &mut NoProgress).err(),
        Some(Error::FileNotFound)
    );
    assert_eq!(on_disk(dev_dir.path()), [".wmdm"]);
    // A name taken on the device fails in the second group, after the first is published.
    srcs[67] = srcs[66].clone();
    let files: Vec<FileCopy<'_>> = srcs
        .iter()
        .zip(&names)
        .map(|(s, n)| FileCopy { source: s, name: n })
        .collect();
    fs::write(dev_dir.path().join("t066.mp3"), b"taken").unwrap();
    assert_eq!(
        root.transfer_files(&files, false, &mut NoProgress).err(),
        Some(Error::AlreadyExists)
    );
    let mut expected: Vec<String> = names[..64].to_vec();
    expected.push("t066.mp3".into());
    expected.insert(0, ".wmdm".into());
    assert_eq!(on_disk(dev_dir.path()), expected);
    assert_eq!(fs::read(dev_dir.path().join("t066.mp3")).unwrap(), b"taken");
    // Cancelled in the middle of the second group: that group's files are gone.
    let first_66: u64 = srcs[..66]
        .iter()
        .map(|s| fs::metadata(s).unwrap().len())
        .sum();
    let mut rec = Recorder::new().cancel_at(first_66);
    let dev_dir = tempfile::tempdir().unwrap();
    let dev = FsDevice::open(dev_dir.path(), DeviceOptions::default()).unwrap();
    assert_eq!(
        dev.root().transfer_files(&files, false, &mut rec).err(),
        Some(Error::UserCancelled)
    );
    let left = on_disk(dev_dir.path());
    assert_eq!(left.len(), 65, "{left:?}");
    assert!(left.iter().all(|n| n == ".wmdm" || n.starts_with('t')));
    // Not a folder, or an empty name.
    let file = dev.root().child("t000.mp3").unwrap();
    let file = dev.object(&file.unique_id().unwrap()).unwrap();
    assert_eq!(
        file.transfer_files(&files, false, &mut NoProgress).err(),
        Some(Error::InvalidType)
    );
    let empty = [FileCopy {
        source: &srcs[0],
        name: "",
    }];
    assert_eq!(
        dev.root()
            .transfer_files(&empty, false, &mut NoProgress)
            .err(),
        Some(Error::InvalidArg)
    );
}
