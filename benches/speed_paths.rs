//! The hot paths of a whole-process sync that issue #12's speed work changed, each against a
//! baseline measured in the same run:
//!
//! * hashing a 4 MB track while it is read in 1 MiB chunks ([`HashingReader`], as a sync's copy
//!   reads a track), against SHA-1 of the same bytes alone, with the chunks copied once more in
//!   both (the copy a sync makes of what it reads). (Hashing large chunks on a second thread
//!   was tried: 5.6 ms against 3.1 ms here, on a machine whose second core was busy.)
//! * renaming a file on a device that holds 5,000 files and a playlist (the sync's rename into
//!   place; it used to look at every name on the device), against `std::fs::rename`;
//! * opening a device, listing every folder and asking its used bytes (a sync's start: the
//!   count now comes from the listing), against the same listing alone.
//!
//! Set `WMDM_BENCH_FILES` (default 5000) to change the device's size.

use std::fs;
use std::io::{Cursor, Read};
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use sha1::Digest;
use wmdm::library::HashingReader;
use wmdm::provider::{NoProgress, StorageRef};
use wmdm::providers::fs::{DeviceOptions, FsDevice};

fn files() -> usize {
    std::env::var("WMDM_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

fn bench_hashing(c: &mut Criterion) {
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut g = c.benchmark_group("hash_4mb_track");
    g.sample_size(20);
    let mut out = vec![0u8; 1 << 20];
    g.bench_function("HashingReader", |b| {
        b.iter(|| {
            let mut r = HashingReader::new(Box::new(Cursor::new(&data[..])));
            let mut sink = Vec::with_capacity(data.len());
            loop {
                let n = r.read(&mut out).unwrap();
                if n == 0 {
                    break;
                }
                sink.extend_from_slice(&out[..n]);
            }
            r.finish().unwrap()
        })
    });
    g.bench_function("sha1 on this thread", |b| {
        b.iter(|| {
            let mut h = sha1::Sha1::new();
            let mut sink = Vec::with_capacity(data.len());
            for chunk in data.chunks(1 << 20) {
                out[..chunk.len()].copy_from_slice(chunk);
                h.update(&out[..chunk.len()]);
                sink.extend_from_slice(&out[..chunk.len()]);
            }
            h.finalize()
        })
    });
    g.finish();
}

/// A device of `n` files in folders of 50, and one playlist.
fn make_device(dir: &Path, n: usize) {
    for i in 0..n {
        let folder = dir.join(format!("Music/A{:03}", i / 50));
        if i % 50 == 0 {
            fs::create_dir_all(&folder).unwrap();
        }
        fs::write(folder.join(format!("t{i}.mp3")), b"x").unwrap();
    }
    fs::create_dir_all(dir.join("Playlists")).unwrap();
    fs::write(dir.join("Playlists/All.m3u8"), "../Music/A000/t0.mp3\n").unwrap();
}

fn list_all(s: &StorageRef) {
    for c in s.children().unwrap() {
        if c.attributes()
            .unwrap()
            .attributes
            .contains(wmdm::flags::Attributes::FOLDER)
        {
            list_all(&c);
        }
    }
}

fn bench_device(c: &mut Criterion) {
    let n = files();
    let tmp = tempfile::tempdir().unwrap();
    make_device(tmp.path(), n);
    let opts = DeviceOptions::default().durable(false).quota(1 << 40);
    let mut g = c.benchmark_group("device_5k");
    g.sample_size(10);

    let d = FsDevice::open(tmp.path(), opts.clone()).unwrap();
    let root: StorageRef = d.root();
    list_all(&root);
    let file = root
        .child("Music")
        .unwrap()
        .child("A001")
        .unwrap()
        .child("t50.mp3")
        .unwrap();
    let mut flip = false;
    g.bench_function("provider rename", |b| {
        b.iter(|| {
            flip = !flip;
            let name = if flip { "u50.mp3" } else { "t50.mp3" };
            file.rename(name, &mut NoProgress).unwrap();
        })
    });
    let a = tmp.path().join("Music/A002/t100.mp3");
    let b2 = tmp.path().join("Music/A002/u100.mp3");
    g.bench_function("std::fs::rename", |b| {
        b.iter(|| {
            flip = !flip;
            if flip {
                fs::rename(&a, &b2).unwrap();
            } else {
                fs::rename(&b2, &a).unwrap();
            }
        })
    });

    g.bench_function("open, list all, used bytes", |b| {
        b.iter(|| {
            let d = FsDevice::open(tmp.path(), opts.clone()).unwrap();
            let root: StorageRef = d.root();
            list_all(&root);
            root.globals().unwrap().total_size().unwrap()
        })
    });
    g.bench_function("open, list all", |b| {
        b.iter(|| {
            let d = FsDevice::open(tmp.path(), opts.clone()).unwrap();
            let root: StorageRef = d.root();
            list_all(&root);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_hashing, bench_device);
criterion_main!(benches);
