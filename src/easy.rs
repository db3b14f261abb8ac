//! The paved path: sync a library to a device in a few lines, with no keys in sight.
//!
//! [`SyncJob`] gathers what a sync needs (a library, a device, the playlists in priority
//! order, where the sync keeps its state); [`SyncJob::open`] builds the layers underneath (the
//! library scan, the provider, an authenticated [`DeviceManager`], [`SyncServices`]) and finds
//! the device; [`Syncer::sync`] partners it when needed, sets the priorities and runs the sync
//! to its end.
//!
//! ```
//! # fn main() -> wmdm::Result<()> {
//! # let dir = tempfile::tempdir()?;
//! # let (music, player, state) = (dir.path().join("Music"), dir.path().join("Player"), dir.path().join("state"));
//! # std::fs::create_dir_all(&music)?; std::fs::create_dir_all(&player)?;
//! # for name in ["a", "b"] { std::fs::write(music.join(format!("{name}.wav")), wmdm::easy::silent_wav(8_000))?; }
//! # std::fs::write(music.join("Morning.m3u8"), "a.wav\n")?;
//! # std::fs::write(music.join("Evening.m3u8"), "b.wav\n")?;
//! let syncer = wmdm::SyncJob::folder(&music)
//!     .to_folder(&player)
//!     .state_dir(&state)
//!     .playlist("Morning") // synced first
//!     .playlist("Evening")
//!     .open()?;
//! let report = syncer.sync(|percent| eprint!("\r{percent}%"))?;
//! println!("{report}");
//! assert_eq!(report.summary.copied, 2);
//! # Ok(()) }
//! ```
//!
//! # Authentication in one process
//!
//! WMDM's layers talk only over an authenticated channel: the application authenticates to the
//! device manager, the manager to each provider. When all three are in this process, the
//! channel protects nothing (they share one address space), so the paved path authenticates
//! with [`EphemeralCredentials`](crate::sac::EphemeralCredentials): a root and certificates
//! made in memory when the process first needs them, which nothing outside it holds. The
//! explicit certificates of [`crate::sac`] stay for the COM path and for providers loaded from
//! elsewhere (`docs/security.md`).
//!
//! Everything underneath stays public: [`Syncer::services`] and [`Syncer::device`] are the
//! WMP-shaped [`SyncServices`] and [`SyncDevice`], and [`DeviceManager`] is the WMDM manager.

use std::fmt;
use std::num::NonZeroU8;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, mpsc};

use crate::error::{Error, Result, ResultExt};
use crate::library::{
    FolderLibrary, Library, MemoryLibrary, Playlist, PlaylistId, ScanOptions, ScanReport,
    parse_auto_playlist,
};
use crate::manager::DeviceManager;
use crate::provider::ServiceProvider;
use crate::providers::fs::{FsConfig, FsProvider};
use crate::sync::{
    PlanSettings, SharedLibrary, SyncDevice, SyncDeviceStatus, SyncEvent, SyncItem, SyncServices,
    SyncSummary,
};
use crate::time::{Clock, SystemClock};

/// A partnership's index on this library: 1 to 16 (WMP's `partnershipIndex`; 0, "none", is
/// not a partnership).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartnershipIndex(NonZeroU8);

impl PartnershipIndex {
    /// The index, 1 to 16.
    pub fn get(self) -> u8 {
        self.0.get()
    }

    /// The index WMP reports as `partnershipIndex`, if it names a partnership (1 to 16).
    pub fn new(index: u8) -> Option<PartnershipIndex> {
        (1..=crate::sync::MAX_PARTNERSHIPS)
            .contains(&index)
            .then(|| NonZeroU8::new(index).map(PartnershipIndex))
            .flatten()
    }
}

impl fmt::Display for PartnershipIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

enum LibrarySource {
    Folder(PathBuf),
    Memory(MemoryLibrary),
}

enum DeviceSource {
    None,
    Folder(PathBuf),
    Provider(Arc<dyn ServiceProvider>),
}

#[derive(Clone, Debug)]
enum Wanted {
    Named(String),
    Auto { name: String, rule: String },
}

impl Wanted {
    fn name(&self) -> &str {
        match self {
            Wanted::Named(n) | Wanted::Auto { name: n, .. } => n,
        }
    }
}

/// What to sync, and where: the builder of the paved path (see the [module docs](self)).
pub struct SyncJob {
    library: LibrarySource,
    device: DeviceSource,
    state: Option<PathBuf>,
    wanted: Vec<Wanted>,
    clock: Arc<dyn Clock>,
    settings: Option<PlanSettings>,
    name: String,
}

impl fmt::Debug for SyncJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncJob")
            .field("state", &self.state)
            .field("playlists", &self.wanted)
            .finish_non_exhaustive()
    }
}

impl SyncJob {
    fn with(library: LibrarySource) -> SyncJob {
        SyncJob {
            library,
            device: DeviceSource::None,
            state: None,
            wanted: Vec::new(),
            clock: Arc::new(SystemClock),
            settings: None,
            name: "wmdm".to_owned(),
        }
    }

    /// Syncs from a music folder ([`FolderLibrary`]: scanned incrementally, real tags, the
    /// playlist files in it).
    pub fn folder(library: impl Into<PathBuf>) -> SyncJob {
        SyncJob::with(LibrarySource::Folder(library.into()))
    }

    /// Syncs from a library held in memory (tests, or a program with its own catalogue).
    pub fn memory(library: MemoryLibrary) -> SyncJob {
        SyncJob::with(LibrarySource::Memory(library))
    }

    /// Syncs to a folder: a mounted player, an SD card, a USB stick ([`FsProvider`]).
    pub fn to_folder(mut self, device: impl Into<PathBuf>) -> SyncJob {
        self.device = DeviceSource::Folder(device.into());
        self
    }

    /// Syncs to the first connected device of `provider` (the memory device, an MTP provider,
    /// your own).
    pub fn to_provider(mut self, provider: Arc<dyn ServiceProvider>) -> SyncJob {
        self.device = DeviceSource::Provider(provider);
        self
    }

    /// Where the library cache and the partnership table live. It must not be inside the
    /// music folder. Default: [`default_state_dir`] of the library folder (a memory library
    /// has no default and needs one).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> SyncJob {
        self.state = Some(dir.into());
        self
    }

    /// Syncs the library's playlist named `name` (compared without case), after those given
    /// before it: the first playlist given has priority 1 and is synced first (WMP's
    /// `Sync01`), so when the device is short of space the later ones are left out first.
    pub fn playlist(mut self, name: impl Into<String>) -> SyncJob {
        self.wanted.push(Wanted::Named(name.into()));
        self
    }

    /// Syncs an auto playlist given as text (`genre = Jazz and rating >= 80 limit 2GB`, see
    /// [`parse_auto_playlist`]), named `name`, at the next priority.
    pub fn auto_playlist(mut self, name: impl Into<String>, rule: impl Into<String>) -> SyncJob {
        self.wanted.push(Wanted::Auto {
            name: name.into(),
            rule: rule.into(),
        });
        self
    }

    /// The layout on the device (path template, name rules, playlist format); default
    /// [`PlanSettings::default`]. The reserve and the filter are the partnership's (set them
    /// through [`Syncer::device`]).
    pub fn settings(mut self, settings: PlanSettings) -> SyncJob {
        self.settings = Some(settings);
        self
    }

    /// The clock auto playlists and certificates read (tests pass a
    /// [`ManualClock`](crate::time::ManualClock)); default the system's.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> SyncJob {
        self.clock = clock;
        self
    }

    /// The library's name in the partnership marker written on the device (WMP shows it for
    /// a device partnered elsewhere); default `wmdm`.
    pub fn library_name(mut self, name: impl Into<String>) -> SyncJob {
        self.name = name.into();
        self
    }

    /// Scans the library, opens the device behind an authenticated device manager, and loads
    /// the partnership table. Nothing is written to the device yet.
    ///
    /// # Errors
    /// * [`Error::InvalidArg`]: no device given ([`to_folder`](Self::to_folder) or
    ///   [`to_provider`](Self::to_provider)); a memory library without a state folder; a
    ///   state folder inside the music folder; an auto playlist whose rule does not parse; a
    ///   playlist name the library does not have.
    /// * [`Error::PathNotFound`]: the music folder does not exist.
    /// * [`Error::NoPda`]: the provider has no connected device (a device folder that does
    ///   not exist, say).
    /// * I/O errors from the state folder; the errors of [`SyncServices::open`].
    pub fn open(self) -> Result<Syncer> {
        let state = match (&self.state, &self.library) {
            (Some(s), _) => s.clone(),
            (None, LibrarySource::Folder(dir)) => default_state_dir(dir)?,
            (None, LibrarySource::Memory(_)) => {
                return Err(Error::InvalidArg
                    .context("opening the sync: a memory library needs a state folder")
                    .subject("SyncJob::state_dir"));
            }
        };
        let provider: Arc<dyn ServiceProvider> = match self.device {
            DeviceSource::None => {
                return Err(Error::InvalidArg
                    .context("opening the sync: no device given")
                    .subject("SyncJob::to_folder or SyncJob::to_provider"));
            }
            DeviceSource::Folder(dir) => {
                if !dir.is_dir() {
                    return Err(Error::NoPda
                        .context("opening the device folder (is the player mounted?)")
                        .path(&dir));
                }
                Arc::new(FsProvider::new(FsConfig::root(dir)))
            }
            DeviceSource::Provider(p) => p,
        };
        let (lib, scan) = match self.library {
            LibrarySource::Folder(dir) => {
                let (lib, scan) = FolderLibrary::open(
                    &dir,
                    state.join("library"),
                    self.clock.clone(),
                    ScanOptions::default(),
                )
                .context("opening the music library")
                .path(&dir)?;
                (Lib::Folder(Arc::new(RwLock::new(lib))), Some(scan))
            }
            LibrarySource::Memory(lib) => (Lib::Memory(Arc::new(RwLock::new(lib))), None),
        };
        // Auto playlists are parsed and named playlists looked up before any device is
        // touched: a typo fails here, not halfway through a sync.
        let mut autos = Vec::new();
        for w in &self.wanted {
            match w {
                Wanted::Auto { name, rule } => {
                    let rule = parse_auto_playlist(rule).map_err(|e| {
                        Error::with_source(crate::ErrorCode::InvalidArg, e.to_string())
                            .context("reading an auto playlist's rule")
                            .subject(format!("{name:?}: {rule:?}"))
                    })?;
                    autos.push(Playlist::new_auto(name.clone(), rule));
                }
                Wanted::Named(name) => {
                    lib.find(name).ok_or_else(|| lib.no_playlist(name))?;
                }
            }
        }
        lib.edit(&mut |l| {
            for p in autos.drain(..) {
                l.add(p);
            }
        });
        let manager = DeviceManager::in_process(vec![provider], self.clock.clone())
            .context("authenticating the device manager and the provider")?;
        let sync_state = state.join("sync");
        let services =
            SyncServices::open(manager, lib.shared(), &sync_state, &self.name, self.clock)
                .context("opening the partnership table")
                .path(&sync_state)?;
        let device = (0..services.device_count())
            .filter_map(|i| services.device(i).ok())
            .find(SyncDevice::connected)
            .ok_or_else(|| {
                Error::NoPda.context("finding the device: the provider lists no connected device")
            })?;
        if let Some(settings) = self.settings {
            device.set_settings(settings);
        }
        let events = Mutex::new(services.events().channel());
        Ok(Syncer {
            services,
            device,
            lib,
            wanted: self.wanted,
            events,
            scan,
        })
    }
}

/// The default state folder of a music folder: a folder per library (its name and a hash of
/// its canonical path) under `$XDG_STATE_HOME/wmdm-sync` (`%LOCALAPPDATA%\wmdm-sync` on
/// Windows, `~/.local/state/wmdm-sync` otherwise): the folder `examples/sync.rs` uses too, so
/// both see the same partnerships.
///
/// # Errors
/// [`Error::PathNotFound`] when the music folder does not exist; [`Error::InvalidArg`] when
/// none of those variables is set.
pub fn default_state_dir(library: &Path) -> Result<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .ok_or(Error::InvalidArg)?;
    let canonical = std::fs::canonicalize(library).map_err(|_| Error::PathNotFound)?;
    // FNV-1a of the path: stable across runs, and short.
    let hash = canonical
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let name: String = canonical
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .take(24)
                .collect()
        })
        .unwrap_or_default();
    Ok(base.join("wmdm-sync").join(format!("{name}-{hash:016x}")))
}

/// The per-user cache folder of wmdm's programs: `$XDG_CACHE_HOME/wmdm-sync`
/// (`%LOCALAPPDATA%\wmdm-sync` on Windows, `~/.cache/wmdm-sync` otherwise), for what depends
/// on the machine rather than on a library (what the installed ffmpeg offers, for example).
/// `None` when none of those variables is set.
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("wmdm-sync"))
}

/// The playlist edits the paved path makes, over either library kind.
trait EditPlaylists {
    fn add(&mut self, playlist: Playlist);
    fn get_mut(&mut self, id: PlaylistId) -> Option<&mut Playlist>;
    fn all(&self) -> Vec<(PlaylistId, String)>;
}

macro_rules! edit_playlists {
    ($t:ty) => {
        impl EditPlaylists for $t {
            fn add(&mut self, playlist: Playlist) {
                self.add_playlist(playlist);
            }
            fn get_mut(&mut self, id: PlaylistId) -> Option<&mut Playlist> {
                self.playlist_mut(id)
            }
            fn all(&self) -> Vec<(PlaylistId, String)> {
                self.playlists()
                    .iter()
                    .map(|p| (p.id, p.name.clone()))
                    .collect()
            }
        }
    };
}
edit_playlists!(FolderLibrary);
edit_playlists!(MemoryLibrary);

enum Lib {
    Folder(Arc<RwLock<FolderLibrary>>),
    Memory(Arc<RwLock<MemoryLibrary>>),
}

impl Lib {
    fn shared(&self) -> SharedLibrary {
        match self {
            Lib::Folder(l) => l.clone(),
            Lib::Memory(l) => l.clone(),
        }
    }

    fn edit<T>(&self, f: &mut dyn FnMut(&mut dyn EditPlaylists) -> T) -> T {
        match self {
            Lib::Folder(l) => f(&mut *l.write().unwrap_or_else(PoisonError::into_inner)),
            Lib::Memory(l) => f(&mut *l.write().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// The error for a playlist name the library does not have, naming the ones it has.
    fn no_playlist(&self, name: &str) -> Error {
        let names = self.edit(&mut |l| l.all().into_iter().map(|(_, n)| n).collect::<Vec<_>>());
        let known = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        Error::InvalidArg
            .context(format!("choosing playlists (the library has: {known})"))
            .subject(format!("playlist {name:?}"))
    }

    fn find(&self, name: &str) -> Option<PlaylistId> {
        self.edit(&mut |l| {
            l.all()
                .into_iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(name))
                .map(|(id, _)| id)
        })
    }

    /// Keeps the priorities across runs (a folder library saves them in its state folder).
    fn save(&self) -> Result<()> {
        match self {
            Lib::Folder(l) => {
                let mut l = l.write().unwrap_or_else(PoisonError::into_inner);
                l.save_playlists()?;
                // The hashes the copies computed: the next run reads no source to learn them.
                l.save_cache_if_stale()
            }
            Lib::Memory(_) => Ok(()),
        }
    }
}

/// A library and a device, ready to partner and sync: what [`SyncJob::open`] gives.
pub struct Syncer {
    services: SyncServices,
    device: SyncDevice,
    lib: Lib,
    wanted: Vec<Wanted>,
    events: Mutex<mpsc::Receiver<SyncEvent>>,
    scan: Option<ScanReport>,
}

impl fmt::Debug for Syncer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Syncer")
            .field("device", &self.device)
            .field("playlists", &self.wanted)
            .finish_non_exhaustive()
    }
}

impl Syncer {
    /// Makes sure this library has a partnership with the device, creating one when needed
    /// (IWMPSyncDevice::createPartnership, waited for), and returns its index. A device
    /// partnered with another library is taken over, as WMP does when the user agrees.
    ///
    /// # Errors
    /// [`Error::PdaManualDevice`] for a device that does not sync; [`Error::TooManySessions`]
    /// when this library has sixteen partnerships already; [`Error::Busy`] while another sync
    /// holds the device; [`Error::NoPda`] when it went away; the device's I/O errors writing
    /// the partnership marker.
    pub fn partner(&self) -> Result<PartnershipIndex> {
        if self.device.status() != SyncDeviceStatus::PartnershipExists {
            let failed = |e: Error| {
                e.context("creating the partnership")
                    .subject(self.device.device_name())
            };
            self.device.create_partnership().map_err(failed)?;
            self.services.poll().map_err(failed)?;
            let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
            for event in events.try_iter() {
                if let SyncEvent::CreatePartnershipComplete {
                    device,
                    result: Err(e),
                } = event
                    && device == self.device.key()
                {
                    return Err(failed(e));
                }
            }
        }
        PartnershipIndex::new(self.device.partnership_index()).ok_or(Error::Unexpected)
    }

    /// Partners the device if needed, gives the playlists their priorities for this
    /// partnership (the job's playlists 1, 2, ... in order; every other playlist none), and
    /// runs the sync to its end, calling `progress` with 0-100 as it goes.
    ///
    /// Item failures (a track that cannot be read, a file the device refuses) do not stop the
    /// sync: they are in the report, with what failed.
    ///
    /// # Errors
    /// The errors of [`partner`](Self::partner) and of
    /// [`SyncDevice::start`](crate::sync::SyncDevice::start): the device went away
    /// ([`Error::NoPda`] or a disconnection), another writer holds it ([`Error::Busy`]), the
    /// sync's own state could not be written on it. Once the sync has started nothing is an
    /// error here: a sync ended early (the device unplugged) has `completed` false.
    pub fn sync(&self, mut progress: impl FnMut(u8)) -> Result<SyncReport> {
        let index = self.partner()?;
        self.select(index)?;
        // Events from before this sync are not its errors.
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_iter()
            .for_each(drop);
        let summary = self
            .device
            .run(&mut progress)
            .context("syncing")
            .subject(self.device.device_name())?;
        let mut failures = Vec::new();
        for event in self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_iter()
        {
            if let SyncEvent::DeviceSyncError { item, error, .. } = event {
                let name = self.item_name(&item);
                failures.push(ItemFailure { item, name, error });
            }
        }
        // A cache or playlist state that cannot be saved costs the next run time, not
        // correctness: the sync itself succeeded.
        if let Err(e) = self.lib.save() {
            tracing::warn!(error = %e, "could not save the library's state");
        }
        Ok(SyncReport {
            partnership: index,
            summary,
            failures,
        })
    }

    /// What a person calls `item`: a track's path in the library, a playlist's name, a
    /// device object's path.
    fn item_name(&self, item: &SyncItem) -> String {
        match item {
            SyncItem::Track(id) => {
                let lib = self.lib.shared();
                let lib = lib.read().unwrap_or_else(PoisonError::into_inner);
                lib.track(*id)
                    .map_or_else(|| format!("track {}", id.0), |t| t.relative_path.clone())
            }
            SyncItem::Playlist(name) => format!("playlist {name}"),
            SyncItem::DeviceObject(path) => path.clone(),
        }
    }

    fn select(&self, index: PartnershipIndex) -> Result<()> {
        let index = index.get();
        let mut order = Vec::new();
        for w in &self.wanted {
            order.push(
                self.lib
                    .find(w.name())
                    .ok_or_else(|| self.lib.no_playlist(w.name()))?,
            );
        }
        self.lib.edit(&mut |l| -> Result<()> {
            for (id, _) in l.all() {
                let priority = order
                    .iter()
                    .position(|o| *o == id)
                    .map_or(0, |n| u32::try_from(n + 1).unwrap_or(u32::MAX));
                if let Some(p) = l.get_mut(id) {
                    p.sync.set_priority(index, priority)?;
                }
            }
            Ok(())
        })
    }

    /// The WMP-shaped sync services underneath (IWMPSyncServices).
    pub fn services(&self) -> &SyncServices {
        &self.services
    }

    /// The device (IWMPSyncDevice): its status, settings, engine, partnership.
    pub fn device(&self) -> &SyncDevice {
        &self.device
    }

    /// The library the services read.
    pub fn library(&self) -> SharedLibrary {
        self.lib.shared()
    }

    /// What the library scan found, for a folder library.
    pub fn scan_report(&self) -> Option<&ScanReport> {
        self.scan.as_ref()
    }
}

/// One item that did not make it (IWMPEvents2::DeviceSyncError).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemFailure {
    /// What failed.
    pub item: SyncItem,
    /// What a person calls it: the track's path in the library, `playlist <name>`, or the
    /// device object's path.
    pub name: String,
    /// Why.
    pub error: Error,
}

/// What [`Syncer::sync`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// The partnership synced.
    pub partnership: PartnershipIndex,
    /// The counts.
    pub summary: SyncSummary,
    /// Each item that failed, in order.
    pub failures: Vec<ItemFailure>,
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        write!(
            f,
            "partnership {}: {} copied, {} updated, {} deleted, {} skipped, {} did not fit, {} failed, {} playlists written, {} bytes",
            self.partnership,
            s.copied,
            s.updated,
            s.deleted,
            s.skipped,
            s.no_fit,
            s.errors,
            s.playlists_written,
            s.bytes_copied
        )?;
        if !s.completed {
            f.write_str(" (stopped before the end; sync again to finish)")?;
        }
        for failure in &self.failures {
            write!(f, "\n  {}: {}", failure.name, failure.error)?;
        }
        Ok(())
    }
}

/// A valid, silent 8-bit mono WAV file of `samples` samples at 8 kHz: a real audio file the
/// library scan reads, for examples and tests that need one without shipping any.
pub fn silent_wav(samples: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(44 + samples as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + samples).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8_000u32.to_le_bytes());
    out.extend_from_slice(&8_000u32.to_le_bytes()); // bytes per second
    out.extend_from_slice(&1u16.to_le_bytes()); // block align
    out.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&samples.to_le_bytes());
    out.resize(44 + samples as usize, 0x80);
    out
}
