//! The sync example's pieces, end to end on real folders: the demo library generator, a folder
//! library scan, a quota-limited folder device behind the authenticated manager, a partnership,
//! a priority-ordered selection, a sync whose playlists all open files on the device, a resync
//! that copies nothing, and a stop mid-way that the next sync finishes without temporary files.

#[allow(dead_code)]
#[path = "../examples/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use wmdm::library::{AutoPlaylist, parse_auto_playlist};
use wmdm::library::{FolderLibrary, Library, Playlist, Rule, ScanOptions};
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};
use wmdm::sync::{SharedLibrary, SyncDevice, SyncServices};
use wmdm::time::SystemClock;

struct Run {
    library: Arc<RwLock<FolderLibrary>>,
    services: SyncServices,
}

fn open(lib_dir: &Path, device: &Path, state: &Path, quota: u64) -> Run {
    let (library, report) = FolderLibrary::open(
        lib_dir,
        state.join("library"),
        Arc::new(SystemClock),
        ScanOptions::default(),
    )
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let library = Arc::new(RwLock::new(library));
    let shared: SharedLibrary = library.clone();
    let options = DeviceOptions::default().durable(false).quota(quota);
    let provider = FsProvider::new(FsConfig::root(device).options(options));
    let manager = support::manager(Arc::new(provider)).unwrap();
    let services = SyncServices::open(
        manager,
        shared,
        &state.join("sync"),
        "test",
        Arc::new(SystemClock),
    )
    .unwrap();
    Run { library, services }
}

fn partnered(run: &Run) -> SyncDevice {
    let d = run.services.device(0).unwrap();
    d.create_partnership().unwrap();
    run.services.poll().unwrap();
    let index = d.partnership_index();
    assert_eq!(index, 1);
    // Every playlist file in priority order, then an auto playlist, then the whole library.
    let mut lib = run.library.write().unwrap();
    let mut ids: Vec<(String, _)> = lib
        .playlists()
        .iter()
        .map(|p| (p.name.clone(), p.id))
        .collect();
    ids.sort();
    let auto = Playlist::new_auto(
        "Auto playlist",
        parse_auto_playlist(support::demo::DEMO_AUTO).unwrap(),
    );
    let all = Playlist::new_auto("Whole library", AutoPlaylist::new(Rule::All(Vec::new())));
    ids.push((auto.name.clone(), auto.id));
    ids.push((all.name.clone(), all.id));
    lib.add_playlist(auto);
    lib.add_playlist(all);
    for (n, (_, id)) in ids.iter().enumerate() {
        lib.playlist_mut(*id)
            .unwrap()
            .sync
            .set_priority(index, n as u32 + 1)
            .unwrap();
    }
    d
}

/// Every entry of every playlist file on the device names a file that opens.
fn check_playlists(device: &Path) -> usize {
    let mut entries = 0;
    let lists = device.join("Playlists");
    for e in std::fs::read_dir(&lists).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let target = lists.join(line.replace('\\', "/"));
            std::fs::File::open(&target)
                .unwrap_or_else(|e| panic!("{}: {line}: {e}", path.display()));
            entries += 1;
        }
    }
    entries
}

fn leftovers(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            leftovers(&p, out);
        } else if name.contains(".part") || name.contains("wmdm-tmp") {
            out.push(p.display().to_string());
        }
    }
}

/// The library, device and state folders of a run under `dir`.
fn layout(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (dir.join("library"), dir.join("device"), dir.join("state"))
}

#[test]
fn the_demo_syncs_by_priority_resyncs_nothing_and_resumes_after_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let (lib_dir, device, state) = layout(dir.path());
    let made = support::demo::build(&lib_dir, 60).unwrap();
    assert_eq!(made.tracks, 60);
    assert_eq!(made.playlists.len(), 3);
    std::fs::create_dir(&device).unwrap();
    let quota = made.bytes / 10 * 6;

    // First run: stopped after a few steps, as Ctrl-C does.
    let run = open(&lib_dir, &device, &state, quota);
    assert_eq!(run.library.read().unwrap().tracks().len(), 60);
    assert_eq!(run.library.read().unwrap().playlists().len(), 3);
    let d = partnered(&run);
    d.start().unwrap();
    for _ in 0..5 {
        assert!(d.step());
    }
    d.stop();
    let stopped = d.engine().summary();
    assert!(!stopped.completed);
    assert!(stopped.copied > 0);
    drop(run);

    // Second run (a new process would do the same): finishes the job.
    let run = open(&lib_dir, &device, &state, quota);
    let d = partnered(&run);
    let done = d.run(&mut |_| {}).unwrap();
    assert!(done.completed);
    assert_eq!(done.errors, 0);
    assert!(done.no_fit > 0, "the quota is smaller than the library");
    assert_eq!(stopped.copied + done.copied, done.items_on_device);
    assert!(check_playlists(&device) > 0);
    let mut left = Vec::new();
    leftovers(&device, &mut left);
    assert!(left.is_empty(), "{left:?}");

    // Third: nothing changed, nothing copied.
    let again = d.run(&mut |_| {}).unwrap();
    assert_eq!((again.copied, again.updated, again.errors), (0, 0, 0));
    assert_eq!(again.playlists_written, 0);
    assert_eq!(again.items_on_device, done.items_on_device);
}

/// A library file that changes after the sync started (a tag editor saving it): a copy that
/// had read its bytes whole before the change copies that version, whole (the ledger records
/// that version's size and date, so the next sync brings the new one); a copy that had not
/// read it yet is an item error, and the next sync copies it. No copy is ever made of bytes
/// from two versions.
#[test]
fn library_files_changed_during_a_sync_are_copied_as_read_or_item_errors_and_synced_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let (lib_dir, device, state) = layout(dir.path());
    // More tracks than the copies read ahead at once.
    support::demo::build(&lib_dir, 300).unwrap();
    std::fs::create_dir(&device).unwrap();
    let run = open(&lib_dir, &device, &state, u64::MAX / 4);
    let d = partnered(&run);
    d.start().unwrap();
    let plan = d.engine().last_plan().expect("a started sync has its plan");
    let copies: Vec<(wmdm::library::TrackId, String)> = plan
        .ops
        .iter()
        .filter_map(|op| match op {
            wmdm::sync::SyncOp::Copy { track, path, .. } => Some((*track, path.clone())),
            _ => None,
        })
        .collect();
    assert!(copies.len() > 200, "{}", copies.len());
    // A few steps: the copies after them are being read ahead (a window of 128 files).
    for _ in 0..3 {
        assert!(d.step());
    }
    // Let the worker read the next copies whole before the change.
    std::thread::sleep(std::time::Duration::from_millis(300));
    // One copy a few steps on (read ahead by now) and the last one (far beyond the window).
    let changed = [copies[8].clone(), copies[copies.len() - 1].clone()];
    let mut before = Vec::new();
    for (track, _) in &changed {
        let path = run
            .library
            .read()
            .unwrap()
            .track(*track)
            .unwrap()
            .path
            .clone();
        let mut bytes = std::fs::read(&path).unwrap();
        before.push(bytes.clone());
        bytes.extend_from_slice(&[0u8; 1000]);
        std::fs::write(&path, bytes).unwrap();
    }
    while d.step() {}
    let first = d.engine().summary();
    // The first was read whole before the change (unless this machine is so loaded that
    // the worker had not reached it in 300 ms: then it is an item error like the last).
    let copied_as_read = match std::fs::read(device.join(&changed[0].1)) {
        Ok(bytes) => {
            assert_eq!(bytes, before[0], "copied as it was read, whole");
            true
        }
        Err(_) => false,
    };
    assert_eq!(
        first.errors,
        if copied_as_read { 1 } else { 2 },
        "{first:?}"
    );
    assert!(
        !device.join(&changed[1].1).exists(),
        "{} was copied from bytes no longer there",
        changed[1].1
    );
    let mut left = Vec::new();
    leftovers(&device, &mut left);
    assert!(left.is_empty(), "{left:?}");
    drop(run);

    // The next run scans the library again and brings both as they are now: the one copied
    // as it was read is replaced, the other copied.
    let run = open(&lib_dir, &device, &state, u64::MAX / 4);
    let d = partnered(&run);
    let again = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (again.copied + again.updated, again.errors),
        (2, 0),
        "{again:?}"
    );
    for (track, at) in &changed {
        let lib = run.library.read().unwrap();
        let source = std::fs::metadata(&lib.track(*track).unwrap().path).unwrap();
        let copied = std::fs::metadata(device.join(at)).unwrap();
        assert!(copied.len() >= source.len() - 1000, "{at}");
    }
}

#[test]
fn sizes_on_the_command_line() {
    use support::report::parse_bytes;
    assert_eq!(parse_bytes("123"), Ok(123));
    assert_eq!(parse_bytes("2GB"), Ok(2_000_000_000));
    assert_eq!(parse_bytes("1.5GiB"), Ok(1_610_612_736));
    assert_eq!(parse_bytes("700k"), Ok(700_000));
    assert!(parse_bytes("12XB").is_err());
    assert!(parse_bytes("").is_err());
    assert!(parse_bytes("0").is_err());
}

#[test]
fn a_provider_opened_aside_serves_its_devices_after_the_handshakes() {
    let root = tempfile::tempdir().unwrap();
    let device = root.path().join("device");
    std::fs::create_dir(&device).unwrap();
    let at = device.clone();
    let aside = support::OpenedAside::start(move || {
        Arc::new(FsProvider::new(
            FsConfig::root(&at).options(DeviceOptions::default().durable(false)),
        ))
    });
    let manager = support::manager(Arc::new(aside)).unwrap();
    assert_eq!(manager.devices().unwrap().len(), 1);
}

#[test]
fn a_provider_whose_opening_failed_answers_errors_not_panics() {
    use wmdm::provider::ServiceProvider;
    let aside = support::OpenedAside::start(|| panic!("the device could not be opened"));
    assert!(aside.devices().is_err());
    // Asked again, it says the same (the failed opening is not retried, nor waited for).
    assert!(aside.device_count().is_err());
}
