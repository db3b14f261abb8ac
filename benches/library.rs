//! Library benchmarks.
//!
//! * `scan_10k/*`: scanning a ripped library of 10,000 tracks (MP3 with ID3v2, FLAC with
//!   Vorbis comments, a third of them with an embedded cover, real file sizes; see
//!   `library_data`). Bar: a warm rescan at least 20x faster than the cold scan.
//!   * `cold`: a library's first scan, as it really happens: no scan cache, and the files not
//!     in the OS page cache (each file is dropped from it with `posix_fadvise(DONTNEED)` before
//!     every iteration, untimed), so the tags come from the disk; it ends by writing the scan
//!     cache (with an fsync), as a first scan does. Folder entries and inodes stay cached (only
//!     root can drop those), so this still flatters the cold scan.
//!   * `cold_page_cached`: the same first scan with the files already in memory: tag parsing
//!     without the disk, a lower bound for any cold scan.
//!   * `warm_rescan`: [`FolderLibrary::rescan`] of an open library when nothing changed.
//!   * `warm_open`: [`FolderLibrary::open`] with a current cache when nothing changed (a new
//!     process: load the cache, then the same rescan).
//!   * `stat_floor`: list the tree and stat every track on one thread with `getdents` and
//!     `statx` (what `find -name '*.mp3' -printf '%s %T@'` does), nothing else: the floor for
//!     a one-thread rescan that notices in-place edits. `stat_walk_std` does the same through
//!     `std::fs` (a path and a `statx` per file).
//! * `copy_source_1k/*`: reading 1,000 tracks of 17 kB (page-cached) the way a first sync
//!   copies them: `content_hash, then open` is the hash before planning plus the copy's read
//!   (every source read twice), `open_hashing` the copy hashing as it reads (read once).
//! * `auto_1m/three_rules` over 1,000,000 in-memory tracks, with `auto_1m/baseline_genre_loop`
//!   (a hand-written loop comparing one field) as the named baseline. Bar: at most 0.5 s.

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use wmdm::library::{
    AutoPlaylist, CACHE_FILE_NAME, FolderLibrary, Library, Rating, ScanOptions, Track, TrackId,
    parse_rule,
};
use wmdm::time::ManualClock;

mod library_data;

fn scan(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = dir.path().join("music");
    let state = dir.path().join("state");
    let files = library_data::make_library(&root);
    library_data::sync_all(&files);
    let n = library_data::ARTISTS * library_data::ALBUMS * library_data::TRACKS;
    let clock = Arc::new(ManualClock::default());
    let open =
        || FolderLibrary::open(&root, &state, clock.clone(), ScanOptions::default()).unwrap();
    let (mut lib, report) = open();
    assert!(report.problems.is_empty(), "{:?}", report.problems.first());
    assert_eq!((lib.tracks().len(), report.tags_read), (n, n));
    // The files are what they claim to be: every tag and the duration come through.
    for t in lib.tracks() {
        assert!(t.title.starts_with("Song number") && t.album_artist.starts_with("Artist"));
        assert!(t.track_number.is_some() && t.year.is_some() && t.genre.len() > 2);
        assert!(t.duration >= Duration::from_secs(149), "{:?}", t.duration);
        assert!(t.size > 4_000_000, "{}", t.size);
    }
    assert!(lib.tracks().iter().any(|t| t.rating.stars() == 5));

    let mut g = c.benchmark_group("scan_10k");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    let cold = |iters: u64, evict: bool| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            std::fs::remove_file(state.join(CACHE_FILE_NAME)).unwrap();
            if evict {
                assert!(library_data::evict(&files), "no page cache eviction here");
            }
            let t0 = Instant::now();
            let (lib, r) = open();
            total += t0.elapsed();
            assert_eq!(r.tags_read, n);
            drop(lib);
        }
        total
    };
    g.bench_function("cold", |b| b.iter_custom(|iters| cold(iters, true)));
    g.bench_function("cold_page_cached", |b| {
        b.iter_custom(|iters| cold(iters, false))
    });
    g.bench_function("stat_floor", |b| b.iter(|| stat_floor(&root)));
    g.bench_function("stat_walk_std", |b| {
        b.iter(|| {
            let mut pending = vec![root.clone()];
            let mut n = 0u64;
            while let Some(d) = pending.pop() {
                for e in std::fs::read_dir(&d).unwrap() {
                    let e = e.unwrap();
                    if e.file_type().unwrap().is_dir() {
                        pending.push(e.path());
                    } else if is_track(e.file_name().as_encoded_bytes()) {
                        n += e.metadata().unwrap().len();
                    }
                }
            }
            n
        })
    });
    g.bench_function("warm_open", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                let (lib, r) = open();
                total += t0.elapsed();
                assert_eq!((r.tags_read, r.unchanged), (0, n));
                drop(lib);
            }
            total
        })
    });
    g.bench_function("warm_rescan", |b| {
        b.iter(|| {
            let r = lib.rescan().unwrap();
            assert_eq!((r.tags_read, r.unchanged), (0, n));
        })
    });
    g.finish();
}

/// Lists the tree and stats every track: `getdents` and `statx` (the fields a scan asks for)
/// relative to each folder's descriptor, one thread, no path building per file.
#[cfg(target_os = "linux")]
fn stat_floor(root: &std::path::Path) -> u64 {
    use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, StatxFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut pending = vec![rustix::fs::open(root, flags, Mode::empty()).unwrap()];
    let mut total = 0u64;
    while let Some(fd) = pending.pop() {
        let mut dir = Dir::read_from(&fd).unwrap();
        while let Some(e) = dir.read() {
            let e = e.unwrap();
            let name = e.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            if e.file_type() == FileType::Directory {
                pending.push(rustix::fs::openat(&fd, name, flags, Mode::empty()).unwrap());
            } else if is_track(name.to_bytes()) {
                let want =
                    StatxFlags::TYPE | StatxFlags::MODE | StatxFlags::SIZE | StatxFlags::MTIME;
                let st = rustix::fs::statx(&fd, name, AtFlags::SYMLINK_NOFOLLOW, want).unwrap();
                total += st.stx_size ^ st.stx_mtime.tv_sec as u64;
            }
        }
    }
    total
}

#[cfg(not(target_os = "linux"))]
fn stat_floor(root: &std::path::Path) -> u64 {
    let mut pending = vec![root.to_path_buf()];
    let mut n = 0u64;
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                pending.push(e.path());
            } else if is_track(e.file_name().as_encoded_bytes()) {
                n += e.metadata().unwrap().len();
            }
        }
    }
    n
}

/// The floors stat only the tracks, as a rescan must; the pictures are listed and skipped.
fn is_track(name: &[u8]) -> bool {
    name.ends_with(b".mp3") || name.ends_with(b".flac")
}

fn million_tracks() -> Vec<Track> {
    const GENRES: [&str; 8] = [
        "Jazz",
        "Blues",
        "Rock",
        "Pop",
        "Classical",
        "Folk",
        "Jazz Fusion",
        "Hip Hop",
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..1_000_000u64)
        .map(|i| {
            let r = next();
            let mut t = Track::new(TrackId(i), format!("a{}/t{i}.mp3", i % 5000));
            t.path = std::path::PathBuf::new();
            t.genre = GENRES[(r % 8) as usize].to_owned();
            t.artist = format!("Artist {}", (r >> 8) % 5000);
            t.rating = Rating::new(((r >> 24) % 101) as u8);
            t.year = Some(1950 + ((r >> 32) % 75) as u32);
            t.date_added = UNIX_EPOCH + Duration::from_secs(1_700_000_000 + (r >> 16) % 70_000_000);
            t.size = 3_000_000 + (r >> 20) % 5_000_000;
            t
        })
        .collect()
}

fn auto(c: &mut Criterion) {
    let tracks = million_tracks();
    let now = UNIX_EPOCH + Duration::from_secs(1_770_000_000);
    let rule = parse_rule("genre = jazz and rating >= 60 and added < 365d").unwrap();
    let playlist = AutoPlaylist::new(rule);
    let hits = playlist.evaluate_at(&tracks, now).len();
    assert!(hits > 10_000 && hits < 200_000, "{hits}");
    let mut g = c.benchmark_group("auto_1m");
    g.sample_size(10);
    g.bench_function("baseline_genre_loop", |b| {
        b.iter(|| {
            tracks
                .iter()
                .filter(|t| t.genre.eq_ignore_ascii_case("jazz"))
                .count()
        })
    });
    g.bench_function("three_rules", |b| {
        b.iter(|| playlist.evaluate_at(&tracks, now))
    });
    g.finish();
}

fn copy_source(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = dir.path().join("music");
    let state = dir.path().join("state");
    // 17 kB of silent MPEG frames per track, in folders of 12 as albums are.
    let mut bytes = Vec::new();
    for _ in 0..41 {
        bytes.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        bytes.extend_from_slice(&[0u8; 413]);
    }
    for i in 0..1000 {
        let folder = root.join(format!("album {}", i / 12));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("{i:04}.mp3")), &bytes).unwrap();
    }
    let clock = Arc::new(ManualClock::default());
    let open = || {
        FolderLibrary::open(&root, &state, clock.clone(), ScanOptions::default())
            .unwrap()
            .0
    };
    let ids: Vec<TrackId> = open().tracks().iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), 1000);
    let mut g = c.benchmark_group("copy_source_1k");
    g.sample_size(10);
    // A fresh library each time: a library remembers the hashes it computed.
    g.bench_function("content_hash, then open", |b| {
        b.iter_batched(
            open,
            |lib| {
                for &id in &ids {
                    lib.content_hash(id).unwrap();
                    std::io::copy(&mut lib.open(id).unwrap(), &mut std::io::sink()).unwrap();
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("open_hashing", |b| {
        b.iter_batched(
            open,
            |lib| {
                for &id in &ids {
                    let mut r = lib.open_hashing(id).unwrap();
                    std::io::copy(&mut r, &mut std::io::sink()).unwrap();
                    lib.finish_hashing(id, r).unwrap();
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, auto, scan, copy_source);
criterion_main!(benches);
