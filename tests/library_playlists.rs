//! Playlist files: round trips as properties, hostile input never panics.

use std::time::Duration;

use proptest::prelude::*;
use wmdm::library::{PathStyle, WriteEntry, read_m3u, read_wpl, write_m3u, write_wpl};

/// A path component: printable, no separators, not `.` or `..`, no leading/trailing spaces
/// (which M3U readers trim), no `#` at the start of a line.
fn component() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_éüß&'<>\"() -]{1,12}"
        .prop_map(|s| s.trim().to_string())
        .prop_filter("not empty or dots", |s| {
            !s.is_empty() && s != "." && s != ".."
        })
}

fn rel_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(component(), 1..4).prop_map(|v| v.join("/"))
}

/// A title; readers trim the line, so no outer spaces.
fn title() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        "[A-Za-z0-9 ,éü&-]{1,20}"
            .prop_map(|s| s.trim().to_string())
            .prop_filter("not blank", |s| !s.is_empty()),
    )
}

/// Resolves a written entry the way a player on the medium does: relative to the playlist's
/// folder, with either separator.
fn resolve(base: &str, written: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
    for c in written.split(['/', '\\']).filter(|c| !c.is_empty()) {
        if c == ".." {
            parts.pop();
        } else {
            parts.push(c);
        }
    }
    parts.join("/")
}

proptest! {
    #[test]
    fn m3u_round_trip(
        base in proptest::collection::vec(component(), 0..3).prop_map(|v| v.join("/")),
        entries in proptest::collection::vec((rel_path(), title(), proptest::option::of(0u64..100_000)), 0..12),
        sep in prop_oneof![Just('/'), Just('\\')],
        name in title(),
    ) {
        let style = PathStyle::relative(base.clone(), sep);
        let write: Vec<WriteEntry<'_>> = entries
            .iter()
            .map(|(p, t, d)| WriteEntry { path: p, title: t.as_deref(), duration: d.map(Duration::from_secs) })
            .collect();
        let text = write_m3u(name.as_deref(), &write, &style).unwrap();
        let back = read_m3u(text.as_bytes()).unwrap();
        prop_assert!(back.skipped.is_empty());
        prop_assert_eq!(back.title, name);
        prop_assert_eq!(back.entries.len(), entries.len());
        for (got, (path, t, d)) in back.entries.iter().zip(&entries) {
            prop_assert_eq!(resolve(&base, &got.path), path.clone());
            // A title-less entry with a duration is written with an empty title.
            prop_assert_eq!(&got.title, t);
            prop_assert_eq!(got.duration, d.map(Duration::from_secs));
        }
    }

    #[test]
    fn wpl_round_trip(
        base in proptest::collection::vec(component(), 0..3).prop_map(|v| v.join("/")),
        paths in proptest::collection::vec(rel_path(), 0..12),
        sep in prop_oneof![Just('/'), Just('\\')],
        name in "[A-Za-z0-9 &<>\"'éü-]{0,20}",
    ) {
        let style = PathStyle::relative(base.clone(), sep);
        let write: Vec<WriteEntry<'_>> =
            paths.iter().map(|p| WriteEntry { path: p, title: None, duration: None }).collect();
        let text = write_wpl(&name, &write, &style).unwrap();
        let back = read_wpl(text.as_bytes()).unwrap();
        prop_assert!(back.skipped.is_empty());
        let trimmed = name.trim();
        prop_assert_eq!(back.title.unwrap_or_default(), trimmed.to_string());
        let got: Vec<String> = back.entries.iter().map(|e| resolve(&base, &e.path)).collect();
        prop_assert_eq!(got, paths);
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_m3u(&bytes);
        let _ = read_wpl(&bytes);
    }

    #[test]
    fn hostile_xml_never_panics(s in "(<smil>|</smil>|<media src=\"[a-z&;]{0,5}\"/>|<seq>|</seq>|<title>|</title>|&amp;|&#[0-9]{1,8};|<!--|-->|<!DOCTYPE x>|<\\?wpl\\?>|[a-z ]){0,40}") {
        let _ = read_wpl(s.as_bytes());
    }
}

#[test]
fn absolute_paths_for_devices_and_hosts() {
    let e = [WriteEntry {
        path: "Music/A/01 x.mp3",
        title: None,
        duration: None,
    }];
    let dev = PathStyle {
        base_folder: "Playlists".into(),
        separator: '\\',
        absolute_prefix: Some(String::new()),
    };
    assert!(
        write_m3u(None, &e, &dev)
            .unwrap()
            .contains("\r\n\\Music\\A\\01 x.mp3\r\n")
    );
    let host = PathStyle {
        base_folder: String::new(),
        separator: '/',
        absolute_prefix: Some("/home/me/music".into()),
    };
    assert!(
        write_wpl("x", &e, &host)
            .unwrap()
            .contains("src=\"/home/me/music/Music/A/01 x.mp3\"")
    );
    let bad = [WriteEntry {
        path: "a\nb.mp3",
        title: None,
        duration: None,
    }];
    assert_eq!(write_m3u(None, &bad, &host), Err(wmdm::Error::InvalidName));
}

#[test]
fn huge_and_binary_inputs() {
    let mut big = Vec::new();
    for i in 0..50_000 {
        big.extend_from_slice(format!("#EXTINF:{i},t\r\nx{i}.mp3\r\n").as_bytes());
    }
    big.extend_from_slice(&vec![b'a'; 1 << 20]);
    let l = read_m3u(&big).unwrap();
    assert_eq!(l.entries.len(), 50_000);
    assert_eq!(l.skipped.len(), 1);
    let e = read_m3u(b"#EXTM3U\n\x00\x01\x02\x03").unwrap_err();
    assert_eq!(e.position, 8);
    let e = read_wpl(b"<smil><body><seq><media src=\"a\"></seq>").unwrap_err();
    assert!(e.to_string().contains("byte"), "{e}");
    let l = read_wpl(b"<smil><media src=\"../../../etc/passwd\"/></smil>").unwrap();
    assert_eq!(
        l.entries[0].path, "../../../etc/passwd",
        "kept as written; the library refuses it"
    );
}
