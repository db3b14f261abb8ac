//! `--watch`: the main job left running. Partnered devices sync by themselves whenever they
//! appear under the mount roots (or at `--device`), recognised by their identity wherever
//! they are mounted, through the library's sync runtime; a device pulled mid-sync stops
//! cleanly and resumes when it is back; SIGINT or SIGTERM stops every sync between two steps
//! and exits 0.
//!
//! Only devices this library has partnered (with a run without `--watch`) are synced; a
//! folder under a mount root is looked at only when it carries a device identity
//! (`.wmdm/device.id`), so a stick never used with wmdm is left untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, mpsc};
use std::time::Duration;

use wmdm::Error;
use wmdm::library::{FolderLibrary, Library, ScanOptions};
use wmdm::provider::{DeviceRef, ServiceProvider};
use wmdm::providers::fs::{DeviceOptions, Durability, FsDevice};
use wmdm::sync::{
    PlanSettings, RuntimeOptions, SharedLibrary, SyncDeviceStatus, SyncEvent, SyncServices,
    SyncState,
};
use wmdm::time::SystemClock;

use super::report::Failure;
use super::selection::{self, Choice, Layout};

/// Where the device identity lives in a device folder (the folder provider's).
const IDENTITY: &str = ".wmdm/device.id";

/// What `--watch` needs from the command line.
#[derive(Debug)]
pub struct Watch<'a> {
    /// The music folder.
    pub library: &'a Path,
    /// The state folder (library cache, partnership table, certificates).
    pub state: &'a Path,
    /// Folders whose subfolders are devices when they appear (`--mount-root`).
    pub mount_roots: Vec<PathBuf>,
    /// An explicit device folder (`--device`), partnered here if it is not yet.
    pub device: Option<&'a Path>,
    /// What to sync and how to lay it out, as for one run.
    pub choice: Choice<'a>,
    /// See [`Layout`].
    pub layout: Layout<'a>,
    /// The device options (name policy, durability, quota).
    pub options: DeviceOptions,
}

/// The usual mount roots: `/media/$USER`, `/run/media/$USER`, `/Volumes`.
pub fn default_mount_roots() -> Vec<PathBuf> {
    let user = std::env::var("USER").unwrap_or_default();
    let mut roots = Vec::new();
    if !user.is_empty() {
        roots.push(PathBuf::from("/media").join(&user));
        roots.push(PathBuf::from("/run/media").join(&user));
    }
    roots.push(PathBuf::from("/Volumes"));
    roots
}

/// The devices under the mount roots and at `--device`, looked at again on every rescan.
#[derive(Debug)]
struct Mounts {
    roots: Vec<PathBuf>,
    explicit: Option<PathBuf>,
    options: DeviceOptions,
    open: Mutex<BTreeMap<PathBuf, FsDevice>>,
}

impl Mounts {
    /// The folders that are devices now: `--device` when it is a folder, and every
    /// subfolder of a mount root that carries a device identity.
    fn present(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .explicit
            .iter()
            .filter(|d| d.is_dir())
            .cloned()
            .collect();
        for root in &self.roots {
            let Ok(entries) = std::fs::read_dir(root) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !entry.file_name().to_string_lossy().starts_with('.')
                    && path.join(IDENTITY).is_file()
                {
                    out.push(path);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Opens what appeared and disconnects what went away.
    fn rescan(&self) {
        let present = self.present();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|path, device| {
            let here = present.contains(path) && device.root_path().is_dir();
            if !here {
                // Its handles fail as disconnected from now on: a sync in progress stops
                // cleanly, keeping its journal.
                device.disconnect();
            }
            here
        });
        for path in present {
            if open.contains_key(&path) {
                continue;
            }
            match FsDevice::open(&path, self.options.clone()) {
                Ok(d) => {
                    open.insert(path, d);
                }
                Err(e) => tracing::debug!(?path, %e, "not usable as a device"),
            }
        }
    }
}

impl ServiceProvider for Mounts {
    fn device_count(&self) -> wmdm::Result<u32> {
        let n = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn devices(&self) -> wmdm::Result<Vec<DeviceRef>> {
        Ok(self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|d| Arc::new(d.clone()) as DeviceRef)
            .collect())
    }
}

/// The providers watched: the folders under the mount roots, and with the `mtp` feature every
/// MTP device connected by USB (each discovery pass enumerates them again, so a phone plugged
/// in is seen within the poll interval, and one unplugged stops answering).
fn providers(mounts: Arc<Mounts>) -> Vec<Arc<dyn ServiceProvider>> {
    #[allow(unused_mut)]
    let mut out: Vec<Arc<dyn ServiceProvider>> = vec![mounts];
    #[cfg(feature = "mtp")]
    out.push(Arc::new(wmdm::providers::mtp::MtpProvider::new(
        wmdm::providers::mtp::MtpOptions::new(),
    )));
    out
}

/// What the main thread waits for.
enum Wake {
    Event(SyncEvent),
    Signal,
}

/// Runs until SIGINT or SIGTERM. Returns the exit status (0).
pub fn run(w: Watch<'_>) -> Result<u8, Failure> {
    if !w.library.is_dir() {
        return Err(Failure::usage(format!(
            "the library folder {} does not exist",
            w.library.display()
        )));
    }
    let (library, _) = FolderLibrary::open(
        w.library,
        w.state.join("library"),
        Arc::new(SystemClock),
        ScanOptions::default(),
    )
    .map_err(|e| Failure::other("opening the library", e))?;
    println!(
        "library {}: {} tracks, {} playlists",
        w.library.display(),
        library.tracks().len(),
        library.playlists().len()
    );
    let options = w.options.clone().durability(Durability::AtFlush);
    let mounts = Arc::new(Mounts {
        roots: w.mount_roots.clone(),
        explicit: w.device.map(Path::to_path_buf),
        options,
        open: Mutex::new(BTreeMap::new()),
    });
    mounts.rescan();
    // Every party authenticates with the certificate the example ships (examples/certs).
    let manager = super::manager_of(providers(mounts.clone()))
        .map_err(|e| Failure::other("starting the device manager", e))?;
    let library = Arc::new(RwLock::new(library));
    let shared: SharedLibrary = library.clone();
    let services = SyncServices::open(
        manager,
        shared,
        &w.state.join("sync"),
        "wmdm example",
        Arc::new(SystemClock),
    )
    .map_err(|e| Failure::other("opening the partnership table", e))?;
    let (tx, rx) = mpsc::channel();
    // The explicit device is partnered now if it is here and is not yet.
    if let Some(path) = w.device {
        let d = services
            .device(0)
            .map_err(|_| Failure::device(format!("no device at {}", path.display())))?;
        let events = services.events().channel();
        super::device::partner(path, &services, &d, &events, &|s| println!("{s}"))?;
    }
    // Each partnership syncs the chosen selection with the chosen layout.
    for p in services.partnerships().partnerships() {
        selection::select(
            &mut library.write().unwrap_or_else(PoisonError::into_inner),
            &w.choice,
            p.index,
        )?;
        let d = services
            .device_by_key(p.key())
            .map_err(|e| Failure::other("reading the partnership table", e))?;
        d.set_settings(selection::layout(PlanSettings::default(), &w.layout)?);
    }
    if services.partnerships().partnerships().is_empty() {
        println!("no partnered device yet: partner one with a run without --watch");
    }
    {
        let tx = Mutex::new(tx.clone());
        services.events().subscribe(Arc::new(move |e: &SyncEvent| {
            let _ = tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(Wake::Event(e.clone()));
        }));
    }
    {
        let tx = Mutex::new(tx);
        ctrlc::set_handler(move || {
            let _ = tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(Wake::Signal);
        })
        .map_err(|e| {
            Failure::other(
                "installing the signal handler",
                Error::Fail.context(e.to_string()),
            )
        })?;
    }
    let roots: Vec<String> = w
        .mount_roots
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    println!(
        "watching {}{}{} (Ctrl-C to stop)",
        roots.join(", "),
        if cfg!(feature = "mtp") {
            " and MTP devices"
        } else {
            ""
        },
        w.device
            .map(|d| format!(" and {}", d.display()))
            .unwrap_or_default()
    );
    let rescan = mounts.clone();
    let runtime = services
        .start_runtime(
            RuntimeOptions::default()
                .poll_interval(Duration::from_secs(1))
                .rescan(move || rescan.rescan()),
        )
        .map_err(|e| Failure::other("starting the sync runtime", e))?;
    for wake in rx {
        match wake {
            Wake::Signal => break,
            Wake::Event(e) => report(&services, &e),
        }
    }
    println!("stopping: every sync stops between two steps and resumes next time");
    runtime.shutdown();
    println!("stopped");
    Ok(0)
}

/// One line per event that matters to someone watching.
fn report(services: &SyncServices, event: &SyncEvent) {
    let name = |key: &str| {
        services
            .device_by_key(key)
            .map(|d| d.friendly_name())
            .unwrap_or_else(|_| key.to_owned())
    };
    match event {
        SyncEvent::DeviceConnect { device } => {
            let d = services.device_by_key(device).ok();
            let partnered = d
                .as_ref()
                .is_some_and(|d| d.status() == SyncDeviceStatus::PartnershipExists);
            println!(
                "{}: connected{}",
                name(device),
                if partnered {
                    ""
                } else {
                    " (not partnered: left alone)"
                }
            );
        }
        SyncEvent::DeviceDisconnect { device } => println!("{}: removed", name(device)),
        SyncEvent::DeviceSyncStateChange {
            device,
            state: SyncState::Synchronizing,
        } => println!("{}: syncing", name(device)),
        SyncEvent::DeviceSyncStateChange {
            device,
            state: SyncState::Stopped,
        } => {
            let Ok(d) = services.device_by_key(device) else {
                return;
            };
            let s = d.engine().summary();
            if s.completed {
                println!(
                    "{}: synced: {} copied, {} deleted, {} errors",
                    name(device),
                    s.copied,
                    s.deleted,
                    s.errors
                );
            } else {
                println!(
                    "{}: stopped at {}% ({} copied; resumes when it is back)",
                    name(device),
                    d.progress(),
                    s.copied
                );
            }
        }
        SyncEvent::DeviceProgress { device, percent } => {
            println!("{}: {percent}%", name(device));
        }
        SyncEvent::DeviceSyncError {
            device,
            item,
            error,
        } => println!("{}: error: {item:?}: {error}", name(device)),
        _ => {}
    }
}
