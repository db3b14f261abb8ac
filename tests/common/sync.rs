//! Sync fixtures: an authenticated manager over a memory device, a memory library, and sync
//! services in a temporary state folder, built in one call.

use std::sync::{Arc, RwLock, mpsc};

use wmdm::library::{Library, MemoryLibrary, Playlist, PlaylistId, Track, TrackId};
use wmdm::manager::DeviceManager;
use wmdm::providers::memory::{MemoryDevice, MemoryProvider, StorageConfig};
use wmdm::sac::Role;
use wmdm::sync::{SyncDevice, SyncEvent, SyncServices};
use wmdm::time::ManualClock;

/// An authenticated manager serving one provider.
pub fn manager_with(
    provider: Arc<dyn wmdm::provider::ServiceProvider>,
    clock: &ManualClock,
) -> DeviceManager {
    let mgr = DeviceManager::new(super::config(Role::Manager, 20, Role::Application, clock))
        .expect("manager");
    mgr.add_provider(super::wrap_provider(provider, clock))
        .expect("add provider");
    mgr.authenticate(super::app_config(clock))
        .expect("app authenticates");
    mgr
}

/// An authenticated manager serving one memory provider.
pub fn memory_manager(provider: Arc<MemoryProvider>, clock: &ManualClock) -> DeviceManager {
    let mgr = DeviceManager::new(super::config(Role::Manager, 20, Role::Application, clock))
        .expect("manager");
    mgr.add_provider(super::wrap_provider(provider, clock))
        .expect("add provider");
    mgr.authenticate(super::app_config(clock))
        .expect("app authenticates");
    mgr
}

/// A device with one storage of `capacity` bytes.
pub fn player(serial: &str, capacity: u64) -> MemoryDevice {
    MemoryDevice::builder(format!("Player {serial}"))
        .serial(serial)
        .storage(StorageConfig::new("Internal", capacity))
        .build()
        .expect("device")
}

/// Deterministic bytes for track `i`, `size` long.
pub fn content(i: u64, size: usize) -> Vec<u8> {
    (0..size)
        .map(|j| ((j as u64 * 31 + i * 7) % 251) as u8)
        .collect()
}

/// A track with full tags.
pub fn track(i: u64, artist: &str, album: &str) -> Track {
    let mut t = Track::new(TrackId(i), format!("{artist}/{album}/{i:02}.mp3"));
    t.title = format!("Song {i}");
    t.artist = artist.into();
    t.album = album.into();
    t.track_number = Some(i as u32);
    t
}

pub struct Fixture {
    pub clock: ManualClock,
    pub provider: Arc<MemoryProvider>,
    pub device: MemoryDevice,
    pub manager: DeviceManager,
    pub library: Arc<RwLock<MemoryLibrary>>,
    pub state: tempfile::TempDir,
    pub services: SyncServices,
    pub events: mpsc::Receiver<SyncEvent>,
}

impl Fixture {
    pub fn sync_device(&self) -> SyncDevice {
        self.services
            .device_by_key(&self.device.serial())
            .expect("device known")
    }

    pub fn drain(&self) -> Vec<SyncEvent> {
        self.events.try_iter().collect()
    }

    pub fn lib(&self) -> std::sync::RwLockWriteGuard<'_, MemoryLibrary> {
        self.library.write().unwrap()
    }

    /// Adds a static playlist selected for partnership 1 at `priority`.
    pub fn select(&self, name: &str, tracks: &[u64], priority: u32) -> PlaylistId {
        let mut p = Playlist::new_static(name, tracks.iter().map(|i| TrackId(*i)).collect());
        p.sync.set_priority(1, priority).unwrap();
        let id = p.id;
        self.lib().add_playlist(p);
        id
    }

    /// Files on the device, without sync's own folder.
    pub fn content_files(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        self.device
            .files()
            .into_iter()
            .filter(|(p, _)| !p.starts_with(".wmdm-sync/"))
            .collect()
    }
}

/// Opens sync services over an existing manager and library in `state`.
pub fn services(
    manager: &DeviceManager,
    library: &Arc<RwLock<MemoryLibrary>>,
    state: &std::path::Path,
    name: &str,
    clock: &ManualClock,
) -> SyncServices {
    let lib: Arc<RwLock<dyn Library>> = library.clone();
    SyncServices::open(manager.clone(), lib, state, name, Arc::new(clock.clone()))
        .expect("services")
}

/// A library of `n` tracks of `size` bytes (ids 1..=n), a device of `capacity`, services, no
/// partnership yet.
pub fn fixture_new_device(n: u64, size: usize, capacity: u64) -> Fixture {
    let clock = super::clock();
    let device = player("S1", capacity);
    let provider = Arc::new(MemoryProvider::new().with_device(device.clone()));
    let manager = memory_manager(provider.clone(), &clock);
    let mut lib = MemoryLibrary::new();
    for i in 1..=n {
        lib.add_track(
            track(i, &format!("Artist {}", i % 3), "Album"),
            content(i, size),
        );
    }
    let library = Arc::new(RwLock::new(lib));
    let state = tempfile::tempdir().expect("tempdir");
    let services = services(&manager, &library, state.path(), "Home", &clock);
    let events = services.events().channel();
    Fixture {
        clock,
        provider,
        device,
        manager,
        library,
        state,
        services,
        events,
    }
}

/// As [`fixture_new_device`], with the partnership created and its events drained.
pub fn fixture_partnered_device(n: u64, size: usize, capacity: u64) -> Fixture {
    let f = fixture_new_device(n, size, capacity);
    f.sync_device().create_partnership().expect("create");
    f.services.poll().expect("poll");
    f.drain();
    f
}

/// The sync's own folder on a device, as paths in [`MemoryDevice::files`] spell it.
const STATE_PREFIX: &str = ".wmdm-sync/";

/// A library's ledger among a device's files (paths relative to the device root), read as the
/// sync reads its state files (docs/sync.md, "State files"): `.wmdm-sync/ledger-<library>.txt`,
/// else its lone `.new` twin. Ledgers are per library (invariant J8); the one wanted is found by
/// the library id written inside it, so this does not depend on how a file name spells the id.
/// With `library_id` `None` the device must hold at most one ledger. An older version's
/// `ledger.txt` is not a per-library ledger and is never returned.
///
/// `Ok(None)` when there is none; errors name what failed: several, or one that does not parse.
pub fn find_ledger<P, B>(
    files: impl IntoIterator<Item = (P, B)>,
    library_id: Option<&str>,
) -> Result<Option<(String, wmdm::sync::Ledger)>, String>
where
    P: AsRef<str>,
    B: AsRef<[u8]>,
{
    let mut by_name: std::collections::BTreeMap<String, (String, Vec<u8>)> = Default::default();
    for (path, bytes) in files {
        let path = path.as_ref();
        let Some(name) = path.strip_prefix(STATE_PREFIX) else {
            continue;
        };
        if !name.starts_with("ledger-") {
            continue;
        }
        let (base, twin) = match name.strip_suffix(".new") {
            Some(base) => (base, true),
            None => (name, false),
        };
        if !base.ends_with(".txt") {
            continue;
        }
        // The committed file wins over its twin.
        if twin && by_name.contains_key(base) {
            continue;
        }
        by_name.insert(base.to_owned(), (path.to_owned(), bytes.as_ref().to_vec()));
    }
    let mut found = Vec::new();
    for (path, bytes) in by_name.into_values() {
        let ledger = wmdm::sync::Ledger::parse(&bytes)
            .map_err(|e| format!("unreadable ledger {path}: {e}"))?;
        if library_id.is_none_or(|id| ledger.library_id == id) {
            found.push((path, ledger));
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(format!(
            "{} ledgers on the device: {:?}",
            found.len(),
            found.iter().map(|(p, _)| p).collect::<Vec<_>>()
        )),
    }
}

/// True when the last component of `path` is one of the sync's temporary names
/// (`.wmdm-sync-<16 hex session>-<8 hex sequence>.part`, [`wmdm::sync::temp_name`]).
pub fn is_sync_temp(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some(rest) = name
        .strip_prefix(".wmdm-sync-")
        .and_then(|r| r.strip_suffix(".part"))
    else {
        return false;
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    rest.split_once('-')
        .is_some_and(|(session, seq)| hex(session, 16) && hex(seq, 8))
}
