//! The crash simulation's machinery: a world at rest (device media, the host's state folder,
//! the library), processes that run a sync over it as a host does, a crash at a chosen device
//! mutation, a reboot, and the invariants checked afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, RwLock};

use super::common;
use super::common::sync::{find_ledger, is_sync_temp, memory_manager, player};
use wmdm::Error;
use wmdm::library::{Library, MemoryLibrary, TrackId};
use wmdm::manager::DeviceManager;
use wmdm::providers::memory::{
    DeviceImage, FaultPlan, MemoryDevice, MemoryProvider, StorageConfig,
};
use wmdm::sync::{
    Ledger, OwnedKind, PARTNERSHIPS_FILE_NAME, PartnershipTable, SYNC_FOLDER, SyncDeviceStatus,
    SyncEvent, SyncServices, SyncSummary,
};
use wmdm::time::ManualClock;

pub const SERIAL: &str = "CRASH1";
/// The device's sync key: its serial (a partnership follows the device, not a path).
pub const KEY: &str = SERIAL;

/// The host side that outlives processes: the clock, the provider (the bus the device is
/// plugged into) and one authenticated manager (a new process enumerates afresh through
/// [`DeviceManager::reinitialize`]; authenticating again per process would only cost time).
pub struct Host {
    pub clock: ManualClock,
    pub provider: Arc<MemoryProvider>,
    pub manager: DeviceManager,
    /// The device as first built: its configuration is what every reboot reuses.
    pub template: MemoryDevice,
}

thread_local! {
    static RENAMES_REFUSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// From now on, hosts built on this thread (each test builds and explores its scenarios on
/// its own thread) have a device whose medium refuses renames and moves, as an MTP player
/// mounted through FUSE does (`StorageConfig::no_rename`; it holds across every reboot).
pub fn refuse_renames() {
    RENAMES_REFUSED.with(|r| r.set(true));
}

impl Host {
    pub fn new(capacity: u64) -> Host {
        let clock = common::clock();
        let template = if RENAMES_REFUSED.with(std::cell::Cell::get) {
            MemoryDevice::builder(format!("Player {SERIAL}"))
                .serial(SERIAL)
                .storage(StorageConfig::new("Internal", capacity).no_rename())
                .build()
                .expect("device")
        } else {
            player(SERIAL, capacity)
        };
        let provider = Arc::new(MemoryProvider::new().with_device(template.clone()));
        let manager = memory_manager(provider.clone(), &clock);
        Host {
            clock,
            provider,
            manager,
            template,
        }
    }

    /// Unplugs whatever device instance is on the bus and plugs `device` in.
    pub fn plug(&self, device: &MemoryDevice) {
        while self.provider.remove_device(SERIAL).is_some() {}
        self.provider.add_device(device.clone());
    }
}

/// A library with its own state folder on the host.
pub struct Party {
    pub name: &'static str,
    pub library: Arc<RwLock<MemoryLibrary>>,
    pub state: tempfile::TempDir,
}

impl Party {
    pub fn new(name: &'static str, library: MemoryLibrary) -> Party {
        Party {
            name,
            library: Arc::new(RwLock::new(library)),
            state: state_dir(),
        }
    }

    /// This library's id as its state folder records it (what a new process reads): the id
    /// its ledger on the device carries (`ledger-<library id>.txt`, invariant J8). `None`
    /// before a process has created the folder's partnership table.
    pub fn library_id(&self) -> Option<String> {
        let bytes = std::fs::read(self.state.path().join(PARTNERSHIPS_FILE_NAME)).ok()?;
        PartnershipTable::parse(&bytes).ok().map(|t| t.library_id)
    }

    /// The state folder's files, to start other processes from.
    pub fn state_files(&self) -> BTreeMap<String, Vec<u8>> {
        read_dir_files(self.state.path())
    }

    /// A party with a copy of this one's library and state folder.
    pub fn fork(
        name: &'static str,
        library: &MemoryLibrary,
        files: &BTreeMap<String, Vec<u8>>,
    ) -> Party {
        let p = Party::new(name, library.clone());
        for (n, b) in files {
            std::fs::write(p.state.path().join(n), b).expect("write state file");
        }
        p
    }
}

/// A temporary state folder. The host's state files are synced when written; thousands of
/// processes would spend most of their time waiting for the disk, so a memory-backed folder
/// is used where the host has one (the results are the same: the simulation does not crash
/// the host).
fn state_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::Builder::new()
            .prefix("wmdm-crash")
            .tempdir_in(shm)
    {
        return d;
    }
    tempfile::tempdir().expect("tempdir")
}

fn read_dir_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("state folder").flatten() {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            let bytes = std::fs::read(e.path()).expect("state file");
            out.insert(e.file_name().to_string_lossy().into_owned(), bytes);
        }
    }
    out
}

/// What one process did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub summary: Option<SyncSummary>,
    pub error: Option<Error>,
    pub item_errors: Vec<String>,
}

/// One process of a host: opens the sync services over the party's state folder, partners
/// the device when this library is not its partner (as examples/sync does), and runs a sync to
/// its end.
pub fn process(host: &Host, party: &Party) -> Outcome {
    let mut item_errors = Vec::new();
    let result = (|| -> Result<SyncSummary, Error> {
        host.manager.reinitialize()?;
        let lib: Arc<RwLock<dyn Library>> = party.library.clone();
        let services = SyncServices::open(
            host.manager.clone(),
            lib,
            party.state.path(),
            party.name,
            Arc::new(host.clock.clone()),
        )?;
        let events = services.events().channel();
        let d = services.device_by_key(KEY)?;
        if d.status() != SyncDeviceStatus::PartnershipExists {
            d.create_partnership()?;
            services.poll()?;
            for e in events.try_iter() {
                if let SyncEvent::CreatePartnershipComplete { result: Err(e), .. } = e {
                    return Err(e);
                }
            }
        }
        let s = d.run(&mut |_| {})?;
        for e in events.try_iter() {
            if let SyncEvent::DeviceSyncError { item, error, .. } = e {
                item_errors.push(format!("{item:?}: {error}"));
            }
        }
        Ok(s)
    })();
    let (summary, error) = match result {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e)),
    };
    Outcome {
        summary,
        error,
        item_errors,
    }
}

/// The skipped set of the party's partnership with the device, read as a new process would.
pub fn skipped_files(host: &Host, party: &Party) -> Result<Vec<u64>, Error> {
    host.manager.reinitialize()?;
    let lib: Arc<RwLock<dyn Library>> = party.library.clone();
    let services = SyncServices::open(
        host.manager.clone(),
        lib,
        party.state.path(),
        party.name,
        Arc::new(host.clock.clone()),
    )?;
    let table = services.partnerships();
    let p = table.for_device(KEY).ok_or(Error::Unexpected)?;
    Ok(p.skipped.iter().map(|t| t.0).collect())
}

/// The world a run under test starts from.
#[derive(Clone)]
pub struct World {
    pub image: DeviceImage,
    pub state_files: BTreeMap<String, Vec<u8>>,
    pub library: MemoryLibrary,
    /// Files that are not the library's to touch (the user's, another library's): they must
    /// be there afterwards, byte for byte.
    pub protected: BTreeMap<String, Vec<u8>>,
    /// The tracks the user deleted from the device: the partnership's skipped set afterwards.
    pub user_deleted: BTreeSet<u64>,
}

/// One invariant broken at one crash point.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    pub class: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.detail)
    }
}

fn v(out: &mut Vec<Violation>, class: &'static str, detail: impl Into<String>) {
    out.push(Violation {
        class,
        detail: detail.into(),
    });
}

/// The tracks (id and bytes) a clean run leaves on the device, by the party's ledger.
pub fn owned_tracks(device: &MemoryDevice, party: &Party) -> BTreeSet<u64> {
    read_ledger(device, party)
        .ok()
        .map(|l| {
            l.entries
                .values()
                .filter(|e| e.kind == OwnedKind::Track)
                .map(|e| e.id)
                .collect()
        })
        .unwrap_or_default()
}

/// The party's own ledger on the device (other libraries' ledgers may be there too).
fn read_ledger(device: &MemoryDevice, party: &Party) -> Result<Ledger, String> {
    let id = party
        .library_id()
        .ok_or("no library id in the party's state folder")?;
    find_ledger(device.files(), Some(&id))?
        .map(|(_, l)| l)
        .ok_or_else(|| format!("no ledger of library {id} on the device"))
}

/// Checks the device against every invariant after the sync ran to completion.
///
/// `party` is the library whose sync ran (its ledger is the one checked); `expected` is the
/// set of track ids a clean run left on the device (None for the clean run itself);
/// `library` is the library the sync ran against.
pub fn check_world(
    device: &MemoryDevice,
    party: &Party,
    world: &World,
    library: &MemoryLibrary,
    expected: Option<&BTreeSet<u64>>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let files = device.files();
    let snapshot = device.snapshot();
    let ledger = match read_ledger(device, party) {
        Ok(l) => l,
        Err(e) => {
            v(&mut out, "ledger missing or unreadable", e);
            Ledger::default()
        }
    };
    for e in ledger.entries.values() {
        match snapshot.get(&e.path) {
            None => v(&mut out, "ledger entry without its file", e.path.clone()),
            Some(s) if s.is_folder => v(&mut out, "ledger entry is a folder", e.path.clone()),
            Some(s) => {
                if s.size != e.size || e.unique_id.is_empty() || s.unique_id != e.unique_id {
                    v(
                        &mut out,
                        "ledger entry does not match its file (size/uid)",
                        format!(
                            "{}: ledger {} bytes uid {:?}, device {} bytes uid {:?}",
                            e.path, e.size, e.unique_id, s.size, s.unique_id
                        ),
                    );
                }
            }
        }
    }
    let state_prefix = format!("{SYNC_FOLDER}/");
    for (path, bytes) in &files {
        if let Some(name) = path.strip_prefix(&state_prefix) {
            // A clean end leaves no twin, journal, commit or intent record (J4: spent records
            // go).
            if name.ends_with(".new")
                || name.contains("journal")
                || name.starts_with("commit-")
                || name.starts_with("intent-")
                || name.ends_with(".part")
                || name.ends_with(".tmp")
            {
                v(&mut out, "sync state temp or journal left", path.clone());
            }
            continue;
        }
        if path.starts_with(".wmdm/") {
            continue; // a provider's own folder (the memory device has none)
        }
        if ledger.entries.contains_key(path) {
            continue;
        }
        match world.protected.get(path) {
            Some(b) if b == bytes => {}
            Some(_) => {} // reported below as a changed user file
            None if is_sync_temp(path) => v(&mut out, "temporary file left", path.clone()),
            None => v(
                &mut out,
                "file neither in the ledger nor the user's",
                path.clone(),
            ),
        }
    }
    for (path, bytes) in &world.protected {
        match files.get(path) {
            None => v(&mut out, "user file deleted", path.clone()),
            Some(b) if b != bytes => v(&mut out, "user file changed", path.clone()),
            Some(_) => {}
        }
    }
    for path in files.keys() {
        if path.contains(" (2)") && !world.protected.contains_key(path) {
            v(&mut out, "\"(2)\" duplicate", path.clone());
        }
    }
    // Every owned track holds the library's bytes, once.
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for e in ledger
        .entries
        .values()
        .filter(|e| e.kind == OwnedKind::Track)
    {
        *seen.entry(e.id).or_default() += 1;
        if let (Some(bytes), Some(want)) = (files.get(&e.path), track_bytes(library, e.id))
            && *bytes != want
        {
            v(&mut out, "owned track holds other bytes", e.path.clone());
        }
    }
    for (id, n) in &seen {
        if *n > 1 {
            v(
                &mut out,
                "track owned twice",
                format!("track {id}: {n} entries"),
            );
        }
    }
    if let Some(expected) = expected {
        for id in expected {
            if !seen.contains_key(id) {
                v(
                    &mut out,
                    "selected track that fits is missing",
                    format!("track {id}"),
                );
            }
        }
        for id in seen.keys() {
            if !expected.contains(id) {
                v(
                    &mut out,
                    "track a clean run does not keep",
                    format!("track {id}"),
                );
            }
        }
    }
    out
}

/// Checks the two processes after the crash: the first completes, the second does nothing.
pub fn check_runs(first: &Outcome, second: &Outcome) -> Vec<Violation> {
    let mut out = Vec::new();
    match (&first.summary, &first.error) {
        (Some(s), _) if s.completed && s.errors == 0 => {}
        (Some(s), _) => v(
            &mut out,
            "recovery run did not complete cleanly",
            format!(
                "completed={} errors={} {:?}",
                s.completed, s.errors, first.item_errors
            ),
        ),
        (None, e) => v(&mut out, "recovery run failed", format!("{e:?}")),
    }
    match &second.summary {
        Some(s)
            if s.completed
                && s.errors == 0
                && (s.copied, s.updated, s.deleted, s.playlists_written) == (0, 0, 0, 0) => {}
        Some(s) => v(
            &mut out,
            "second run after recovery is not a no-op",
            format!(
                "copied={} updated={} deleted={} playlists={} errors={} {:?}",
                s.copied, s.updated, s.deleted, s.playlists_written, s.errors, second.item_errors
            ),
        ),
        None => v(&mut out, "second run failed", format!("{:?}", second.error)),
    }
    out
}

fn track_bytes(library: &MemoryLibrary, id: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    library.open(TrackId(id)).ok()?.read_to_end(&mut out).ok()?;
    Some(out)
}

/// A fresh device over `image`, with `plan`, plugged into the host.
pub fn boot(host: &Host, image: &DeviceImage, plan: FaultPlan) -> MemoryDevice {
    let d = host.template.restart_from(image);
    d.set_fault_plan(plan);
    host.plug(&d);
    d
}
