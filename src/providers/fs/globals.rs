//! [`FsGlobals`]: the medium's capacity and status.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::flags::{DeviceStatus, Mode, StorageCapabilities};
use crate::provider::{DeviceRef, Progress, StorageGlobals, StorageRef, WmdmId};

use super::device::FsDevice;
use super::idmap::ROOT;
use super::shared::Shared;
use super::storage::FsStorage;

/// Space on a device, in bytes; `None` where it cannot be known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// The usable size: the quota, or the file system's size.
    pub total: Option<u64>,
    /// What can still be written.
    pub free: Option<u64>,
    /// Bytes used under the root (apparent file sizes), as the provider counts them.
    pub used: u64,
}

/// IMDSPStorageGlobals for a folder device.
#[derive(Debug)]
pub struct FsGlobals {
    shared: Arc<Shared>,
}

use crate::sys::volume::space as fs_space;

impl FsGlobals {
    pub(crate) fn new(shared: Arc<Shared>) -> FsGlobals {
        FsGlobals { shared }
    }

    /// The device's space: with a quota, the quota and what is left of it (never more than
    /// the file system has free); without one, the file system's figures, or `None` when the
    /// file system reports a zero size.
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`]; I/O errors counting the used bytes.
    pub fn capacity(&self) -> Result<Capacity> {
        self.shared.check()?;
        let used = self.shared.used_bytes()?;
        let fs = fs_space(&self.shared.root);
        Ok(match self.shared.options.quota {
            Some(q) => {
                let left = q.saturating_sub(used);
                let free = match fs {
                    Some((_, avail)) => left.min(avail),
                    None => left,
                };
                Capacity {
                    total: Some(q),
                    free: Some(free),
                    used,
                }
            }
            None => Capacity {
                total: fs.map(|f| f.0),
                free: fs.map(|f| f.1),
                used,
            },
        })
    }
}

impl StorageGlobals for FsGlobals {
    fn capabilities(&self) -> Result<StorageCapabilities> {
        self.shared.check()?;
        Ok(StorageCapabilities::FOLDERSINROOT
            | StorageCapabilities::FILESINROOT
            | StorageCapabilities::FOLDERSINFOLDERS
            | StorageCapabilities::FILESINFOLDERS
            | StorageCapabilities::NOT_INITIALIZABLE)
    }

    fn serial_number(&self) -> Result<WmdmId> {
        self.shared.check()?;
        WmdmId::new(0, self.shared.serial().into_bytes())
    }

    /// The total, or 0 when unknown (see [`FsGlobals::capacity`]).
    fn total_size(&self) -> Result<u64> {
        Ok(self.capacity()?.total.unwrap_or(0))
    }

    /// The free space, or 0 when unknown (see [`FsGlobals::capacity`]).
    fn total_free(&self) -> Result<u64> {
        Ok(self.capacity()?.free.unwrap_or(0))
    }

    fn total_bad(&self) -> Result<u64> {
        self.shared.check()?;
        Ok(0)
    }

    fn status(&self) -> Result<DeviceStatus> {
        Ok(if self.shared.is_connected() {
            DeviceStatus::READY
        } else {
            DeviceStatus::DEVICE_NOTPRESENT
        })
    }

    /// Formatting a folder device is not offered: it would delete the user's files.
    fn initialize(&self, mode: Mode, progress: &mut dyn Progress) -> Result<()> {
        let _ = (mode, progress);
        Err(Error::NotSupported)
    }

    fn device(&self) -> Result<DeviceRef> {
        self.shared.check()?;
        Ok(Arc::new(FsDevice::from_shared(self.shared.clone())))
    }

    fn root_storage(&self) -> Result<StorageRef> {
        self.shared.check()?;
        Ok(FsStorage::new(self.shared.clone(), ROOT, None))
    }
}
