//! A no-op resync of 10,000 files on the folder device, end to end, against `rsync -a` of the
//! same tree, measured in the same run.
//!
//! * `noop_resync_10k/sync`: rescan the library folder (warm cache: every file stat'ed), then a
//!   whole sync through the authenticated manager: read the ledger, walk the device (10,000
//!   files), read play counts and ratings of the objects whose size or date changed since the
//!   last sync (none), plan (the quick check reuses every content hash), apply nothing.
//! * `noop_resync_10k/rsync_a`: `rsync -a library/ mirror/` where the mirror is already up to
//!   date: rsync stats both trees and copies nothing.
//!
//! * `noop_resync_10k/sync_without_stats`: the same with statistics flow-back off;
//!   `noop_resync_10k/rescan_only`: the library rescan alone.
//!
//! Bar: sync no slower than rsync.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, RwLock};

use criterion::{Criterion, criterion_group, criterion_main};
use wmdm::library::{FolderLibrary, Library, Playlist, ScanOptions, TrackId};
use wmdm::manager::DeviceManager;
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};
use wmdm::sac::Role;
use wmdm::sync::{PlanSettings, SyncServices};
use wmdm::time::ManualClock;

#[path = "../tests/common/mod.rs"]
mod common;

const N: usize = 10_000;

fn write_tree(root: &Path) {
    let frame = [&[0xFF, 0xFB, 0x90, 0xC0][..], &[0u8; 413][..]].concat();
    for i in 0..N {
        let dir = root.join(format!("Artist {}/Album {}", i % 100, i % 1000));
        std::fs::create_dir_all(&dir).unwrap();
        let mut bytes = frame.repeat(2);
        bytes.extend_from_slice(&(i as u64).to_le_bytes());
        std::fs::write(dir.join(format!("{i:05}.mp3")), bytes).unwrap();
    }
}

fn manager(provider: Arc<FsProvider>, clock: &ManualClock) -> DeviceManager {
    let mgr =
        DeviceManager::new(common::config(Role::Manager, 20, Role::Application, clock)).unwrap();
    mgr.add_provider(common::wrap_provider(provider, clock))
        .unwrap();
    mgr.authenticate(common::app_config(clock)).unwrap();
    mgr
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    let player = tmp.path().join("player");
    let mirror = tmp.path().join("mirror");
    let state = tmp.path().join("state");
    let lib_state = tmp.path().join("lib-state");
    for d in [&music, &player, &mirror] {
        std::fs::create_dir_all(d).unwrap();
    }
    write_tree(&music);
    let clock = ManualClock::default();
    let (mut lib, _) = FolderLibrary::open(
        &music,
        &lib_state,
        Arc::new(clock.clone()),
        ScanOptions::default(),
    )
    .unwrap();
    let ids: Vec<TrackId> = lib.tracks().iter().map(|t| t.id).collect();
    let mut all = Playlist::new_static("All", ids);
    all.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(all);
    let lib = Arc::new(RwLock::new(lib));
    let provider = Arc::new(FsProvider::new(
        FsConfig::root(&player).options(DeviceOptions::default().durable(false)),
    ));
    let mgr = manager(provider, &clock);
    let shared: Arc<RwLock<dyn Library>> = lib.clone();
    let services =
        SyncServices::open(mgr, shared, &state, "Bench", Arc::new(clock.clone())).unwrap();
    let device = services.device(0).unwrap();
    device.create_partnership().unwrap();
    services.poll().unwrap();
    device.set_settings(PlanSettings {
        template: wmdm::library::PathTemplate::parse("{filename}.{ext}").unwrap(),
        ..PlanSettings::default()
    });
    let first = device.run(&mut |_| {}).unwrap();
    assert_eq!(first.copied as usize, N, "{first:?}");
    let rsync = |src: &Path, dst: &Path| {
        let status = Command::new("/usr/bin/rsync")
            .arg("-a")
            .arg(format!("{}/", src.display()))
            .arg(format!("{}/", dst.display()))
            .status()
            .unwrap();
        assert!(status.success());
    };
    rsync(&music, &mirror);

    let mut g = c.benchmark_group("noop_resync_10k");
    g.sample_size(10);
    g.bench_function("sync", |b| {
        b.iter(|| {
            lib.write().unwrap().rescan().unwrap();
            let s = device.run(&mut |_| {}).unwrap();
            assert_eq!(
                s.copied + s.updated + s.deleted + s.playlists_written,
                0,
                "{s:?}"
            );
        })
    });
    g.bench_function("rsync_a", |b| b.iter(|| rsync(&music, &mirror)));
    device.set_settings(PlanSettings {
        template: wmdm::library::PathTemplate::parse("{filename}.{ext}").unwrap(),
        collect_stats: false,
        ..PlanSettings::default()
    });
    g.bench_function("sync_without_stats", |b| {
        b.iter(|| {
            lib.write().unwrap().rescan().unwrap();
            let s = device.run(&mut |_| {}).unwrap();
            assert_eq!(
                s.copied + s.updated + s.deleted + s.playlists_written,
                0,
                "{s:?}"
            );
        })
    });
    g.bench_function("rescan_only", |b| {
        b.iter(|| lib.write().unwrap().rescan().unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
