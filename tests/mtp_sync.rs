//! The sync over MTP: a full sync to mtp-rs's virtual device, then a resync that copies
//! nothing, with the files on the device byte-identical to the library's.
#![cfg(feature = "mtp-virtual")]

mod common;

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use common::sync::{content, manager_with, track};
use mtp_rs::virtual_device::{VirtualDeviceConfig, VirtualStorageConfig};
use wmdm::library::{Library, MemoryLibrary, Playlist, TrackId};
use wmdm::providers::mtp::{MtpOptions, MtpProvider};
use wmdm::sync::{SyncDeviceStatus, SyncServices, SyncSummary};

fn provider(dir: &Path) -> Arc<MtpProvider> {
    let config = VirtualDeviceConfig {
        serial: "mtp-sync".into(),
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

fn library(n: u64) -> MemoryLibrary {
    let mut lib = MemoryLibrary::new();
    for i in 1..=n {
        lib.add_track(
            track(i, &format!("Artist {}", i % 3), "Album"),
            content(i, 3000 + (i as usize * 37) % 2000),
        );
    }
    let mut p = Playlist::new_static("Mix", (1..=n).map(TrackId).collect());
    p.sync.set_priority(1, 1).expect("priority");
    lib.add_playlist(p);
    lib
}

/// One process's sync: a new provider and services over the device and state folders.
fn sync(dir: &Path, state: &Path, n: u64) -> SyncSummary {
    let clock = common::clock();
    let manager = manager_with(provider(dir), &clock);
    let lib: Arc<RwLock<dyn Library>> = Arc::new(RwLock::new(library(n)));
    let services =
        SyncServices::open(manager, lib, state, "Home", Arc::new(clock.clone())).expect("services");
    let d = services.device(0).expect("device");
    if d.status() != SyncDeviceStatus::PartnershipExists {
        d.create_partnership(false).expect("partnership");
        services.poll().expect("poll");
    }
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipExists);
    d.run(&mut |_| {}).expect("sync runs")
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
fn a_full_sync_then_a_resync_that_copies_nothing() {
    let device = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let first = sync(device.path(), state.path(), 40);
    assert!(first.completed, "{first:?}");
    assert_eq!((first.copied, first.errors), (40, 0), "{first:?}");
    let on_device = files(device.path());
    let lib = library(40);
    for i in 1..=40u64 {
        let want = content(i, 3000 + (i as usize * 37) % 2000);
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
    assert!(
        !device.path().join(wmdm::providers::mtp::LOCK_NAME).exists(),
        "the writer lock is released"
    );
    drop(lib);

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
