//! The folder library on real folders with real, tagged audio files.

mod common;

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use common::{Tags, tag_file};
use wmdm::library::{FolderLibrary, Library, Rating, ScanOptions, Track};
use wmdm::metadata::FormatCode;
use wmdm::time::ManualClock;

fn open(
    root: &std::path::Path,
    state: &std::path::Path,
    clock: &ManualClock,
) -> (FolderLibrary, wmdm::library::ScanReport) {
    FolderLibrary::open(root, state, Arc::new(clock.clone()), ScanOptions::default()).expect("scan")
}

fn by_name<'a>(lib: &'a FolderLibrary, rel: &str) -> &'a Track {
    lib.tracks()
        .iter()
        .find(|t| t.relative_path == rel)
        .unwrap_or_else(|| panic!("{rel} not in library"))
}

#[test]
fn tags_round_trip_through_the_scanner_for_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    fs::create_dir_all(root.join("Artist/Album")).unwrap();
    let formats: [(&str, Vec<u8>, FormatCode); 5] = [
        ("song.mp3", common::mp3(), FormatCode::MP3),
        ("song.flac", common::flac(), FormatCode::FLAC),
        ("song.opus", common::opus(), FormatCode::OGG),
        ("song.m4a", common::m4a(), FormatCode::M4A),
        ("song.wav", common::wav(), FormatCode::WAVE),
    ];
    for (i, (name, bytes, _)) in formats.iter().enumerate() {
        let path = root.join("Artist/Album").join(name);
        fs::write(&path, bytes).unwrap();
        let title = format!("Title {name} ü");
        tag_file(
            &path,
            &Tags {
                title: &title,
                artist: "Miles Davis",
                album: "Kind of Blue",
                album_artist: "Miles Davis Sextet",
                genre: "Jazz",
                track: i as u32 + 1,
                disc: 2,
                year: 1959,
                stars: 4,
            },
        );
    }
    fs::write(
        root.join("Artist/legacy.wma"),
        common::wma("So What", "Miles", "KoB", 1),
    )
    .unwrap();
    let clock = ManualClock::default();
    let (lib, report) = open(&root, &state, &clock);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.added, 6);
    for (i, (name, _, format)) in formats.iter().enumerate() {
        let t = by_name(&lib, &format!("Artist/Album/{name}"));
        assert_eq!(t.title, format!("Title {name} ü"), "{name}");
        assert_eq!(t.artist, "Miles Davis", "{name}");
        assert_eq!(t.album, "Kind of Blue", "{name}");
        assert_eq!(t.album_artist, "Miles Davis Sextet", "{name}");
        assert_eq!(t.genre, "Jazz", "{name}");
        assert_eq!(t.track_number, Some(i as u32 + 1), "{name}");
        assert_eq!(t.disc, Some(2), "{name}");
        assert_eq!(t.year, Some(1959), "{name}");
        assert_eq!(t.rating, Rating::from_stars(4), "{name}");
        assert_eq!(t.format, *format, "{name}");
        assert!(t.duration > Duration::ZERO, "{name}: no duration");
        assert!(t.sample_rate > 0, "{name}: no sample rate");
        assert_eq!(t.size, fs::metadata(&t.path).unwrap().len());
        assert_eq!(
            t.date_added,
            std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
        );
    }
    assert_eq!(
        by_name(&lib, "Artist/Album/song.mp3").play_count,
        7,
        "POPM counter"
    );
    let wma = by_name(&lib, "Artist/legacy.wma");
    assert_eq!(
        (wma.title.as_str(), wma.artist.as_str(), wma.album.as_str()),
        ("So What", "Miles", "KoB")
    );
    assert_eq!((wma.track_number, wma.format), (Some(1), FormatCode::WMA));
}
