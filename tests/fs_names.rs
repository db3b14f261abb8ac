//! Hostile names, through the provider, under both policy modes.

use std::fs;

use proptest::prelude::*;
use wmdm::Error;
use wmdm::flags::OpenMode;
use wmdm::provider::{CreateRequest, NoProgress, Storage};
use wmdm::providers::fs::{DeviceOptions, FsDevice, NameMode, NamePolicy};

/// Names every policy rejects: they would leave the folder or touch the provider's state.
const ALWAYS_REJECTED: &[&str] = &[
    "",
    ".",
    "..",
    "../escape.mp3",
    "../../etc/passwd",
    "/etc/passwd",
    "/",
    "a/b.mp3",
    "a/../../b",
    "\0",
    "song\0.mp3",
    "C:",
    "C:\\Windows\\evil.dll",
    "c:relative.mp3",
    "Z:",
    "\\\\server\\share",
    "\\absolute.mp3",
    ".wmdm",
    ".WMDM",
    ".wmdm-tmp-0000000000000001.part",
    "./x",
];

/// Names FAT forbids: rejected under `Reject`, rewritten under `Sanitise` (expected result).
const FAT_ONLY: &[(&str, &str)] = &[
    ("what?.mp3", "what_.mp3"),
    ("a*b.mp3", "a_b.mp3"),
    ("quote\".mp3", "quote_.mp3"),
    ("less<more>.mp3", "less_more_.mp3"),
    ("pipe|.mp3", "pipe_.mp3"),
    ("colon:in:name.mp3", "colon_in_name.mp3"),
    ("back\\slash.mp3", "back_slash.mp3"),
    ("tab\there.mp3", "tab_here.mp3"),
    ("newline\n.mp3", "newline_.mp3"),
    ("bell\u{7}.mp3", "bell_.mp3"),
    ("trailing.", "trailing"),
    ("spaced ", "spaced"),
    ("dots...", "dots"),
    ("CON", "_CON"),
    ("con.mp3", "_con.mp3"),
    ("PRN.txt", "_PRN.txt"),
    ("aux", "_aux"),
    ("NUL.tar.gz", "_NUL.tar.gz"),
    ("COM1", "_COM1"),
    ("com9.mp3", "_com9.mp3"),
    ("LPT1", "_LPT1"),
    ("lpt5.log", "_lpt5.log"),
];

fn device(mode: NameMode) -> (tempfile::TempDir, FsDevice) {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(
        dir.path(),
        DeviceOptions::default()
            .policy(NamePolicy::fat(mode))
            .durable(false),
    )
    .unwrap();
    (dir, d)
}

#[test]
fn at_least_thirty_hostile_names() {
    assert!(ALWAYS_REJECTED.len() + FAT_ONLY.len() + 2 >= 30);
}

#[test]
fn always_rejected_names_never_reach_the_disk() {
    let outer = tempfile::tempdir().unwrap();
    let root_dir = outer.path().join("dev");
    fs::create_dir(&root_dir).unwrap();
    for mode in [NameMode::Reject, NameMode::Sanitise] {
        let d = FsDevice::open(
            &root_dir,
            DeviceOptions::default()
                .policy(NamePolicy::fat(mode))
                .durable(false),
        )
        .unwrap();
        let root = d.root();
        let song = root.create(&CreateRequest::folder("ok")).unwrap();
        for &name in ALWAYS_REJECTED {
            assert_eq!(
                root.create(&CreateRequest::file(name)).err(),
                Some(Error::InvalidName),
                "{name:?}"
            );
            assert_eq!(
                root.create(&CreateRequest::folder(name)).err(),
                Some(Error::InvalidName),
                "{name:?}"
            );
            assert_eq!(
                song.rename(name, &mut NoProgress),
                Err(Error::InvalidName),
                "{name:?}"
            );
        }
        song.delete(false, &mut NoProgress).unwrap();
    }
    let mut outside: Vec<_> = fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    outside.sort();
    assert_eq!(outside, vec!["dev"]);
    let inside: Vec<_> = fs::read_dir(&root_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(inside, vec![".wmdm"]);
}

#[test]
fn fat_names_are_rejected_or_sanitised() {
    let (_dir, d) = device(NameMode::Reject);
    for &(name, _) in FAT_ONLY {
        assert_eq!(
            d.root().create(&CreateRequest::file(name)).err(),
            Some(Error::InvalidName),
            "{name:?}"
        );
    }
    let long = "x".repeat(256);
    assert_eq!(
        d.root().create(&CreateRequest::file(long.as_str())).err(),
        Some(Error::InvalidName)
    );
    let ok255 = "y".repeat(255);
    assert!(
        d.root()
            .create(&CreateRequest::folder(ok255.as_str()))
            .is_ok()
    );

    let (dir, d) = device(NameMode::Sanitise);
    for &(name, expected) in FAT_ONLY {
        let s = d.root().create(&CreateRequest::file(name)).unwrap();
        assert_eq!(s.name().unwrap(), expected, "{name:?}");
        let mut io = s.open(OpenMode::WRITE).unwrap();
        io.write(b"x").unwrap();
        io.close().unwrap();
        assert!(dir.path().join(expected).is_file(), "{expected:?}");
    }
    let long = format!("{}.flac", "é".repeat(400));
    let s = d
        .root()
        .create(&CreateRequest::file(long.as_str()))
        .unwrap();
    let n = s.name().unwrap();
    assert!(n.encode_utf16().count() <= 255 && n.ends_with(".flac"));
}

#[test]
fn permissive_policy_keeps_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = FsDevice::open(
        dir.path(),
        DeviceOptions::default().policy(NamePolicy::permissive()),
    )
    .unwrap();
    assert_eq!(
        d.root().create(&CreateRequest::folder("a/b")).err(),
        Some(Error::InvalidName)
    );
    if cfg!(windows) {
        // Windows itself refuses (or silently alters) what FAT forbids and ignores case, so
        // "permissive" there still means the FAT rules, and a case variant is the same name.
        for name in ["what?", "a\\b", "ab:c", "trailing.", "CON", "nul.txt"] {
            assert_eq!(
                d.root().create(&CreateRequest::folder(name)).err(),
                Some(Error::InvalidName),
                "{name:?}"
            );
        }
        let s = d.root().create(&CreateRequest::folder("what")).unwrap();
        assert_eq!(s.name().unwrap(), "what");
        assert_eq!(
            d.root().create(&CreateRequest::folder("WHAT")).err(),
            Some(Error::AlreadyExists),
            "case-insensitive host"
        );
        // A reservation is the same name in another case too: it is handed back.
        let f = d.root().create(&CreateRequest::file("Song.mp3")).unwrap();
        let again = d.root().create(&CreateRequest::file("SONG.MP3")).unwrap();
        assert_eq!(again.unique_id().unwrap(), f.unique_id().unwrap());
        assert_eq!(again.name().unwrap(), "Song.mp3");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n.contains(['?', ':'])), "{names:?}");
    } else {
        let s = d.root().create(&CreateRequest::folder("what?")).unwrap();
        assert_eq!(s.name().unwrap(), "what?");
        assert!(
            d.root().create(&CreateRequest::folder("WHAT?")).is_ok(),
            "case-sensitive"
        );
    }
}

proptest! {
    #[test]
    fn sanitised_names_pass_the_strict_check(name in any::<String>()) {
        let strict = NamePolicy::fat(NameMode::Reject);
        match NamePolicy::fat(NameMode::Sanitise).check(&name) {
            Ok(clean) => {
                prop_assert!(strict.check(&clean).is_ok(), "{:?} -> {:?}", name, clean);
                prop_assert!(!clean.contains(['/', '\\', '\0']));
            }
            Err(e) => prop_assert_eq!(e, Error::InvalidName),
        }
    }

    #[test]
    fn strict_accepts_only_what_sanitise_keeps(name in "[a-zA-Z0-9 ._?:*-]{0,12}") {
        let strict = NamePolicy::fat(NameMode::Reject).check(&name);
        let clean = NamePolicy::fat(NameMode::Sanitise).check(&name);
        if let Ok(s) = strict {
            prop_assert_eq!(clean.unwrap(), s);
        }
    }
}
