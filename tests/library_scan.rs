//! The folder library on real folders with real, tagged audio files.

mod common;

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use common::{Tags, tag_file};
use wmdm::library::{FolderLibrary, Library, Rating, ScanOptions, Track};
use wmdm::metadata::FormatCode;
use wmdm::time::{Clock, ManualClock};

fn open(
    root: &std::path::Path,
    state: &std::path::Path,
    clock: &ManualClock,
) -> (FolderLibrary, wmdm::library::ScanReport) {
    FolderLibrary::open(root, state, Arc::new(clock.clone()), ScanOptions::default()).expect("scan")
}

/// The library's tracks are in path order.
fn assert_in_path_order(lib: &FolderLibrary) {
    let paths: Vec<&str> = lib
        .tracks()
        .iter()
        .map(|t| t.relative_path.as_str())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted, "tracks in path order");
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

/// Everything observable about a folder: relative path, size, mtime, and bytes.
fn snapshot(
    root: &std::path::Path,
) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path(),
                    m.len(),
                    m.modified().unwrap(),
                    fs::read(e.path()).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn tagged_wav(path: &std::path::Path, title: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, common::wav()).unwrap();
    tag_file(
        path,
        &Tags {
            title,
            artist: "A",
            album: "B",
            album_artist: "",
            genre: "Rock",
            track: 1,
            disc: 1,
            year: 2000,
            stars: 0,
        },
    );
}

#[test]
fn a_rescan_reads_only_what_changed_and_ids_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    for i in 0..10 {
        tagged_wav(&root.join(format!("d{}/t{i}.wav", i % 3)), &format!("T{i}"));
    }
    let clock = ManualClock::default();
    let (mut lib, r) = open(&root, &state, &clock);
    assert_eq!((r.added, r.tags_read, r.unchanged), (10, 10, 0));
    let ids: Vec<_> = lib
        .tracks()
        .iter()
        .map(|t| (t.relative_path.clone(), t.id))
        .collect();

    let r = lib.rescan().unwrap();
    assert_eq!(
        (r.added, r.updated, r.removed, r.tags_read, r.unchanged),
        (0, 0, 0, 0, 10)
    );

    clock.advance(Duration::from_secs(3600));
    tagged_wav(&root.join("d0/t0.wav"), "Changed title that is longer");
    tagged_wav(&root.join("new/n.wav"), "New");
    fs::remove_file(root.join("d1/t1.wav")).unwrap();
    let r = lib.rescan().unwrap();
    assert_eq!(
        (r.added, r.updated, r.removed, r.tags_read, r.unchanged),
        (1, 1, 1, 2, 8)
    );
    let t0 = by_name(&lib, "d0/t0.wav");
    assert_eq!(t0.title, "Changed title that is longer");
    assert_eq!(
        t0.date_added,
        std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
        "kept"
    );
    assert_eq!(by_name(&lib, "new/n.wav").date_added, clock.now());
    for (rel, id) in &ids {
        if let Some(t) = lib.tracks().iter().find(|t| &t.relative_path == rel) {
            assert_eq!(t.id, *id, "{rel}");
        }
    }

    // A new process: the cache makes the first scan incremental too.
    drop(lib);
    let (lib, r) = open(&root, &state, &clock);
    assert_eq!(
        (r.tags_read, r.unchanged, r.cache_discarded.as_deref()),
        (0, 10, None)
    );
    assert_eq!(
        by_name(&lib, "d0/t0.wav").title,
        "Changed title that is longer"
    );
    assert_eq!(
        by_name(&lib, "d0/t0.wav").id,
        ids.iter().find(|(r, _)| r == "d0/t0.wav").unwrap().1
    );
}

#[test]
fn a_corrupt_cache_is_discarded_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    for i in 0..4 {
        tagged_wav(&root.join(format!("t{i}.wav")), "x");
    }
    let clock = ManualClock::default();
    drop(open(&root, &state, &clock));
    let cache = state.join(wmdm::library::CACHE_FILE_NAME);
    let mut bytes = fs::read(&cache).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    for damaged in [
        bytes.clone(),
        bytes[..mid].to_vec(),
        Vec::new(),
        b"garbage".to_vec(),
    ] {
        fs::write(&cache, &damaged).unwrap();
        let (lib, r) = open(&root, &state, &clock);
        assert!(r.cache_discarded.is_some());
        assert_eq!((r.tags_read, lib.tracks().len()), (4, 4));
        // ... and the rewritten cache is good again.
        let (_, r) = open(&root, &state, &clock);
        assert_eq!((r.tags_read, r.cache_discarded), (0, None));
    }
    assert!(
        !state
            .join(format!("{}.tmp", wmdm::library::CACHE_FILE_NAME))
            .exists()
    );
}

#[test]
fn unreadable_files_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&root.join("good.wav"), "Good");
    fs::write(root.join("garbage.mp3"), [0x13u8; 3000]).unwrap();
    fs::write(root.join("truncated.flac"), b"fLaC\x00\x00").unwrap();
    fs::write(root.join("empty.m4a"), b"").unwrap();
    fs::write(root.join("bad.wma"), b"not asf at all").unwrap();
    fs::write(root.join("notes.txt"), b"ignored").unwrap();
    let (lib, r) = open(&root, &state, &ManualClock::default());
    assert_eq!(lib.tracks().len(), 1);
    assert_eq!(r.problems.len(), 4, "{:?}", r.problems);
    assert!(r.problems.iter().all(|p| !p.message.is_empty()));
}

#[test]
fn the_music_folder_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    for i in 0..3 {
        tagged_wav(&root.join(format!("a/t{i}.wav")), "x");
    }
    fs::write(root.join("a/list.m3u8"), "t0.wav\n../../escape.wav\n").unwrap();
    let before = snapshot(&root);
    let clock = ManualClock::default();
    let (mut lib, _) = open(&root, &state, &clock);
    for t in lib.tracks().to_vec() {
        lib.content_hash(t.id).unwrap();
    }
    lib.rescan().unwrap();
    lib.save_cache_if_stale().unwrap();
    assert_eq!(snapshot(&root), before);
    // A state folder inside the music folder would mean writing there: refused.
    let inside = FolderLibrary::open(
        &root,
        root.join(".state"),
        Arc::new(clock),
        ScanOptions::default(),
    );
    assert_eq!(inside.err(), Some(wmdm::Error::InvalidArg));
    assert_eq!(
        FolderLibrary::open(
            dir.path().join("nope"),
            &state,
            Arc::new(ManualClock::default()),
            ScanOptions::default()
        )
        .err(),
        Some(wmdm::Error::PathNotFound)
    );
}

#[test]
fn content_hashes_are_sha1_of_the_bytes_and_follow_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&root.join("t.wav"), "x");
    let clock = ManualClock::default();
    let (lib, _) = open(&root, &state, &clock);
    let id = lib.tracks()[0].id;
    let h = lib.content_hash(id).unwrap();
    assert_eq!(
        h,
        wmdm::library::ContentHash::of_bytes(&fs::read(root.join("t.wav")).unwrap())
    );
    let mut copy = Vec::new();
    std::io::Read::read_to_end(&mut lib.open(id).unwrap(), &mut copy).unwrap();
    assert_eq!(copy, fs::read(root.join("t.wav")).unwrap());
    tagged_wav(&root.join("t.wav"), "a different title");
    let h2 = lib.content_hash(id).unwrap();
    assert_ne!(h, h2);
    assert_eq!(
        h2,
        wmdm::library::ContentHash::of_bytes(&fs::read(root.join("t.wav")).unwrap())
    );
    assert_eq!(
        lib.content_hash(wmdm::library::TrackId(1)),
        Err(wmdm::Error::FileNotFound)
    );
}

#[test]
fn a_copy_read_through_open_hashing_gives_the_hash_without_a_second_read() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&root.join("t.wav"), "x");
    let clock = ManualClock::default();
    let (lib, _) = open(&root, &state, &clock);
    let id = lib.tracks()[0].id;
    let bytes = fs::read(root.join("t.wav")).unwrap();
    assert_eq!(lib.known_hash(id), None, "nothing was read yet");
    let mut reader = lib.open_hashing(id).unwrap();
    let mut copy = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut copy).unwrap();
    assert_eq!(copy, bytes);
    let h = lib.finish_hashing(id, reader).unwrap();
    assert_eq!(h, wmdm::library::ContentHash::of_bytes(&bytes));
    assert_eq!(
        lib.known_hash(id),
        Some(h),
        "remembered for the size and date scanned"
    );
    // Saved with the cache: the next run knows it without reading the file.
    drop(lib);
    let (mut lib, _) = open(&root, &state, &clock);
    assert_eq!(
        lib.known_hash(id),
        None,
        "the scan's cache was written before the copy"
    );
    let mut reader = lib.open_hashing(id).unwrap();
    std::io::Read::read_to_end(&mut reader, &mut Vec::new()).unwrap();
    lib.finish_hashing(id, reader).unwrap();
    lib.save_cache_if_stale().unwrap();
    drop(lib);
    let (lib, _) = open(&root, &state, &clock);
    assert_eq!(lib.known_hash(id), Some(h));

    // A file changed since the scan is refused: the plan was made for other bytes.
    tagged_wav(&root.join("t.wav"), "a different title");
    assert_eq!(
        lib.known_hash(id),
        Some(h),
        "what the scan saw, until the next scan"
    );
    assert_eq!(
        lib.open_hashing(id).unwrap_err(),
        wmdm::Error::ProcessFailed
    );
    let (lib, _) = open(&root, &state, &clock);
    assert_eq!(lib.known_hash(id), None, "a rescan sees the change");
}

#[test]
fn playlist_files_in_the_folder_join_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&root.join("Music/Jazz/so what.wav"), "So What");
    tagged_wav(&root.join("Music/Rock/song.wav"), "Song");
    fs::create_dir_all(root.join("Playlists")).unwrap();
    fs::write(
        root.join("Playlists/mix.m3u8"),
        "\u{FEFF}#EXTM3U\r\n#PLAYLIST:My Mix\r\n#EXTINF:1,So What\r\n..\\Music\\Jazz\\so what.wav\r\n../music/rock/SONG.wav\r\n../../../etc/passwd\r\n../Music/missing.wav\r\nhttp://radio.example/stream\r\n",
    )
    .unwrap();
    fs::write(
        root.join("Playlists/rock.wpl"),
        "<?wpl version=\"1.0\"?><smil><head><title>Rock</title></head><body><seq><media src=\"..\\Music\\Rock\\song.wav\"/></seq></body></smil>",
    )
    .unwrap();
    fs::write(
        root.join("Playlists/broken.wpl"),
        "<smil><body><seq><media src=\"x\"",
    )
    .unwrap();
    let abs = root.canonicalize().unwrap().join("Music/Jazz/so what.wav");
    fs::write(
        root.join("abs.m3u"),
        format!("{}\n/elsewhere/x.wav\n", abs.display()),
    )
    .unwrap();
    let (mut lib, r) = open(&root, &state, &ManualClock::default());
    assert_eq!(r.playlists_read, 3, "{:?}", r.problems);
    let jazz = by_name(&lib, "Music/Jazz/so what.wav").id;
    let rock = by_name(&lib, "Music/Rock/song.wav").id;
    let find = |name: &str| {
        lib.playlists()
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    let mix = find("My Mix");
    assert_eq!(
        mix.kind,
        wmdm::library::PlaylistKind::Static(vec![jazz, rock])
    );
    assert_eq!(
        find("Rock").kind,
        wmdm::library::PlaylistKind::Static(vec![rock])
    );
    assert_eq!(
        find("abs").kind,
        wmdm::library::PlaylistKind::Static(vec![jazz])
    );
    let msgs: Vec<&str> = r.problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("outside the library")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("missing.wav")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("URL")), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("truncated") || m.contains("malformed")),
        "{msgs:?}"
    );

    // Sync settings survive a rescan.
    lib.playlist_mut(mix.id)
        .unwrap()
        .sync
        .set_priority(3, 7)
        .unwrap();
    lib.rescan().unwrap();
    assert_eq!(lib.playlist(mix.id).unwrap().sync.priority(3), 7);
}

#[test]
fn playlists_and_sync_settings_persist_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&root.join("a.wav"), "A");
    fs::write(root.join("list.m3u"), "a.wav\n").unwrap();
    let clock = ManualClock::default();
    let (mut lib, _) = open(&root, &state, &clock);
    let file_list = lib.playlists()[0].id;
    lib.playlist_mut(file_list)
        .unwrap()
        .sync
        .set_priority(2, 5)
        .unwrap();
    let auto = wmdm::library::parse_auto_playlist("genre = rock order by title limit 10").unwrap();
    let mut p = wmdm::library::Playlist::new_auto("Rock", auto.clone());
    p.sync.set_priority(2, 1).unwrap();
    p.sync.sync_only = true;
    let auto_id = p.id;
    lib.add_playlist(p);
    lib.save_playlists().unwrap();
    drop(lib);

    let (lib, r) = open(&root, &state, &clock);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(lib.playlist(file_list).unwrap().sync.priority(2), 5);
    let back = lib.playlist(auto_id).unwrap();
    assert_eq!(back.kind, wmdm::library::PlaylistKind::Auto(auto));
    assert!(back.sync.sync_only);
    let order: Vec<_> = wmdm::library::selected_for(lib.playlists(), 2)
        .iter()
        .map(|(p, l)| (*p, l.id))
        .collect();
    assert_eq!(order, [(1, auto_id), (5, file_list)]);
    let now = back.resolve(&lib, &clock);
    assert_eq!(now, [by_name(&lib, "a.wav").id]);

    // A damaged state file is reported, never fatal.
    fs::write(
        state.join(wmdm::library::PLAYLIST_STATE_FILE_NAME),
        "garbage",
    )
    .unwrap();
    let (lib, r) = open(&root, &state, &clock);
    assert_eq!(r.problems.len(), 1);
    assert_eq!(lib.playlists().len(), 1);
}

#[test]
fn large_folders_scan_in_path_order_and_rescan_cheaply() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&dir.path().join("template.wav"), "T");
    let template = fs::read(dir.path().join("template.wav")).unwrap();
    for i in 0..700 {
        let d = root.join(format!("d{}", i % 7));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(format!("t{i:03}.wav")), &template).unwrap();
    }
    fs::write(root.join("d0/broken.mp3"), b"nope").unwrap();
    let clock = ManualClock::default();
    let (mut lib, r) = open(&root, &state, &clock);
    assert_eq!((r.files_seen, r.added, r.problems.len()), (701, 700, 1));
    assert_in_path_order(&lib);
    let r = lib.rescan().unwrap();
    assert_eq!((r.unchanged, r.tags_read), (700, 1));
}

#[test]
fn a_cache_with_repeated_ids_is_not_trusted() {
    use wmdm::fuzzing::{decode_cache, encode_cache};
    use wmdm::library::CACHE_FILE_NAME;
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&root.join("a.wav"), "A");
    tagged_wav(&root.join("b.wav"), "B");
    let clock = ManualClock::default();
    drop(open(&root, &state, &clock));
    let mut records = decode_cache(&fs::read(state.join(CACHE_FILE_NAME)).unwrap()).unwrap();
    records[1].track.id = records[0].track.id;
    fs::write(state.join(CACHE_FILE_NAME), encode_cache(&records)).unwrap();
    let (lib, r) = open(&root, &state, &clock);
    assert!(r.cache_discarded.is_some());
    assert_ne!(lib.tracks()[0].id, lib.tracks()[1].id);
}

#[cfg(unix)]
#[test]
fn links_to_files_are_followed_links_to_folders_are_not_and_odd_names_are_reported() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&root.join("a/real.wav"), "Real");
    tagged_wav(&dir.path().join("outside/far.wav"), "Far");
    std::os::unix::fs::symlink(root.join("a/real.wav"), root.join("a/link.wav")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside"), root.join("linked folder")).unwrap();
    std::os::unix::fs::symlink(root.join("a"), root.join("a/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("gone.wav"), root.join("dangling.wav")).unwrap();
    let odd = root.join(std::ffi::OsStr::from_bytes(b"caf\xe9.wav"));
    fs::write(&odd, common::wav()).unwrap();
    let clock = ManualClock::default();
    let (mut lib, r) = open(&root, &state, &clock);
    let paths: Vec<&str> = lib
        .tracks()
        .iter()
        .map(|t| t.relative_path.as_str())
        .collect();
    assert_eq!(paths, ["a/link.wav", "a/real.wav"]);
    assert_eq!(by_name(&lib, "a/link.wav").title, "Real");
    let mut problems: Vec<(String, &str)> = r
        .problems
        .iter()
        .map(|p| {
            let rel = p.path.strip_prefix(lib.root()).unwrap();
            (rel.to_string_lossy().into_owned(), p.message.as_str())
        })
        .collect();
    problems.sort();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].0, "caf\u{FFFD}.wav");
    assert!(problems[0].1.contains("not valid Unicode"));
    assert_eq!(problems[1].0, "dangling.wav");
    assert!(
        problems[1].1.starts_with("cannot stat"),
        "{}",
        problems[1].1
    );

    // The linked file changes through its target: the link's track is read again.
    clock.advance(Duration::from_secs(60));
    tagged_wav(&root.join("a/real.wav"), "Real, retagged");
    let r = lib.rescan().unwrap();
    assert_eq!((r.updated, r.unchanged, r.removed), (2, 0, 0));
    assert_eq!(by_name(&lib, "a/link.wav").title, "Real, retagged");
}

#[test]
fn a_rescan_across_many_folders_sees_every_kind_of_change_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    tagged_wav(&dir.path().join("template.wav"), "T");
    let template = fs::read(dir.path().join("template.wav")).unwrap();
    // Deep and wide, so both walkers have folders to take.
    for i in 0..300 {
        let d = root.join(format!("a{}/b{}/c{}", i % 5, i % 15, i % 30));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(format!("t{i:03}.wav")), &template).unwrap();
        fs::write(d.join("cover.jpg"), b"not audio").unwrap();
    }
    let clock = ManualClock::default();
    let (mut lib, r) = open(&root, &state, &clock);
    assert_eq!((r.added, r.problems.len()), (300, 0));
    let before: Vec<(String, wmdm::library::TrackId)> = lib
        .tracks()
        .iter()
        .map(|t| (t.relative_path.clone(), t.id))
        .collect();

    fs::remove_file(root.join("a0/b0/c0/t000.wav")).unwrap();
    fs::remove_dir_all(root.join("a4/b14/c29")).unwrap();
    tagged_wav(&root.join("a1/b1/c1/t001.wav"), "Retagged");
    tagged_wav(&root.join("a2/new.wav"), "New");
    let r = lib.rescan().unwrap();
    let gone = before
        .iter()
        .filter(|(p, _)| p.starts_with("a4/b14/c29/"))
        .count();
    assert_eq!(
        (r.added, r.updated, r.removed, r.unchanged),
        (1, 1, 1 + gone, 300 - 2 - gone)
    );
    assert_in_path_order(&lib);
    assert_eq!(by_name(&lib, "a1/b1/c1/t001.wav").title, "Retagged");
    for (rel, id) in &before {
        if let Some(t) = lib.tracks().iter().find(|t| &t.relative_path == rel) {
            assert_eq!(t.id, *id, "{rel}");
        }
    }
    for t in lib.tracks() {
        assert_eq!(
            lib.track(t.id).map(|x| &x.relative_path),
            Some(&t.relative_path)
        );
    }
    // And nothing more to do after that.
    let r = lib.rescan().unwrap();
    assert_eq!((r.unchanged, r.tags_read), (lib.tracks().len(), 0));
}

/// A library large enough that the scan reads tags on several threads: every file becomes the
/// track its own tags say, in path order with the ids its paths give, and a damaged file is
/// its own problem, whichever thread read it.
#[test]
fn a_large_first_scan_reads_every_files_own_tags() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("music"), dir.path().join("state"));
    let mut names = Vec::new();
    for album in 0..6 {
        let folder = root.join(format!("Artist/Album {album}"));
        fs::create_dir_all(&folder).unwrap();
        for n in 0..50 {
            let (name, bytes) = if n % 3 == 0 {
                (format!("{n:02}.flac"), common::flac())
            } else {
                (format!("{n:02}.mp3"), common::mp3())
            };
            let path = folder.join(&name);
            fs::write(&path, bytes).unwrap();
            let title = format!("Title {album}-{n}");
            tag_file(
                &path,
                &Tags {
                    title: &title,
                    artist: "Artist",
                    album: &format!("Album {album}"),
                    album_artist: "Artist",
                    genre: "Test",
                    track: n + 1,
                    disc: 1,
                    year: 2001,
                    stars: 0,
                },
            );
            names.push((format!("Artist/Album {album}/{name}"), title));
        }
    }
    // Two damaged files among them.
    fs::write(root.join("Artist/Album 2/07.mp3"), b"not audio at all").unwrap();
    fs::write(
        root.join("Artist/Album 4/09.flac"),
        b"fLaC but nothing else",
    )
    .unwrap();
    let clock = ManualClock::default();
    let (lib, report) = open(&root, &state, &clock);
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert_eq!(lib.tracks().len(), names.len() - 2);
    assert_in_path_order(&lib);
    for (rel, title) in &names {
        if rel.ends_with("2/07.mp3") || rel.ends_with("4/09.flac") {
            continue;
        }
        let t = by_name(&lib, rel);
        assert_eq!(&t.title, title, "{rel}");
        assert_eq!(
            t.id,
            wmdm::library::TrackId::from_relative_path(rel),
            "{rel}"
        );
    }
}
