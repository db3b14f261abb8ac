//! Names the planner produces: they always fit the device. Case-insensitive collisions under
//! FAT rules, playlist names as one component, long titles, and a property test that creates
//! every planned path on the folder provider (same rule) and on the memory device (through the
//! quirk wrapper for the ASCII-only rule and for shorter name limits).

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use wmdm::library::{
    ContentHash, Library, MemoryLibrary, Playlist, PlaylistId, Selection, Track, TrackId,
};
use wmdm::provider::names::MAX_COMPONENT;
use wmdm::provider::{CreateRequest, ServiceProvider, StorageRef};
use wmdm::providers::fs::{DeviceOptions, FsDevice, NameMode, NamePolicy};
use wmdm::providers::memory::{MemoryDevice, MemoryProvider, StorageConfig};
use wmdm::providers::quirks::{QuirkProvider, Quirks};
use wmdm::sync::{
    DeviceContents, DeviceFile, Ledger, NameRule, PlanInput, PlanSettings, SyncOp, SyncPlan, plan,
};

/// The suffix the sync appends to a planned file name while it writes it (its temporary name).
/// Kept here as the test's model of the writer: the planner must leave room for it.
/// The temporary name the sync writes a copy under before renaming it into place: a
/// fixed-length sibling, whatever the final name.
fn sync_temp() -> String {
    wmdm::sync::temp_name(u64::MAX, u32::MAX)
}

struct Lib {
    lib: MemoryLibrary,
    hashes: HashMap<TrackId, ContentHash>,
    selection: Vec<Selection>,
}

impl Lib {
    fn new() -> Lib {
        Lib {
            lib: MemoryLibrary::new(),
            hashes: HashMap::new(),
            selection: Vec::new(),
        }
    }

    fn track(&mut self, i: u64, artist: &str, album: &str, title: &str) {
        let mut t = Track::new(TrackId(i), format!("t/{i}.mp3"));
        t.title = title.into();
        t.artist = artist.into();
        t.album = album.into();
        t.track_number = Some(i as u32);
        let bytes = vec![i as u8; 100 + i as usize];
        self.hashes
            .insert(TrackId(i), ContentHash::of_bytes(&bytes));
        self.lib.add_track(t, bytes);
    }

    fn playlist(&mut self, name: &str, tracks: &[u64]) -> PlaylistId {
        let ids: Vec<TrackId> = tracks.iter().map(|i| TrackId(*i)).collect();
        let p = Playlist::new_static(name, ids.clone());
        let id = p.id;
        self.lib.add_playlist(p);
        self.selection.push(Selection {
            priority: self.selection.len() as u32 + 1,
            playlist: id,
            tracks: ids,
        });
        id
    }

    fn plan(&self, device: &DeviceContents, rule: NameRule) -> SyncPlan {
        self.plan_within(device, rule, MAX_COMPONENT)
    }

    /// The plan for a device taking at most `max` bytes per name.
    fn plan_within(&self, device: &DeviceContents, rule: NameRule, max: usize) -> SyncPlan {
        let settings = PlanSettings {
            names: rule,
            name_max: max,
            ..PlanSettings::default()
        };
        let ledger = Ledger::new("lib", 1);
        plan(&PlanInput {
            library: &self.lib as &dyn Library,
            selection: &self.selection,
            hashes: &self.hashes,
            device,
            ledger: &ledger,
            settings: &settings,
            skipped: &Default::default(),
            adoptable: None,
        })
    }
}

fn empty_device() -> DeviceContents {
    DeviceContents {
        capacity: 1 << 30,
        free: 1 << 30,
        ..DeviceContents::default()
    }
}

/// Every path the plan writes (tracks and playlists).
fn written(p: &SyncPlan) -> Vec<String> {
    p.ops
        .iter()
        .filter_map(|op| match op {
            SyncOp::Copy { path, .. } | SyncOp::WritePlaylist { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

fn parent(p: &str) -> &str {
    p.rsplit_once('/').map_or("", |(d, _)| d)
}

#[test]
fn albums_differing_only_in_case_are_one_folder_under_fat() {
    let mut l = Lib::new();
    l.track(1, "Band", "Same", "One");
    l.track(2, "Band", "same", "Two");
    l.playlist("Mix", &[1, 2]);
    let p = l.plan(&empty_device(), NameRule::Fat);
    let paths = written(&p);
    let one = p.placed.get(&TrackId(1)).unwrap();
    let two = p.placed.get(&TrackId(2)).unwrap();
    assert_eq!(parent(one), parent(two), "{paths:?}");
    assert_eq!(
        parent(one),
        "Music/Band/Same",
        "the first spelling planned wins"
    );

    // Case-sensitive media keep both spellings.
    let p = l.plan(&empty_device(), NameRule::Permissive);
    let (one, two) = (&p.placed[&TrackId(1)], &p.placed[&TrackId(2)]);
    assert_ne!(parent(one), parent(two));
}

#[test]
fn a_folder_already_on_the_device_keeps_its_spelling_under_fat() {
    let mut l = Lib::new();
    l.track(1, "band", "same", "One");
    l.playlist("Mix", &[1]);
    let mut d = empty_device();
    d.files.insert(
        "MUSIC/Band/SAME/99 Theirs.mp3".into(),
        DeviceFile {
            size: 10,
            unique_id: "u".into(),
            modified_ns: 0,
        },
    );
    let p = l.plan(&d, NameRule::Fat);
    assert_eq!(p.placed[&TrackId(1)], "MUSIC/Band/SAME/01 One.mp3");
}

#[test]
fn files_differing_only_in_case_get_unique_names_under_fat() {
    let mut l = Lib::new();
    l.track(1, "Band", "Album", "Song");
    l.track(2, "BAND", "ALBUM", "SONG");
    // Track 3 collides with a file already on the device, in another case.
    l.track(3, "Band", "Album", "Other");
    l.playlist("Mix", &[1, 2, 3]);
    l.playlist("MIX", &[1]);
    let mut d = empty_device();
    d.files.insert(
        "music/band/album/03 OTHER.mp3".into(),
        DeviceFile {
            size: 10,
            unique_id: "u".into(),
            modified_ns: 0,
        },
    );
    let p = l.plan(&d, NameRule::Fat);
    let paths = written(&p);
    let mut folded: Vec<String> = paths.iter().map(|p| p.to_lowercase()).collect();
    folded.push("music/band/album/03 other.mp3".into());
    folded.sort();
    folded.dedup();
    assert_eq!(folded.len(), paths.len() + 1, "{paths:?}");
    // The folders as the device spells them.
    assert_eq!(p.placed[&TrackId(1)], "music/band/album/01 Song.mp3");
    assert_eq!(p.placed[&TrackId(2)], "music/band/album/02 SONG.mp3");
    assert_eq!(p.placed[&TrackId(3)], "music/band/album/03 Other (2).mp3");
}

#[test]
fn a_playlist_name_is_one_component() {
    let mut l = Lib::new();
    l.track(1, "Band", "Album", "Song");
    l.playlist("a/b", &[1]);
    l.playlist("..", &[1]);
    for rule in [NameRule::Fat, NameRule::Permissive] {
        let p = l.plan(&empty_device(), rule);
        let lists: Vec<&str> = p
            .ops
            .iter()
            .filter_map(|op| match op {
                SyncOp::WritePlaylist { path, .. } => Some(path.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(lists.len(), 2, "{rule:?}");
        assert!(lists.contains(&"Playlists/a_b.m3u8"), "{rule:?} {lists:?}");
        for l in lists {
            assert_eq!(parent(l), "Playlists", "{rule:?} {l}");
        }
    }
}

#[test]
fn a_long_title_is_cut_to_a_name_that_fits() {
    let mut l = Lib::new();
    l.track(1, "Band", "Album", &"t".repeat(240));
    l.track(2, "Band", "Album", &"é".repeat(240));
    l.track(3, "Band", "Album", &"😀".repeat(240));
    l.playlist(&"p".repeat(300), &[1, 2, 3]);
    for rule in [NameRule::Fat, NameRule::Permissive] {
        let p = l.plan(&empty_device(), rule);
        let paths = written(&p);
        assert_eq!(paths.len(), 4);
        for path in paths {
            let name = path.rsplit('/').next().unwrap();
            assert_eq!(rule.check(name), Ok(()), "{rule:?}: {name}");
            assert!(rule.length(name) <= MAX_COMPONENT);
            let temp = sync_temp();
            assert_eq!(rule.check(&temp), Ok(()), "{rule:?}: {temp}");
            assert!(
                name.ends_with(".mp3") || name.ends_with(".m3u8"),
                "extension kept: {name}"
            );
        }
    }
}

/// Creates `path` (its folders, then the file and its temporary sibling) below `root`,
/// finding existing folders by name the way the sync does.
fn create_path(root: &StorageRef, path: &str) -> wmdm::Result<()> {
    let mut dir = root.clone();
    let parts: Vec<&str> = path.split('/').collect();
    let (file, dirs) = parts.split_last().expect("non-empty path");
    for d in dirs {
        dir = match dir.child(d) {
            Ok(c) => c,
            Err(e) if e.kind() == wmdm::ErrorKind::NotFound => {
                dir.create(&CreateRequest::folder(*d))?
            }
            Err(e) => return Err(e),
        };
    }
    let temp = dir.create(&CreateRequest::file(sync_temp()))?;
    temp.delete(false, &mut wmdm::provider::NoProgress)?;
    dir.create(&CreateRequest::file(*file))?;
    Ok(())
}

/// Name pieces that break some rule, alone or together.
fn hostile_piece() -> impl Strategy<Value = String> {
    let fixed: Vec<String> = [
        "Same",
        "same",
        "SAME",
        "ÄRGER",
        "ärger",
        "CON",
        "con.mp3",
        "lpt1",
        "aux.",
        "a/b",
        "/",
        "..",
        ".",
        "",
        " ",
        "trailing.",
        "spaces  ",
        ". . ",
        "a:b",
        "?",
        "*",
        "\"q\"",
        "<>|",
        "\\",
        "\n",
        "\t",
        "\u{1}",
        "\u{7f}",
        "\u{85}",
        "NUL",
        ".hidden",
        "ß",
        "İ",
        "ΑΣ",
        "ας",
        "x.mp3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    prop_oneof![
        4 => prop::sample::select(fixed),
        1 => (1usize..130).prop_map(|n| "é".repeat(n)),
        1 => (1usize..140).prop_map(|n| "😀".repeat(n)),
        1 => (200usize..300).prop_map(|n| "x".repeat(n)),
        2 => "[a-zA-Z ]{1,8}",
    ]
}

fn hostile_name() -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_piece(), 1..4).prop_map(|v| v.concat())
}

fn library_strategy() -> impl Strategy<Value = (Vec<[String; 3]>, Vec<String>)> {
    (
        prop::collection::vec([hostile_name(), hostile_name(), hostile_name()], 1..7),
        prop::collection::vec(hostile_name(), 1..3),
    )
}

/// Files on the device before the plan, valid under the FAT and permissive rules.
const EXISTING: &[&str] = &[
    "MUSIC/SAME/SAME/01 SAME.mp3",
    "MUSIC/Ärger/x.mp3",
    "Playlists/SAME.m3u8",
];

fn fs_device(rule: NameRule) -> (tempfile::TempDir, FsDevice) {
    let dir = tempfile::tempdir().unwrap();
    let policy = match rule {
        NameRule::Fat => NamePolicy::fat(NameMode::Reject),
        NameRule::FatAscii => NamePolicy::fat_ascii(NameMode::Reject),
        NameRule::Permissive => NamePolicy::permissive(),
    };
    let d = FsDevice::open(
        dir.path(),
        DeviceOptions::default().policy(policy).durable(false),
    )
    .unwrap();
    (dir, d)
}

/// The root of a memory device (FAT rules) seen through the quirk wrapper with a name limit of
/// `max` bytes and, under `rule`'s ASCII-only variant, ASCII names only: a medium that refuses
/// exactly what `rule` and `max` refuse.
fn memory_root(rule: NameRule, max: usize) -> StorageRef {
    let mem = MemoryDevice::builder("P")
        .storage(StorageConfig::new("Internal", 1 << 30))
        .build()
        .unwrap();
    let mut quirks = Quirks::none().name_limit(max);
    if rule.ascii_only() {
        quirks = quirks.ascii_names();
    }
    let provider = QuirkProvider::new(Arc::new(MemoryProvider::new().with_device(mem)), quirks);
    let device = provider.devices().unwrap().remove(0);
    device.storages().unwrap().remove(0)
}

/// The rules and component limits the planner is tried under.
const RULES: [(NameRule, usize); 5] = [
    (NameRule::Fat, MAX_COMPONENT),
    (NameRule::Permissive, MAX_COMPONENT),
    (NameRule::FatAscii, MAX_COMPONENT),
    (NameRule::FatAscii, 44),
    (NameRule::Fat, 48),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the library's names, every path the planner produces is created without
    /// error on the folder provider under the same rule and, under FAT rules, on the memory
    /// device, and no two planned paths are the same name on the medium.
    #[cfg_attr(windows, ignore = "on Windows the folder device always follows Windows' name rules (FAT's), never the permissive ones this test expects")]
    #[test]
    fn planned_names_are_accepted_by_every_device((tracks, lists) in library_strategy()) {
        let mut l = Lib::new();
        for (i, [artist, album, title]) in tracks.iter().enumerate() {
            l.track(i as u64 + 1, artist, album, title);
        }
        let ids: Vec<u64> = (1..=tracks.len() as u64).collect();
        for name in &lists {
            l.playlist(name, &ids);
        }
        for (rule, max) in RULES {
            // Files already on the device, in other cases than the library's names (those the
            // medium can hold: no "Ärger" on an ASCII-only one).
            let existing: Vec<&str> = EXISTING
                .iter()
                .copied()
                .filter(|p| p.split('/').all(|c| rule.check(c).is_ok()))
                .collect();
            let mut device = empty_device();
            for path in &existing {
                device.files.insert(path.to_string(), DeviceFile {
                    size: 1,
                    unique_id: path.to_string(),
                    modified_ns: 0,
                });
            }
            let p = l.plan_within(&device, rule, max);
            let paths = written(&p);
            for path in &paths {
                let (dirs, file) = path.rsplit_once('/').unwrap_or(("", path));
                prop_assert!(rule.length(file) <= max, "{:?} {}: {:?}", rule, max, path);
                prop_assert!(rule.length(&sync_temp()) <= max, "{:?} {}", rule, max);
                prop_assert!(dirs.split('/').all(|c| rule.length(c) <= max), "{:?} {}: {:?}", rule, max, path);
            }
            let mut keys: Vec<String> = paths
                .iter()
                .map(String::as_str)
                .chain(existing.iter().copied())
                .map(|p| rule.fold(p).into_owned())
                .collect();
            keys.sort();
            keys.dedup();
            prop_assert_eq!(keys.len(), paths.len() + existing.len(), "{:?}", paths);
            let (_dir, fs) = fs_device(rule);
            let fs_root: StorageRef = fs.root();
            for path in existing.iter().chain(&paths.iter().map(String::as_str).collect::<Vec<_>>()) {
                prop_assert_eq!(create_path(&fs_root, path), Ok(()), "folder device, {:?}: {:?}", rule, path);
            }
            if rule.is_fat() {
                let root = memory_root(rule, max);
                for path in existing.iter().chain(&paths.iter().map(String::as_str).collect::<Vec<_>>()) {
                    prop_assert_eq!(create_path(&root, path), Ok(()), "memory device, {:?} {}: {:?}", rule, max, path);
                }
            }
        }
    }
}

#[test]
fn a_file_and_a_folder_never_share_a_name() {
    let mut l = Lib::new();
    l.track(1, "Band", "Album", "One");
    // A track whose file name is a folder the plan makes.
    l.track(2, "Band", "", "x");
    l.playlist("Mix", &[1, 2]);
    for rule in [NameRule::Fat, NameRule::Permissive] {
        let mut d = empty_device();
        // A user's file where the artist's folder would go.
        d.files.insert(
            "Music/Band".into(),
            DeviceFile {
                size: 1,
                unique_id: "u".into(),
                modified_ns: 0,
            },
        );
        let p = l.plan(&d, rule);
        let one = &p.placed[&TrackId(1)];
        assert!(one.starts_with("Music/Band (2)/"), "{rule:?}: {one}");
        for path in written(&p) {
            let mut prefix = String::new();
            for c in path.split('/') {
                prefix.push_str(c);
                assert_ne!(
                    rule.fold(&prefix),
                    rule.fold("Music/Band"),
                    "{rule:?}: {path}"
                );
                prefix.push('/');
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The rule, the folder provider with the same rule and the memory device agree on every
    /// name: each accepts exactly what [`NameRule::check`] accepts (the folder provider also
    /// keeps its own state names, which none of these are).
    #[cfg_attr(windows, ignore = "on Windows the folder device always follows Windows' name rules (FAT's), never the permissive ones this test expects")]
    #[test]
    fn the_rule_and_both_devices_agree_on_every_name(names in prop::collection::vec(hostile_name(), 1..6)) {
        for rule in [NameRule::Fat, NameRule::Permissive, NameRule::FatAscii] {
            let mem_root = memory_root(rule, MAX_COMPONENT);
            let (_dir, fs) = fs_device(rule);
            let fs_root: StorageRef = fs.root();
            for (i, name) in names.iter().enumerate() {
                // A fresh folder per name, so that no name collides with an earlier one.
                let folder = format!("f{i}");
                let fs_dir = fs_root.create(&CreateRequest::folder(folder.as_str())).unwrap();
                let expected = rule.check(name).is_ok();
                let on_fs = fs_dir.create(&CreateRequest::file(name.as_str()));
                prop_assert_eq!(on_fs.is_ok(), expected, "folder device, {:?}: {:?} {:?}", rule, name, on_fs.err());
                if rule.is_fat() {
                    let mem_dir = match mem_root.child(&folder) {
                        Ok(d) => d,
                        Err(_) => mem_root.create(&CreateRequest::folder(folder.as_str())).unwrap(),
                    };
                    let on_mem = mem_dir.create(&CreateRequest::file(name.as_str()));
                    prop_assert_eq!(on_mem.is_ok(), expected, "memory device: {:?} {:?}", name, on_mem.err());
                }
            }
        }
    }
}
