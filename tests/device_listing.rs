//! `read_device_contents` on a folder device: the listing a sync plans from names every file
//! below the root once, with its size, whether the device is read on one thread (few folders)
//! or shared among threads (many), and leaves the sync's own state folder out.

use std::collections::BTreeMap;
use std::sync::Arc;

use wmdm::Error;
use wmdm::manager::DeviceManager;
use wmdm::providers::fs::{FsConfig, FsProvider};
use wmdm::sync::{SYNC_FOLDER, read_device_contents};
use wmdm::time::SystemClock;

/// Every file under `root` by `/`-separated relative path, with its size, from the disk.
fn on_disk(root: &std::path::Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // The provider's and the sync's own folders are not the device's content.
            if rel.starts_with('.') {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(rel, e.metadata().unwrap().len());
            }
        }
    }
    out
}

fn listed(root: &std::path::Path) -> BTreeMap<String, u64> {
    let provider = Arc::new(FsProvider::new(FsConfig::root(root)));
    let manager = DeviceManager::in_process(vec![provider], Arc::new(SystemClock)).unwrap();
    let storage = manager
        .devices()
        .and_then(|d| d.first().ok_or(Error::NoPda)?.storages())
        .and_then(|s| s.into_iter().next().ok_or(Error::NoPda))
        .unwrap();
    let contents = read_device_contents(&storage).unwrap();
    contents
        .files
        .into_iter()
        .map(|(p, f)| (p, f.size))
        .collect()
}

#[test]
fn a_device_with_many_folders_is_listed_whole_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Enough folders at several depths for the listing to be shared among threads, with
    // files at every level and an empty folder.
    std::fs::write(root.join("top.mp3"), vec![1u8; 10]).unwrap();
    for a in 0..23 {
        let artist = root.join("Music").join(format!("Artist {a}"));
        for b in 0..(a % 4) {
            let album = artist.join(format!("Album {b}"));
            std::fs::create_dir_all(&album).unwrap();
            for t in 0..(1 + (a + b) % 5) {
                std::fs::write(
                    album.join(format!("{t:02} t.mp3")),
                    vec![0u8; 100 + a * 7 + t],
                )
                .unwrap();
            }
        }
        std::fs::create_dir_all(&artist).unwrap();
        std::fs::write(artist.join("cover.jpg"), vec![2u8; a]).unwrap();
    }
    std::fs::create_dir_all(root.join("Empty")).unwrap();
    std::fs::create_dir_all(root.join(SYNC_FOLDER)).unwrap();
    std::fs::write(root.join(SYNC_FOLDER).join("ledger-x.txt"), b"state").unwrap();
    let want = on_disk(root);
    assert!(want.len() > 100, "{}", want.len());
    assert_eq!(listed(root), want);
}

#[test]
fn a_device_with_few_folders_is_listed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("Music/A")).unwrap();
    std::fs::write(root.join("Music/A/x.mp3"), b"abc").unwrap();
    std::fs::write(root.join("y.mp3"), b"de").unwrap();
    let want = on_disk(root);
    assert_eq!(want.len(), 2);
    assert_eq!(listed(root), want);
}
