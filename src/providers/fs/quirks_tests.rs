//! Tests of the provider's file operations on restricted file systems.

use super::*;

#[test]
fn fusefat_is_known_to_refuse_appends_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let io = FsIo::new(
        dir.path(),
        crate::providers::fs::Durability::Off,
        FsQuirks::empty(),
    );
    io.assume_for(&FsKind::Fat);
    assert_eq!(io.quirks(), FsQuirks::empty());
    io.assume_for(&FsKind::FuseFat);
    assert_eq!(
        io.quirks(),
        FsQuirks::NO_APPEND | FsQuirks::NO_WRITE_EXISTING | FsQuirks::NO_FOLDER_RENAME
    );
    // Nothing is appended: the caller rewrites the file whole.
    let path = dir.path().join("log");
    fs::write(&path, b"one\n").unwrap();
    let mut handle = None;
    assert!(!io.append(&path, &mut handle, b"two\n", false).unwrap());
    assert!(handle.is_none());
    assert_eq!(fs::read(&path).unwrap(), b"one\n");
}

#[test]
fn records_parse_only_when_whole_and_inside_the_device() {
    let ok = "wmdm-pending 1\nsize=5\npath=Music/a.mp3\nend\n";
    assert_eq!(parse_record(ok), Some((PathBuf::from("Music/a.mp3"), 5)));
    assert!(parse_record("wmdm-pending 1\nsize=5\npath=Music/a.mp3\n").is_none());
    for bad in [
        "../x",
        "/etc/passwd",
        "Music/../../x",
        "",
        "Music//a",
        "a/.wmdm/ids",
    ] {
        let text = format!("wmdm-pending 1\nsize=5\npath={bad}\nend\n");
        assert!(parse_record(&text).is_none(), "{bad}");
    }
    let state = "wmdm-pending 1\nsize=5\npath=.wmdm/ids\nend\n";
    assert!(parse_record(state).is_some());
}

#[test]
fn an_interrupted_write_without_rename_is_removed_at_recovery() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(STATE_DIR)).unwrap();
    let io = FsIo::new(
        dir.path(),
        crate::providers::fs::Durability::Off,
        FsQuirks::NO_RENAME,
    );
    let target = dir.path().join("song.mp3");
    // A crash after the record, midway through the data.
    io.write_record(&target, 10).unwrap();
    fs::write(&target, b"half").unwrap();
    // A larger file at a recorded name is someone else's.
    let other = dir.path().join("user.mp3");
    io.write_record(&other, 2).unwrap();
    fs::write(&other, b"the user's own").unwrap();
    io.recover();
    assert!(!target.exists());
    assert!(other.exists());
    let left = fs::read_dir(dir.path().join(STATE_DIR).join(RECORD_FOLDER)).unwrap();
    assert_eq!(left.count(), 0);
    // The whole write path leaves the file complete and no record.
    io.write_state(&target, b"complete").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"complete");
    assert!(io.has(FsQuirks::NO_RENAME));
}
