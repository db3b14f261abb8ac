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
use wmdm::providers::fs::{DeviceOptions, FileCopy, FsDevice};

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
    protected(list.set_references(&[song.clone()]), "set references");
    protected(d.set_friendly_name("Renamed"), "friendly name");
    protected(
        root.transfer_to_device(
            TransferSource::File(host_file),
            &TransferOptions {
                destination_name: "copied.mp3".into(),
                overwrite: false,
                metadata: None,
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
