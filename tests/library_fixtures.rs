//! Tags read from real files made by other tools (the fixtures under `tests/data/library`, see
//! the README there): an Ogg Vorbis file from `oggenc` and a WMA file from ffmpeg's `wmav2`
//! encoder.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wmdm::library::{FolderLibrary, Library, Rating, ScanOptions, Track};
use wmdm::metadata::FormatCode;
use wmdm::time::ManualClock;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/library")
        .join(name)
}

/// Scans a folder holding just this fixture and returns its track.
fn scan_one(name: &str) -> Track {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    std::fs::copy(fixture(name), music.join(name)).unwrap();
    let (lib, report) = FolderLibrary::open(
        &music,
        dir.path().join("state"),
        Arc::new(ManualClock::default()),
        ScanOptions::default(),
    )
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(lib.tracks().len(), 1);
    lib.tracks()[0].clone()
}

fn close_to(d: Duration, secs: f64, within: f64) -> bool {
    (d.as_secs_f64() - secs).abs() <= within
}

#[test]
fn ogg_vorbis_from_oggenc() {
    let t = scan_one("vorbis.ogg");
    assert_eq!(t.format, FormatCode::OGG);
    assert_eq!(
        (t.title.as_str(), t.artist.as_str(), t.album.as_str()),
        ("Vorbis Title", "Vorbis Artist", "Vorbis Album")
    );
    assert_eq!(t.album_artist, "Vorbis Album Artist");
    assert_eq!(t.genre, "Jazz");
    assert_eq!(
        (t.track_number, t.disc, t.year),
        (Some(7), Some(2), Some(2004))
    );
    assert_eq!(t.rating, Rating::from_stars(4));
    assert_eq!((t.sample_rate, t.channels), (44_100, 1));
    assert!(close_to(t.duration, 1.0, 0.01), "{:?}", t.duration);
    assert!(t.bitrate > 10_000 && t.bitrate < 200_000, "{}", t.bitrate);
}

#[test]
fn wma_from_ffmpeg() {
    let t = scan_one("wmav2.wma");
    assert_eq!(t.format, FormatCode::WMA);
    assert_eq!(
        (t.title.as_str(), t.artist.as_str(), t.album.as_str()),
        ("WMA Title", "WMA Artist", "WMA Album")
    );
    assert_eq!(t.genre, "Blues");
    assert_eq!((t.track_number, t.year), (Some(3), Some(2001)));
    // The stream's WAVEFORMATEX: 44.1 kHz stereo at 64 kbit/s, as ffmpeg was asked.
    assert_eq!((t.sample_rate, t.channels, t.bitrate), (44_100, 2, 64_000));
    // One second of sine; WMA's frames round it up a little.
    assert!(close_to(t.duration, 1.0, 0.1), "{:?}", t.duration);
}
