//! Names through a whole sync on the folder device: albums differing only in case under FAT
//! rules, a playlist title holding `/`, and a title long enough that its temporary name would
//! not fit.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use common::sync::*;
use wmdm::library::{MemoryLibrary, Playlist, Track, TrackId};
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider, FsQuirks, NameMode, NamePolicy};
use wmdm::sync::{NameRule, PlanSettings, SyncDevice, SyncServices};

struct Folder {
    _dir: tempfile::TempDir,
    root: PathBuf,
    _state: tempfile::TempDir,
    library: Arc<RwLock<MemoryLibrary>>,
    services: SyncServices,
    _manager: wmdm::manager::DeviceManager,
}

/// An MP3 of `frames` silent frames: distinct lengths give distinct bytes.
fn mp3(frames: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..frames {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]);
    }
    v
}

/// A partnered folder device under `policy`, the planner under the matching rule, and a
/// library of `tracks` (artist, album, title).
fn folder(policy: NamePolicy, tracks: &[(&str, &str, &str)]) -> Folder {
    folder_with(
        DeviceOptions::default().durable(false).policy(policy),
        NameRule::from(policy),
        tracks,
    )
}

/// A partnered folder device opened with `options`, the partnership's settings naming under
/// `rule`, and a library of `tracks` (artist, album, title).
fn folder_with(options: DeviceOptions, rule: NameRule, tracks: &[(&str, &str, &str)]) -> Folder {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("player");
    std::fs::create_dir(&root).unwrap();
    let clock = common::clock();
    let provider = Arc::new(FsProvider::new(FsConfig::root(&root).options(options)));
    let manager = manager_with(provider, &clock);
    let mut lib = MemoryLibrary::new();
    for (i, (artist, album, title)) in tracks.iter().enumerate() {
        let i = i as u64 + 1;
        let mut t: Track = track(i, artist, album);
        t.title = (*title).into();
        lib.add_track(t, mp3(i as usize + 1));
    }
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().unwrap();
    let services = services(&manager, &library, state.path(), "Home", &clock);
    let d = services.device(0).unwrap();
    d.create_partnership().unwrap();
    d.set_settings(PlanSettings {
        names: rule,
        ..PlanSettings::default()
    });
    services.poll().unwrap();
    Folder {
        _dir: dir,
        root,
        _state: state,
        library,
        services,
        _manager: manager,
    }
}

impl Folder {
    fn device(&self) -> SyncDevice {
        self.services.device(0).unwrap()
    }
    fn select(&self, name: &str, tracks: &[u64]) {
        let mut p = Playlist::new_static(name, tracks.iter().map(|i| TrackId(*i)).collect());
        p.sync.set_priority(1, 1).unwrap();
        self.library.write().unwrap().add_playlist(p);
    }
    /// Every file and folder below the root, `/`-separated, sync's own state included.
    fn all(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
    fn files_in(&self, folder: &str) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|p| p.starts_with(&format!("{folder}/")) && self.root.join(p).is_file())
            .collect()
    }
    /// The entries of a playlist file, each checked to resolve relative to the playlist.
    fn resolved_entries(&self, playlist: &str) -> Vec<String> {
        let path = self.root.join(playlist);
        let text = std::fs::read_to_string(&path).unwrap();
        let base = path.parent().unwrap();
        let entries: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        for e in &entries {
            assert!(base.join(e).is_file(), "{e} in {playlist} does not resolve");
        }
        entries
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p
            .strip_prefix(base)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if p.is_dir() {
            walk(base, &p, out);
        }
        out.push(rel);
    }
}

/// No temporary name of the sync or of the provider is left anywhere.
fn assert_no_temp(f: &Folder) {
    let all = f.all();
    assert!(
        !all.iter()
            .any(|p| p.contains(".wmdm-tmp-") || p.ends_with("-part") || p.ends_with(".part")),
        "{all:?}"
    );
}

#[test]
fn albums_same_and_same_by_one_artist_sync_on_a_fat_folder() {
    let f = folder(
        NamePolicy::fat(NameMode::Reject),
        &[("Band", "Same", "One"), ("Band", "same", "Two")],
    );
    f.select("Mix", &[1, 2]);
    let d = f.device();
    for run in 0..2 {
        let s = d.run(&mut |_| {}).unwrap();
        assert_eq!(s.errors, 0, "run {run}: {s:?}");
    }
    assert_eq!(
        f.files_in("Music"),
        ["Music/Band/Same/01 One.mp3", "Music/Band/Same/02 Two.mp3"]
    );
    assert_eq!(f.resolved_entries("Playlists/Mix.m3u8").len(), 2);
    assert!(d.plan().unwrap().is_noop());
    assert_no_temp(&f);
}

#[test]
fn a_playlist_titled_with_a_slash_is_one_file_whose_entries_resolve() {
    for policy in [NamePolicy::fat(NameMode::Reject), NamePolicy::permissive()] {
        let f = folder(
            policy,
            &[("Band", "Album", "One"), ("Band", "Album", "Two")],
        );
        f.select("a/b", &[1, 2]);
        let d = f.device();
        let s = d.run(&mut |_| {}).unwrap();
        assert_eq!((s.errors, s.playlists_written), (0, 1), "{s:?}");
        assert_eq!(
            f.files_in("Playlists"),
            ["Playlists/a_b.m3u8"],
            "{policy:?}"
        );
        assert_eq!(f.resolved_entries("Playlists/a_b.m3u8").len(), 2);
    }
}

#[test]
fn a_240_character_title_is_copied_and_its_playlist_resolves() {
    let ascii = "t".repeat(240);
    let accented = "é".repeat(240);
    for policy in [NamePolicy::fat(NameMode::Reject), NamePolicy::permissive()] {
        let f = folder(
            policy,
            &[("Band", "Album", &ascii), ("Band", "Album", &accented)],
        );
        f.select("Long", &[1, 2]);
        let d = f.device();
        for run in 0..2 {
            let s = d.run(&mut |_| {}).unwrap();
            assert_eq!(s.errors, 0, "{policy:?} run {run}: {s:?}");
        }
        let music = f.files_in("Music");
        assert_eq!(music.len(), 2, "{music:?}");
        assert!(music.iter().all(|p| p.ends_with(".mp3")), "{music:?}");
        assert_eq!(f.resolved_entries("Playlists/Long.m3u8").len(), 2);
        assert!(d.plan().unwrap().is_noop());
        assert_no_temp(&f);
    }
}

/// A file system that refuses names outside ASCII (as fusefat does, EPERM), synced with the
/// partnership's permissive settings (the example without `--fat`): the device says it takes
/// only ASCII names, so "Ana Sól" and "Kōbō Ensemble" are copied under transliterated names,
/// with no error, and a resync has nothing to do.
#[test]
fn names_outside_ascii_are_transliterated_where_the_file_system_refuses_them() {
    let f = folder_with(
        DeviceOptions::default()
            .durable(false)
            .policy(NamePolicy::permissive())
            .simulate(FsQuirks::ASCII_NAMES),
        NameRule::Permissive,
        &[
            ("Ana Sól", "Kōbō Ensemble", "Canción"),
            ("Ana Sól", "Kōbō Ensemble", "Überall"),
            ("Ana Sol", "Plain", "Two"),
            ("東京", "Ñ?", "ß"),
        ],
    );
    f.select("Mix Ñ", &[1, 2, 3, 4]);
    let d = f.device();
    for run in 0..2 {
        let s = d.run(&mut |_| {}).unwrap();
        assert_eq!(s.errors, 0, "run {run}: {s:?}");
        if run == 0 {
            assert_eq!((s.copied, s.playlists_written), (4, 1), "{s:?}");
        }
    }
    assert_eq!(
        f.files_in("Music"),
        [
            "Music/Ana Sol/Kobo Ensemble/01 Cancion.mp3",
            "Music/Ana Sol/Kobo Ensemble/02 Uberall.mp3",
            "Music/Ana Sol/Plain/03 Two.mp3",
            "Music/Dong Jing/N_/04 ss.mp3",
        ]
    );
    assert!(f.all().iter().all(|p| p.is_ascii()), "{:?}", f.all());
    assert_eq!(f.resolved_entries("Playlists/Mix N.m3u8").len(), 4);
    assert!(d.plan().unwrap().is_noop());
    assert_no_temp(&f);
}

/// The folder device's name rule: its policy's, restricted to ASCII once a probe in its state
/// folder finds names outside ASCII refused; a read-only device probes nothing.
#[cfg_attr(
    windows,
    ignore = "on Windows the folder device always follows Windows' name rules (FAT's), never the permissive ones this test expects"
)]
#[test]
fn the_folder_device_reports_the_rule_its_file_system_allows() {
    use wmdm::provider::Device;
    use wmdm::providers::fs::FsDevice;
    let dir = tempfile::tempdir().unwrap();
    let open = |options: DeviceOptions| FsDevice::open(dir.path(), options.durable(false)).unwrap();
    let permissive = DeviceOptions::default().policy(NamePolicy::permissive());
    let plain = open(permissive.clone());
    assert_eq!(plain.name_rule(), NameRule::Permissive);
    assert_eq!(plain.quirks(), FsQuirks::empty());
    drop(plain);
    let refusing = open(permissive.clone().simulate(FsQuirks::ASCII_NAMES));
    let before = std::fs::read_dir(dir.path().join(".wmdm")).unwrap().count();
    assert_eq!(refusing.name_rule(), NameRule::FatAscii);
    assert_eq!(refusing.quirks(), FsQuirks::ASCII_NAMES);
    assert_eq!(
        refusing.property(wmdm::metadata::device::NAME_RULE),
        Ok(wmdm::metadata::PropValue::String("fat-ascii".into()))
    );
    // The probe leaves nothing behind.
    let after = std::fs::read_dir(dir.path().join(".wmdm")).unwrap().count();
    assert_eq!(before, after);
    drop(refusing);
    let read_only = open(
        DeviceOptions::default()
            .policy(NamePolicy::fat(NameMode::Reject))
            .simulate(FsQuirks::ASCII_NAMES)
            .read_only(true),
    );
    assert_eq!(read_only.name_rule(), NameRule::Fat);
    assert_eq!(read_only.quirks(), FsQuirks::empty());
}

/// A partnership's stricter rule still wins over the device's: FAT rules asked for on a folder
/// that would take anything (the example's `--fat` on ext4) spell "Same" and "same" as one
/// folder and a `?` as `_`.
#[test]
fn a_partnerships_stricter_rule_wins_over_a_permissive_device() {
    let f = folder_with(
        DeviceOptions::default()
            .durable(false)
            .policy(NamePolicy::permissive()),
        NameRule::Fat,
        &[("Band", "Same", "One?"), ("Band", "same", "Two")],
    );
    f.select("Mix", &[1, 2]);
    let s = f.device().run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    assert_eq!(
        f.files_in("Music"),
        ["Music/Band/Same/01 One_.mp3", "Music/Band/Same/02 Two.mp3"]
    );
}
