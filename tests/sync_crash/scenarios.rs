//! The worlds the crash simulation starts from: each is the state just before the run under
//! test (device media, the library's state folder, the library), reached by clean runs.

use std::collections::BTreeMap;

use super::common::sync::{content, track};
use super::harness::{Host, Party, World, process};
use wmdm::library::{MemoryLibrary, Playlist, PlaylistKind, TrackId};
use wmdm::sync::SYNC_FOLDER;

/// Files of the user's on every device: one of their own, one named like the folder
/// provider's temporary files, one named like the sync's.
pub const USER_FILES: &[(&str, &[u8])] = &[
    ("Music/mine.mp3", b"the user's own song"),
    (
        "Music/.wmdm-tmp-mine.part",
        b"a user file named like a provider temp file",
    ),
    (
        "Music/mine.mp3.wmdm-sync-part",
        b"a user file named like a sync temp file",
    ),
    ("Playlists/mine.m3u8", b"#EXTM3U\nmine.mp3\n"),
];

/// A world and the host it lives on.
pub struct Scenario {
    pub name: &'static str,
    pub host: Host,
    pub world: World,
}

impl Scenario {
    /// A new process's library and state folder, as they were when the run under test began.
    pub fn party(&self) -> Party {
        Party::fork(LIBRARY, &self.world.library, &self.world.state_files)
    }
}

const LIBRARY: &str = "Home";

/// Track `i`'s size: varied, small, so thousands of crash points stay fast.
fn size_of(i: u64) -> usize {
    300 + (i as usize * 137) % 600
}

fn library(ids: impl IntoIterator<Item = u64>, size: impl Fn(u64) -> usize) -> MemoryLibrary {
    let mut lib = MemoryLibrary::new();
    for i in ids {
        lib.add_track(
            track(i, &format!("Artist {}", i % 3), "Album"),
            content(i, size(i)),
        );
    }
    lib
}

fn select(lib: &mut MemoryLibrary, name: &str, tracks: &[u64], priority: u32) {
    let mut p = Playlist::new_static(name, tracks.iter().map(|i| TrackId(*i)).collect());
    p.sync.set_priority(1, priority).expect("priority");
    lib.add_playlist(p);
}

fn playlist_id(lib: &MemoryLibrary, name: &str) -> wmdm::library::PlaylistId {
    use wmdm::library::Library;
    lib.playlists()
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.id)
        .expect("playlist")
}

/// A host with a device of `capacity` holding the user's files.
fn host_with_user_files(capacity: u64) -> Host {
    let host = Host::new(capacity);
    for (path, bytes) in USER_FILES {
        host.template
            .put_file(path, bytes.to_vec())
            .expect("user file");
    }
    host
}

fn user_files() -> BTreeMap<String, Vec<u8>> {
    USER_FILES
        .iter()
        .map(|(p, b)| ((*p).to_owned(), b.to_vec()))
        .collect()
}

/// Runs one clean process and insists it completed.
fn clean(host: &Host, party: &Party) {
    let out = process(host, party);
    let s = out
        .summary
        .unwrap_or_else(|| panic!("setup run failed: {:?}", out.error));
    assert!(
        s.completed && s.errors == 0,
        "setup run: {s:?} {:?}",
        out.item_errors
    );
}

fn world(host: &Host, party: &Party, protected: BTreeMap<String, Vec<u8>>) -> World {
    World {
        image: host.template.image(),
        state_files: party.state_files(),
        library: party.library.read().expect("library").clone(),
        protected,
    }
}

/// A first sync: a new device (the user's files on it), the partnership created by the run.
pub fn first_sync() -> Scenario {
    let host = host_with_user_files(1 << 20);
    let mut lib = library(1..=8, size_of);
    select(&mut lib, "Mix", &[1, 2, 3, 4, 5], 1);
    select(&mut lib, "More", &[4, 5, 6, 7, 8], 2);
    let party = Party::new(LIBRARY, lib);
    let world = world(&host, &party, user_files());
    Scenario {
        name: "first sync",
        host,
        world,
    }
}

/// A resync after a first sync: two tracks added, one track's bytes changed, one track
/// removed from the library and one from its playlist, one retagged.
pub fn resync_changes() -> Scenario {
    let host = host_with_user_files(1 << 20);
    let mut lib = library(1..=10, size_of);
    select(&mut lib, "Mix", &[1, 2, 3, 4, 5, 6], 1);
    let party = Party::new(LIBRARY, lib);
    clean(&host, &party);
    {
        let mut lib = party.library.write().expect("library");
        let mix = playlist_id(&lib, "Mix");
        let p = lib.playlist_mut(mix).expect("mix");
        p.kind = PlaylistKind::Static([1, 2, 4, 5, 6, 9, 10].map(TrackId).to_vec());
        lib.set_content(TrackId(2), content(200, 777))
            .expect("new bytes");
        lib.remove_track(TrackId(6));
        lib.track_mut(TrackId(5)).expect("track 5").title = "Retitled".into();
    }
    let world = world(&host, &party, user_files());
    Scenario {
        name: "resync",
        host,
        world,
    }
}

/// Eviction: the reserve grows, so the sync deletes lower-priority tracks to make room, and
/// a new higher-priority track comes in.
pub fn eviction() -> Scenario {
    let host = host_with_user_files(44_000);
    let mut lib = library(1..=9, |_| 2_000);
    select(&mut lib, "High", &[1, 2, 3, 4], 1);
    select(&mut lib, "Low", &[5, 6, 7, 8], 2);
    let party = Party::new(LIBRARY, lib);
    clean(&host, &party);
    {
        let mut lib = party.library.write().expect("library");
        let high = playlist_id(&lib, "High");
        let p = lib.playlist_mut(high).expect("high");
        p.kind = PlaylistKind::Static([1, 2, 3, 4, 9].map(TrackId).to_vec());
    }
    set_reserve(&host, &party, "45");
    let world = world(&host, &party, user_files());
    Scenario {
        name: "eviction",
        host,
        world,
    }
}

fn set_reserve(host: &Host, party: &Party, percent: &str) {
    use std::sync::{Arc, RwLock};
    use wmdm::library::Library;
    host.manager.reinitialize().expect("enumerate");
    let lib: Arc<RwLock<dyn Library>> = party.library.clone();
    let services = wmdm::sync::SyncServices::open(
        host.manager.clone(),
        lib,
        party.state.path(),
        party.name,
        Arc::new(host.clock.clone()),
    )
    .expect("services");
    let d = services.device_by_key(super::harness::KEY).expect("device");
    d.set_item_info("PercentSpaceReserved", percent)
        .expect("reserve");
}

/// Playlist rewrites: one playlist's entries change (reordered, one out, one in), another's
/// titles change through a retag, a third is no longer selected (its file goes).
pub fn playlist_rewrites() -> Scenario {
    let host = host_with_user_files(1 << 20);
    let mut lib = library(1..=7, size_of);
    select(&mut lib, "One", &[1, 2, 3, 4], 1);
    select(&mut lib, "Two", &[3, 4, 5], 2);
    select(&mut lib, "Three", &[5, 6], 3);
    let party = Party::new(LIBRARY, lib);
    clean(&host, &party);
    {
        let mut lib = party.library.write().expect("library");
        let one = playlist_id(&lib, "One");
        let p = lib.playlist_mut(one).expect("one");
        p.kind = PlaylistKind::Static([4, 3, 1, 7].map(TrackId).to_vec());
        lib.track_mut(TrackId(5)).expect("track 5").title = "Renamed".into();
        let three = playlist_id(&lib, "Three");
        lib.remove_playlist(three);
    }
    let world = world(&host, &party, user_files());
    Scenario {
        name: "playlist rewrites",
        host,
        world,
    }
}

/// Another library ("Office") takes the device over and syncs; the run under test is the
/// first library coming back: it partners again and syncs the same selection as before.
/// Everything on the device when it comes back is someone else's: it may adopt its own old,
/// byte-identical files, but must change or delete nothing.
pub fn takeover_and_return() -> Scenario {
    let host = host_with_user_files(1 << 20);
    let mut lib = library(1..=6, size_of);
    select(&mut lib, "Mix", &[1, 2, 3, 4, 5, 6], 1);
    let party = Party::new(LIBRARY, lib);
    clean(&host, &party);
    let mut other = MemoryLibrary::new();
    for i in 1..=3u64 {
        other.add_track(
            track(i, "Office Artist", "Office Album"),
            content(100 + i, 400),
        );
    }
    select(&mut other, "Office mix", &[1, 2, 3], 1);
    let office = Party::new("Office", other);
    clean(&host, &office);
    let protected = host
        .template
        .files()
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&format!("{SYNC_FOLDER}/")))
        .collect();
    let world = world(&host, &party, protected);
    Scenario {
        name: "takeover and return",
        host,
        world,
    }
}

/// A first sync where the user has a file at exactly the temporary name the sync would give
/// track 1's copy.
pub fn user_file_at_a_temp_name() -> Scenario {
    let host = host_with_user_files(1 << 20);
    let mut protected = user_files();
    let clash = "Music/Artist 1/Album/01 Song 1.mp3.wmdm-sync-part";
    host.template
        .put_file(clash, b"the user's file, named by chance".to_vec())
        .expect("user file");
    protected.insert(
        clash.to_owned(),
        b"the user's file, named by chance".to_vec(),
    );
    let mut lib = library(1..=3, size_of);
    select(&mut lib, "Mix", &[1, 2, 3], 1);
    let party = Party::new(LIBRARY, lib);
    let world = world(&host, &party, protected);
    Scenario {
        name: "user file at a temp name",
        host,
        world,
    }
}
