//! The runtime over the folder provider: a partnered device folder that appears under a
//! mount root, at another path than before, is picked up by its identity and syncs by itself.

mod common;

use std::path::Path;
use std::sync::{Arc, RwLock, mpsc};
use std::time::{Duration, Instant};

use common::sync::*;
use wmdm::library::{MemoryLibrary, Playlist, TrackId};
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};
use wmdm::sync::{RuntimeOptions, SyncEvent, SyncState};

const WAIT: Duration = Duration::from_secs(20);

fn wait_for(events: &mpsc::Receiver<SyncEvent>, want: impl Fn(&SyncEvent) -> bool) {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(e) if want(&e) => return,
            Ok(e) => seen.push(e),
            Err(_) => panic!("timed out; events so far: {seen:?}"),
        }
    }
}

fn stopped(e: &SyncEvent) -> bool {
    matches!(
        e,
        SyncEvent::DeviceSyncStateChange {
            state: SyncState::Stopped,
            ..
        }
    )
}

fn mp3(i: u64) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..(i + 1) {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]);
    }
    v
}

/// Music files under `root`, without the sync's and the provider's own folders.
fn music(root: &Path) -> usize {
    fn walk(p: &Path, n: &mut usize) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".wmdm") {
                continue;
            }
            if path.is_dir() {
                walk(&path, n);
            } else if name.ends_with(".mp3") {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(root, &mut n);
    n
}

#[test]
fn a_partnered_folder_that_reappears_elsewhere_under_a_mount_root_syncs_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mounts = dir.path().join("media");
    let away = dir.path().join("away");
    std::fs::create_dir_all(mounts.join("STICK")).unwrap();
    let clock = common::clock();
    let provider = Arc::new(FsProvider::new(
        FsConfig::default()
            .discover(&mounts, false)
            .options(DeviceOptions::default().durable(false)),
    ));
    let manager = manager_with(provider.clone(), &clock);
    let mut lib = MemoryLibrary::new();
    for i in 1..=5 {
        lib.add_track(track(i, "Artist", "Album"), mp3(i));
    }
    let mut p = Playlist::new_static("Mix", (1..=5).map(TrackId).collect());
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let services = services(&manager, &library, state.path(), "Home", &clock);
    let d = services.device(0).unwrap();
    d.create_partnership().unwrap();
    services.poll().unwrap();
    let key = d.key().to_owned();
    // Unplugged before it ever synced.
    std::fs::rename(mounts.join("STICK"), &away).unwrap();
    provider.poll();
    services.poll().unwrap();
    assert!(!d.connected());
    let events = services.events().channel();
    let rescan = provider.clone();
    let runtime = services
        .start_runtime(
            RuntimeOptions::default()
                .poll_interval(Duration::from_millis(20))
                .rescan(move || {
                    rescan.poll();
                }),
        )
        .unwrap();
    // Plugged in again, mounted under another name: the same device by its identity.
    let plugged = Instant::now();
    std::fs::rename(&away, mounts.join("STICK1")).unwrap();
    wait_for(&events, |e| {
        *e == SyncEvent::DeviceConnect {
            device: key.clone(),
        }
    });
    assert!(
        plugged.elapsed() < Duration::from_secs(2),
        "{:?}",
        plugged.elapsed()
    );
    wait_for(&events, stopped);
    assert!(d.engine().summary().completed);
    assert_eq!(music(&mounts.join("STICK1")), 5);
    assert_eq!(d.partnership_index(), 1);
    runtime.shutdown();
}
