//! Library benchmarks.
//!
//! * `scan_10k/cold` vs `scan_10k/warm`: opening a 10,000-track folder (2,000 each of MP3, FLAC,
//!   M4A, Opus and WAV, every one tagged, 0.5-4 KiB each) with no scan cache (every file's tags
//!   read) and with a current cache (every file only stat'ed). Bar: warm at least 20x faster.
//!   The OS page cache is warm in both (the files were just written), so "cold" measures tag
//!   parsing, not the disk; on a real disk the gap is far larger. `scan_10k/baseline_stat_walk`
//!   (list the tree and stat every file on one thread) is the floor a warm rescan cannot beat.
//! * `auto_1m/three_rules` over 1,000,000 in-memory tracks, with `auto_1m/baseline_genre_loop`
//!   (a hand-written loop comparing one field) as the named baseline. Bar: at most 0.5 s.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use wmdm::library::{
    AutoPlaylist, CACHE_FILE_NAME, FolderLibrary, Library, Rating, ScanOptions, Track, TrackId,
    parse_rule,
};
use wmdm::time::ManualClock;

#[path = "../tests/common/mod.rs"]
mod common;

/// The five formats the issue names, each a small valid file tagged with lofty.
fn templates() -> Vec<(&'static str, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let tags = common::Tags {
        title: "A title",
        artist: "An artist",
        album: "An album",
        album_artist: "",
        genre: "Jazz",
        track: 1,
        disc: 1,
        year: 1999,
        stars: 3,
    };
    [
        ("mp3", common::mp3()),
        ("flac", common::flac()),
        ("m4a", common::m4a()),
        ("opus", common::opus()),
        ("wav", common::wav()),
    ]
    .into_iter()
    .map(|(ext, bytes)| {
        let path = dir.path().join(format!("t.{ext}"));
        std::fs::write(&path, bytes).unwrap();
        common::tag_file(&path, &tags);
        (ext, std::fs::read(&path).unwrap())
    })
    .collect()
}

fn scan(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let state = dir.path().join("state");
    let templates = templates();
    for a in 0..100 {
        let d = root.join(format!("artist {a:03}"));
        std::fs::create_dir_all(&d).unwrap();
        for t in 0..100 {
            let (ext, bytes) = &templates[t % templates.len()];
            std::fs::write(d.join(format!("{t:02} track.{ext}")), bytes).unwrap();
        }
    }
    let clock = Arc::new(ManualClock::default());
    let open =
        || FolderLibrary::open(&root, &state, clock.clone(), ScanOptions::default()).unwrap();
    let (lib, report) = open();
    assert_eq!(lib.tracks().len(), 10_000);
    assert_eq!(report.tags_read, 10_000);

    let mut g = c.benchmark_group("scan_10k");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("cold", |b| {
        b.iter(|| {
            std::fs::remove_file(state.join(CACHE_FILE_NAME)).unwrap();
            let (lib, r) = open();
            assert_eq!(r.tags_read, 10_000);
            lib
        })
    });
    // The floor for any rescan that notices in-place edits: list the tree and stat every file,
    // one thread, nothing else (what `find -printf '%s %T@'` does).
    g.bench_function("baseline_stat_walk", |b| {
        b.iter(|| {
            let mut pending = vec![root.clone()];
            let mut n = 0u64;
            while let Some(d) = pending.pop() {
                for e in std::fs::read_dir(&d).unwrap() {
                    let e = e.unwrap();
                    if e.file_type().unwrap().is_dir() {
                        pending.push(e.path());
                    } else {
                        n += e.metadata().unwrap().len();
                    }
                }
            }
            n
        })
    });
    g.bench_function("warm", |b| {
        b.iter(|| {
            let (lib, r) = open();
            assert_eq!((r.tags_read, r.unchanged), (0, 10_000));
            lib
        })
    });
    g.finish();
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

criterion_group!(benches, auto, scan);
criterion_main!(benches);
