//! The worlds the crash simulation starts from: each is the state just before the run under
//! test (device media, the library's state folder, the library), reached by clean runs.

use std::collections::{BTreeMap, BTreeSet};

use super::common::sync::{content, track};
use super::harness::{Host, Party, World, process};
use wmdm::fuzzing::{STATE_ROOM_BASE, STATE_ROOM_PER_ITEM};
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
        b"a user file named like an older version's sync temp file",
    ),
    (
        "Music/.wmdm-sync-0123456789abcdef-00000000.part",
        b"a user file named like a sync temp file (J3)",
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
        user_deleted: BTreeSet::new(),
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

/// A first sync where the user has files named like the sync's temporary files in the folder
/// the copies go to: the temporary name an older version gave track 1's copy, and one of the
/// shape temporary names have now (`.wmdm-sync-<session>-<sequence>.part`, J3; the session is
/// random per run, so no run picks that very name, but recovery must not delete it either).
pub fn user_file_at_a_temp_name() -> Scenario {
    let host = host_with_user_files(1 << 20);
    let mut protected = user_files();
    for clash in [
        "Music/Artist 1/Album/01 Song 1.mp3.wmdm-sync-part",
        "Music/Artist 1/Album/.wmdm-sync-00000000000000ff-00000000.part",
    ] {
        host.template
            .put_file(clash, b"the user's file, named by chance".to_vec())
            .expect("user file");
        protected.insert(
            clash.to_owned(),
            b"the user's file, named by chance".to_vec(),
        );
    }
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

/// Eviction on a full device (the issue's "kill -9 while a sync deletes on a device over its
/// quota"): after a first sync another program fills the device to its last 4 KiB, room for
/// the sync's journal but not for its tracks, so the sync must journal (J1) and then delete
/// owned tracks to get back under its quota, and rewrites both playlists. (A device filled to
/// its last byte leaves no room even for the journal: then the sync does not start and changes
/// nothing, J1; `tests/sync_recovery.rs` checks that case.)
pub fn eviction_on_a_full_device() -> Scenario {
    const JOURNAL_ROOM: u64 = 4096;
    let capacity = 40_000;
    let host = host_with_user_files(capacity);
    let mut lib = library(1..=8, |_| 2_000);
    select(&mut lib, "High", &[1, 2, 3, 4], 1);
    select(&mut lib, "Low", &[5, 6, 7, 8], 2);
    let party = Party::new(LIBRARY, lib);
    clean(&host, &party);
    let mut protected = user_files();
    let free = capacity - host.template.used_bytes(0) - JOURNAL_ROOM;
    let filler = vec![0x5a; usize::try_from(free).expect("size")];
    host.template
        .put_file("Video/big.wmv", filler.clone())
        .expect("filler");
    protected.insert("Video/big.wmv".into(), filler);
    let world = world(&host, &party, protected);
    Scenario {
        name: "eviction on a full device",
        host,
        world,
    }
}

/// A first sync with one track of three transfer chunks, so a copy spans several writes.
pub fn first_sync_with_a_large_track() -> Scenario {
    let host = host_with_user_files(4 << 20);
    let mut lib = library(1..=3, |i| if i == 2 { 600 * 1024 } else { size_of(i) });
    select(&mut lib, "Mix", &[1, 2, 3], 1);
    let party = Party::new(LIBRARY, lib);
    let world = world(&host, &party, user_files());
    Scenario {
        name: "first sync, large track",
        host,
        world,
    }
}

/// splitmix64: a small deterministic generator, so a seed names one scenario forever.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_c4a5_11ed_0001)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick(&mut self, n: u64, k: usize) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        while out.len() < k.min(n as usize) {
            let x = 1 + self.below(n);
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out
    }
}

/// A resync built from a seed: 12 tracks in three playlists, a clean first sync, then a
/// random mix of changes (tracks added to and removed from playlists, new bytes, tracks gone
/// from the library, retags, a playlist reordered or no longer selected, a larger reserve).
pub fn random_resync(seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let n = 14;
    // Room for the sync's own state (invariant J2: a base plus a share per selected track and
    // playlist, at most 14 + 3 here) and 5,000-21,000 bytes of media: from a device where
    // few tracks fit to one where all do.
    let capacity = STATE_ROOM_BASE + STATE_ROOM_PER_ITEM * 17 + 5_000 + rng.below(16_000);
    let host = host_with_user_files(capacity);
    let mut lib = library(1..=n, |i| 300 + ((i * 7919 + seed * 31) % 1500) as usize);
    select(&mut lib, "A", &rng.pick(10, 4), 1);
    select(&mut lib, "B", &rng.pick(10, 4), 2);
    select(&mut lib, "C", &rng.pick(10, 3), 3);
    let party = Party::new(LIBRARY, lib);
    clean(&host, &party);
    let mut reserve = None;
    {
        let mut lib = party.library.write().expect("library");
        for _ in 0..(2 + rng.below(4)) {
            let name = ["A", "B", "C"][rng.below(3) as usize];
            let Some(id) = lib_playlist(&lib, name) else {
                continue;
            };
            match rng.below(8) {
                0 | 1 => {
                    // A track joins the playlist (maybe one never synced).
                    let t = TrackId(1 + rng.below(n));
                    if let Some(p) = lib.playlist_mut(id)
                        && let PlaylistKind::Static(v) = &mut p.kind
                    {
                        v.push(t);
                    }
                }
                2 => {
                    if let Some(p) = lib.playlist_mut(id)
                        && let PlaylistKind::Static(v) = &mut p.kind
                        && !v.is_empty()
                    {
                        let at = rng.below(v.len() as u64) as usize;
                        v.remove(at);
                    }
                }
                3 => {
                    let t = 1 + rng.below(10);
                    let size = 200 + rng.below(1500) as usize;
                    let _ = lib.set_content(TrackId(t), content(1000 + seed * 16 + t, size));
                }
                4 => {
                    lib.remove_track(TrackId(1 + rng.below(10)));
                }
                5 => {
                    if let Some(t) = lib.track_mut(TrackId(1 + rng.below(10))) {
                        t.title = format!("Retitled {seed}");
                    }
                }
                6 => {
                    if let Some(p) = lib.playlist_mut(id)
                        && let PlaylistKind::Static(v) = &mut p.kind
                    {
                        v.reverse();
                    }
                }
                _ => {
                    if rng.below(2) == 0 {
                        lib.remove_playlist(id);
                    } else {
                        reserve = Some(format!("{}", 10 + rng.below(40)));
                    }
                }
            }
        }
    }
    if let Some(r) = reserve {
        set_reserve(&host, &party, &r);
    }
    let world = world(&host, &party, user_files());
    Scenario {
        name: "random resync",
        host,
        world,
    }
}

fn lib_playlist(lib: &MemoryLibrary, name: &str) -> Option<wmdm::library::PlaylistId> {
    use wmdm::library::Library;
    lib.playlists()
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.id)
}

/// The user deleted two owned tracks from the device since the last sync (WMP 12 skipped
/// files); the resync also copies a new track and retags one. Afterwards the skipped set must
/// be exactly the user's two deletes, whatever the crash.
pub fn user_deleted_tracks() -> Scenario {
    let host = host_with_user_files(1 << 20);
    let mut lib = library(1..=7, size_of);
    select(&mut lib, "Mix", &[1, 2, 3, 4, 5, 6], 1);
    let party = Party::new(LIBRARY, lib);
    clean(&host, &party);
    for path in [
        "Music/Artist 0/Album/03 Song 3.mp3",
        "Music/Artist 2/Album/05 Song 5.mp3",
    ] {
        let obj = host.template.handle(path).expect("owned track");
        obj.delete(false, &mut wmdm::provider::NoProgress)
            .expect("the user deletes it");
    }
    {
        let mut lib = party.library.write().expect("library");
        let mix = playlist_id(&lib, "Mix");
        let p = lib.playlist_mut(mix).expect("mix");
        p.kind = PlaylistKind::Static([1, 2, 3, 4, 5, 6, 7].map(TrackId).to_vec());
        lib.track_mut(TrackId(4)).expect("track 4").title = "Retitled".into();
    }
    let mut world = world(&host, &party, user_files());
    world.user_deleted = [3, 5].into_iter().collect();
    Scenario {
        name: "user deleted tracks",
        host,
        world,
    }
}
