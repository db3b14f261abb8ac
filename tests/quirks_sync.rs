//! The sync over a memory device through the quirk and fault wrapper, with each quirk: the
//! sync either completes with correct results or fails cleanly (no temporary or partial file, a
//! ledger that matches the device), and a rerun without the quirk completes.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use common::sync::*;
use wmdm::Error;
use wmdm::library::{MemoryLibrary, Playlist, TrackId};
use wmdm::provider::ServiceProvider;
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};
use wmdm::providers::memory::{MemoryDevice, MemoryProvider, Operation};
use wmdm::providers::quirks::{Quirk, QuirkHandle, QuirkProvider, Quirks};
use wmdm::sync::{Ledger, SyncDevice, SyncServices};

const TRACKS: u64 = 4;
const SIZE: usize = 3000;

struct Rig {
    device: MemoryDevice,
    handle: QuirkHandle,
    _manager: wmdm::manager::DeviceManager,
    _library: Arc<RwLock<MemoryLibrary>>,
    _state: tempfile::TempDir,
    services: SyncServices,
}

/// A partnered memory device behind the wrapper (partnered without quirks), a library of
/// four tracks in one selected playlist, and then `quirks` installed.
fn rig(quirks: Quirks) -> Rig {
    let clock = common::clock();
    let device = player("S1", 1 << 30);
    let provider = QuirkProvider::new(
        Arc::new(MemoryProvider::new().with_device(device.clone())),
        Quirks::none(),
    );
    let handle = provider.handle();
    let manager = manager_with(provider, &clock);
    let mut lib = MemoryLibrary::new();
    for i in 1..=TRACKS {
        lib.add_track(track(i, "Artist", "Album"), content(i, SIZE));
    }
    let mut p = Playlist::new_static("Mix", (1..=TRACKS).map(TrackId).collect());
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let services = services(&manager, &library, state.path(), "Home", &clock);
    let d = services.device(0).unwrap();
    d.create_partnership().unwrap();
    services.poll().unwrap();
    handle.set(quirks);
    Rig {
        device,
        handle,
        _manager: manager,
        _library: library,
        _state: state,
        services,
    }
}

impl Rig {
    fn sync_device(&self) -> SyncDevice {
        self.services.device(0).unwrap()
    }

    /// The device's files outside sync's own folder.
    fn content(&self) -> BTreeMap<String, Vec<u8>> {
        self.device
            .files()
            .into_iter()
            .filter(|(p, _)| !p.starts_with(".wmdm-sync/"))
            .collect()
    }

    /// The ledger on the device (the library's `ledger-<id>.txt`, the only one); none before
    /// the first sync has committed anything.
    fn ledger(&self) -> Option<Ledger> {
        find_ledger(self.device.files(), None)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|(_, l)| l)
    }

    /// What holds after any run, finished or not: no temporary or partial file anywhere
    /// (unless `gone`: a device that went away mid-run keeps what was in flight until the
    /// next run), and the ledger lists exactly the sync's files on the device, at their size.
    fn assert_clean(&self, what: &str, gone: bool) {
        let all = self.device.files();
        for p in all.keys() {
            let temp = p.contains("wmdm-sync-part")
                || p.contains(".wmdm-tmp-")
                || p.ends_with(".part")
                || p.ends_with(".new");
            assert!(
                gone || !temp,
                "{what}: temporary file left: {p} in {:?}",
                all.keys()
            );
        }
        let ledger = self.ledger().unwrap_or_else(|| Ledger::new("none", 0));
        let files = self.content();
        for (path, e) in &ledger.entries {
            let bytes = files
                .get(path)
                .unwrap_or_else(|| panic!("{what}: ledger lists {path}, not on the device"));
            assert_eq!(bytes.len() as u64, e.size, "{what}: {path}");
        }
        // A run cut off by a disconnect may have committed files its ledger does not list yet:
        // its journal has them, and the next run adopts them (checked after the rerun).
        for path in files.keys().filter(|_| !gone) {
            assert!(
                ledger.entries.contains_key(path),
                "{what}: {path} is on the device but not in the ledger"
            );
        }
        // No track is on the device half-written.
        for (path, bytes) in &files {
            if path.ends_with(".mp3") {
                assert!(
                    (1..=TRACKS).any(|i| content(i, SIZE) == *bytes),
                    "{what}: {path} holds no track's bytes"
                );
            }
        }
    }

    /// What holds after a complete sync: every track and the playlist on the device, and a
    /// plan that has nothing left to do.
    fn assert_complete(&self, what: &str) {
        self.assert_clean(what, false);
        let files = self.content();
        for i in 1..=TRACKS {
            assert!(
                files.values().any(|b| *b == content(i, SIZE)),
                "{what}: track {i} missing: {:?}",
                files.keys().collect::<Vec<_>>()
            );
        }
        let tracks = files.keys().filter(|p| p.ends_with(".mp3")).count();
        assert_eq!(tracks as u64, TRACKS, "{what}: {:?}", files.keys());
        assert!(files.contains_key("Playlists/Mix.m3u8"), "{what}");
        assert!(
            self.sync_device().plan().unwrap().is_noop(),
            "{what}: a rerun has work left"
        );
    }

    /// Runs the sync under the quirk, checks it left the device clean, then reruns it
    /// without the quirk and checks it completes. Returns the first run's outcome and the
    /// quirks that bit.
    fn run_then_recover(&self, what: &str) -> (wmdm::Result<wmdm::sync::SyncSummary>, Vec<Quirk>) {
        let first = self.sync_device().run(&mut |_| {});
        let bitten = self.handle.bitten();
        let gone = self.handle.is_disconnected();
        self.handle.set(Quirks::none());
        self.assert_clean(&format!("{what}, after the run with the quirk"), gone);
        let second = self.sync_device().run(&mut |_| {});
        let s = second.unwrap_or_else(|e| panic!("{what}: the rerun failed: {e}"));
        assert_eq!(s.errors, 0, "{what}: the rerun: {s:?}");
        self.assert_complete(&format!("{what}, after the rerun"));
        (first, bitten)
    }
}

/// A run that reports no error must have done everything.
fn assert_honest(what: &str, r: &Rig, first: &wmdm::Result<wmdm::sync::SyncSummary>) {
    if let Ok(s) = first
        && s.errors == 0
        && s.completed
    {
        // Checked against the device after the fact: nothing may be missing.
        let content = r.content();
        let tracks = content.keys().filter(|p| p.ends_with(".mp3")).count();
        assert_eq!(
            tracks as u64, TRACKS,
            "{what}: a clean summary but tracks missing"
        );
    }
}

#[test]
fn sync_with_a_failing_write_reports_the_item_and_recovers() {
    let r = rig(Quirks::none().fail_nth(Operation::Write, 2, Error::ProcessFailed));
    let (first, bitten) = r.run_then_recover("fail the 2nd write");
    assert_eq!(bitten, [Quirk::Fault]);
    let s = first.expect("one failed item does not fail the run");
    assert_eq!(s.errors, 1, "{s:?}");
}

#[test]
fn sync_with_a_failing_close_and_rename_recovers() {
    for op in [
        Operation::Close,
        Operation::Rename,
        Operation::Create,
        Operation::Delete,
    ] {
        let r = rig(Quirks::none().fail_nth(op, 1, Error::ProcessFailed));
        let (first, _) = r.run_then_recover(op.name());
        assert_honest(op.name(), &r, &first);
    }
}

#[test]
fn sync_interrupted_by_a_disconnect_resumes() {
    for n in [1, 3, 6] {
        let r = rig(Quirks::none().disconnect_on(Operation::Write, n));
        let (first, bitten) = r.run_then_recover(&format!("disconnect at write {n}"));
        assert_eq!(bitten, [Quirk::Disconnected]);
        assert!(
            first.is_err() || first.as_ref().is_ok_and(|s| !s.completed || s.errors > 0),
            "a disconnect is not a success: {first:?}"
        );
    }
}

#[test]
fn sync_on_a_device_that_fills_up_reports_it_and_recovers() {
    let r = rig(Quirks::none().disk_full_after(2 * SIZE as u64 + 100));
    let (first, bitten) = r.run_then_recover("disk full");
    assert!(bitten.contains(&Quirk::DiskFull), "{bitten:?}");
    assert!(
        first.is_err() || first.as_ref().is_ok_and(|s| s.errors > 0),
        "a full device is not a success: {first:?}"
    );
}

#[test]
fn sync_on_a_read_only_device_fails_cleanly_and_changes_nothing() {
    let r = rig(Quirks::none().read_only());
    let before = r.device.files();
    let first = r.sync_device().run(&mut |_| {});
    assert!(
        first.is_err() || first.as_ref().is_ok_and(|s| s.errors > 0),
        "{first:?}"
    );
    assert_eq!(r.device.files(), before, "a read-only device was changed");
    r.handle.set(Quirks::none());
    let s = r.sync_device().run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    r.assert_complete("read-only, after the rerun");
}

#[test]
fn sync_with_coarse_times_completes_and_converges() {
    let r = rig(Quirks::none().coarse_times());
    let s = r.sync_device().run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    r.assert_complete("coarse times");
    let s = r.sync_device().run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.updated, s.errors), (0, 0, 0), "{s:?}");
}

#[test]
fn sync_with_case_insensitive_names_completes() {
    let r = rig(Quirks::none().case_insensitive());
    let s = r.sync_device().run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    r.assert_complete("case-insensitive");
}

#[test]
fn sync_with_a_short_name_limit_completes_with_names_that_fit() {
    // The sync's own names are at most 56 bytes (a copy's 41-byte temporary name; state files
    // such as `commit-<32 hex library id>-<n>.txt.new`), so a device taking 56-byte names takes
    // every write; the device reports its limit, so the plan keeps every name within it.
    let r = rig(Quirks::none().name_limit(56));
    let s = r.sync_device().run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    assert!(r.handle.bitten().is_empty(), "{:?}", r.handle.bitten());
    r.assert_complete("name limit");
    for p in r.content().keys() {
        assert!(p.split('/').all(|c| c.len() <= 56), "{p}");
    }
}

/// A library of long titles outside ASCII, through a wrapper whose medium takes only ASCII
/// names of at most `limit` bytes (and, with `fusefat`, no appends and case-insensitive
/// names): every track is copied, under names that fit, with no error and nothing refused, and
/// a resync has nothing to do.
fn sync_long_foreign_titles(quirks: Quirks, limit: usize) {
    let clock = common::clock();
    let device = player("S3", 1 << 30);
    let provider = QuirkProvider::new(
        Arc::new(MemoryProvider::new().with_device(device.clone())),
        quirks,
    );
    let handle = provider.handle();
    let manager = manager_with(provider, &clock);
    let mut lib = MemoryLibrary::new();
    let titles = [
        "Canción de la mañana, versión extendida y remasterizada para el aniversario".to_string(),
        "Canción de la mañana, versión extendida y remasterizada para el aniversario (en vivo)"
            .to_string(),
        "Kōbō no uta ".repeat(12),
        "東京の夜".repeat(20),
        "Ärger".into(),
        "ärger".into(),
    ];
    for (i, title) in titles.iter().enumerate() {
        let i = i as u64 + 1;
        let mut t = track(i, "Ana Sól y los Kōbō Ensemble de la Ciudad", "Álbum");
        t.title = title.clone();
        lib.add_track(t, content(i, SIZE));
    }
    let n = titles.len() as u64;
    let mut p = Playlist::new_static("Canciones ñ", (1..=n).map(TrackId).collect());
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let services = services(&manager, &library, state.path(), "Home", &clock);
    let d = services.device(0).unwrap();
    d.create_partnership().unwrap();
    services.poll().unwrap();
    let d = services.device(0).unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied as u64, s.errors), (n, 0), "{s:?}");
    assert!(handle.bitten().is_empty(), "{:?}", handle.bitten());
    let files: BTreeMap<String, Vec<u8>> = device
        .files()
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".wmdm-sync/"))
        .collect();
    for i in 1..=n {
        assert!(
            files.values().any(|b| *b == content(i, SIZE)),
            "track {i} missing: {:?}",
            files.keys()
        );
    }
    for p in files.keys() {
        assert!(p.is_ascii(), "{p}");
        assert!(p.split('/').all(|c| c.len() <= limit), "{p}");
    }
    assert!(files.keys().any(|p| p.starts_with("Playlists/Canciones n")));
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.errors), (0, 0), "{s:?}");
    assert!(d.plan().unwrap().is_noop());
}

#[test]
fn sync_with_a_name_limit_and_ascii_names_copies_every_track() {
    sync_long_foreign_titles(Quirks::none().name_limit(64).ascii_names(), 64);
    sync_long_foreign_titles(Quirks::fusefat().name_limit(56), 56);
    sync_long_foreign_titles(Quirks::none().ascii_names(), 255);
}

#[test]
fn sync_without_appends_completes() {
    let r = rig(Quirks::none().no_append());
    let s = r.sync_device().run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    r.assert_complete("no append");
}

/// A device that refuses renames (MTP over FUSE): the sync finds it out at its first state
/// write, says so, and completes with every file written in place; a resync, a retag and a
/// changed track (replaced in place) complete too, and nothing is left behind.
#[test]
fn sync_without_renames_completes() {
    for quirks in [Quirks::none().no_rename(), Quirks::mtp_fuse()] {
        let r = rig(quirks);
        let s = r.sync_device().run(&mut |_| {}).unwrap();
        assert_eq!(s.errors, 0, "{s:?}");
        assert!(s.renames_refused, "{s:?}");
        assert!(r.handle.bitten().contains(&Quirk::NoRename));
        r.assert_complete("no rename");
        let s = r.sync_device().run(&mut |_| {}).unwrap();
        assert_eq!((s.copied, s.updated, s.errors), (0, 0, 0), "{s:?}");
        // A changed track replaces the owned file in place; the playlist is rewritten.
        {
            let mut lib = r._library.write().unwrap();
            lib.set_content(TrackId(2), content(2, SIZE + 7)).unwrap();
        }
        let s = r.sync_device().run(&mut |_| {}).unwrap();
        assert_eq!((s.updated, s.errors), (1, 0), "{s:?}");
        let all = r.device.files();
        assert!(
            !all.keys()
                .any(|p| p.ends_with(".part") || p.ends_with(".new")),
            "{:?}",
            all.keys()
        );
        let ledger = r.ledger().unwrap();
        assert_eq!(ledger.entries.len() as u64, TRACKS + 1, "{ledger:?}");
        for (path, e) in &ledger.entries {
            assert_eq!(r.content()[path].len() as u64, e.size, "{path}");
        }
        assert!(
            r.content().values().any(|b| *b == content(2, SIZE + 7)),
            "the new version is not on the device"
        );
        assert!(r.sync_device().plan().unwrap().is_noop());
    }
}

#[test]
fn sync_without_appends_fails_cleanly_and_recovers() {
    let r = rig(Quirks::none().no_append());
    let (first, _) = r.run_then_recover("no append");
    assert_honest("no append", &r, &first);
}

#[test]
fn sync_without_renames_fails_cleanly_and_recovers() {
    let r = rig(Quirks::none().no_rename());
    let (first, _) = r.run_then_recover("no rename");
    assert_honest("no rename", &r, &first);
}

#[test]
fn sync_on_fusefat_fails_cleanly_or_completes_and_recovers() {
    let r = rig(Quirks::fusefat());
    let (first, _) = r.run_then_recover("fusefat");
    assert_honest("fusefat", &r, &first);
}

#[test]
fn sync_on_mtp_fuse_fails_cleanly_and_recovers() {
    let r = rig(Quirks::mtp_fuse());
    let (first, _) = r.run_then_recover("mtp fuse");
    assert_honest("mtp fuse", &r, &first);
}

/// FAT through `fusefat` refuses appends and writes into existing files: creating the
/// partnership and a first sync must not need them, over the memory device and over a folder.
#[test]
fn a_partnership_and_a_first_sync_work_without_appends() {
    first_sync_and_resync_under(&Quirks::fusefat());
}

/// An MTP player through FUSE refuses renames too: the partnership marker and every state
/// file are written whole in place, copies under their final names; over the memory device
/// and over a folder (whose provider writes the tags into the file it stores).
#[test]
fn a_partnership_a_first_sync_and_a_resync_work_without_renames() {
    first_sync_and_resync_under(&Quirks::mtp_fuse());
}

fn first_sync_and_resync_under(quirks: &Quirks) {
    let dir = tempfile::tempdir().unwrap();
    let inner: [Arc<dyn ServiceProvider>; 2] = [
        Arc::new(MemoryProvider::new().with_device(player("S2", 1 << 30))),
        Arc::new(FsProvider::new(
            FsConfig::root(dir.path()).options(DeviceOptions::default().durable(false)),
        )),
    ];
    for inner in inner {
        let clock = common::clock();
        let provider = QuirkProvider::new(inner, quirks.clone());
        let manager = manager_with(provider, &clock);
        let mut lib = MemoryLibrary::new();
        for i in 1..=2 {
            lib.add_track(track(i, "Artist", "Album"), content(i, SIZE));
        }
        let mut p = Playlist::new_static("Mix", vec![TrackId(1), TrackId(2)]);
        p.sync.set_priority(1, 1).unwrap();
        lib.add_playlist(p);
        let library = Arc::new(RwLock::new(lib));
        let state = tempfile::tempdir().unwrap();
        let services = services(&manager, &library, state.path(), "Home", &clock);
        let d = services.device(0).unwrap();
        d.create_partnership().unwrap();
        services.poll().unwrap();
        let s = services.device(0).unwrap().run(&mut |_| {}).unwrap();
        assert_eq!((s.copied, s.errors), (2, 0), "{s:?}");
        assert_eq!(
            s.renames_refused,
            quirks.clone() == Quirks::mtp_fuse(),
            "{s:?}"
        );
        let s = services.device(0).unwrap().run(&mut |_| {}).unwrap();
        assert_eq!((s.copied, s.errors), (0, 0), "{s:?}");
        assert!(services.device(0).unwrap().plan().unwrap().is_noop());
    }
}

/// A copy that fails leaves its track off the device: the playlist written in the same run
/// must not list it (every entry resolves).
#[test]
fn a_playlist_lists_only_the_tracks_that_reached_the_device() {
    // The second track's write: on the MTP device it comes after the journal's two writes
    // (its `.new`, whose rename is refused, then in place) and the intent record's.
    for (quirks, nth) in [(Quirks::none(), 2), (Quirks::mtp_fuse(), 5)] {
        let r = rig(quirks.fail_nth(Operation::Write, nth, Error::ProcessFailed));
        let s = r.sync_device().run(&mut |_| {}).unwrap();
        assert_eq!(s.errors, 1, "{s:?}");
        assert_playlist_resolves(&r, TRACKS - 1);
        // The next sync copies the track and writes the playlist again, listing it.
        r.handle.set(Quirks::none());
        let s = r.sync_device().run(&mut |_| {}).unwrap();
        assert_eq!(
            (s.copied, s.playlists_written, s.errors),
            (1, 1, 0),
            "{s:?}"
        );
        assert_playlist_resolves(&r, TRACKS);
        r.assert_complete("after the failed copy, the next sync");
    }
}

/// The device's `Playlists/Mix.m3u8` lists `n` entries, each a file on the device.
fn assert_playlist_resolves(r: &Rig, n: u64) {
    let files = r.content();
    let list = String::from_utf8(files["Playlists/Mix.m3u8"].clone()).unwrap();
    let entries: Vec<&str> = list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(entries.len() as u64, n, "{list}");
    for e in entries {
        let path = format!("Playlists/{e}");
        let resolved = std::path::Path::new(&path)
            .components()
            .fold(Vec::new(), |mut v, c| {
                match c {
                    std::path::Component::ParentDir => {
                        v.pop();
                    }
                    c => v.push(c.as_os_str().to_string_lossy().into_owned()),
                }
                v
            })
            .join("/");
        assert!(files.contains_key(&resolved), "{e} does not resolve");
    }
}

/// On a device that refuses renames, an intent record announces the final paths of a batch
/// before they are written; a file another program puts at one of them meanwhile is not the
/// sync's: the sync leaves it, takes it out of the record, and a recovery after the process
/// dies there does not take it for a partial write of its own.
#[test]
fn a_file_that_takes_an_announced_path_is_never_taken_for_the_sync_s() {
    let r = rig(Quirks::mtp_fuse());
    let d = r.sync_device();
    let path = d.plan().unwrap().placed[&TrackId(3)].clone();
    d.start().unwrap();
    // The first write announces the batch; then another program writes at track 3's path.
    assert!(d.step());
    let mine = b"another program's file".to_vec();
    r.device.put_file(&path, mine.clone()).unwrap();
    while d.engine().summary().errors == 0 {
        assert!(d.step(), "the sync ended without meeting the file");
    }
    // The process dies here: no commit, no clean-up.
    drop(d);
    r.device.writer_died();
    let clock = common::clock();
    let again = services(&r._manager, &r._library, r._state.path(), "Home", &clock);
    again.poll().unwrap();
    let s = again.device(0).unwrap().run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    assert!(
        r.device.read_file(&path).unwrap() == mine,
        "the other program's file at {path} was changed or deleted"
    );
    let files = r.content();
    for i in 1..=TRACKS {
        assert!(files.values().any(|b| *b == content(i, SIZE)), "track {i}");
    }
}

/// A rename of a copy refused when the state files' renames went through (the third rename of
/// a first sync: after the journal's and the commit record's): the sync notes the quirk,
/// reports the batch's files as item errors without deleting anything of its own for nothing,
/// leaves no temporary file and a consistent ledger, and the next sync completes.
#[test]
fn a_copy_rename_refused_mid_batch_fails_its_batch_cleanly_and_recovers() {
    let r = rig(Quirks::none().fail_nth(Operation::Rename, 3, Error::NotSupported));
    let (first, _) = r.run_then_recover("a copy's rename refused");
    let s = first.expect("item errors do not fail the run");
    assert!(s.renames_refused, "{s:?}");
    assert!(s.errors >= 1, "{s:?}");
    assert_honest("a copy's rename refused", &r, &Ok(s));
}
