//! [`FsProvider`]: configured roots and discovered mount points, polled for changes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::provider::{DeviceRef, ServiceProvider};

use super::DeviceOptions;
use super::device::FsDevice;

/// Where the provider finds devices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsConfig {
    /// Folders that are devices whenever they exist.
    pub roots: Vec<PathBuf>,
    /// A parent folder whose subfolders are devices (for example `/media/USER` or
    /// `/run/media/USER`).
    pub discover_under: Option<PathBuf>,
    /// Only count subfolders of [`discover_under`](FsConfig::discover_under) that are mount
    /// points: on Unix, folders on another file system than the parent; on Windows, volume
    /// mount points (folders that open the root of another volume; a junction to a folder on
    /// some volume is not one). Elsewhere every subfolder counts.
    pub mounts_only: bool,
    /// Options for every device.
    pub options: DeviceOptions,
}

impl FsConfig {
    /// A configuration with one root.
    pub fn root(path: impl Into<PathBuf>) -> FsConfig {
        FsConfig {
            roots: vec![path.into()],
            ..FsConfig::default()
        }
    }

    /// Adds a root.
    pub fn with_root(mut self, path: impl Into<PathBuf>) -> FsConfig {
        self.roots.push(path.into());
        self
    }

    /// Discovers devices under `parent`.
    pub fn discover(mut self, parent: impl Into<PathBuf>, mounts_only: bool) -> FsConfig {
        self.discover_under = Some(parent.into());
        self.mounts_only = mounts_only;
        self
    }

    /// Sets the device options.
    pub fn options(mut self, options: DeviceOptions) -> FsConfig {
        self.options = options;
        self
    }
}

/// A change [`FsProvider::poll`] noticed.
#[derive(Clone, Debug)]
pub enum DeviceEvent {
    /// A device appeared (WMDM's device-arrival notification).
    Arrived {
        /// The folder it was found at, as configured or discovered.
        root: PathBuf,
        /// The device.
        device: FsDevice,
    },
    /// A device went away (WMDM's device-removal notification); its handles now fail with
    /// [`Error::DeviceNotConnected`](crate::Error::DeviceNotConnected).
    Removed {
        /// The folder it was found at.
        root: PathBuf,
        /// Its serial number.
        serial: String,
    },
}

/// IMDServiceProvider for folder devices.
///
/// The provider never starts a thread: [`poll`](FsProvider::poll) looks at the configured roots
/// and the discovery folder and reports what changed since the last look, and
/// [`devices`](ServiceProvider::devices) lists what the last look found. Construction looks once,
/// so a new provider already lists the devices present.
#[derive(Debug)]
pub struct FsProvider {
    config: FsConfig,
    devices: Mutex<BTreeMap<PathBuf, FsDevice>>,
}

use crate::sys::volume::is_mount_point;

/// Subfolders discovery skips: dot folders, and on Windows hidden or system ones such as
/// `System Volume Information` and `$RECYCLE.BIN`.
fn is_hidden(entry: &fs::DirEntry) -> bool {
    entry.file_name().to_string_lossy().starts_with('.')
        || crate::sys::volume::is_hidden_or_system(entry)
}

impl FsProvider {
    /// A provider for `config`, with the devices present now.
    pub fn new(config: FsConfig) -> FsProvider {
        let p = FsProvider {
            config,
            devices: Mutex::new(BTreeMap::new()),
        };
        let _ = p.poll();
        p
    }

    /// The folders that are devices right now.
    fn present(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .config
            .roots
            .iter()
            .filter(|r| r.is_dir())
            .cloned()
            .collect();
        if let Some(parent) = &self.config.discover_under
            && let Ok(rd) = fs::read_dir(parent)
        {
            for entry in rd.flatten() {
                let path = entry.path();
                if is_hidden(&entry) || !path.is_dir() {
                    continue;
                }
                if self.config.mounts_only && !is_mount_point(&path, parent) {
                    continue;
                }
                out.push(path);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Looks for arrivals and removals since the last call (or since construction), in path
    /// order: removals first, then arrivals. A folder that cannot be opened as a device (no
    /// permission, for example) is skipped and tried again on the next poll.
    pub fn poll(&self) -> Vec<DeviceEvent> {
        let present = self.present();
        let mut devices = self.devices.lock().unwrap_or_else(|p| p.into_inner());
        let mut events = Vec::new();
        let gone: Vec<PathBuf> = devices
            .keys()
            .filter(|k| {
                !present.contains(k) || !devices.get(*k).is_some_and(|d| d.root_path().is_dir())
            })
            .cloned()
            .collect();
        for root in gone {
            if let Some(d) = devices.remove(&root) {
                d.disconnect();
                events.push(DeviceEvent::Removed {
                    root,
                    serial: d.serial(),
                });
            }
        }
        for root in present {
            if devices.contains_key(&root) {
                continue;
            }
            match FsDevice::open(&root, self.config.options.clone()) {
                Ok(d) => {
                    devices.insert(root.clone(), d.clone());
                    events.push(DeviceEvent::Arrived { root, device: d });
                }
                Err(e) => tracing::debug!(?root, ?e, "folder not usable as a device"),
            }
        }
        events
    }

    /// The devices found by the last poll, in path order.
    pub fn fs_devices(&self) -> Vec<FsDevice> {
        let devices = self.devices.lock().unwrap_or_else(|p| p.into_inner());
        devices.values().cloned().collect()
    }
}

impl ServiceProvider for FsProvider {
    fn device_count(&self) -> Result<u32> {
        Ok(u32::try_from(self.fs_devices().len()).unwrap_or(u32::MAX))
    }

    fn devices(&self) -> Result<Vec<DeviceRef>> {
        Ok(self
            .fs_devices()
            .into_iter()
            .map(|d| Arc::new(d) as DeviceRef)
            .collect())
    }

    /// A device for a folder path given as the PnP path (for example a mount point).
    fn create_device(&self, pnp_path: &str) -> Result<Vec<DeviceRef>> {
        let path = Path::new(pnp_path);
        let canon = fs::canonicalize(path).map_err(|_| crate::Error::FileNotFound)?;
        for d in self.fs_devices() {
            if d.root_path() == canon {
                return Ok(vec![Arc::new(d) as DeviceRef]);
            }
        }
        if !canon.is_dir() {
            return Err(crate::Error::FileNotFound);
        }
        let d = FsDevice::open(&canon, self.config.options.clone())?;
        Ok(vec![Arc::new(d) as DeviceRef])
    }
}
