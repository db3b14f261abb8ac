//! Folder-device bars, each against a baseline measured in the same run:
//!
//! * copying ~1 GiB of files (average 5 MiB) into a device folder through direct transfer,
//!   durable (each file synced before it is renamed into place, the default) and not, against
//!   `cp -r` of the same files on the same file system, and against `cp -r && sync`, which
//!   gives the same durability as the durable provider copy; and the durable copy as one batch
//!   (`FsStorage::transfer_files`), which syncs the files in groups;
//! * enumerating 100,000 files with their sizes, against `find DIR -printf '%s\n'`.
//!
//! Data is generated under the system temporary folder and deleted afterwards. Set
//! `WMDM_BENCH_COPY_MIB` (default 1024) and `WMDM_BENCH_FILES` (default 100000) to shrink the
//! data sets on small machines.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wmdm::provider::{CreateRequest, NoProgress, Storage, TransferOptions, TransferSource, walk};
use wmdm::providers::fs::{DeviceOptions, FileCopy, FsDevice};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A deterministic pseudo-random sequence (xorshift), so every run copies the same sizes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Files of 1-9 MiB (average 5 MiB) adding up to about `total_mib`.
fn make_copy_source(dir: &Path, total_mib: usize) -> u64 {
    fs::create_dir_all(dir).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut total = 0u64;
    let mut i = 0;
    let chunk: Vec<u8> = (0..1 << 20).map(|_| rng.next() as u8).collect();
    while total < (total_mib as u64) << 20 {
        let size = ((1 + rng.next() % 9) << 20) as usize + (rng.next() % 4096) as usize;
        let mut data = Vec::with_capacity(size);
        while data.len() < size {
            let take = (size - data.len()).min(chunk.len());
            data.extend_from_slice(&chunk[..take]);
        }
        data[0] = i as u8;
        fs::write(dir.join(format!("track {i:04}.mp3")), &data).unwrap();
        total += size as u64;
        i += 1;
    }
    total
}

fn copy_through_provider(src: &Path, dst: &Path, durable: bool) {
    fs::create_dir_all(dst).unwrap();
    let dev = FsDevice::open(dst, DeviceOptions::default().durable(durable)).unwrap();
    let folder = dev.root().create(&CreateRequest::folder("src")).unwrap();
    let dt = folder.direct_transfer().unwrap();
    let mut names: Vec<PathBuf> = fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let opts = TransferOptions {
            destination_name: p.file_name().unwrap().to_string_lossy().into_owned(),
            ..TransferOptions::default()
        };
        dt.transfer_to_device(TransferSource::File(&p), &opts, &mut NoProgress)
            .unwrap();
    }
}

/// The same copy as one batch (`FsStorage::transfer_files`), which syncs files in groups.
fn copy_batch_through_provider(src: &Path, dst: &Path, durable: bool) {
    fs::create_dir_all(dst).unwrap();
    let dev = FsDevice::open(dst, DeviceOptions::default().durable(durable)).unwrap();
    let folder = dev.root().create(&CreateRequest::folder("src")).unwrap();
    let folder = dev.object(&folder.unique_id().unwrap()).unwrap();
    let mut paths: Vec<PathBuf> = fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let files: Vec<FileCopy<'_>> = paths
        .iter()
        .zip(&names)
        .map(|(source, name)| FileCopy { source, name })
        .collect();
    folder
        .transfer_files(&files, false, &mut NoProgress)
        .unwrap();
}

fn cp_r(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    let st = Command::new("cp")
        .arg("-r")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success());
}

fn bench_copy(c: &mut Criterion) {
    let base = tempfile::tempdir().unwrap();
    let src = base.path().join("src");
    // The data is made only when a copy bench is selected.
    let made = std::cell::OnceCell::new();
    let mib = env_usize("WMDM_BENCH_COPY_MIB", 1024);
    let ready = || *made.get_or_init(|| make_copy_source(&src, mib));
    let mut group = c.benchmark_group("copy_1gib");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((mib as u64) << 20));
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    let run = |b: &mut criterion::Bencher, f: &dyn Fn(&Path)| {
        ready();
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for n in 0..iters {
                let dst = base.path().join(format!("dst{n}"));
                // Start every run with no dirty pages left by the previous one, so a run does
                // not pay for its predecessor's write-back.
                let _ = Command::new("sync").status();
                let t = Instant::now();
                f(&dst);
                spent += t.elapsed();
                fs::remove_dir_all(&dst).unwrap();
            }
            spent
        });
    };
    group.bench_function("cp -r", |b| run(b, &|dst| cp_r(&src, dst)));
    group.bench_function("cp -r && sync", |b| {
        run(b, &|dst| {
            cp_r(&src, dst);
            assert!(Command::new("sync").status().unwrap().success());
        })
    });
    group.bench_function("std::fs::copy loop", |b| {
        run(b, &|dst| {
            let out = dst.join("src");
            fs::create_dir_all(&out).unwrap();
            for e in fs::read_dir(&src).unwrap() {
                let p = e.unwrap().path();
                fs::copy(&p, out.join(p.file_name().unwrap())).unwrap();
            }
        })
    });
    group.bench_function(BenchmarkId::new("provider", "fast"), |b| {
        run(b, &|dst| copy_through_provider(&src, dst, false))
    });
    group.bench_function(BenchmarkId::new("provider", "durable"), |b| {
        run(b, &|dst| copy_through_provider(&src, dst, true))
    });
    group.bench_function(BenchmarkId::new("provider", "durable batch"), |b| {
        run(b, &|dst| copy_batch_through_provider(&src, dst, true))
    });
    group.finish();
}

/// `files` small files in folders of 100.
fn make_tree(dir: &Path, files: usize) {
    let mut rng = Rng(42);
    for f in 0..files.div_ceil(100) {
        let sub = dir.join(format!("folder {f:04}"));
        fs::create_dir_all(&sub).unwrap();
        for i in 0..100.min(files - f * 100) {
            let len = (rng.next() % 2048) as usize;
            fs::write(sub.join(format!("{i:03}.mp3")), vec![0u8; len]).unwrap();
        }
    }
}

fn bench_enumerate(c: &mut Criterion) {
    let base = tempfile::tempdir().unwrap();
    let files = env_usize("WMDM_BENCH_FILES", 100_000);
    make_tree(base.path(), files);
    let dev = FsDevice::open(base.path(), DeviceOptions::default()).unwrap();
    let count = walk(dev.root().as_ref()).unwrap().len();
    assert_eq!(count, files + files.div_ceil(100));
    dev.flush().unwrap();
    let mut group = c.benchmark_group("enumerate_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(files as u64));
    group.bench_function("find -printf %s", |b| {
        b.iter(|| {
            let st = Command::new("find")
                .arg(base.path())
                .arg("-printf")
                .arg("%s\\n")
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
        })
    });
    group.bench_function(BenchmarkId::new("provider", "walk"), |b| {
        b.iter(|| {
            let all = walk(dev.root().as_ref()).unwrap();
            all.iter().map(|s| s.size().unwrap()).sum::<u64>()
        })
    });
    group.bench_function(BenchmarkId::new("provider", "open+walk"), |b| {
        b.iter(|| {
            let d = FsDevice::open(base.path(), DeviceOptions::default()).unwrap();
            let all = walk(d.root().as_ref()).unwrap();
            all.iter().map(|s| s.size().unwrap()).sum::<u64>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_copy, bench_enumerate);
criterion_main!(benches);
