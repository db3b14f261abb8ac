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
    f.sync_device().create_partnership(false).expect("create");
    f.services.poll().expect("poll");
    f.drain();
    f
}
