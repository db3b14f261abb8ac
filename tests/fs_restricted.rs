//! The folder device on restricted media: opened read-only, and on file systems that refuse
//! appends, writes into existing files or renames (FUSE mounts of FAT images and MTP players).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use wmdm::Error;
use wmdm::flags::{Attributes, OpenMode, Placement};
use wmdm::metadata::{Metadata, tags};
use wmdm::provider::{
    CreateRequest, Device, DirectTransfer, NoProgress, ObjectAttributes, Storage, StorageRef,
    TransferOptions, TransferSource,
};
use wmdm::providers::fs::{DeviceOptions, FileCopy, FsDevice, FsQuirks};

/// Every entry under `root`: path, and for files the bytes and modification time.
type Tree = BTreeMap<String, Option<(Vec<u8>, Option<SystemTime>)>>;

fn tree(root: &Path) -> Tree {
    let mut out = Tree::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let md = fs::symlink_metadata(&path).unwrap();
            if md.is_dir() {
                stack.push(path);
                out.insert(rel, None);
            } else {
                out.insert(rel, Some((fs::read(&path).unwrap(), md.modified().ok())));
            }
        }
    }
    out
}

fn write_file(folder: &dyn Storage, name: &str, data: &[u8]) -> StorageRef {
    let s = folder.create(&CreateRequest::file(name)).unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    io.write(data).unwrap();
    io.close().unwrap();
    s
}

fn read_all(s: &dyn Storage) -> Vec<u8> {
    let mut io = s.open(OpenMode::READ).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = io.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn find(list: &[StorageRef], name: &str) -> StorageRef {
    list.iter()
        .find(|s| s.name().unwrap() == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
        .clone()
}

fn every_write_is_refused(d: &FsDevice, host_file: &Path) {
    let protected = |r: Result<(), Error>, what: &str| {
        assert_eq!(r, Err(Error::WriteProtected), "{what}");
    };
    let root = d.root();
    let music = find(&root.children().unwrap(), "Music");
    let song = find(&music.children().unwrap(), "song.mp3");
    let list = find(&music.children().unwrap(), "mix.m3u8");
    protected(
        root.create(&CreateRequest::file("new.mp3")).map(drop),
        "create file",
    );
    protected(
        root.create(&CreateRequest::folder("New")).map(drop),
        "create folder",
    );
    protected(
        root.create(&CreateRequest::file("song.mp3").overwrite())
            .map(drop),
        "create over",
    );
    protected(song.open(OpenMode::WRITE).map(drop), "open for writing");
    protected(
        song.open(OpenMode(OpenMode::READ.0 | OpenMode::WRITE.0))
            .map(drop),
        "open read-write",
    );
    protected(song.delete(false, &mut NoProgress), "delete file");
    protected(music.delete(true, &mut NoProgress), "delete folder");
    protected(song.rename("other.mp3", &mut NoProgress), "rename");
    protected(
        song.move_to(Placement::Into, root.as_ref(), &mut NoProgress),
        "move",
    );
    let mut m = Metadata::new();
    m.add(tags::TITLE, "New title");
    protected(song.set_metadata(&m).map(drop), "set tags");
    let mut side = Metadata::new();
    side.add("WMDM/UserRating", 50u32);
    protected(song.set_metadata(&side).map(drop), "set sidecar metadata");
    protected(
        song.set_attributes(&ObjectAttributes::new(
            Attributes::FILE | Attributes::READONLY,
        )),
        "set attributes",
    );
    protected(
        list.set_references(std::slice::from_ref(&song)),
        "set references",
    );
    protected(d.set_friendly_name("Renamed"), "friendly name");
    protected(
        root.transfer_to_device(
            TransferSource::File(host_file),
            &TransferOptions {
                destination_name: "copied.mp3".into(),
                overwrite: false,
                metadata: None,
                temporary: false,
            },
            &mut NoProgress,
        )
        .map(drop),
        "transfer",
    );
    protected(
        root.transfer_files(
            &[FileCopy {
                source: host_file,
                name: "batch.mp3",
            }],
            false,
            &mut NoProgress,
        )
        .map(drop),
        "batch transfer",
    );
    d.flush().unwrap();
}

#[test]
fn a_read_only_device_reads_everything_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    let host_file = host.path().join("x.mp3");
    fs::write(&host_file, common::mp3()).unwrap();
    // A device the provider has used before (state folder, IDs, a sidecar, a temporary file
    // left by a crash) and one it has never seen.
    let used = dir.path().join("used");
    fs::create_dir(&used).unwrap();
    let serial;
    {
        let d = FsDevice::open(&used, DeviceOptions::default().durable(false)).unwrap();
        serial = d.serial();
        let root = d.root();
        let music = root.create(&CreateRequest::folder("Music")).unwrap();
        let song = write_file(music.as_ref(), "song.mp3", &common::mp3());
        let mut side = Metadata::new();
        side.add("WMDM/UserRating", 10u32);
        song.set_metadata(&side).unwrap();
        let mut m = Metadata::new();
        m.add(tags::FORMAT_CODE, wmdm::metadata::FormatCode::M3U_PLAYLIST);
        let list = music
            .create(&CreateRequest::file("mix.m3u8").metadata(m))
            .unwrap();
        list.set_references(&[song]).unwrap();
        d.flush().unwrap();
    }
    fs::write(used.join("Music/.wmdm-tmp-00000000000000ff.part"), b"crash").unwrap();
    let fresh = dir.path().join("fresh");
    fs::create_dir_all(fresh.join("Music")).unwrap();
    fs::write(fresh.join("Music/song.mp3"), common::mp3()).unwrap();
    fs::write(fresh.join("Music/mix.m3u8"), b"#EXTM3U\nsong.mp3\n").unwrap();

    for (root_dir, known_serial) in [(&used, Some(&serial)), (&fresh, None)] {
        let before = tree(root_dir);
        let opts = DeviceOptions::default().read_only(true);
        assert!(opts.read_only);
        let d = FsDevice::open(root_dir, opts.clone()).unwrap();
        if let Some(s) = known_serial {
            assert_eq!(&d.serial(), s, "the serial on the device is used");
        }
        let again = FsDevice::open(root_dir, opts).unwrap();
        assert_eq!(d.serial(), again.serial(), "the serial is deterministic");
        // Reads work: listing, data, tags, references, capacity.
        let music = find(&d.root().children().unwrap(), "Music");
        let kids = music.children().unwrap();
        let song = find(&kids, "song.mp3");
        assert_eq!(read_all(song.as_ref()), common::mp3());
        let id = song.unique_id().unwrap();
        assert_eq!(d.object(&id).unwrap().name().unwrap(), "song.mp3");
        song.metadata().unwrap();
        let refs = find(&kids, "mix.m3u8").references().unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].unique_id().unwrap(), id);
        d.globals().capacity().unwrap();
        d.name().unwrap();
        every_write_is_refused(&d, &host_file);
        drop(d);
        drop(again);
        assert_eq!(tree(root_dir), before, "{} changed", root_dir.display());
    }
    assert!(!fresh.join(".wmdm").exists());
}

/// Files under `root` a workaround must never leave behind: temporary files and records of
/// writes without renames.
fn leftovers(root: &Path) -> Vec<String> {
    tree(root)
        .into_keys()
        .filter(|p| p.contains(".wmdm-tmp-") || p.contains("pending/"))
        .collect()
}

fn title_of(s: &dyn Storage) -> Option<String> {
    s.metadata()
        .unwrap()
        .get(tags::TITLE)
        .and_then(|v| v.as_str().map(str::to_string))
}

/// Writes, overwrites, appends, renames, moves, tags, rewrites a playlist and deletes through
/// a device on a file system with `quirk`, and checks every result on disk and after a reopen.
fn provider_cycle(quirk: FsQuirks, expect: FsQuirks) {
    let dir = tempfile::tempdir().unwrap();
    let opts = DeviceOptions::default().simulate(quirk);
    let d = FsDevice::open(dir.path(), opts.clone()).unwrap();
    let root = d.root();
    let music = root.create(&CreateRequest::folder("Music")).unwrap();
    let other = root.create(&CreateRequest::folder("Other")).unwrap();
    let song = write_file(music.as_ref(), "song.mp3", &common::mp3());
    let song_id = song.unique_id().unwrap();
    // Overwrite through a new write session, then extend through a read-write one.
    let notes = write_file(music.as_ref(), "notes.txt", b"first");
    let mut io = notes.open(OpenMode::WRITE).unwrap();
    io.write(b"second version").unwrap();
    io.close().unwrap();
    let mut io = notes
        .open(OpenMode(OpenMode::READ.0 | OpenMode::WRITE.0))
        .unwrap();
    io.seek(wmdm::flags::SeekOrigin::EOF, 0).unwrap();
    io.write(b", extended").unwrap();
    io.close().unwrap();
    assert_eq!(
        fs::read(dir.path().join("Music/notes.txt")).unwrap(),
        b"second version, extended"
    );
    // Tags into the file, and a property only the sidecar holds.
    let mut m = Metadata::new();
    m.add(tags::TITLE, "Retitled");
    song.set_metadata(&m).unwrap();
    assert_eq!(title_of(song.as_ref()).as_deref(), Some("Retitled"));
    let mut side = Metadata::new();
    side.add("WMDM/UserRating", 70u32);
    song.set_metadata(&side).unwrap();
    // A playlist, then the song renamed and moved: the playlist follows.
    let mut pm = Metadata::new();
    pm.add(tags::FORMAT_CODE, wmdm::metadata::FormatCode::M3U_PLAYLIST);
    let list = root
        .create(&CreateRequest::file("mix.m3u8").metadata(pm))
        .unwrap();
    list.set_references(std::slice::from_ref(&song)).unwrap();
    song.rename("renamed.mp3", &mut NoProgress).unwrap();
    song.move_to(Placement::Into, other.as_ref(), &mut NoProgress)
        .unwrap();
    assert!(dir.path().join("Other/renamed.mp3").is_file());
    assert!(!dir.path().join("Music/song.mp3").exists());
    assert_eq!(
        fs::read_to_string(dir.path().join("mix.m3u8"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        vec!["Other/renamed.mp3"]
    );
    notes.delete(false, &mut NoProgress).unwrap();
    assert!(!dir.path().join("Music/notes.txt").exists());
    d.set_friendly_name("Restricted player").unwrap();
    assert_eq!(d.quirks(), expect, "detected quirks");
    d.flush().unwrap();
    drop((song, notes, list, music, other, root));
    drop(d);
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
    // Everything survives a reopen: IDs, tags, sidecar, name.
    let d = FsDevice::open(dir.path(), opts).unwrap();
    assert_eq!(d.name().unwrap(), "Restricted player");
    let song = d.object(&song_id).unwrap();
    assert_eq!(song.name().unwrap(), "renamed.mp3");
    assert_eq!(title_of(song.as_ref()).as_deref(), Some("Retitled"));
    assert_eq!(
        song.metadata().unwrap().get_u32("WMDM/UserRating"),
        Some(70)
    );
    assert_eq!(
        read_all(song.as_ref()),
        fs::read(dir.path().join("Other/renamed.mp3")).unwrap()
    );
}

#[test]
fn no_append_provider_cycle() {
    provider_cycle(FsQuirks::NO_APPEND, FsQuirks::NO_APPEND);
}

#[test]
fn no_write_into_existing_files_provider_cycle() {
    // An append is a write into an existing file too.
    provider_cycle(
        FsQuirks::NO_WRITE_EXISTING,
        FsQuirks::NO_APPEND | FsQuirks::NO_WRITE_EXISTING,
    );
}

#[test]
fn no_rename_provider_cycle() {
    provider_cycle(FsQuirks::NO_RENAME, FsQuirks::NO_RENAME);
}

#[test]
fn all_quirks_at_once_provider_cycle() {
    let all = FsQuirks::NO_APPEND | FsQuirks::NO_WRITE_EXISTING | FsQuirks::NO_RENAME;
    provider_cycle(all, all);
}

#[test]
fn an_ordinary_file_system_has_no_quirks() {
    provider_cycle(FsQuirks::empty(), FsQuirks::empty());
}

/// A sync of a few tracks, a retag and a no-op resync on a file system with `quirk`.
fn sync_cycle(quirk: FsQuirks) {
    use common::sync::{manager_with, services, track};
    use std::sync::{Arc, RwLock};
    use wmdm::library::{MemoryLibrary, Playlist, TrackId};
    use wmdm::providers::fs::{FsConfig, FsProvider};

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("player");
    fs::create_dir(&root).unwrap();
    let clock = common::clock();
    let opts = DeviceOptions::default().simulate(quirk);
    let provider = Arc::new(FsProvider::new(FsConfig::root(&root).options(opts)));
    let manager = manager_with(provider.clone(), &clock);
    let mut lib = MemoryLibrary::new();
    for i in 1..=4u64 {
        lib.add_track(track(i, "Artist", "Album"), common::mp3());
    }
    let mut p = Playlist::new_static("Mix", (1..=4).map(TrackId).collect());
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let services = services(&manager, &library, state.path(), "Home", &clock);
    let d = services.device(0).unwrap();
    d.create_partnership().unwrap();
    services.poll().unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.errors), (4, 0), "first sync {quirk:?}: {s:?}");
    library
        .write()
        .unwrap()
        .track_mut(TrackId(3))
        .unwrap()
        .title = "New title".into();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (s.copied, s.updated, s.errors),
        (0, 1, 0),
        "retag {quirk:?}: {s:?}"
    );
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (s.copied, s.updated, s.deleted, s.errors),
        (0, 0, 0, 0),
        "resync {quirk:?}: {s:?}"
    );
    let dev = &provider.fs_devices()[0];
    assert!(dev.quirks().contains(quirk), "{:?}", dev.quirks());
    let retagged = tree(&root)
        .into_iter()
        .filter(|(p, f)| p.ends_with(".mp3") && f.is_some())
        .filter(|(p, _)| {
            lofty::read_from_path(root.join(p))
                .ok()
                .and_then(|t| {
                    use lofty::prelude::*;
                    t.primary_tag()
                        .and_then(|t| t.title().map(|s| s.into_owned()))
                })
                .as_deref()
                == Some("New title")
        })
        .count();
    assert_eq!(retagged, 1, "the new title is in the file itself");
    assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
}

#[cfg_attr(
    windows,
    ignore = "under Wine the retitled track's tags land in the sidecar, not the file: not yet investigated"
)]
#[test]
fn a_sync_works_without_appends() {
    sync_cycle(FsQuirks::NO_APPEND);
}

#[test]
fn a_sync_works_without_writes_into_existing_files() {
    sync_cycle(FsQuirks::NO_WRITE_EXISTING);
}

#[cfg_attr(
    windows,
    ignore = "under Wine the retitled track's tags land in the sidecar, not the file: not yet investigated"
)]
#[test]
fn a_sync_works_without_renames() {
    sync_cycle(FsQuirks::NO_RENAME);
}

#[test]
fn a_users_file_named_like_a_temporary_file_is_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("Music");
    fs::create_dir(&music).unwrap();
    let theirs = [
        ".wmdm-tmp-mine.part",
        ".wmdm-tmp-0123456789abcdef.part",
        ".wmdm-tmp-0123456789abcdef-00000001.part",
    ];
    for n in theirs {
        fs::write(music.join(n), b"the user's").unwrap();
    }
    for round in 0..2 {
        let d = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)).unwrap();
        let m = find(&d.root().children().unwrap(), "Music");
        m.children().unwrap();
        write_file(m.as_ref(), &format!("song{round}.mp3"), b"data");
        let s = find(&m.children().unwrap(), &format!("song{round}.mp3"));
        let mut t = Metadata::new();
        t.add(tags::TITLE, "x");
        let _ = s.set_metadata(&t);
        for n in theirs {
            assert_eq!(fs::read(music.join(n)).unwrap(), b"the user's", "{n}");
        }
    }
}

#[test]
fn a_temporary_file_a_crash_left_is_still_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DeviceOptions::default().durable(false);
    let d = FsDevice::open(dir.path(), opts.clone()).unwrap();
    let music = d.root().create(&CreateRequest::folder("Music")).unwrap();
    let song = music.create(&CreateRequest::file("song.mp3")).unwrap();
    let mut io = song.open(OpenMode::WRITE).unwrap();
    io.write(b"half a song").unwrap();
    // A crash: the session's temporary file stays (the handle is leaked, not dropped).
    let temps: Vec<String> = fs::read_dir(dir.path().join("Music"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(temps.len(), 1, "{temps:?}");
    let copy = dir.path().join("copy");
    fs::create_dir(&copy).unwrap();
    fs::create_dir(copy.join("Music")).unwrap();
    fs::create_dir(copy.join(".wmdm")).unwrap();
    for e in fs::read_dir(dir.path().join(".wmdm")).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), copy.join(".wmdm").join(e.file_name())).unwrap();
        }
    }
    fs::write(copy.join("Music").join(&temps[0]), b"half a song").unwrap();
    std::mem::forget(io);
    let d2 = FsDevice::open(&copy, opts).unwrap();
    let m = find(&d2.root().children().unwrap(), "Music");
    write_file(m.as_ref(), "other.mp3", b"x");
    assert!(
        !copy.join("Music").join(&temps[0]).exists(),
        "the crash's temporary file is removed"
    );
}

#[test]
fn names_outside_ascii_are_refused_cleanly_where_the_file_system_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(
        dir.path(),
        DeviceOptions::default().simulate(FsQuirks::ASCII_NAMES),
    )
    .unwrap();
    let root = d.root();
    // A file: the data goes to a temporary file, and taking the name is refused.
    let f = root.create(&CreateRequest::file("café.mp3")).unwrap();
    let mut io = f.open(OpenMode::WRITE).unwrap();
    io.write(b"data").unwrap();
    assert_eq!(io.close(), Err(Error::InvalidName));
    assert_eq!(
        d.quirks(),
        FsQuirks::ASCII_NAMES,
        "not taken for a refused rename"
    );
    // Known now: refused before anything is written.
    assert_eq!(
        root.create(&CreateRequest::folder("Ana Sól")).map(drop),
        Err(Error::InvalidName)
    );
    let ok = write_file(root.as_ref(), "plain.mp3", b"x");
    assert_eq!(
        ok.rename("plaín.mp3", &mut NoProgress),
        Err(Error::InvalidName)
    );
    root.create(&CreateRequest::folder("Ana Sol")).unwrap();
    drop((f, ok, root));
    drop(d);
    let mut left: Vec<String> = tree(dir.path()).into_keys().collect();
    left.retain(|p| !p.starts_with(".wmdm"));
    assert_eq!(left, vec!["Ana Sol", "plain.mp3"]);
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn folders_move_entry_by_entry_where_renaming_one_would_empty_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(
        dir.path(),
        DeviceOptions::default().simulate(FsQuirks::NO_FOLDER_RENAME),
    )
    .unwrap();
    let root = d.root();
    let album = root.create(&CreateRequest::folder("Album")).unwrap();
    let disc = album.create(&CreateRequest::folder("Disc 1")).unwrap();
    let song = write_file(disc.as_ref(), "01.mp3", b"one");
    write_file(album.as_ref(), "cover.jpg", b"jpg");
    let other = root.create(&CreateRequest::folder("Other")).unwrap();
    let id = song.unique_id().unwrap();
    album.rename("Renamed", &mut NoProgress).unwrap();
    album
        .move_to(Placement::Into, other.as_ref(), &mut NoProgress)
        .unwrap();
    assert_eq!(
        fs::read(dir.path().join("Other/Renamed/Disc 1/01.mp3")).unwrap(),
        b"one"
    );
    assert_eq!(
        fs::read(dir.path().join("Other/Renamed/cover.jpg")).unwrap(),
        b"jpg"
    );
    assert!(!dir.path().join("Album").exists());
    assert_eq!(
        d.object(&id).unwrap().path().unwrap(),
        dir.path()
            .canonicalize()
            .unwrap()
            .join("Other/Renamed/Disc 1/01.mp3")
    );
    assert!(d.quirks().contains(FsQuirks::NO_FOLDER_RENAME));
}
