//! The sync over MTP: a full sync to mtp-rs's virtual device, then a resync that copies
//! nothing, with the files on the device byte-identical to the library's; and `kill -9` of a
//! sync process at moments spread over its run, then a resume in a new process, with the
//! invariants of the folder device's kill test (tests/sync_crash_fs.rs).
#![cfg(feature = "mtp-virtual")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use common::sync::{content, manager_with, track};
use mtp_rs::virtual_device::{VirtualDeviceConfig, VirtualStorageConfig};
use wmdm::library::{Library, MemoryLibrary, Playlist, TrackId};
use wmdm::providers::mtp::{MtpOptions, MtpProvider};
use wmdm::sync::{SyncDeviceStatus, SyncServices, SyncSummary};

fn provider(dir: &Path) -> Arc<MtpProvider> {
    provider_with_serial(dir, "mtp-sync")
}

/// A virtual device with its own serial number: the provider's writer lock is per device
/// identity in a process, so tests running at once use different ones.
fn provider_with_serial(dir: &Path, serial: &str) -> Arc<MtpProvider> {
    let config = VirtualDeviceConfig {
        serial: serial.into(),
        storages: vec![VirtualStorageConfig {
            description: "Internal".into(),
            capacity: 1 << 30,
            backing_dir: dir.to_path_buf(),
            read_only: false,
        }],
        event_poll_interval: Duration::ZERO,
        watch_backing_dirs: false,
        ..Default::default()
    };
    let device = futures::executor::block_on(mtp_rs::MtpDevice::builder().open_virtual(config))
        .expect("virtual device");
    Arc::new(MtpProvider::with_device(
        device,
        Vec::new(),
        MtpOptions::new(),
    ))
}

/// `n` tracks; version 2 (`n` = 35) is a resync that drops tracks 1-10 and adds 31-35.
fn library(n: u64) -> MemoryLibrary {
    library_of(n, 1..=n)
}

fn library_of(n: u64, selected: std::ops::RangeInclusive<u64>) -> MemoryLibrary {
    let mut lib = MemoryLibrary::new();
    for i in 1..=n {
        lib.add_track(
            track(i, &format!("Artist {}", i % 3), "Album"),
            track_bytes(i),
        );
    }
    let mut p = Playlist::new_static("Mix", selected.map(TrackId).collect());
    p.sync.set_priority(1, 1).expect("priority");
    lib.add_playlist(p);
    lib
}

/// One process's sync: a new provider and services over the device and state folders.
fn sync(dir: &Path, state: &Path, n: u64) -> SyncSummary {
    sync_library(dir, state, library(n))
}

fn sync_library(dir: &Path, state: &Path, library: MemoryLibrary) -> SyncSummary {
    sync_through(provider(dir), state, library)
}

/// One process's sync through `provider` (the MTP provider, or a wrapper over it).
fn sync_through(
    provider: Arc<dyn wmdm::provider::ServiceProvider>,
    state: &Path,
    library: MemoryLibrary,
) -> SyncSummary {
    let clock = common::clock();
    let manager = manager_with(provider, &clock);
    let lib: Arc<RwLock<dyn Library>> = Arc::new(RwLock::new(library));
    let services =
        SyncServices::open(manager, lib, state, "Home", Arc::new(clock.clone())).expect("services");
    let d = services.device(0).expect("device");
    if d.status() != SyncDeviceStatus::PartnershipExists {
        d.create_partnership().expect("partnership");
        services.poll().expect("poll");
    }
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipExists);
    d.run(&mut |_| {}).expect("sync runs")
}

/// The bytes of track `i` in [`library`].
fn track_bytes(i: u64) -> Vec<u8> {
    content(i, 3000 + (i as usize * 37) % 2000)
}

/// Tracks 1..=`n` are each on the device whole, and no temporary file is left.
fn assert_whole_without_temporaries(on_device: &[(String, Vec<u8>)], n: u64) {
    for i in 1..=n {
        let want = track_bytes(i);
        assert!(
            on_device.iter().any(|(_, b)| *b == want),
            "track {i} is on the device whole"
        );
    }
    assert!(
        on_device.iter().all(|(p, _)| !p.ends_with(".part")),
        "no temporary file is left: {:?}",
        on_device.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    // The sync's own state folder is rewritten by every run.
    out.retain(|(p, _)| !p.starts_with(".wmdm-sync"));
    out.sort();
    out
}

#[test]
fn a_device_that_refuses_renames_is_synced_in_place_and_resynced_with_nothing_to_do() {
    // An MTP device without SetObjectPropValue for names (many players): every rename is
    // NotSupported, so the sync writes under final names behind its intent records.
    use wmdm::providers::quirks::{QuirkProvider, Quirks};
    let device = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let no_rename = || {
        QuirkProvider::new(
            provider_with_serial(device.path(), "mtp-no-rename"),
            Quirks::none().no_rename(),
        )
    };
    let first = sync_through(no_rename(), state.path(), library(12));
    assert!(first.completed, "{first:?}");
    assert_eq!((first.copied, first.errors), (12, 0), "{first:?}");
    assert!(first.renames_refused, "the quirk is found and reported");
    let on_device = files(device.path());
    assert_whole_without_temporaries(&on_device, 12);
    let second = sync_through(no_rename(), state.path(), library(12));
    assert!(second.completed, "{second:?}");
    assert_eq!(
        (second.copied, second.deleted, second.errors),
        (0, 0, 0),
        "{second:?}"
    );
    assert!(
        files(device.path()) == on_device,
        "the resync changed nothing"
    );
}

#[test]
fn a_full_sync_then_a_resync_that_copies_nothing() {
    let device = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let first = sync(device.path(), state.path(), 40);
    assert!(first.completed, "{first:?}");
    assert_eq!((first.copied, first.errors), (40, 0), "{first:?}");
    let on_device = files(device.path());
    assert_whole_without_temporaries(&on_device, 40);
    assert!(
        !device.path().join(wmdm::providers::mtp::LOCK_NAME).exists(),
        "the writer lock is released"
    );

    // A new process (a new session: new object handles) finds every file its own.
    let second = sync(device.path(), state.path(), 40);
    assert!(second.completed, "{second:?}");
    assert_eq!(
        (second.copied, second.deleted, second.errors),
        (0, 0, 0),
        "{second:?}"
    );
    assert!(
        files(device.path()) == on_device,
        "the resync changed no track or playlist"
    );
}

/// `<device folder>|<state folder>|<version>` for the child.
const CHILD_ENV: &str = "WMDM_MTP_CRASH_CHILD";

/// The library of a version: 1 selects tracks 1-30, 2 selects 11-35.
fn versioned(version: u8) -> MemoryLibrary {
    if version == 1 {
        library_of(35, 1..=30)
    } else {
        library_of(35, 11..=35)
    }
}

#[test]
#[ignore = "the child process of the kill test below; runs only when it sets WMDM_MTP_CRASH_CHILD"]
fn child_process_runs_one_mtp_sync() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [dir, state, version] = parts[..] else {
        panic!("bad {CHILD_ENV}: {spec}");
    };
    let s = sync_library(
        Path::new(dir),
        Path::new(state),
        versioned(version.parse().expect("version")),
    );
    assert!(s.completed && s.errors == 0, "{s:?}");
}

/// Runs the child sync; kills it (SIGKILL, as `kill -9`) after `delay`. Returns how long it
/// ran and whether it was killed before it ended.
fn child(dir: &Path, state: &Path, version: u8, delay: Option<Duration>) -> (Duration, bool) {
    let exe = std::env::current_exe().expect("test binary");
    let started = Instant::now();
    let mut c = Command::new(exe)
        .args(["--exact", "child_process_runs_one_mtp_sync", "--ignored"])
        .env(
            CHILD_ENV,
            format!("{}|{}|{version}", dir.display(), state.display()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the child");
    let killed = match delay {
        Some(d) => {
            std::thread::sleep(d);
            let ended = c.try_wait().ok().flatten().is_some();
            let _ = c.kill();
            !ended
        }
        None => false,
    };
    let status = c.wait().expect("wait for the child");
    if delay.is_none() {
        assert!(status.success(), "the child's clean run failed");
    }
    (started.elapsed(), killed)
}

fn user_file() -> (PathBuf, &'static [u8]) {
    (PathBuf::from("Music/mine.mp3"), b"the user's own song")
}

/// After a killed run and a resumed one: the tracks of `version` are on the device once and
/// whole, the user's file untouched, no temporary file, the writer lock released, and the run
/// after that changes nothing.
fn check(dir: &Path, state: &Path, version: u8, resumed: &SyncSummary) {
    assert!(resumed.completed && resumed.errors == 0, "{resumed:?}");
    let on_device = files(dir);
    let (mine, bytes) = user_file();
    let names: Vec<&String> = on_device.iter().map(|(p, _)| p).collect();
    assert!(
        on_device
            .iter()
            .any(|(p, b)| Path::new(p) == mine && b == bytes),
        "the user's file is untouched: {names:?}"
    );
    let selected: Vec<u64> = if version == 1 {
        (1..=30).collect()
    } else {
        (11..=35).collect()
    };
    for i in 1..=35u64 {
        let want = track_bytes(i);
        let copies = on_device.iter().filter(|(_, b)| *b == want).count();
        let expected = usize::from(selected.contains(&i));
        assert_eq!(copies, expected, "track {i} on the device: {names:?}");
    }
    let tracks = on_device
        .iter()
        .filter(|(p, _)| p.ends_with(".mp3") && Path::new(p) != mine)
        .count();
    assert_eq!(tracks, selected.len(), "no other file, no (2): {names:?}");
    assert!(
        on_device
            .iter()
            .all(|(p, _)| !p.ends_with(".part") && !p.contains("(2)")),
        "{names:?}"
    );
    assert!(
        !dir.join(wmdm::providers::mtp::LOCK_NAME).exists(),
        "the writer lock is released"
    );
    let again = sync_library(dir, state, versioned(version));
    assert_eq!(
        (again.copied, again.deleted, again.errors),
        (0, 0, 0),
        "{again:?}"
    );
}

#[test]
fn a_sync_killed_at_moments_across_its_run_resumes_on_the_mtp_device() {
    // How long a clean first sync and a clean resync take here, in a child process.
    let clean = tempfile::tempdir().unwrap();
    let (d, s) = (clean.path().join("dev"), clean.path().join("state"));
    std::fs::create_dir_all(d.join("Music")).unwrap();
    let (first, _) = child(&d, &s, 1, None);
    let (second, _) = child(&d, &s, 2, None);
    let mut killed = 0;
    for (version, took) in [(1u8, first), (2u8, second)] {
        for step in 1..=4u32 {
            let run = tempfile::tempdir().unwrap();
            let (dir, state) = (run.path().join("dev"), run.path().join("state"));
            std::fs::create_dir_all(dir.join("Music")).unwrap();
            let (mine, bytes) = user_file();
            std::fs::write(dir.join(&mine), bytes).unwrap();
            if version == 2 {
                let s = sync_library(&dir, &state, versioned(1));
                assert!(s.completed && s.errors == 0);
            }
            let delay = took.mul_f64(f64::from(step) / 5.0);
            let (_, was_killed) = child(&dir, &state, version, Some(delay));
            killed += usize::from(was_killed);
            let resumed = sync_library(&dir, &state, versioned(version));
            check(&dir, &state, version, &resumed);
        }
    }
    eprintln!("{killed} of 8 children were killed mid-sync");
    assert!(
        killed > 0,
        "no child was killed mid-sync: the test proves nothing"
    );
}
