//! Playlists on the folder device: M3U8 and WPL files, kept valid when what they list moves or
//! goes; and folders holding open objects, which cannot move.

use std::fs;
use std::path::Path;

use wmdm::Error;
use wmdm::flags::{OpenMode, Placement};
use wmdm::library::{read_m3u, read_wpl};
use wmdm::metadata::{FormatCode, Metadata, tags};
use wmdm::provider::{CreateRequest, NoProgress, Storage, StorageRef};
use wmdm::providers::fs::{DeviceOptions, FsDevice, PlaylistFormat};

fn options(format: PlaylistFormat) -> DeviceOptions {
    let mut o = DeviceOptions::default().durable(false);
    o.profile.playlist_format = format;
    o
}

fn write_file(folder: &dyn Storage, name: &str, data: &[u8]) -> StorageRef {
    let s = folder.create(&CreateRequest::file(name)).unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    io.write(data).unwrap();
    io.close().unwrap();
    s
}

fn new_playlist(folder: &dyn Storage, name: &str, code: FormatCode) -> StorageRef {
    let mut m = Metadata::new();
    m.add(tags::FORMAT_CODE, code);
    folder
        .create(&CreateRequest::file(name).metadata(m))
        .unwrap()
}

fn ids(list: &[StorageRef]) -> Vec<String> {
    list.iter().map(|s| s.unique_id().unwrap()).collect()
}

/// The entries of a playlist file as written, whatever its format.
fn entries(path: &Path) -> Vec<String> {
    let bytes = fs::read(path).unwrap();
    let list = if path.extension().is_some_and(|e| e == "wpl") {
        read_wpl(&bytes).unwrap()
    } else {
        read_m3u(&bytes).unwrap()
    };
    list.entries.into_iter().map(|e| e.path).collect()
}

#[test]
fn the_profile_chooses_the_format_and_a_name_or_code_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), options(PlaylistFormat::Wpl)).unwrap();
    let root = d.root();
    let music = root.create(&CreateRequest::folder("Music")).unwrap();
    let a = write_file(music.as_ref(), "a & b.mp3", b"a");
    let lists = root.create(&CreateRequest::folder("Playlists")).unwrap();
    let abs = FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST;
    let wpl = new_playlist(lists.as_ref(), "Mix", abs);
    assert_eq!(wpl.name().unwrap(), "Mix.wpl");
    wpl.set_references(std::slice::from_ref(&a)).unwrap();
    let path = dir.path().join("Playlists/Mix.wpl");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("<?wpl version=\"1.0\"?>"), "{text}");
    assert!(text.contains("<title>Mix</title>"), "{text}");
    // WPL paths use Windows separators, as Windows Media Player writes them.
    assert_eq!(entries(&path), ["..\\Music\\a & b.mp3"]);
    assert_eq!(
        ids(&wpl.references().unwrap()),
        ids(std::slice::from_ref(&a))
    );
    // A name with a playlist extension, or the M3U code, keeps its own format.
    let named = new_playlist(lists.as_ref(), "Named.m3u8", abs);
    assert_eq!(named.name().unwrap(), "Named.m3u8");
    let coded = new_playlist(lists.as_ref(), "Coded", FormatCode::M3U_PLAYLIST);
    assert_eq!(coded.name().unwrap(), "Coded.m3u8");
    coded.set_references(std::slice::from_ref(&a)).unwrap();
    assert_eq!(
        entries(&dir.path().join("Playlists/Coded.m3u8")),
        ["../Music/a & b.mp3"]
    );
    // On an M3U8 device the WPL code still gives a WPL file.
    let dir2 = tempfile::tempdir().unwrap();
    let d2 = FsDevice::open(dir2.path(), options(PlaylistFormat::M3u8)).unwrap();
    let w = new_playlist(d2.root().as_ref(), "W", FormatCode::WPL_PLAYLIST);
    assert_eq!(w.name().unwrap(), "W.wpl");
    let m = new_playlist(d2.root().as_ref(), "M", abs);
    assert_eq!(m.name().unwrap(), "M.m3u8");
    // Renaming a playlist to the other extension rewrites it in that format.
    let b = write_file(d2.root().as_ref(), "b.mp3", b"b");
    m.set_references(std::slice::from_ref(&b)).unwrap();
    m.rename("M.wpl", &mut NoProgress).unwrap();
    assert_eq!(entries(&dir2.path().join("M.wpl")), ["b.mp3"]);
    assert_eq!(ids(&m.references().unwrap()), ids(&[b]));
}

#[test]
fn existing_files_of_both_formats_are_read() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("Music/Jazz")).unwrap();
    fs::create_dir_all(dir.path().join("Playlists")).unwrap();
    fs::write(dir.path().join("Music/Jazz/so what.mp3"), b"x").unwrap();
    fs::write(dir.path().join("Music/b.mp3"), b"y").unwrap();
    fs::write(
        dir.path().join("Playlists/wmp.wpl"),
        "<?wpl version=\"1.0\"?><smil><head><title>T</title></head><body><seq>\
         <media src=\"..\\Music\\Jazz\\so what.mp3\"/><media src=\"C:\\elsewhere.mp3\"/>\
         <media src=\"../Music/b.mp3\"/><media src=\"..\\..\\..\\etc\\passwd\"/></seq></body></smil>",
    )
    .unwrap();
    fs::write(
        dir.path().join("Playlists/old.m3u"),
        "#EXTM3U\r\n#EXTINF:1,So What\r\n..\\Music\\Jazz\\so what.mp3\r\nhttp://radio/x\r\n",
    )
    .unwrap();
    let d = FsDevice::open(dir.path(), options(PlaylistFormat::M3u8)).unwrap();
    let lists = d.root().child("Playlists").unwrap();
    let refs = lists.child("wmp.wpl").unwrap().references().unwrap();
    let names: Vec<String> = refs.iter().map(|s| s.name().unwrap()).collect();
    assert_eq!(names, ["so what.mp3", "b.mp3"]);
    let old = lists.child("old.m3u").unwrap().references().unwrap();
    assert_eq!(old.len(), 1);
    // A file that is not the format its name says is refused, not guessed at.
    fs::write(dir.path().join("Playlists/bad.wpl"), "not xml <").unwrap();
    assert_eq!(
        lists.child("bad.wpl").unwrap().references().err(),
        Some(Error::InvalidArg)
    );
}

#[test]
fn a_separator_from_the_profile_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(PlaylistFormat::M3u8);
    o.profile.playlist_separator = Some('\\');
    let d = FsDevice::open(dir.path(), o).unwrap();
    let music = d.root().create(&CreateRequest::folder("Music")).unwrap();
    let a = write_file(music.as_ref(), "a.mp3", b"a");
    let p = new_playlist(
        d.root().as_ref(),
        "P",
        FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST,
    );
    p.set_references(&[a]).unwrap();
    assert_eq!(entries(&dir.path().join("P.m3u8")), ["Music\\a.mp3"]);
}

/// Moves, renames and deletes of listed objects keep every playlist valid, in both formats.
#[test]
fn playlists_follow_moves_renames_and_deletes() {
    for format in [PlaylistFormat::M3u8, PlaylistFormat::Wpl] {
        let dir = tempfile::tempdir().unwrap();
        let d = FsDevice::open(dir.path(), options(format)).unwrap();
        let root = d.root();
        let music = root.create(&CreateRequest::folder("Music")).unwrap();
        let album = music.create(&CreateRequest::folder("Album")).unwrap();
        let a = write_file(album.as_ref(), "a.mp3", b"a");
        let b = write_file(album.as_ref(), "b.mp3", b"b");
        let c = write_file(music.as_ref(), "c.mp3", b"c");
        let lists = root.create(&CreateRequest::folder("Lists")).unwrap();
        let abs = FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST;
        let p1 = new_playlist(lists.as_ref(), "One", abs);
        let p2 = new_playlist(root.as_ref(), "Two", abs);
        let untouched = new_playlist(root.as_ref(), "Other", abs);
        p1.set_references(&[a.clone(), b.clone(), c.clone()])
            .unwrap();
        p2.set_references(&[c.clone(), a.clone()]).unwrap();
        untouched.set_references(&[]).unwrap();
        let ext = format.extension();
        let sep = if format == PlaylistFormat::Wpl {
            "\\"
        } else {
            "/"
        };
        let p1_path = |d: &str| dir.path().join(d).join(format!("One.{ext}"));
        let p2_path = dir.path().join(format!("Two.{ext}"));
        let other_path = dir.path().join(format!("Other.{ext}"));
        let j = |parts: &[&str]| parts.join(sep);
        let other_before = fs::read(&other_path).unwrap();

        // Renaming a track.
        a.rename("A.mp3", &mut NoProgress).unwrap();
        assert_eq!(
            entries(&p1_path("Lists")),
            [
                j(&["..", "Music", "Album", "A.mp3"]),
                j(&["..", "Music", "Album", "b.mp3"]),
                j(&["..", "Music", "c.mp3"])
            ]
        );
        assert_eq!(
            entries(&p2_path),
            [j(&["Music", "c.mp3"]), j(&["Music", "Album", "A.mp3"])]
        );
        // Moving a track to another folder.
        c.move_to(Placement::Into, root.as_ref(), &mut NoProgress)
            .unwrap();
        assert_eq!(
            entries(&p2_path),
            ["c.mp3", &j(&["Music", "Album", "A.mp3"])]
        );
        // Renaming a folder that holds listed tracks.
        album.rename("Album (2001)", &mut NoProgress).unwrap();
        assert_eq!(
            entries(&p1_path("Lists")),
            [
                j(&["..", "Music", "Album (2001)", "A.mp3"]),
                j(&["..", "Music", "Album (2001)", "b.mp3"]),
                j(&["..", "c.mp3"])
            ]
        );
        // Moving a folder that holds a playlist: its own relative paths change.
        lists
            .move_to(Placement::Into, music.as_ref(), &mut NoProgress)
            .unwrap();
        assert_eq!(
            entries(&p1_path("Music/Lists")),
            [
                j(&["..", "Album (2001)", "A.mp3"]),
                j(&["..", "Album (2001)", "b.mp3"]),
                j(&["..", "..", "c.mp3"])
            ]
        );
        // The references, by ID, never changed.
        assert_eq!(
            ids(&p1.references().unwrap()),
            ids(&[a.clone(), b.clone(), c.clone()])
        );
        // Deleting a listed track removes it from every playlist.
        a.delete(false, &mut NoProgress).unwrap();
        assert_eq!(ids(&p1.references().unwrap()), ids(&[b.clone(), c.clone()]));
        assert_eq!(
            ids(&p2.references().unwrap()),
            ids(std::slice::from_ref(&c))
        );
        assert_eq!(entries(&p2_path), ["c.mp3"]);
        // Deleting a folder removes everything below it.
        album.delete(true, &mut NoProgress).unwrap();
        assert_eq!(
            ids(&p1.references().unwrap()),
            ids(std::slice::from_ref(&c))
        );
        assert_eq!(
            entries(&p1_path("Music/Lists")),
            [j(&["..", "..", "c.mp3"])]
        );
        // A playlist that lists none of it is not touched.
        assert_eq!(fs::read(&other_path).unwrap(), other_before);
        // A reopened device resolves the rewritten files the same way.
        drop((p1, p2, untouched, a, b, album, lists, music, root));
        drop(d);
        let d = FsDevice::open(dir.path(), options(format)).unwrap();
        let p1 = d
            .root()
            .child("Music")
            .unwrap()
            .child("Lists")
            .unwrap()
            .child(&format!("One.{ext}"))
            .unwrap();
        assert_eq!(ids(&p1.references().unwrap()), ids(&[c]));
    }
}

#[test]
fn playlists_written_behind_the_provider_s_back_are_followed_too() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("Music")).unwrap();
    fs::write(dir.path().join("Music/a.mp3"), b"a").unwrap();
    fs::write(dir.path().join("list.m3u8"), "Music/a.mp3\n").unwrap();
    let d = FsDevice::open(dir.path(), options(PlaylistFormat::M3u8)).unwrap();
    // Listing the root makes the playlist known to the provider.
    let names: Vec<String> = d
        .root()
        .children()
        .unwrap()
        .iter()
        .map(|s| s.name().unwrap())
        .collect();
    assert_eq!(names, ["Music", "list.m3u8"]);
    let music = d.root().child("Music").unwrap();
    music.rename("Songs", &mut NoProgress).unwrap();
    assert_eq!(entries(&dir.path().join("list.m3u8")), ["Songs/a.mp3"]);
}

#[test]
fn a_folder_holding_an_open_object_cannot_move() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(dir.path(), options(PlaylistFormat::M3u8)).unwrap();
    let root = d.root();
    let music = root.create(&CreateRequest::folder("Music")).unwrap();
    let album = music.create(&CreateRequest::folder("Album")).unwrap();
    let other = root.create(&CreateRequest::folder("Other")).unwrap();
    let a = write_file(album.as_ref(), "a.mp3", b"a");

    // Open for reading, two folders down.
    let reading = a.open(OpenMode::READ).unwrap();
    for folder in [&music, &album] {
        assert_eq!(
            folder.rename("New", &mut NoProgress).err(),
            Some(Error::Busy)
        );
        assert_eq!(
            folder
                .move_to(Placement::Into, other.as_ref(), &mut NoProgress)
                .err(),
            Some(Error::Busy)
        );
    }
    // The open file itself can be renamed, and its reader goes on reading.
    a.rename("b.mp3", &mut NoProgress).unwrap();
    let mut reading = reading;
    let mut buf = [0u8; 4];
    assert_eq!(reading.read(&mut buf).unwrap(), 1);
    reading.close().unwrap();
    album.rename("Album 2", &mut NoProgress).unwrap();

    // Open for writing: a new file whose data is still in a temporary file in the folder.
    let fresh = album.create(&CreateRequest::file("new.mp3")).unwrap();
    let mut writing = fresh.open(OpenMode::WRITE).unwrap();
    writing.write(b"data").unwrap();
    assert_eq!(
        music.rename("Songs", &mut NoProgress).err(),
        Some(Error::Busy)
    );
    assert_eq!(
        album
            .move_to(Placement::Into, other.as_ref(), &mut NoProgress)
            .err(),
        Some(Error::Busy)
    );
    writing.close().unwrap();
    album
        .move_to(Placement::Into, other.as_ref(), &mut NoProgress)
        .unwrap();
    assert_eq!(
        fs::read(dir.path().join("Other/Album 2/new.mp3")).unwrap(),
        b"data"
    );
    // Nothing is left open: the names and the data are where the moves put them.
    music.rename("Songs", &mut NoProgress).unwrap();
    assert!(dir.path().join("Songs").is_dir());
    assert_eq!(
        fs::read(dir.path().join("Other/Album 2/b.mp3")).unwrap(),
        b"a"
    );
}
