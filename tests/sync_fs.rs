//! Sync scenarios on real folders: the directory-backed provider as the device.

mod common;

use std::path::Path;
use std::sync::{Arc, RwLock};

use common::sync::*;
use wmdm::library::{MemoryLibrary, Playlist, TrackId};
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};
use wmdm::sync::{SyncDevice, SyncServices};

struct Folder {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    _state: tempfile::TempDir,
    library: Arc<RwLock<MemoryLibrary>>,
    services: SyncServices,
}

/// An MP3 of `frames` silent frames: distinct lengths give distinct bytes.
fn mp3(frames: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..frames {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]);
    }
    v
}

fn folder(n: u64) -> Folder {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("player");
    std::fs::create_dir(&root).unwrap();
    let clock = common::clock();
    let provider = Arc::new(FsProvider::new(
        FsConfig::root(&root).options(DeviceOptions::default().durable(false)),
    ));
    let manager = manager_with(provider, &clock);
    let mut lib = MemoryLibrary::new();
    for i in 1..=n {
        lib.add_track(
            track(i, &format!("Artist {}", i % 2), "Album"),
            mp3(i as usize + 1),
        );
    }
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let services = services(&manager, &library, state.path(), "Home", &clock);
    let d = services.device(0).unwrap();
    d.create_partnership(false).unwrap();
    services.poll().unwrap();
    Folder {
        _dir: dir,
        root,
        _state: state,
        library,
        services,
    }
}

impl Folder {
    fn device(&self) -> SyncDevice {
        self.services.device(0).unwrap()
    }
    fn select(&self, name: &str, tracks: &[u64], priority: u32) -> wmdm::library::PlaylistId {
        let mut p = Playlist::new_static(name, tracks.iter().map(|i| TrackId(*i)).collect());
        p.sync.set_priority(1, priority).unwrap();
        let id = p.id;
        self.library.write().unwrap().add_playlist(p);
        id
    }
    fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let rel = p
            .strip_prefix(base)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with(".wmdm") {
            continue;
        }
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            out.push(rel);
        }
    }
}

#[test]
fn first_sync_then_a_noop_resync_on_a_folder() {
    let f = folder(3);
    f.select("Mix", &[1, 2, 3], 1);
    let d = f.device();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (s.copied, s.errors, s.playlists_written),
        (3, 0, 1),
        "{s:?}"
    );
    let files = f.files();
    assert_eq!(files.len(), 4, "{files:?}");
    // Every playlist entry resolves on disk, relative to the playlist.
    let list = std::fs::read_to_string(f.root.join("Playlists/Mix.m3u8")).unwrap();
    let entries: Vec<&str> = list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert!(
            f.root.join("Playlists").join(e).is_file(),
            "{e} does not resolve"
        );
    }
    let before: Vec<_> = files
        .iter()
        .map(|p| {
            std::fs::metadata(f.root.join(p))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (s.copied, s.updated, s.deleted, s.bytes_copied),
        (0, 0, 0, 0)
    );
    let after: Vec<_> = files
        .iter()
        .map(|p| {
            std::fs::metadata(f.root.join(p))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    assert_eq!(before, after, "nothing rewritten");
    assert!(d.plan().unwrap().is_noop());
}

#[test]
fn a_removed_playlist_on_a_folder_keeps_shared_tracks_and_the_users_files() {
    let f = folder(3);
    let a = f.select("A", &[1, 2], 1);
    f.select("B", &[2, 3], 2);
    std::fs::create_dir_all(f.root.join("Music")).unwrap();
    std::fs::write(f.root.join("Music/mine.mp3"), b"mine").unwrap();
    std::fs::write(f.root.join("notes.txt"), b"notes").unwrap();
    let d = f.device();
    d.run(&mut |_| {}).unwrap();
    f.library.write().unwrap().remove_playlist(a);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.deleted, 2, "{s:?}");
    let files = f.files();
    assert!(files.contains(&"Music/mine.mp3".to_string()));
    assert!(files.contains(&"notes.txt".to_string()));
    assert!(
        files.contains(&"Music/Artist 0/Album/02 Song 2.mp3".to_string()),
        "{files:?}"
    );
    assert!(!files.iter().any(|p| p.contains("01 Song 1")));
    assert_eq!(
        std::fs::read(f.root.join("Music/mine.mp3")).unwrap(),
        b"mine"
    );
}

#[test]
fn a_tag_edit_on_a_folder_is_a_metadata_update() {
    let f = folder(2);
    f.select("Mix", &[1, 2], 1);
    let d = f.device();
    d.run(&mut |_| {}).unwrap();
    f.library
        .write()
        .unwrap()
        .track_mut(TrackId(2))
        .unwrap()
        .title = "New title".into();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.updated, s.errors), (0, 1, 0), "{s:?}");
    assert!(
        d.plan().unwrap().is_noop(),
        "the ledger follows the retagged file"
    );
}

#[test]
fn stop_then_resume_on_a_folder_leaves_no_temporary_files() {
    let f = folder(4);
    f.select("Mix", &[1, 2, 3, 4], 1);
    let d = f.device();
    d.start().unwrap();
    assert!(d.step().unwrap());
    d.stop();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 3);
    let files = f.files();
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(
        files
            .iter()
            .all(|p| !p.contains(".wmdm-sync-part") && !p.ends_with(".part"))
    );
}
