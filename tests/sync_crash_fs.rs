//! `kill -9` of a sync on the folder device, at random moments: this test binary spawns itself
//! as the child (the ignored test `child_process_runs_one_sync`, told what to do through
//! [`CHILD_ENV`]), kills it after a random delay, then resumes in-process and checks the same
//! invariants as the memory device's crash simulation (tests/sync_crash.rs): the ledger equals
//! the disk, no temporary file or journal is left, the user's files are untouched, the tracks
//! a clean run keeps are there once, no "(2)" file, no skipped file, and the run after the
//! recovering one is a no-op.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use common::sync::{find_ledger, manager_with, track};
use wmdm::Error;
use wmdm::library::{Library, MemoryLibrary, Playlist, TrackId};
use wmdm::manager::DeviceManager;
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};

thread_local! {
    /// Open devices without syncs (see [`host`]).
    static FAST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
use wmdm::sync::{
    Ledger, OwnedKind, SYNC_FOLDER, SyncDeviceStatus, SyncEvent, SyncServices, SyncSummary,
    read_device_contents,
};

/// `<device folder>|<state folder>|<variant>|<library version>` for the child.
const CHILD_ENV: &str = "WMDM_CRASH_FS_CHILD";

/// The user's files on the device (the folder provider's own temp-name rule is tested apart).
const USER_FILES: &[(&str, &[u8])] = &[
    ("Music/mine.mp3", b"the user's own song"),
    (
        "Music/mine.mp3.wmdm-sync-part",
        b"a user file named like an older version's sync temp file",
    ),
    (
        "Music/.wmdm-sync-0123456789abcdef-00000000.part",
        b"a user file named like a sync temp file (J3)",
    ),
];

/// A user file named like the folder provider's temporary files.
const PROVIDER_TEMP_LOOKALIKE: (&str, &[u8]) = (
    "Music/.wmdm-tmp-mine.part",
    b"a user file named like a provider temp file",
);

/// An MP3 of `frames` silent frames.
fn mp3(frames: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..frames {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]);
    }
    v
}

/// The library: version 1 is the first sync's; version 2 drops ten tracks from the playlist
/// and adds five new ones (a resync that deletes and copies).
fn library(version: u8) -> MemoryLibrary {
    let mut lib = MemoryLibrary::new();
    for i in 1..=35u64 {
        lib.add_track(
            track(i, &format!("Artist {}", i % 4), "Album"),
            mp3(20 + (i as usize * 7) % 40),
        );
    }
    let ids: Vec<u64> = if version == 1 {
        (1..=30).collect()
    } else {
        (11..=35).collect()
    };
    let mut p = Playlist::new_static("Mix", ids.into_iter().map(TrackId).collect());
    p.sync.set_priority(1, 1).expect("priority");
    lib.add_playlist(p);
    lib
}

struct Host {
    manager: DeviceManager,
    clock: wmdm::time::ManualClock,
}

/// Devices are opened durable, as a real one is, except in the step-boundary tests: a process
/// that vanishes loses nothing the kernel already has, so there the syncs only cost time.
fn host(root: &Path) -> Host {
    let clock = common::clock();
    let durable = !FAST.with(std::cell::Cell::get);
    let options = DeviceOptions::default().durable(durable);
    let provider = Arc::new(FsProvider::new(FsConfig::root(root).options(options)));
    Host {
        manager: manager_with(provider, &clock),
        clock,
    }
}

struct Outcome {
    summary: Result<SyncSummary, Error>,
    item_errors: Vec<String>,
}

/// One process's work: open the services, partner if needed, run the sync to its end.
fn run_sync(root: &Path, state: &Path, version: u8) -> Outcome {
    let host = host(root);
    let mut item_errors = Vec::new();
    let summary = (|| {
        let lib: Arc<RwLock<dyn Library>> = Arc::new(RwLock::new(library(version)));
        let services = SyncServices::open(
            host.manager.clone(),
            lib,
            state,
            "Home",
            Arc::new(host.clock.clone()),
        )?;
        let events = services.events().channel();
        let d = services.device(0)?;
        if d.status() != SyncDeviceStatus::PartnershipExists {
            d.create_partnership()?;
            services.poll()?;
        }
        let s = d.run(&mut |_| {})?;
        for e in events.try_iter() {
            if let SyncEvent::DeviceSyncError { item, error, .. } = e {
                item_errors.push(format!("{item:?}: {error}"));
            }
        }
        Ok(s)
    })();
    Outcome {
        summary,
        item_errors,
    }
}

#[test]
#[ignore = "the child process of the kill tests below; runs only when they set WMDM_CRASH_FS_CHILD"]
fn child_process_runs_one_sync() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [root, state, version] = parts[..] else {
        panic!("bad {CHILD_ENV}: {spec}");
    };
    let out = run_sync(
        Path::new(root),
        Path::new(state),
        version.parse().expect("version"),
    );
    out.summary.expect("the child's sync");
}

/// A device folder and a state folder, with the user's files and (for the resync variant) a
/// first sync already done.
struct Stage {
    _dir: tempfile::TempDir,
    root: PathBuf,
    state: PathBuf,
    version: u8,
    protected: BTreeMap<String, Vec<u8>>,
}

fn stage(resync: bool, provider_lookalike: bool) -> Stage {
    // The step-boundary tests need no disk: a memory-backed folder where the host has one.
    let shm = Path::new("/dev/shm");
    let dir = if FAST.with(std::cell::Cell::get) && shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("tempdir");
    let root = dir.path().join("player");
    let state = dir.path().join("state");
    std::fs::create_dir_all(root.join("Music")).expect("device folder");
    std::fs::create_dir_all(&state).expect("state folder");
    let mut protected: BTreeMap<String, Vec<u8>> = USER_FILES
        .iter()
        .map(|(p, b)| ((*p).to_owned(), b.to_vec()))
        .collect();
    if provider_lookalike {
        protected.insert(
            PROVIDER_TEMP_LOOKALIKE.0.to_owned(),
            PROVIDER_TEMP_LOOKALIKE.1.to_vec(),
        );
    }
    for (p, b) in &protected {
        std::fs::write(root.join(p), b).expect("user file");
    }
    if resync {
        let out = run_sync(&root, &state, 1);
        assert!(out.summary.is_ok_and(|s| s.completed && s.errors == 0));
    }
    Stage {
        _dir: dir,
        root,
        state,
        version: if resync { 2 } else { 1 },
        protected,
    }
}

/// Spawns the child on `stage`; kills it after `delay` (None: lets it finish). Returns how long
/// it ran and whether it was killed before it ended.
fn child(stage: &Stage, delay: Option<Duration>) -> (Duration, bool) {
    let exe = std::env::current_exe().expect("test binary");
    let spec = format!(
        "{}|{}|{}",
        stage.root.display(),
        stage.state.display(),
        stage.version
    );
    let started = Instant::now();
    let mut c = Command::new(exe)
        .args([
            "--exact",
            "child_process_runs_one_sync",
            "--ignored",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, spec)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the child");
    let killed = match delay {
        Some(d) => {
            std::thread::sleep(d);
            let ended = c.try_wait().ok().flatten().is_some();
            // Child::kill is SIGKILL on Unix: no destructor, no flush, as `kill -9`.
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

/// Every file under `dir`, by `/`-separated path.
fn disk_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                let key = rel.to_string_lossy().replace('\\', "/");
                out.insert(key, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The invariants after the resumed sync; `expected` is what a clean run keeps.
fn check(
    stage: &Stage,
    first: &Outcome,
    second: &Outcome,
    expected: &BTreeSet<u64>,
) -> Vec<String> {
    let mut out = Vec::new();
    match &first.summary {
        Ok(s) if s.completed && s.errors == 0 => {}
        other => out.push(format!("resumed run: {other:?} {:?}", first.item_errors)),
    }
    match &second.summary {
        Ok(s)
            if s.completed
                && (s.copied, s.updated, s.deleted, s.playlists_written) == (0, 0, 0, 0) => {}
        other => out.push(format!("the run after it is not a no-op: {other:?}")),
    }
    let host = host(&stage.root);
    let listing = host
        .manager
        .devices()
        .and_then(|d| d.first().ok_or(Error::NoPda)?.storages())
        .and_then(|s| read_device_contents(s.first().ok_or(Error::NoPda)?));
    let listing = match listing {
        Ok(l) => l.files,
        Err(e) => return vec![format!("cannot list the device: {e}")],
    };
    let disk = disk_files(&stage.root);
    // One library syncs this device: its ledger is the only one.
    let ledger = match find_ledger(&disk, None) {
        Ok(Some((_, l))) => l,
        other => {
            out.push(format!("ledger missing or unreadable: {other:?}"));
            Ledger::default()
        }
    };
    for e in ledger.entries.values() {
        match listing.get(&e.path) {
            Some(f)
                if f.size == e.size && !e.unique_id.is_empty() && f.unique_id == e.unique_id => {}
            other => out.push(format!(
                "ledger entry {} does not match the disk: {other:?}",
                e.path
            )),
        }
    }
    for (path, bytes) in &disk {
        if path.starts_with(".wmdm/") {
            continue; // the folder provider's own ids and sidecars
        }
        if let Some(name) = path.strip_prefix(&format!("{SYNC_FOLDER}/")) {
            // A clean end leaves no twin, journal or commit record (J4: spent records go).
            if name.ends_with(".new") || name.contains("journal") || name.starts_with("commit-") {
                out.push(format!("sync state temp or journal left: {path}"));
            }
            continue;
        }
        match stage.protected.get(path) {
            Some(b) if b != bytes => out.push(format!("user file changed: {path}")),
            Some(_) => {}
            None if ledger.entries.contains_key(path) => {}
            None => out.push(format!("file neither in the ledger nor the user's: {path}")),
        }
        if path.contains(" (2)") {
            out.push(format!("\"(2)\" duplicate: {path}"));
        }
    }
    for path in stage.protected.keys() {
        if !disk.contains_key(path) {
            out.push(format!("user file deleted: {path}"));
        }
    }
    let owned: BTreeSet<u64> = ledger
        .entries
        .values()
        .filter(|e| e.kind == OwnedKind::Track)
        .map(|e| e.id)
        .collect();
    if owned != *expected {
        out.push(format!(
            "owned tracks {owned:?}, a clean run keeps {expected:?}"
        ));
    }
    let lib: Arc<RwLock<dyn Library>> = Arc::new(RwLock::new(library(stage.version)));
    let skipped = SyncServices::open(
        host.manager.clone(),
        lib,
        &stage.state,
        "Home",
        Arc::new(host.clock.clone()),
    )
    .map(|s| {
        s.partnerships()
            .partnerships()
            .iter()
            .flat_map(|p| p.skipped.iter().map(|t| t.0))
            .collect::<Vec<u64>>()
    });
    if !skipped.as_ref().is_ok_and(Vec::is_empty) {
        out.push(format!("skipped set not empty: {skipped:?}"));
    }
    out
}

fn owned_after_clean_run(resync: bool) -> (BTreeSet<u64>, Duration) {
    let stage = stage(resync, false);
    let (took, _) = child(&stage, None);
    let (_, ledger) = find_ledger(disk_files(&stage.root), None)
        .expect("ledger parses")
        .expect("a ledger");
    let owned = ledger
        .entries
        .values()
        .filter(|e| e.kind == OwnedKind::Track)
        .map(|e| e.id)
        .collect();
    (owned, took)
}

/// `iterations` kills at random moments of a first sync and (`resync`) of a resync that
/// deletes.
fn kill_at_random_points(variants: &[bool], iterations: u64, seed: u64, provider_lookalike: bool) {
    let mut rng = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut failures = Vec::new();
    let mut killed = 0;
    for &resync in variants {
        let (expected, took) = owned_after_clean_run(resync);
        let window = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        for i in 0..iterations {
            let stage = stage(resync, provider_lookalike);
            let delay = Duration::from_micros(next() % window);
            let (_, was_killed) = child(&stage, Some(delay));
            killed += u64::from(was_killed);
            let first = run_sync(&stage.root, &stage.state, stage.version);
            let second = run_sync(&stage.root, &stage.state, stage.version);
            for f in check(&stage, &first, &second, &expected) {
                failures.push(format!(
                    "{} #{i} (killed after {delay:?} of {took:?}): {f}",
                    if resync { "resync" } else { "first sync" }
                ));
            }
        }
    }
    eprintln!(
        "{killed} of {} children killed mid-run",
        variants.len() as u64 * iterations
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A process that runs `steps` steps of the sync and then vanishes (no stop, no finish: as
/// `kill -9` between two steps); `None` when the sync ended first.
fn abandon_after(root: &Path, state: &Path, version: u8, steps: usize) -> Option<()> {
    let host = host(root);
    let lib: Arc<RwLock<dyn Library>> = Arc::new(RwLock::new(library(version)));
    let services = SyncServices::open(
        host.manager.clone(),
        lib,
        state,
        "Home",
        Arc::new(host.clock.clone()),
    )
    .ok()?;
    let d = services.device(0).ok()?;
    if d.status() != SyncDeviceStatus::PartnershipExists {
        d.create_partnership().ok()?;
        services.poll().ok()?;
    }
    d.start().ok()?;
    for _ in 0..steps {
        if !d.step() {
            return None;
        }
    }
    // Everything is dropped here without stopping the engine: the journal stays, the ledger
    // is not written, as when the process is killed.
    Some(())
}

/// Every step boundary of a first sync and of a resync that deletes: the process vanishes
/// after step k, a new one resumes. Deterministic, so a failure names its step.
fn vanish_at_every_step(resync: bool) {
    let (expected, _) = owned_after_clean_run(resync);
    // No power is lost here, only a process: the device need not sync (much faster).
    FAST.with(|f| f.set(true));
    let mut failures = Vec::new();
    for k in 0.. {
        let stage = stage(resync, false);
        if abandon_after(&stage.root, &stage.state, stage.version, k).is_none() {
            break;
        }
        let first = run_sync(&stage.root, &stage.state, stage.version);
        let second = run_sync(&stage.root, &stage.state, stage.version);
        for f in check(&stage, &first, &second, &expected) {
            failures.push(format!("after step {k}: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_first_sync_that_vanishes_after_any_step_resumes_on_the_folder_device() {
    vanish_at_every_step(false);
}

#[test]
fn a_resync_that_vanishes_after_any_step_resumes_on_the_folder_device() {
    vanish_at_every_step(true);
}

#[test]
fn a_first_sync_killed_at_random_moments_resumes_on_the_folder_device() {
    kill_at_random_points(&[false], 4, 1, false);
}

#[test]
fn a_resync_killed_at_random_moments_resumes_on_the_folder_device() {
    kill_at_random_points(&[true], 6, 4, false);
}

#[test]
#[ignore = "long run, forty kills (minutes)"]
fn many_kills_at_random_moments_resume_on_the_folder_device() {
    kill_at_random_points(&[false, true], 20, 2, false);
}

#[test]
fn a_user_file_named_like_a_provider_temp_file_survives_kills() {
    kill_at_random_points(&[false, true], 2, 3, true);
}
