//! Sync scenarios on real folders: the directory-backed provider as the device.

mod common;

use std::path::Path;
use std::sync::{Arc, RwLock};

use common::sync::*;
use wmdm::library::{MemoryLibrary, Playlist, Rating, Track, TrackId};
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};
use wmdm::sync::{LeftOutReason, PlanSettings, SyncDevice, SyncOp, SyncServices};

struct Folder {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    _state: tempfile::TempDir,
    library: Arc<RwLock<MemoryLibrary>>,
    services: SyncServices,
    provider: Arc<FsProvider>,
    manager: wmdm::manager::DeviceManager,
    clock: wmdm::time::ManualClock,
    state_path: std::path::PathBuf,
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
    let manager = manager_with(provider.clone(), &clock);
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
    d.create_partnership().unwrap();
    services.poll().unwrap();
    Folder {
        _dir: dir,
        root,
        state_path: state.path().to_owned(),
        _state: state,
        library,
        services,
        provider,
        manager,
        clock,
    }
}

impl Folder {
    fn device(&self) -> SyncDevice {
        self.services.device(0).unwrap()
    }
    /// The same device seen by a new process (services reopened from the state folder).
    fn reopened_device(&self) -> SyncDevice {
        services(
            &self.manager,
            &self.library,
            &self.state_path,
            "Home",
            &self.clock,
        )
        .device(0)
        .unwrap()
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
    assert!(d.step());
    d.stop();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 3);
    let files = f.files();
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(
        files
            .iter()
            .all(|p| !p.contains("/.wmdm-sync-") && !p.ends_with(".part"))
    );
}

/// The device's own handle on a file (as a player counting plays would change it).
fn device_file(f: &Folder, path: &str) -> wmdm::provider::StorageRef {
    let mut cur: wmdm::provider::StorageRef = f.provider.fs_devices()[0].root();
    for c in path.split('/') {
        cur = cur.child(c).unwrap();
    }
    cur
}

#[test]
fn a_play_count_changed_on_a_folder_flows_back_on_the_next_sync() {
    use wmdm::metadata::{Metadata, tags};
    let f = folder(2);
    f.select("Mix", &[1, 2], 1);
    let d = f.device();
    d.run(&mut |_| {}).unwrap();
    // The first resync records every object's change marker; the next finds nothing new.
    d.run(&mut |_| {}).unwrap();
    d.run(&mut |_| {}).unwrap();
    let path = f
        .files()
        .into_iter()
        .find(|p| p.ends_with(".mp3") && p.contains("Song 1"))
        .unwrap();
    let mut m = Metadata::new();
    m.add(tags::PLAY_COUNT, 7u32);
    m.add(tags::USER_RATING, 60u32);
    device_file(&f, &path).set_metadata(&m).unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.updated, s.errors), (0, 0, 0), "{s:?}");
    let lib = f.library.read().unwrap();
    let stats = f.services.stats();
    assert_eq!(stats.play_count(&*lib, TrackId(1)), 7);
    assert_eq!(stats.rating(&*lib, TrackId(1)).value(), 60);
    assert_eq!(stats.play_count(&*lib, TrackId(2)), 0);
    drop(lib);
    // Two more plays: only the delta is added.
    let mut m = Metadata::new();
    m.add(tags::PLAY_COUNT, 9u32);
    device_file(&f, &path).set_metadata(&m).unwrap();
    d.run(&mut |_| {}).unwrap();
    let lib = f.library.read().unwrap();
    assert_eq!(f.services.stats().play_count(&*lib, TrackId(1)), 9);
}

#[test]
fn a_file_deleted_from_a_folder_is_skipped_until_include_skipped_files() {
    let f = folder(3);
    f.select("Mix", &[1, 2, 3], 1);
    let d = f.device();
    d.run(&mut |_| {}).unwrap();
    let victim = f
        .files()
        .into_iter()
        .find(|p| p.contains("Song 2"))
        .unwrap();
    std::fs::remove_file(f.root.join(&victim)).unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.newly_skipped.clone()), (0, vec![TrackId(2)]));
    assert!(!f.root.join(&victim).exists());
    assert_eq!(f.reopened_device().item_info("SkippedFiles").unwrap(), "1");
    assert_eq!(d.plan().unwrap().left_out[0].reason, LeftOutReason::Skipped);
    d.set_item_info("IncludeSkippedFiles", "").unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 1);
    assert!(f.root.join(&victim).is_file());
    assert_eq!(d.item_info("SkippedFiles").unwrap(), "0");
}

#[test]
fn a_sync_filter_on_a_folder_holds_one_session_back() {
    let f = folder(2);
    let clip = {
        let mut t = Track::new(TrackId(10), "Clips/clip.wmv");
        t.title = "Clip".into();
        t.track_number = Some(1);
        t
    };
    f.library
        .write()
        .unwrap()
        .add_track(clip, b"not really a video".to_vec());
    let mix = f.select("Mix", &[1, 2, 10], 1);
    let d = f.device();
    d.set_settings(PlanSettings::default());
    // Pictures only: nothing in the selection moves.
    d.set_item_info("SyncFilter", "4").unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.skipped), (0, 3), "{s:?}");
    assert_eq!(f.files(), ["Playlists/Mix.m3u8"]);
    assert_eq!(d.item_info("SyncFilter").unwrap(), "0xFF");
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.copied, 3);
    // Music only while the playlist goes: the clip stays for this session.
    f.library.write().unwrap().remove_playlist(mix);
    d.set_item_info("SyncFilter", "0x1").unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.deleted, s.held_back), (3, 1), "{s:?}");
    assert_eq!(f.files().len(), 1, "{:?}", f.files());
    assert!(f.files()[0].ends_with("01 Clip.wmv"));
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.deleted, 1);
    assert!(f.files().is_empty());
}

#[test]
fn default_rules_and_background_state_on_a_folder() {
    let f = folder(3);
    f.library
        .write()
        .unwrap()
        .track_mut(TrackId(3))
        .unwrap()
        .rating = Rating::new(100);
    let d = f.device();
    d.set_item_info("AutoSyncDefaultRules", "True").unwrap();
    d.set_item_info("BackgroundSyncState", "3").unwrap();
    let again = f.reopened_device();
    assert_eq!(again.item_info("AutoSyncDefaultRules").unwrap(), "True");
    assert_eq!(again.item_info("BackgroundSyncState").unwrap(), "255");
    assert_eq!(d.item_info("BackgroundSyncState").unwrap(), "3");
    let plan = d.plan().unwrap();
    let first = plan.ops.iter().find_map(|op| match op {
        SyncOp::Copy { track, .. } => Some(*track),
        _ => None,
    });
    assert_eq!(first, Some(TrackId(3)), "the favourite first");
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.playlists_written), (3, 0));
    assert_eq!(f.files().len(), 3, "no playlist file: {:?}", f.files());
}

#[test]
fn a_sync_that_dies_right_after_a_retag_does_not_copy_the_track_again() {
    let f = folder(2);
    f.select("Mix", &[1, 2], 1);
    f.device().run(&mut |_| {}).unwrap();
    let before = f.files();
    f.library
        .write()
        .unwrap()
        .track_mut(TrackId(2))
        .unwrap()
        .title = "New title".into();
    let d = f.device();
    let plan = d.plan().unwrap();
    let retag = plan
        .ops
        .iter()
        .position(|op| matches!(op, SyncOp::UpdateMetadata { .. }))
        .expect("a tag edit is a metadata update");
    d.start().unwrap();
    for _ in 0..=retag {
        assert!(d.step());
    }
    // The process dies here: the file is rewritten with its new tags, the ledger on the
    // device still describes the file as it was. A new process must know the file as its own.
    d.abandon(); // its writer lock goes with it
    let again = f.reopened_device();
    let s = again.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.errors), (0, 0), "{s:?}");
    assert_eq!(f.files(), before, "no second copy beside the retagged file");
    assert!(again.plan().unwrap().is_noop());
}

/// A resync killed among its deletes: the folder provider rewrote the playlist listing the
/// deleted track (so its size changed) before the sync could record it. The playlist stays
/// the partnership's: rewritten in place, never left behind (issue 12, invariant J6).
#[test]
fn a_playlist_the_provider_rewrote_during_killed_deletes_stays_owned() {
    use wmdm::sync::{Journal, JournalOp, Ledger};
    let f = folder(3);
    let mix = f.select("Mix", &[1, 2, 3], 1);
    let d = f.device();
    d.run(&mut |_| {}).unwrap();
    let read = |p: &str| std::fs::read(f.root.join(p)).unwrap();
    let ledger_name = std::fs::read_dir(f.root.join(".wmdm-sync"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("ledger-"))
        .map(|n| format!(".wmdm-sync/{n}"))
        .unwrap();
    let ledger = Ledger::parse(&read(&ledger_name)).unwrap();
    let track1 = ledger
        .entries
        .values()
        .find(|e| e.track() == Some(TrackId(1)))
        .unwrap()
        .path
        .clone();
    // The next sync (track 1 unselected) journaled its delete, deleted the file (the provider
    // rewrote Mix.m3u8 without it) and was killed.
    if let Some(wmdm::library::PlaylistKind::Static(ids)) = f
        .library
        .write()
        .unwrap()
        .playlist_mut(mix)
        .map(|p| &mut p.kind)
    {
        ids.retain(|t| *t != TrackId(1));
    }
    let journal = Journal {
        library_id: ledger.library_id.clone(),
        index: ledger.index,
        session: 7,
        ops: vec![JournalOp::Delete {
            path: track1.clone(),
        }],
    };
    let journal_name = ledger_name.replace("ledger-", "journal-");
    std::fs::write(f.root.join(&journal_name), journal.encode()).unwrap();
    let before = read("Playlists/Mix.m3u8").len();
    device_file(&f, &track1)
        .delete(false, &mut wmdm::provider::NoProgress)
        .unwrap();
    assert_ne!(
        read("Playlists/Mix.m3u8").len(),
        before,
        "the provider rewrote it"
    );
    let d = f.reopened_device();
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed && s.newly_skipped.is_empty(), "{s:?}");
    let files = f.files();
    assert!(
        files.contains(&"Playlists/Mix.m3u8".to_string()),
        "{files:?}"
    );
    assert!(!files.iter().any(|p| p.contains("(2)")), "{files:?}");
    assert!(d.plan().unwrap().is_noop());
}

/// A 240-character title: the final name fits in 255 bytes, and the temporary name it is
/// written under is 41 bytes whatever the title (issue 12; invariant J3).
#[test]
fn a_240_character_title_syncs_on_a_folder() {
    let f = folder(1);
    {
        let mut lib = f.library.write().unwrap();
        let mut t = track(2, "Artist 0", "Album");
        t.title = "t".repeat(240);
        lib.add_track(t, mp3(3));
    }
    f.select("Long", &[1, 2], 1);
    let d = f.device();
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed && s.errors == 0, "{s:?}");
    assert_eq!(s.copied, 2);
    assert!(
        f.files().iter().any(|p| p.contains(&"t".repeat(240))),
        "{:?}",
        f.files()
    );
    assert!(d.plan().unwrap().is_noop());
}

/// The first resync right after a first sync reads no statistics back from the files that
/// sync just wrote, and leaves the ledger as it was (issue: "what the sync wrote is its
/// statistics baseline"). Tags the provider writes into a new file, or beside it, at its
/// creation are part of what the sync wrote.
#[test]
fn the_first_resync_right_after_a_first_sync_reads_nothing_back() {
    use wmdm::providers::memory::Operation;
    use wmdm::providers::quirks::{QuirkProvider, Quirks};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("player");
    std::fs::create_dir(&root).unwrap();
    let clock = common::clock();
    let fs = Arc::new(FsProvider::new(
        FsConfig::root(&root).options(DeviceOptions::default().durable(false)),
    ));
    let provider = QuirkProvider::new(fs, Quirks::none());
    let handle = provider.handle();
    let manager = manager_with(provider, &clock);
    let mut lib = MemoryLibrary::new();
    for i in 1..=30u64 {
        lib.add_track(
            track(i, &format!("Artist {}", i % 3), "Album"),
            mp3(i as usize + 1),
        );
    }
    let mut p = Playlist::new_static("Mix", (1..=30).map(TrackId).collect());
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let s = services(&manager, &library, state.path(), "Home", &clock);
    let d = s.device(0).unwrap();
    d.create_partnership().unwrap();
    s.poll().unwrap();
    let first = d.run(&mut |_| {}).unwrap();
    assert!(first.completed && first.copied == 30, "{first:?}");
    let ledger_file = || {
        let dir = root.join(wmdm::sync::SYNC_FOLDER);
        let found: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("ledger-")
            })
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        let md = std::fs::metadata(&found[0]).unwrap();
        (std::fs::read(&found[0]).unwrap(), md.modified().unwrap())
    };
    let before = ledger_file();
    let reads = handle.calls(Operation::GetMetadata);
    let again = d.run(&mut |_| {}).unwrap();
    assert_eq!(again.copied, 0, "{again:?}");
    assert_eq!(
        handle.calls(Operation::GetMetadata) - reads,
        0,
        "the files the first sync wrote were read back"
    );
    assert!(ledger_file() == before, "the resync rewrote the ledger");
}
